//! Standing policies and suspensions: `GET /v1/policy`,
//! `PUT /v1/policy/standing`, `POST /v1/suspensions`, `DELETE /v1/suspensions/{id}`.
//! A partner admin acts only for its own partner's data.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use caveat_core::{PartnerId, Purpose, Role};
use caveat_policy::SuspensionId;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

const ADMIN: &[Role] = &[Role::PartnerAdmin];

pub(crate) async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let policies = state.access.policies().await?;
    let me = &caller.user.partner;
    let st = policies.state();
    let suspensions: Vec<Value> = st
        .suspensions()
        .filter(|s| &s.originator == me && s.is_active())
        .map(|s| {
            json!({
                "id": s.id.to_string(), "originator": s.originator, "partners": s.partners, "purposes": s.purposes,
                "reason": s.reason, "at": s.issued_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "active": s.is_active(),
            })
        })
        .collect();
    let standing = st.standing(me).map(|p| json!({ "text": p.text, "version": p.version.get() }));
    Ok(Json(json!({ "version": policies.version().get(), "standing": standing, "suspensions": suspensions })))
}

pub(crate) async fn put_standing(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let bytes = crate::reports::read_body(body, caveat_policy::MAX_STANDING_BYTES).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::BadRequest("body: not UTF-8 text".into()))?;
    let who = changer(&caller);
    let (change, ids) =
        crate::change::upload_standing(&state.access, &state.audit, &who, &text, OffsetDateTime::now_utc()).await?;
    state.notify_change();
    let ids: Vec<&str> = ids.iter().map(caveat_policy::PolicyId::as_str).collect();
    Ok(Json(json!({ "version": change.version().get(), "policies": ids })))
}

fn changer(caller: &Caller) -> crate::change::Changer {
    crate::change::Changer { originator: caller.user.partner.clone(), user: caller.user.id.clone() }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuspendBody {
    #[serde(default)]
    partners: Option<BTreeSet<PartnerId>>,
    #[serde(default)]
    purposes: Option<BTreeSet<Purpose>>,
    reason: String,
}

pub(crate) async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let bytes = crate::reports::read_body(body, 64 * 1024).await?;
    let req: SuspendBody = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let who = changer(&caller);
    let (partners, purposes) = (req.partners.clone(), req.purposes.clone());
    let (id, change) = crate::change::suspend(
        &state.access,
        &state.audit,
        &who,
        req.partners,
        req.purposes,
        &req.reason,
        OffsetDateTime::now_utc(),
    )
    .await?;
    state.notify_change();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id.to_string(), "originator": who.originator, "partners": partners, "purposes": purposes,
            "reason": req.reason, "version": change.version().get(),
        })),
    ))
}

pub(crate) async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let sid: SuspensionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let change =
        crate::change::resume(&state.access, &state.audit, &changer(&caller), sid, OffsetDateTime::now_utc()).await?;
    state.notify_change();
    Ok(Json(json!({ "id": sid.to_string(), "resumed": true, "version": change.version().get() })))
}
