//! The node's federation API (issue 17): `POST /v1/federation/release`, and
//! `GET /v1/federation/notice`, the revocation notice the hub keeps open; and
//! on the hub's partners' API, `GET /v1/federation/status`: which partners'
//! nodes are reachable, i.e. whose data is currently unavailable.
//!
//! Served on its own listener, which admits only the hub's pinned client
//! certificate (mutual TLS, configured by `caveat serve`'s `[node]` section):
//! every connection that reaches these routes is the hub, so no API token is
//! asked for. Never mounted on the partners' API.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use caveat_hub::federation::{MAX_NOTICE_WAIT, MAX_RELEASE_REQUEST_BYTES, Node, Notice, ReleaseAnswer, ReleaseRequest};
use time::OffsetDateTime;

use crate::ApiError;

/// Time a release request body has to arrive whole: it is a few hundred bytes.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's federation router over `node`.
pub fn node_app(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/federation/release", post(release))
        .route("/v1/federation/notice", get(notice))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(node)
}

/// Decides and releases: the node's policy, the node's audit log, a signed receipt.
async fn release(State(node): State<Arc<Node>>, body: Body) -> Result<Json<ReleaseAnswer>, ApiError> {
    let read = axum::body::to_bytes(body, MAX_RELEASE_REQUEST_BYTES);
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(ApiError::PayloadTooLarge { limit: MAX_RELEASE_REQUEST_BYTES }),
        Err(_) => return Err(ApiError::BadRequest("the release request did not arrive in time".into())),
    };
    let req: ReleaseRequest =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("release request: {e}")))?;
    Ok(Json(node.release(req, OffsetDateTime::now_utc()).await?))
}

/// `?after=N`: the policy version the hub last saw.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeQuery {
    after: Option<u64>,
}

/// Answers the node's policy version once it differs from `after` (at once
/// without it), else after [`MAX_NOTICE_WAIT`]: the hub's open request is how
/// a suspension here reaches it before its next answer.
async fn notice(
    State(node): State<Arc<Node>>,
    query: Result<Query<NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Notice>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(format!("notice query: {e}")))?;
    Ok(Json(Notice { version: node.notice(q.after, MAX_NOTICE_WAIT).await? }))
}

/// One partner node as the hub sees it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct NodeState {
    /// The node's partner.
    partner: caveat_core::PartnerId,
    /// Whether the hub's last ask of it succeeded; `false`: its data is
    /// currently unavailable (what the hub held ages out with its leases).
    available: bool,
    /// When an ask (a release) last succeeded.
    #[schema(format = DateTime)]
    last_release: Option<String>,
    /// Whether the hub holds an open revocation-notice request to it.
    watching: bool,
    /// Revocation notices received since the hub started.
    revocations: u64,
    /// View keys the hub holds its reports for under a live lease.
    leases_held: u64,
    /// Reports the hub holds from it, over all view keys.
    reports_held: u64,
}

/// `GET /v1/federation/status`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct FederationStatus {
    /// The configured partner nodes (empty on a hub without federation).
    nodes: Vec<NodeState>,
    /// The partners whose node is unavailable now: their data is missing from every view.
    unavailable: Vec<caveat_core::PartnerId>,
}

/// Which partners' nodes the hub reaches, and what it holds from each: the COP
/// names the partners whose data is unavailable. Why an ask failed is kept for
/// the hub's operator (its log), not told to partners.
#[utoipa::path(
    get,
    path = "/federation/status",
    operation_id = "federation_status",
    tag = "federation",
    responses(
        (status = 200, description = "The partner nodes' availability.", body = FederationStatus),
        (status = 401, description = "No valid token.", body = crate::ErrorBody),
    )
)]
pub(crate) async fn status(
    State(state): State<crate::AppState>,
    _caller: crate::Caller,
) -> Result<Json<FederationStatus>, ApiError> {
    let nodes: Vec<NodeState> = state
        .hub()
        .federation_status()
        .into_iter()
        .map(|s| NodeState {
            partner: s.partner,
            available: s.available,
            last_release: s.last_ok.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
            watching: s.watching,
            revocations: s.revocations,
            leases_held: s.leases_held,
            reports_held: s.reports_held,
        })
        .collect();
    let unavailable = nodes.iter().filter(|n| !n.available).map(|n| n.partner.clone()).collect();
    Ok(Json(FederationStatus { nodes, unavailable }))
}
