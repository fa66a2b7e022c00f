//! Caveat's HTTP API: authentication, purpose-bound views, live updates, and
//! the embedded web common operating picture.
//!
//! This crate owns the wire: routes, the [`ApiError`] codes, tokens and the
//! `Caveat-Purpose` / `Caveat-Case` view-key headers, body limits and
//! timeouts. It is a thin adapter over `caveat-hub`: each handler extracts,
//! calls one use-case of the hub, maps its error and responds. It decides
//! nothing about access itself and shapes no audit entry.
//!
//! [`app`] builds the router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and bind no port:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use axum::body::Body;
//! use axum::http::Request;
//! use tower::ServiceExt;
//!
//! let store = caveat_store::SqliteStore::open_in_memory().unwrap();
//! let key = caveat_audit::SigningKey::from_seed("caveat.example/audit", [1; 32]).unwrap();
//! let state = caveat_server::AppState::open(Arc::new(store), key).await.unwrap();
//! let app = caveat_server::app(state);
//! let res = app.oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(res.status(), 200);
//! # });
//! ```
#![warn(missing_docs)]

mod auth;
mod cases;
mod error;
mod extract;
mod federation;
mod limits;
mod live;
mod ops;
mod policy;
mod reports;
mod state;
mod tracks;
mod transparency;
mod web;

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

pub use auth::{Caller, View, hash_token, new_token};
pub use error::ApiError;
pub use federation::node_app;
pub use state::{AppState, DemoUser, Limits};

/// The hub's router over `state`.
pub fn app(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/me", get(ops::me))
        .route("/demo/users", get(ops::demo_users))
        .route("/reports", post(reports::submit))
        .route("/reports/{id}", get(reports::get))
        .route("/live", get(live::live))
        .route("/tracks", get(tracks::list))
        .route("/tracks/{id}", get(tracks::get))
        .route("/export", get(tracks::export))
        .route("/policy", get(policy::get))
        .route("/policy/standing", axum::routing::put(policy::put_standing))
        .route("/suspensions", post(policy::suspend))
        .route("/suspensions/{id}", axum::routing::delete(policy::resume))
        .route("/usage", get(transparency::usage))
        .route("/transparency", get(transparency::transparency))
        .route("/cases", get(cases::list).post(cases::open))
        .route("/cases/{id}", get(cases::get))
        .route("/cases/{id}/steps", post(cases::add_step))
        .route("/audit/checkpoint", get(transparency::checkpoint))
        .route("/audit/key", get(transparency::key))
        .route("/audit/proof/inclusion", get(transparency::inclusion))
        .route("/audit/proof/consistency", get(transparency::consistency))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/openapi.json", get(ops::openapi))
        .nest("/v1", v1)
        .fallback(web::asset)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), limits::enforce))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

/// The operator's router over `state`: `/metrics` (Prometheus text) and
/// `/healthz`. Served on its own listen address (`caveat serve
/// --metrics-listen`), never on the partners' API: the counters are hub-wide
/// (decisions permitted and denied, reports ingested), so a partner reading
/// them would learn of other partners' activity and of attempts on data it
/// may not see.
pub fn operator_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}
