//! The node's federation API (issue 17): `POST /v1/federation/release`.
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
use axum::extract::State;
use axum::routing::{get, post};
use caveat_hub::federation::{MAX_RELEASE_REQUEST_BYTES, Node, ReleaseAnswer, ReleaseRequest};
use time::OffsetDateTime;

use crate::ApiError;

/// Time a release request body has to arrive whole: it is a few hundred bytes.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's federation router over `node`.
pub fn node_app(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/federation/release", post(release))
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
