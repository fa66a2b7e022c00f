//! Operations endpoints: health, metrics, the OpenAPI document, who-am-I.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use caveat_core::{Marking, PartnerId, Purpose, Role, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::state::DemoUser;
use crate::{ApiError, AppState};

/// The document, rendered once.
static OPENAPI: LazyLock<String> = LazyLock::new(crate::openapi::json);

/// Liveness.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The hub is up: `ok`.", body = String, content_type = "text/plain"))
)]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json"))
)]
pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI.as_str())
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
    counter("caveat_event_streams", "Open event streams.", "gauge", m.event_streams.load(Ordering::Relaxed));
    counter("caveat_alert_streams", "Open alert streams.", "gauge", m.alert_streams.load(Ordering::Relaxed));
    let witnesses = state.hub.witness_status();
    counter(
        "caveat_witnesses_down",
        "Configured witnesses that did not cosign the latest checkpoint.",
        "gauge",
        witnesses.iter().filter(|w| !w.up).count() as u64,
    );
    if !witnesses.is_empty() {
        let _ = writeln!(
            out,
            "# HELP caveat_witness_up Whether this witness cosigned the latest checkpoint.\n# TYPE caveat_witness_up gauge"
        );
        for w in &witnesses {
            // Label values escape backslash and quote (Prometheus text format).
            let name = w.name.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "caveat_witness_up{{witness=\"{name}\"}} {}", u8::from(w.up));
        }
    }
    for source in &state.metrics_sources {
        source.write_metrics(&mut out);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// The caller, and what the hub has that it may name in requests.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// The user the token belongs to.
    user: UserId,
    /// The partner it acts for (the only one it can act for).
    partner: PartnerId,
    /// What it may do.
    roles: BTreeSet<Role>,
    /// The deployment's partners.
    partners: Vec<PartnerId>,
    /// The purposes a request may declare.
    purposes: Vec<Purpose>,
    /// The marking the hub applies to the caller's partner's reports that
    /// carry none (its default); a report may carry any other marking its
    /// originator chooses, releasable to the deployment's partners.
    default_marking: Marking,
    /// The marking applied instead to AIS the partner feeds in; null when it is `default_marking`.
    #[schema(required)]
    ais_marking: Option<Marking>,
}

/// Who is asking: the caller's user, partner and roles, and the hub's partners and purposes.
#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    tag = "session",
    responses(
        (status = 200, description = "The caller.", body = Me),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let own = state.hub.store().partner(&caller.user.partner).await?.ok_or(ApiError::Unauthenticated)?;
    Ok(Json(Me {
        default_marking: own.default_marking,
        ais_marking: own.ais_marking,
        partners: state.hub.partners().await?,
        purposes: Purpose::ALL.to_vec(),
        user: caller.user.id,
        partner: caller.user.partner,
        roles: caller.user.roles,
    }))
}

/// Demo mode only (`caveat serve --demo`): the demo users and their tokens.
#[utoipa::path(
    get,
    path = "/demo/users",
    operation_id = "demoUsers",
    tag = "session",
    security(()),
    responses(
        (status = 200, description = "The demo users.", body = Vec<DemoUser>),
        (status = 404, description = "Not a demo hub.", body = ErrorBody),
    )
)]
pub(crate) async fn demo_users(State(state): State<AppState>) -> Result<Json<Vec<DemoUser>>, ApiError> {
    let users = state.demo_users.as_ref().ok_or(ApiError::NotFound)?;
    Ok(Json(users.as_ref().clone()))
}
