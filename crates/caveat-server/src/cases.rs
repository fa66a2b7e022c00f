//! Interdiction cases: `POST /v1/cases`, `GET /v1/cases`, `GET /v1/cases/{id}`,
//! `POST /v1/cases/{id}/steps` (the use-cases are the hub's).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use caveat_core::{CaseId, Role};
use caveat_hub::{CaseDetail, CaseSummary, NewCase, NewStep};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

const CASE_WORKERS: &[Role] = &[Role::WatchOfficer, Role::BoardingOfficer, Role::PartnerAdmin];

/// Largest case or step body.
const MAX_CASE_BODY: usize = 256 * 1024;

/// A case opened.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseOpened {
    /// Its id.
    id: CaseId,
}

/// Open a case led by the caller's partner, with its detection step.
///
/// Every cited report is decided as `cite` (purpose interdiction, this case)
/// and audited; a case citing a report the caller may not cite is refused whole.
#[utoipa::path(
    post,
    path = "/cases",
    operation_id = "openCase",
    tag = "cases",
    request_body = NewCase,
    responses(
        (status = 201, description = "Opened.", body = CaseOpened),
        (status = 400, description = "A bad body: the first step not `detect`, an unknown participant, a bad step.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a watch officer, boarding officer or partner admin.", body = ErrorBody),
        (status = 422, description = "A cited report is unknown or may not be cited; nothing recorded.", body = ErrorBody),
    )
)]
pub(crate) async fn open(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<CaseOpened>), ApiError> {
    caller.require(CASE_WORKERS, "watch-officer, boarding-officer or partner-admin")?;
    let bytes = crate::reports::read_body(body, MAX_CASE_BODY).await?;
    let req: NewCase = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let id = state.hub.open_case(&caller.user, req).await?;
    Ok((StatusCode::CREATED, Json(CaseOpened { id })))
}

/// A step recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StepAdded {
    /// The case.
    id: CaseId,
    /// How many steps it has now.
    steps: usize,
}

/// Record a step of a case (monitor, intercept, board with a legal basis, search, seize, detain, hand-over, release, close).
///
/// Transitions are validated; citations are decided as when opening.
#[utoipa::path(
    post,
    path = "/cases/{id}/steps",
    operation_id = "addStep",
    tag = "cases",
    params(("id" = String, Path, description = "The case's id.")),
    request_body = NewStep,
    responses(
        (status = 201, description = "Recorded.", body = StepAdded),
        (status = 400, description = "A bad step.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a watch officer, boarding officer or partner admin.", body = ErrorBody),
        (status = 404, description = "No case of the caller's partner has this id.", body = ErrorBody),
        (status = 409, description = "The step may not follow the case's steps (or a concurrent one won).", body = ErrorBody),
        (status = 422, description = "A cited report is unknown or may not be cited; nothing recorded.", body = ErrorBody),
    )
)]
pub(crate) async fn add_step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: Body,
) -> Result<(StatusCode, Json<StepAdded>), ApiError> {
    caller.require(CASE_WORKERS, "watch-officer, boarding-officer or partner-admin")?;
    let bytes = crate::reports::read_body(body, MAX_CASE_BODY).await?;
    let req: NewStep = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let (id, steps) = state.hub.add_step(&caller.user, &id, req).await?;
    Ok((StatusCode::CREATED, Json(StepAdded { id, steps })))
}

/// A case with its steps; cited reports the caller may no longer use show as withheld by their originator, without content.
#[utoipa::path(
    get,
    path = "/cases/{id}",
    operation_id = "getCase",
    tag = "cases",
    params(("id" = String, Path, description = "The case's id.")),
    responses(
        (status = 200, description = "The case.", body = CaseDetail),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "No case of the caller's partner has this id.", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    Ok(Json(state.hub.case(&caller.user, &id).await?))
}

/// The cases a partner takes part in.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseList {
    /// Oldest first.
    cases: Vec<CaseSummary>,
}

/// The cases the caller's partner takes part in.
#[utoipa::path(
    get,
    path = "/cases",
    operation_id = "listCases",
    tag = "cases",
    responses(
        (status = 200, description = "The cases.", body = CaseList),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<CaseList>, ApiError> {
    Ok(Json(CaseList { cases: state.hub.cases_of(&caller.user.partner).await? }))
}
