//! `POST /v1/reports` (an atomic NDJSON batch) and `GET /v1/reports/{id}`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use caveat_core::{DEFAULT_FUTURE_SKEW, IngestContext, Report, ReportId, ReportIdMint, Role};
use caveat_hub::{Actor, Batch};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{Caller, View, ViewHeaders};
use crate::error::ErrorBody;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

/// A stored batch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchReceipt {
    /// The submitting partner's own count of its batches: this is its `batch`-th.
    batch: u64,
    /// Reports stored.
    count: usize,
    /// Their stored ids, in the order of the lines. An id the partner supplied
    /// is scoped to it: the stored id keeps its time and hashes the partner with it.
    ids: Vec<ReportId>,
}

/// Reads a body up to the limit, answering 413 with the limit past it, and
/// 400 for a body that breaks off or is malformed (a bad chunk): that is the
/// client's fault, not a size.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BadRequest(format!(
                "body: could not be read ({})",
                inner.to_string().chars().take(120).collect::<String>()
            ))
        }
    })
}

/// Submit a batch of reports, all or nothing; their originator is the caller's partner.
///
/// One report per line, each the JSON form of `schemas/report.schema.json`
/// (`id`, `originator` and `marking` optional). One bad line stores nothing;
/// the error names the line, the field and why. `supersedes` names a stored
/// id of the same originator; a marking releasable to an unknown partner is refused.
#[utoipa::path(
    post,
    path = "/reports",
    operation_id = "submitReports",
    tag = "reports",
    request_body(
        content = String,
        content_type = "application/x-ndjson",
        description = "One report per line (schemas/report.schema.json)."
    ),
    responses(
        (status = 201, description = "Stored, every line.", body = BatchReceipt),
        (status = 400, description = "The body could not be read.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller's roles may not submit.", body = ErrorBody),
        (status = 409, description = "A report id already stored.", body = ErrorBody),
        (status = 413, description = "The body or the batch is over the limit.", body = ErrorBody),
        (status = 415, description = "Not `application/x-ndjson`.", body = ErrorBody),
        (status = 422, description = "A line is invalid: the message names it and the field.", body = ErrorBody),
    )
)]
pub(crate) async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BatchReceipt>), ApiError> {
    caller.require(
        &[Role::Analyst, Role::WatchOfficer, Role::BoardingOfficer, Role::PartnerAdmin],
        "analyst, watch-officer, boarding-officer or partner-admin",
    )?;
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = ctype.split(';').next().unwrap_or("").trim();
    if !matches!(media, "application/x-ndjson" | "application/ndjson" | "application/jsonl") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "header Content-Type: expected application/x-ndjson (one report per line), got {:?}",
            media.chars().take(60).collect::<String>()
        )));
    }
    let bytes = read_body(body, state.limits.max_body_bytes).await?;
    let hub = &state.hub;
    let partner = hub.store().partner(&caller.user.partner).await?.ok_or(ApiError::Unauthenticated)?;
    let now = OffsetDateTime::now_utc();
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut ctx = IngestContext {
        submitter: &partner,
        now,
        max_future_skew: DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(millis, rand::random()),
    };
    let batch = Batch::parse_ndjson(&bytes, hub.limits().max_batch_reports, &mut ctx).inspect_err(|_| {
        hub.metrics().batches_rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })?;
    let who = Actor { partner: partner.id.clone(), user: caller.user.id.clone() };
    let done = hub.ingest(&who, now, batch).await?;
    let receipt = BatchReceipt { batch: done.receipt.partner_batch, count: done.ids.len(), ids: done.ids };
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// One report, if the caller's view may read it.
///
/// A report the view may not read answers exactly as a missing one, after the
/// same work. `supersedes` is shown only when the corrected report is readable too.
#[utoipa::path(
    get,
    path = "/reports/{id}",
    operation_id = "getReport",
    tag = "reports",
    params(("id" = String, Path, description = "The report's id."), ViewHeaders),
    responses(
        (status = 200, description = "The report.", body = Report),
        (status = 400, description = "No purpose, an unknown one, or an unknown case.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "Missing, or not readable by the view (the two alike).", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(state.hub.report(&view.caller.user, &view.key, &id).await?))
}
