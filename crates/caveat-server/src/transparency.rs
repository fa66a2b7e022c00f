//! What an originator may check about the use of its data: the audit log's
//! signed checkpoint and key, proofs, its usage and transparency reports.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use caveat_audit::{ConsistencyProof, InclusionProof, UsageReport};
use caveat_core::Role;
use caveat_hub::witnessing::WitnessStatus;
use caveat_hub::{TransparencyReport, audit_schema};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::extract::ApiQuery;
use crate::{ApiError, AppState};

const AUDITORS: &[Role] = &[Role::Auditor, Role::PartnerAdmin];

/// A checkpoint of the audit log as it is now, signed by the hub (C2SP signed
/// note), with a cosignature line from each configured witness that gave one
/// (C2SP tlog-cosignature); the hub keeps it too. Witnesses that did not
/// cosign are named in the `Caveat-Witnesses-Down` header.
#[utoipa::path(
    get,
    path = "/audit/checkpoint",
    operation_id = "checkpoint",
    tag = "audit",
    responses(
        (status = 200, description = "The signed note.", body = String, content_type = "text/plain",
            headers(
                ("Caveat-Witnesses-Cosigned" = String, description = "The witnesses whose cosignatures the note carries, comma-separated (absent without witnesses)."),
                ("Caveat-Witnesses-Down" = String, description = "Configured witnesses that did not cosign it (down, slow or refusing), comma-separated; absent when none."),
            )),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not an auditor or partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn checkpoint(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    let c = state.hub.cosigned_checkpoint().await?;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    let list = |names: &[String]| header::HeaderValue::from_str(&names.join(", ")).ok();
    if !c.cosigned_by.is_empty()
        && let Some(v) = list(&c.cosigned_by)
    {
        headers.insert("caveat-witnesses-cosigned", v);
    }
    if !c.down.is_empty()
        && let Some(v) = list(&c.down)
    {
        headers.insert("caveat-witnesses-down", v);
    }
    Ok((headers, c.note))
}

/// The hub's audit public key (C2SP vkey), to verify checkpoints with.
#[utoipa::path(
    get,
    path = "/audit/key",
    operation_id = "auditKey",
    tag = "audit",
    security(()),
    responses((status = 200, description = "The vkey line.", body = String, content_type = "text/plain"))
)]
pub(crate) async fn key(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", state.hub.audit().verifier_key()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct InclusionQuery {
    /// The entry's 0-based index.
    index: u64,
    /// The size of the tree to prove it in (a checkpoint's size).
    size: u64,
}

/// An RFC 9162 inclusion proof of entry `index` in the log's tree of `size` entries.
#[utoipa::path(
    get,
    path = "/audit/proof/inclusion",
    operation_id = "inclusionProof",
    tag = "audit",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof.", body = audit_schema::InclusionProof),
        (status = 400, description = "No such proof (index or size beyond the log), or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not an auditor or partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(state.hub.inclusion(q.index, q.size).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The earlier tree's size.
    from: u64,
    /// The later tree's size.
    to: u64,
}

/// An RFC 9162 consistency proof that the log's tree of `from` entries is a prefix of its tree of `to`.
#[utoipa::path(
    get,
    path = "/audit/proof/consistency",
    operation_id = "consistencyProof",
    tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof.", body = audit_schema::ConsistencyProof),
        (status = 400, description = "No such proof, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not an auditor or partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(state.hub.consistency(q.from, q.to).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageQuery {
    /// Size of a checkpoint the caller saved earlier: the report then proves the log grew from it.
    saved_size: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsagePageQuery {
    /// Size of a checkpoint the caller saved earlier: the report then proves the log grew from it.
    saved_size: Option<u64>,
    /// The log index the page starts at (the previous page's `next`); 0 when absent.
    from: Option<u64>,
    /// Most entries on the page, 1 to 10,000; 10,000 when absent.
    limit: Option<usize>,
    /// `true` for a partner's witness deciding whether to cosign the latest
    /// checkpoint (issue 18): the page is then proved against the hub's own
    /// signed checkpoint, without waiting for the witnesses' cosignatures
    /// (which would wait for the very cosignature being decided).
    witnessing: Option<bool>,
}

/// The caller's partner's usage report, a page at a time.
///
/// Every audit entry touching its data from index `from` (at most `limit`,
/// oldest first), summarised by partner, purpose and case, with proofs against
/// a fresh signed checkpoint and a completeness proof: the tag leaves showing no
/// other entry in the page's range touches its data. `next` is where the next
/// page starts (verify offline with `caveat audit verify`, several pages at once).
#[utoipa::path(
    get,
    path = "/usage",
    operation_id = "usage",
    tag = "audit",
    params(UsagePageQuery),
    responses(
        (status = 200, description = "The usage report.", body = audit_schema::UsageReport),
        (status = 400, description = "`saved_size` beyond the log, a `limit` out of range, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not an auditor or partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UsagePageQuery>,
) -> Result<Json<UsageReport>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    let me = caller.user.partner.clone();
    let limit = q.limit.unwrap_or(caveat_hub::MAX_USAGE_ENTRIES);
    let from = q.from.unwrap_or(0);
    let page = if q.witnessing == Some(true) {
        state.hub.usage_page_for_witness(me, q.saved_size, from, limit).await?
    } else {
        state.hub.usage_page(me, q.saved_size, from, limit).await?
    };
    Ok(Json(page))
}

/// The hub's witnesses as it last saw them: for each, whether it cosigned the
/// latest checkpoint, the size it last cosigned, and why it did not cosign,
/// if it did not (a partner node's refusal names the uses its receipts do not
/// cover). Empty when the hub has no witnesses.
#[utoipa::path(
    get,
    path = "/audit/witnesses",
    operation_id = "witnesses",
    tag = "audit",
    responses(
        (status = 200, description = "One status per configured witness.", body = Vec<WitnessStatus>),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not an auditor or partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn witnesses(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WitnessStatus>>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(state.hub.witness_status()))
}

/// The caller's partner's transparency report.
///
/// Accesses to its data by partner and purpose, denied attempts, the cases its
/// data supported with their outcomes, and the bundle proving each line.
#[utoipa::path(
    get,
    path = "/transparency",
    operation_id = "transparency",
    tag = "audit",
    params(UsageQuery),
    responses(
        (status = 200, description = "The transparency report.", body = TransparencyReport),
        (status = 400, description = "`saved_size` beyond the log, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not an auditor or partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn transparency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<TransparencyReport>, ApiError> {
    caller.require(AUDITORS, "auditor or partner-admin")?;
    Ok(Json(state.hub.transparency_report(caller.user.partner.clone(), q.saved_size).await?))
}
