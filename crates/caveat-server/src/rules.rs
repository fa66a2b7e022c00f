//! Watch rules and alerts (issue 20 item 5): `GET/POST /v1/rules`,
//! `GET/PUT/DELETE /v1/rules/{id}`, `GET /v1/alerts` and
//! `GET /v1/alerts/stream`. The rules' validation, who may see and change
//! them, and the alerts' derivation are the hub's; this extracts and responds.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use caveat_hub::{AlertList, AlertQuery, AlertsSeen, MAX_RULE_BODY, RuleList, RuleSpec, WatchRule};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, View, ViewHeaders};
use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::OpenStream;
use crate::{ApiError, AppState};

/// How often an alert stream looks again with no change to its view (as the event stream).
const RECHECK: Duration = Duration::from_secs(30);

/// The watch rules the caller may see: its own, and its partner's (all of
/// them for a partner admin; those alerting the caller for anyone else).
#[utoipa::path(
    get,
    path = "/rules",
    operation_id = "listRules",
    tag = "rules",
    responses(
        (status = 200, description = "The rules, oldest first.", body = RuleList),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<RuleList>, ApiError> {
    Ok(Json(state.hub.rules(&caller.user).await?))
}

/// Create a watch rule: an area (GeoJSON Polygon or MultiPolygon), a
/// watchlist, the event kinds that alert, and whom.
///
/// Owned by the caller, or with `owner: partner` by its partner (partner
/// admins only). A bad rule is refused naming the field (e.g.
/// `area.coordinates[0][3]`); the change is in the audit log.
#[utoipa::path(
    post,
    path = "/rules",
    operation_id = "createRule",
    tag = "rules",
    request_body = RuleSpec,
    responses(
        (status = 201, description = "Created, at version 1.", body = WatchRule),
        (status = 400, description = "A bad rule; the message names the field.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "A partner rule by someone who is not a partner admin.", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<WatchRule>), ApiError> {
    let spec = read_rule(body).await?;
    Ok((StatusCode::CREATED, Json(state.hub.create_rule(&caller.user, spec).await?)))
}

async fn read_rule(body: Body) -> Result<RuleSpec, ApiError> {
    let bytes = crate::reports::read_body(body, MAX_RULE_BODY).await?;
    Ok(caveat_hub::parse_rule(&bytes)?)
}

/// One watch rule the caller may see.
///
/// Another partner's rule, another user's own rule and an id that does not
/// exist all answer 404 alike.
#[utoipa::path(
    get,
    path = "/rules/{id}",
    operation_id = "getRule",
    tag = "rules",
    params(("id" = String, Path, description = "The rule's id (`W-` and 32 hex digits).")),
    responses(
        (status = 200, description = "The rule.", body = WatchRule),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "No such rule the caller may see.", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WatchRule>, ApiError> {
    Ok(Json(state.hub.rule(&caller.user, &id).await?))
}

/// Replace a watch rule, sending the `version` it was read at.
///
/// A user changes its own rules, a partner admin its partner's. A stale
/// version answers 409 and changes nothing; the change is in the audit log.
#[utoipa::path(
    put,
    path = "/rules/{id}",
    operation_id = "updateRule",
    tag = "rules",
    params(("id" = String, Path, description = "The rule's id.")),
    request_body = RuleSpec,
    responses(
        (status = 200, description = "Replaced; its version is one more.", body = WatchRule),
        (status = 400, description = "A bad rule (or no version); the message names the field.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "A partner rule, and the caller is not a partner admin.", body = ErrorBody),
        (status = 404, description = "No such rule the caller may see.", body = ErrorBody),
        (status = 409, description = "The rule changed since that version; reload it.", body = ErrorBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: Body,
) -> Result<Json<WatchRule>, ApiError> {
    let spec = read_rule(body).await?;
    Ok(Json(state.hub.update_rule(&caller.user, &id, spec).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteQuery {
    /// The version it was read at: 409 if it changed since. Absent: whatever it is now.
    version: Option<u64>,
}

/// Delete a watch rule; its alerts go with it. In the audit log.
#[utoipa::path(
    delete,
    path = "/rules/{id}",
    operation_id = "deleteRule",
    tag = "rules",
    params(("id" = String, Path, description = "The rule's id."), DeleteQuery),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "A partner rule, and the caller is not a partner admin.", body = ErrorBody),
        (status = 404, description = "No such rule the caller may see.", body = ErrorBody),
        (status = 409, description = "The rule changed since that version.", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    state.hub.delete_rule(&caller.user, &id, q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertsQuery {
    /// Only this rule's alerts (`W-` id).
    rule: Option<String>,
    /// `true` leaves out retracted alerts.
    active_only: Option<bool>,
    /// Alerts per response: default 500, at most the hub's page limit.
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// The caller's view's alerts: its partner's rules that alert the caller,
/// matched by the view's events.
///
/// Derived only from the view's events (and the rules' own areas, detected
/// over the same data), so a suspension removes every alert resting on the
/// suspended data on the next request. Vessels moored or at anchor in harbour
/// do not alert unless the rule says `include_harbour`; an alert does not fire
/// again for the same vessel and rule until it has cleared. Audited as reads
/// of the reports the returned alerts rest on.
#[utoipa::path(
    get,
    path = "/alerts",
    operation_id = "listAlerts",
    tag = "rules",
    params(ViewHeaders, AlertsQuery),
    responses(
        (status = 200, description = "The alerts, earliest start first.", body = AlertList),
        (status = 400, description = "No purpose, an unknown one, an unknown case, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn alerts(
    State(state): State<AppState>,
    view: View,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Json<AlertList>, ApiError> {
    let query = AlertQuery { rule: q.rule, active_only: q.active_only.unwrap_or(false), limit: q.limit };
    Ok(Json(state.hub.alerts(&view.caller.user, &view.key, query).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertStreamQuery {
    /// Only this rule's alerts (`W-` id).
    rule: Option<String>,
}

/// The caller's view's alerts as they happen (Server-Sent Events).
///
/// `event: alert` with `data:` an `Alert` (as at `/v1/alerts`): every alert
/// when the stream opens, then each alert newly raised and each whose state
/// or clearing changed, once per change. Looks again when the hub's data,
/// policy or rules change and every 30 s, and sends only what changed in the
/// caller's own view; an alert resting on data the view may no longer use is
/// not sent again. Each alert sent is audited as a read.
#[utoipa::path(
    get,
    path = "/alerts/stream",
    operation_id = "streamAlerts",
    tag = "rules",
    params(ViewHeaders, AlertStreamQuery),
    responses(
        (
            status = 200,
            description = "An event stream: `event: alert`, `data:` an Alert.",
            body = String,
            content_type = "text/event-stream"
        ),
        (status = 400, description = "No purpose, an unknown one, an unknown case, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    view: View,
    ApiQuery(q): ApiQuery<AlertStreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let query = AlertQuery { rule: q.rule, active_only: false, limit: None };
    let mut seen = AlertsSeen::default();
    // Decided before the stream opens, so a bad view key is an error, not an empty stream.
    let first = state.hub.alert_changes(&view.caller.user, &view.key, &query, &mut seen).await?;
    let open = OpenStream::new(state.metrics.clone(), |m| &m.alert_streams);
    let changes = state.hub.changes();
    let pending: std::collections::VecDeque<caveat_hub::AlertBody> = first.into();
    let stream = futures_util::stream::unfold(
        (state, view, query, seen, changes, pending, open),
        |(state, view, query, mut seen, mut changes, mut pending, open)| async move {
            loop {
                if let Some(a) = pending.pop_front() {
                    let data = serde_json::to_string(&a).unwrap_or_default();
                    let event = Event::default().event("alert").id(a.id).data(data);
                    return Some((Ok(event), (state, view, query, seen, changes, pending, open)));
                }
                tokio::select! {
                    changed = changes.changed() => changed.ok()?,
                    () = tokio::time::sleep(RECHECK) => {}
                }
                // A failure (the store is down) ends nothing: the stream tries again on the next change.
                if let Ok(found) = state.hub.alert_changes(&view.caller.user, &view.key, &query, &mut seen).await {
                    pending.extend(found);
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
