//! Operations endpoints: health, metrics, the OpenAPI document, who-am-I.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use caveat_core::Purpose;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The OpenAPI 3.1 document, written by hand beside the routes it describes
/// (a test checks every route is in it).
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let h = state.hub.metrics();
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, kind: &str, v: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    counter("caveat_http_requests_total", "HTTP requests served.", "counter", m.requests.load(Ordering::Relaxed));
    counter(
        "caveat_reports_ingested_total",
        "Reports stored through the API.",
        "counter",
        h.reports_ingested.load(Ordering::Relaxed),
    );
    counter(
        "caveat_batches_rejected_total",
        "Report batches refused (nothing stored).",
        "counter",
        h.batches_rejected.load(Ordering::Relaxed),
    );
    counter(
        "caveat_decisions_permit_total",
        "Access decisions that permitted a report.",
        "counter",
        h.decisions_permit.load(Ordering::Relaxed),
    );
    counter(
        "caveat_decisions_deny_total",
        "Access decisions that denied a report.",
        "counter",
        h.decisions_deny.load(Ordering::Relaxed),
    );
    counter(
        "caveat_open_views",
        "Views held in memory (dropped when idle or past the bound).",
        "gauge",
        state.hub.open_views() as u64,
    );
    counter(
        "caveat_view_memory_bytes",
        "Estimated bytes the open views hold (bounded by --view-memory-mb).",
        "gauge",
        state.hub.view_memory_bytes() as u64,
    );
    counter("caveat_live_clients", "Open live-update streams.", "gauge", m.live_clients.load(Ordering::Relaxed));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

pub(crate) async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let partners: Vec<String> = state.hub.partners().await?.into_iter().map(|p| p.to_string()).collect();
    Ok(Json(json!({
        "user": caller.user.id,
        "partner": caller.user.partner,
        "roles": caller.user.roles,
        "partners": partners,
        "purposes": Purpose::ALL,
    })))
}

pub(crate) async fn demo_users(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let users = state.demo_users.as_ref().ok_or(ApiError::NotFound)?;
    Ok(Json(json!(users.as_ref())))
}
