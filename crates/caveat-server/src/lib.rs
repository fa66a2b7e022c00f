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
mod events;
mod extract;
mod federation;
mod limits;
mod live;
mod openapi;
mod ops;
mod policy;
mod reports;
mod rules;
mod state;
mod tracks;
mod transparency;
mod web;

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{Caller, View, hash_token, new_token};
pub use error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
pub use federation::node_app;
pub use state::{AppState, DemoUser, Limits, MetricsSource};

/// The partners' API's routes, each registered with its OpenAPI operation
/// (`#[utoipa::path]` on the handler names the method and path), and the
/// document they make.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (v1, v1_doc) = OpenApiRouter::new()
        .routes(routes!(ops::me))
        .routes(routes!(ops::demo_users))
        .routes(routes!(reports::submit))
        .routes(routes!(reports::get))
        .routes(routes!(live::live))
        .routes(routes!(tracks::list))
        .routes(routes!(tracks::get))
        .routes(routes!(tracks::export))
        .routes(routes!(events::list))
        .routes(routes!(events::stream))
        .routes(routes!(rules::list, rules::create))
        .routes(routes!(rules::get, rules::update, rules::delete))
        .routes(routes!(rules::alerts))
        .routes(routes!(rules::stream))
        .routes(routes!(policy::get))
        .routes(routes!(policy::put_standing))
        .routes(routes!(policy::suspend))
        .routes(routes!(policy::resume))
        .routes(routes!(transparency::usage))
        .routes(routes!(transparency::transparency))
        .routes(routes!(cases::list, cases::open))
        .routes(routes!(cases::get))
        .routes(routes!(cases::add_step))
        .routes(routes!(transparency::checkpoint))
        .routes(routes!(transparency::key))
        .routes(routes!(transparency::inclusion))
        .routes(routes!(transparency::consistency))
        .routes(routes!(transparency::witnesses))
        .routes(routes!(federation::status))
        .split_for_parts();
    let v1 = v1
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    let (top, doc) = OpenApiRouter::with_openapi(openapi::meta())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::openapi))
        .split_for_parts();
    (top.nest("/v1", v1), openapi::finish(doc.nest("/v1", v1_doc)))
}

/// The hub's router over `state`.
pub fn app(state: AppState) -> Router {
    routes()
        .0
        .fallback(web::asset)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), limits::enforce))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

/// The OpenAPI 3.1 document of [`app`]'s API, derived from its routes and
/// wire types: what `/openapi.json` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// [`openapi`] as served: pretty JSON with a trailing newline (the form of `docs/openapi.json`).
pub fn openapi_json() -> String {
    openapi::json()
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
