//! Interdiction cases: `POST /v1/cases`, `GET /v1/cases`, `GET /v1/cases/{id}`,
//! `POST /v1/cases/{id}/steps` (the use-cases are the hub's).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use caveat_core::Role;
use caveat_hub::{NewCase, NewStep};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

const CASE_WORKERS: &[Role] = &[Role::WatchOfficer, Role::BoardingOfficer, Role::PartnerAdmin];

/// Largest case or step body.
const MAX_CASE_BODY: usize = 256 * 1024;

pub(crate) async fn open(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(CASE_WORKERS, "watch-officer, boarding-officer or partner-admin")?;
    let bytes = crate::reports::read_body(body, MAX_CASE_BODY).await?;
    let req: NewCase = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let id = state.hub.open_case(&caller.user, req).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id.to_string() }))))
}

pub(crate) async fn add_step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(CASE_WORKERS, "watch-officer, boarding-officer or partner-admin")?;
    let bytes = crate::reports::read_body(body, MAX_CASE_BODY).await?;
    let req: NewStep = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let (id, steps) = state.hub.add_step(&caller.user, &id, req).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id.to_string(), "steps": steps }))))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.hub.case(&caller.user, &id).await?))
}

pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "cases": state.hub.cases_of(&caller.user.partner).await? })))
}
