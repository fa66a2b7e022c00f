//! `POST /v1/reports` (an atomic NDJSON batch) and `GET /v1/reports/{id}`.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use caveat_core::{DEFAULT_FUTURE_SKEW, IngestContext, Report, ReportId, ReportIdMint, Role, parse_batch};
use serde_json::{Value, json};
use time::OffsetDateTime;

use caveat_audit::{AuditEntry, IngestBatch, ReportSet};

use crate::access::Action;
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
    let partner = state.store.partner(&caller.user.partner).await?.ok_or(ApiError::Unauthenticated)?;
    let now = OffsetDateTime::now_utc();
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut ctx = IngestContext {
        submitter: &partner,
        now,
        max_future_skew: DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(millis, rand::random()),
    };
    let reports = parse_batch(&bytes, state.limits.max_batch_reports, &mut ctx).map_err(|e| {
        state.metrics.batches_rejected.fetch_add(1, Ordering::Relaxed);
        ApiError::InvalidReport(format!("{e}; nothing was stored"))
    })?;
    let line_of = non_blank_lines(&bytes);
    let known = state.access.partners_covering(reports.iter().flat_map(|r| r.marking.releasable_to.iter())).await?;
    if let Some((index, unknown)) = caveat_core::first_unknown_release(&reports, &known) {
        state.metrics.batches_rejected.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::InvalidReport(format!(
            "line {}: field `marking.releasable_to`: unknown partner {unknown}; nothing was stored",
            line_of.get(index).copied().unwrap_or(0)
        )));
    }
    let ids: Vec<String> = reports.iter().map(|r| r.id.to_string()).collect();
    let count = reports.len();
    let receipt = state.store.insert_batch(&partner.id, now, reports).await.map_err(|e| {
        state.metrics.batches_rejected.fetch_add(1, Ordering::Relaxed);
        let line = |i: usize| line_of.get(i).copied().unwrap_or(0);
        match e {
            // Only the caller's own ids can collide with what the caller
            // could learn: ids are per-report random, and a collision with
            // another partner's id is as unlikely as guessing it.
            caveat_store::Error::DuplicateId { index, id } => ApiError::Conflict(format!(
                "line {}: field `id`: already stored (as {id}); nothing was stored",
                line(index)
            )),
            caveat_store::Error::SupersedesUnknown { index, target, .. } => ApiError::InvalidReport(format!(
                "line {}: field `supersedes`: {target} is not one of your stored reports; nothing was stored",
                line(index)
            )),
            caveat_store::Error::AlreadySuperseded { index, target } => ApiError::Conflict(format!(
                "line {}: field `supersedes`: {target} is already corrected; nothing was stored",
                line(index)
            )),
            other => other.into(),
        }
    })?;
    let ids_typed: Vec<ReportId> = ids.iter().filter_map(|i| i.parse().ok()).collect();
    state
        .audit
        .append(vec![AuditEntry::IngestBatch(IngestBatch {
            at: now,
            partner: partner.id.clone(),
            user: caller.user.id.clone(),
            reports: ReportSet::new(&ids_typed),
        })])
        .await?;
    state.metrics.reports_ingested.fetch_add(count as u64, Ordering::Relaxed);
    state.notify_change();
    Ok((StatusCode::CREATED, Json(json!({ "batch": receipt.partner_batch, "count": count, "ids": ids }))))
}

/// 1-based line numbers of the non-blank lines, in order: report `i` of a batch is on line `result[i]`.
fn non_blank_lines(bytes: &[u8]) -> Vec<u64> {
    (1u64..)
        .zip(bytes.split(|b| *b == b'\n'))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(n, _)| n)
        .collect()
}

pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Report>, ApiError> {
    // The case first: whether it names a case of the caller's partner must be
    // answered the same whether or not the report exists.
    let case = crate::cases::facts(&state, &view).await?;
    let now = OffsetDateTime::now_utc();
    let user = &view.caller.user;
    // A malformed id and an unknown one answer alike: 404, after the same
    // work as a forbidden one (one audit entry), so neither the answer, the
    // log's growth nor the counters tell a missing report from a withheld one.
    let stored = match id.parse::<ReportId>() {
        Ok(id) => state.store.report(id).await?.map(|(s, _)| s.report),
        Err(_) => None,
    };
    let Some(report) = stored else {
        state.audit.append(state.access.entries(user, &view.key, Action::Read, Vec::new(), now).await?).await?;
        return Err(ApiError::NotFound);
    };
    // A correction names the report it corrects only when the caller may read
    // that one too (same originator, so the decisions share one audit entry).
    let corrected = match report.supersedes {
        Some(t) => state.store.report(t).await?.map(|(s, _)| s.report),
        None => None,
    };
    let mut reports = vec![report];
    reports.extend(corrected);
    let decisions = state.access.decide(user, &view.key, Action::Read, case, &reports, now).await?;
    let uses = crate::access::decision_uses(&reports, &decisions);
    state.audit.append(state.access.entries(user, &view.key, Action::Read, uses, now).await?).await?;
    let permitted = decisions.is_permitted(0);
    let corrected_visible = decisions.is_permitted(1);
    let Some(mut report) = reports.into_iter().next() else { return Err(ApiError::NotFound) };
    if permitted {
        state.metrics.decisions_permit.fetch_add(1, Ordering::Relaxed);
        if !corrected_visible {
            report.supersedes = None;
        }
        Ok(Json(report))
    } else {
        state.metrics.decisions_deny.fetch_add(1, Ordering::Relaxed);
        Err(ApiError::NotFound)
    }
}
