//! The node's federation API (issue 17): `POST /v1/federation/release`, and
//! `GET /v1/federation/notice`, the revocation notice the hub keeps open.
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
