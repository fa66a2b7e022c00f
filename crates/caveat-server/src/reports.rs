//! `POST /v1/reports` (an atomic NDJSON batch) and `GET /v1/reports/{id}`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use caveat_core::{DEFAULT_FUTURE_SKEW, IngestContext, Report, ReportIdMint, Role};
use caveat_hub::{Actor, Batch};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Caller, View};
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

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

pub(crate) async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    let ids: Vec<String> = done.ids.iter().map(ToString::to_string).collect();
    Ok((StatusCode::CREATED, Json(json!({ "batch": done.receipt.partner_batch, "count": ids.len(), "ids": ids }))))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(state.hub.report(&view.caller.user, &view.key, &id).await?))
}
