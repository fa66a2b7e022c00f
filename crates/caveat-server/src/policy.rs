//! Standing policies and suspensions: `GET /v1/policy`,
//! `PUT /v1/policy/standing`, `POST /v1/suspensions`, `DELETE /v1/suspensions/{id}`.
//! A partner admin acts only for its own partner's data.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use caveat_audit::{AuditEntry, Hash, PolicyUpload, Resume, Suspension as SuspensionEntry};
use caveat_core::{PartnerId, Purpose, Role};
use caveat_policy::{PolicyChange, SuspensionId};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Caller;
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
    let me = caller.user.partner.clone();
    let now = OffsetDateTime::now_utc();
    let ids = {
        let policies = state.access.policies().await?;
        policies.check_standing(&me, &text).map_err(|e| ApiError::InvalidPolicy(e.to_string()))?
    };
    let change = state
        .access
        .change(&me, |p| p.upload(&me, &text, now))
        .await?
        .map_err(|e| ApiError::InvalidPolicy(e.to_string()))?;
    state
        .audit
        .append(vec![AuditEntry::PolicyUpload(PolicyUpload {
            at: now,
            partner: me.clone(),
            user: caller.user.id.clone(),
            policy_digest: Hash::sha256(text.as_bytes()),
            policies: ids.iter().filter_map(|i| i.as_str().parse().ok()).collect(),
        })])
        .await?;
    state.notify_change();
    let ids: Vec<&str> = ids.iter().map(caveat_policy::PolicyId::as_str).collect();
    Ok(Json(json!({ "version": change.version().get(), "policies": ids })))
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
    let me = caller.user.partner.clone();
    if let Some(ps) = &req.partners {
        let known: BTreeSet<PartnerId> = state.store.partners().await?.into_iter().map(|p| p.id).collect();
        if let Some(unknown) = ps.iter().find(|p| !known.contains(p)) {
            // A typo would otherwise suspend no one while saying it did.
            return Err(ApiError::BadRequest(format!("field `partners`: unknown partner {unknown}")));
        }
    }
    let now = OffsetDateTime::now_utc();
    let (partners, purposes) = (req.partners.clone(), req.purposes.clone());
    let mut made = None;
    let change = state
        .access
        .change(&me, |p| {
            p.suspend(&me, req.partners, req.purposes, &req.reason, now).map(|(id, change)| {
                made = Some(id);
                change
            })
        })
        .await?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let id = made.ok_or(ApiError::Internal)?;
    let policy_id = format!("suspension/{id}").parse().map_err(|e| ApiError::internal("naming a suspension", &e))?;
    // One entry per (partner, purpose) suspended, so a usage report can name each.
    let consumers: Vec<Option<PartnerId>> =
        partners.clone().map_or(vec![None], |ps| ps.into_iter().map(Some).collect());
    let uses: Vec<Option<Purpose>> = purposes.clone().map_or(vec![None], |ps| ps.into_iter().map(Some).collect());
    let mut entries = Vec::new();
    for c in &consumers {
        for u in &uses {
            entries.push(AuditEntry::Suspension(SuspensionEntry {
                at: now,
                originator: me.clone(),
                user: caller.user.id.clone(),
                suspension: caveat_audit::PolicyId::clone(&policy_id),
                consumer: c.clone(),
                purpose: *u,
            }));
        }
    }
    state.audit.append(entries).await?;
    state.notify_change();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id.to_string(), "originator": me, "partners": partners, "purposes": purposes,
            "reason": req.reason, "version": change.version().get(),
        })),
    ))
}

pub(crate) async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let sid: SuspensionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let me = caller.user.partner.clone();
    let now = OffsetDateTime::now_utc();
    let change: PolicyChange =
        state.access.change(&me, |p| p.resume(&me, sid, now)).await?.map_err(|_| ApiError::NotFound)?;
    state
        .audit
        .append(vec![AuditEntry::Resume(Resume {
            at: now,
            originator: me,
            user: caller.user.id.clone(),
            suspension: format!("suspension/{sid}")
                .parse()
                .map_err(|e| ApiError::internal("naming a suspension", &e))?,
        })])
        .await?;
    state.notify_change();
    Ok(Json(json!({ "id": sid.to_string(), "resumed": true, "version": change.version().get() })))
}
