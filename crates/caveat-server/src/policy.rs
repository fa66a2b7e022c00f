//! Standing policies and suspensions: `GET /v1/policy`,
//! `PUT /v1/policy/standing`, `POST /v1/suspensions`, `DELETE /v1/suspensions/{id}`.
//! A partner admin acts only for its own partner's data.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use caveat_core::{PartnerId, Purpose, Role};
use caveat_hub::Actor;
use caveat_policy::SuspensionId;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

const ADMIN: &[Role] = &[Role::PartnerAdmin];

pub(crate) async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.hub.policy_of(&caller.user.partner).await?))
}

pub(crate) async fn put_standing(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let bytes = crate::reports::read_body(body, caveat_policy::MAX_STANDING_BYTES).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::BadRequest("body: not UTF-8 text".into()))?;
    let (change, ids) =
        caveat_hub::upload_standing(&state.hub, &actor(&caller), &text, OffsetDateTime::now_utc()).await?;
    let ids: Vec<&str> = ids.iter().map(caveat_policy::PolicyId::as_str).collect();
    Ok(Json(json!({ "version": change.version().get(), "policies": ids })))
}

fn actor(caller: &Caller) -> Actor {
    Actor { partner: caller.user.partner.clone(), user: caller.user.id.clone() }
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
    let who = actor(&caller);
    let (partners, purposes) = (req.partners.clone(), req.purposes.clone());
    let (id, change) =
        caveat_hub::suspend(&state.hub, &who, req.partners, req.purposes, &req.reason, OffsetDateTime::now_utc())
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id.to_string(), "originator": who.partner, "partners": partners, "purposes": purposes,
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
    let change = caveat_hub::resume(&state.hub, &actor(&caller), sid, OffsetDateTime::now_utc()).await?;
    Ok(Json(json!({ "id": sid.to_string(), "resumed": true, "version": change.version().get() })))
}
