//! Standing policies and suspensions: `GET /v1/policy`,
//! `PUT /v1/policy/standing`, `POST /v1/suspensions`, `DELETE /v1/suspensions/{id}`.
//! A partner admin acts only for its own partner's data.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use caveat_core::{PartnerId, Purpose, Role};
use caveat_hub::{Actor, PolicyView, SuspensionView};
use caveat_policy::SuspensionId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

const ADMIN: &[Role] = &[Role::PartnerAdmin];

/// The caller's partner's standing policies and the suspensions it has in force.
#[utoipa::path(
    get,
    path = "/policy",
    operation_id = "getPolicy",
    tag = "policy",
    responses(
        (status = 200, description = "The partner's policy.", body = PolicyView),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<PolicyView>, ApiError> {
    Ok(Json(state.hub.policy_of(&caller.user.partner).await?))
}

/// Standing policies now in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PolicyUploaded {
    /// The policy version the upload produced.
    version: u64,
    /// The ids of the policies in force.
    policies: Vec<String>,
}

/// Replace the partner's standing policies (Cedar forbids over its own reports only); an empty body clears them.
#[utoipa::path(
    put,
    path = "/policy/standing",
    operation_id = "putStanding",
    tag = "policy",
    request_body(content = String, content_type = "text/plain", description = "Cedar policies."),
    responses(
        (status = 200, description = "In force from the next request.", body = PolicyUploaded),
        (status = 400, description = "The body is not UTF-8 text.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a partner admin.", body = ErrorBody),
        (status = 413, description = "Over the size limit.", body = ErrorBody),
        (status = 422, description = "Refused: the message names the policy and the part out of scope.", body = ErrorBody),
    )
)]
pub(crate) async fn put_standing(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<Json<PolicyUploaded>, ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let bytes = crate::reports::read_body(body, caveat_policy::MAX_STANDING_BYTES).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::BadRequest("body: not UTF-8 text".into()))?;
    let (change, ids) =
        caveat_hub::upload_standing(&state.hub, &actor(&caller), &text, OffsetDateTime::now_utc()).await?;
    let policies = ids.iter().map(|id| id.as_str().to_owned()).collect();
    Ok(Json(PolicyUploaded { version: change.version().get(), policies }))
}

fn actor(caller: &Caller) -> Actor {
    Actor { partner: caller.user.partner.clone(), user: caller.user.id.clone() }
}

/// A suspension to issue: whom, for what, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSuspension {
    /// The partners suspended; null or absent for every partner but the caller's.
    #[serde(default)]
    partners: Option<BTreeSet<PartnerId>>,
    /// The purposes suspended; null or absent for all.
    #[serde(default)]
    purposes: Option<BTreeSet<Purpose>>,
    /// Why, in the originator's words (recorded in the audit log).
    reason: String,
}

/// A suspension issued, and the policy version it produced.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SuspensionIssued {
    /// The suspension.
    #[serde(flatten)]
    suspension: SuspensionView,
    /// The policy version it produced.
    version: u64,
}

/// Suspend the use of the partner's reports by some or all partners, for some or all purposes, from the next request.
#[utoipa::path(
    post,
    path = "/suspensions",
    operation_id = "suspend",
    tag = "policy",
    request_body = NewSuspension,
    responses(
        (status = 201, description = "In force from the next request.", body = SuspensionIssued),
        (status = 400, description = "A bad body: an unknown partner, an empty list, the caller's own partner, a bad reason.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<SuspensionIssued>), ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let bytes = crate::reports::read_body(body, 64 * 1024).await?;
    let req: NewSuspension = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let who = actor(&caller);
    let now = OffsetDateTime::now_utc();
    let (partners, purposes) = (req.partners.clone(), req.purposes.clone());
    let (id, change) = caveat_hub::suspend(&state.hub, &who, req.partners, req.purposes, &req.reason, now).await?;
    let issued = caveat_policy::Suspension {
        id,
        originator: who.partner,
        partners,
        purposes,
        reason: req.reason,
        issued_at: now,
        resumed_at: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(SuspensionIssued { suspension: SuspensionView::from(&issued), version: change.version().get() }),
    ))
}

/// A suspension lifted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Resumption {
    /// The suspension's id.
    id: String,
    /// Always true.
    resumed: bool,
    /// The policy version the resumption produced.
    version: u64,
}

/// Resume: lift one of the partner's suspensions, from the next request.
#[utoipa::path(
    delete,
    path = "/suspensions/{id}",
    operation_id = "resume",
    tag = "policy",
    params(("id" = String, Path, description = "The suspension's id.")),
    responses(
        (status = 200, description = "Lifted.", body = Resumption),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a partner admin.", body = ErrorBody),
        (status = 404, description = "The partner has no suspension in force with this id.", body = ErrorBody),
    )
)]
pub(crate) async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Resumption>, ApiError> {
    caller.require(ADMIN, "partner-admin")?;
    let sid: SuspensionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let change = caveat_hub::resume(&state.hub, &actor(&caller), sid, OffsetDateTime::now_utc()).await?;
    Ok(Json(Resumption { id: sid.to_string(), resumed: true, version: change.version().get() }))
}
