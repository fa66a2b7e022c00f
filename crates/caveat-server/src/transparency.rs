//! What an originator may check about the use of its data: the audit log's
//! signed checkpoint and key, proofs, its usage and transparency reports.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use caveat_core::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::ApiQuery;
use crate::{ApiError, AppState};

const AUDITORS: &[Role] = &[Role::Auditor, Role::PartnerAdmin];

pub(crate) async fn checkpoint(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    let text = state.hub.checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

pub(crate) async fn key(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", state.hub.audit().verifier_key()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    index: u64,
    size: u64,
}

pub(crate) async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(json!(state.hub.inclusion(q.index, q.size).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: u64,
}

pub(crate) async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(json!(state.hub.consistency(q.from, q.to).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageQuery {
    /// Size of a checkpoint the caller saved earlier: the report then proves the log grew from it.
    saved_size: Option<u64>,
}

pub(crate) async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(json!(state.hub.usage_report(caller.user.partner.clone(), q.saved_size).await?)))
}

pub(crate) async fn transparency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(state.hub.transparency_report(caller.user.partner.clone(), q.saved_size).await?))
}
