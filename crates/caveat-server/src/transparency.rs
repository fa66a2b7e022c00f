//! What an originator may check about the use of its data: the audit log's
//! signed checkpoint and key, proofs, and its usage report.

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
/// Most entries one usage report lists (the newest).
const MAX_USAGE_ENTRIES: usize = 10_000;

pub(crate) async fn checkpoint(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    let cp = state.audit.checkpoint().await?;
    let text = cp.to_string();
    state.store.save_checkpoint(cp.checkpoint().size(), text.clone()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

pub(crate) async fn key(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", state.audit.verifier_key()))
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
    let proof = state.audit.inclusion(q.index, q.size).await.map_err(|_| {
        ApiError::BadRequest(format!("query: no inclusion proof for index {} in a tree of {}", q.index, q.size))
    })?;
    Ok(Json(json!(proof)))
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
    let proof = state
        .audit
        .consistency(q.from, q.to)
        .await
        .map_err(|_| ApiError::BadRequest(format!("query: no consistency proof from {} to {}", q.from, q.to)))?;
    Ok(Json(json!(proof)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageQuery {
    /// Size of a checkpoint the caller saved earlier: the report then proves the log grew from it.
    saved_size: Option<u64>,
}

/// A saved checkpoint's size must be one the log has had (the log's size is
/// no secret: every auditor's checkpoint shows it).
fn check_saved(saved: Option<u64>, size: u64) -> Result<(), ApiError> {
    match saved {
        Some(n) if n > size => Err(ApiError::BadRequest(format!(
            "query `saved_size`: {n} is beyond the log's size {size}; give the size of a checkpoint you saved"
        ))),
        _ => Ok(()),
    }
}

/// The caller's partner's usage report: every entry touching its data, with
/// proofs against a fresh signed checkpoint (verify offline with `caveat audit verify`).
pub(crate) async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(json!(usage_report(&state, caller.user.partner.clone(), q.saved_size).await?)))
}

/// `me`'s usage report over its newest entries (at most [`MAX_USAGE_ENTRIES`]),
/// proved against a fresh checkpoint and, when given, from a saved size.
async fn usage_report(
    state: &AppState,
    me: caveat_core::PartnerId,
    saved_size: Option<u64>,
) -> Result<caveat_audit::UsageReport, ApiError> {
    let size = state.audit.checkpoint().await?.checkpoint().size();
    check_saved(saved_size, size)?;
    let mut indexes = state.store.audit_entries_touching(&me, size, usize::MAX).await?;
    if indexes.len() > MAX_USAGE_ENTRIES {
        indexes.drain(..indexes.len() - MAX_USAGE_ENTRIES);
    }
    state.audit.usage(me, indexes, saved_size).await
}

/// The originator's transparency report: its usage report (each use by
/// partner, purpose and case, permitted and denied, with proofs) and the
/// outcomes of the cases its data supported.
pub(crate) async fn transparency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(transparency_report(&state, caller.user.partner.clone(), q.saved_size).await?))
}

/// An originator's transparency report (the API's `/v1/transparency`, the
/// CLI's `caveat report transparency`): accesses to its data by partner and
/// purpose, denied attempts, the cases its data supported with their
/// outcomes, and the bundle that proves each line against a signed checkpoint.
///
/// # Errors
/// The store or the audit log fails.
pub async fn transparency_report(
    state: &AppState,
    me: caveat_core::PartnerId,
    saved_size: Option<u64>,
) -> Result<Value, ApiError> {
    let report = usage_report(state, me, saved_size).await?;
    let mut case_ids = std::collections::BTreeSet::new();
    for e in &report.bundle.entries {
        if let Ok(caveat_audit::AuditEntry::CaseStep(step)) = caveat_audit::AuditEntry::from_bytes(&e.data) {
            case_ids.insert(step.case);
        }
    }
    let mut cases = Vec::new();
    for id in case_ids {
        let Some(case) = state.store.case(id).await? else { continue };
        let outcomes: Vec<Value> = case
            .steps
            .iter()
            .filter(|s| matches!(s.action.name(), "seize" | "detain" | "hand-over" | "release" | "close"))
            .map(|s| json!({ "step": s.action.name(), "at": s.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(), "detail": s.action }))
            .collect();
        cases.push(json!({
            "case": id.to_string(), "lead": case.lead, "status": case.status,
            "steps": case.steps.iter().map(|s| s.action.name()).collect::<Vec<_>>(),
            "outcomes": outcomes,
        }));
    }
    let denied: Vec<&caveat_audit::UsageLine> = report.summary.iter().filter(|l| l.denies > 0).collect();
    Ok(json!({
        "originator": report.originator,
        "accesses": report.summary,
        "denied": denied,
        "cases": cases,
        "proof": report.bundle,
    }))
}
