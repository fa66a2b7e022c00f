//! `GET /v1/events` and `GET /v1/events/stream`: the behaviour events of the
//! caller's view, detected by the hub from exactly what its view key may use,
//! as a list or as Server-Sent Events while they are raised and retracted.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use caveat_hub::{EventKindName, EventList, EventQuery, EventsSeen};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{View, ViewHeaders};
use crate::error::ErrorBody;
use crate::extract::ApiQuery;
use crate::state::OpenStream;
use crate::{ApiError, AppState};

/// How often an event stream looks again with no change to its view: an AIS
/// silence becomes a gap with time alone (the hub re-detects a view at least
/// once a minute).
const RECHECK: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only these kinds, comma-separated (e.g. `encounter,dark-rendezvous`); all when absent.
    #[param(example = "ais-gap,going-dark")]
    kind: Option<String>,
    /// `true` leaves out retracted events.
    active_only: Option<bool>,
    /// Events per response: default 500, at most the hub's page limit.
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// The caller's view's behaviour events, with lineage and combined marking.
///
/// Computed only from the tracks and reports the view key may use, so a
/// suspension removes every event that rested on the suspended data on the
/// very next request. An event announced before and no longer supported by
/// late or corrected data is listed as `retracted` with the time. Audited as
/// reads of the reports the returned events rest on.
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "listEvents",
    tag = "view",
    params(ViewHeaders, EventsQuery),
    responses(
        (status = 200, description = "The events, earliest start first.", body = EventList),
        (status = 400, description = "No purpose, an unknown one, an unknown case, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    view: View,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    let query =
        EventQuery { kinds: kinds(q.kind.as_deref())?, active_only: q.active_only.unwrap_or(false), limit: q.limit };
    Ok(Json(state.hub.events(&view.caller.user, &view.key, query).await?))
}

/// The kinds a `kind` query names, comma-separated.
fn kinds(q: Option<&str>) -> Result<Vec<EventKindName>, ApiError> {
    let mut kinds = Vec::new();
    for name in q.iter().flat_map(|k| k.split(',')).map(str::trim).filter(|k| !k.is_empty()) {
        let kind: EventKindName = serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
            let shown: String = name.chars().take(40).collect();
            ApiError::BadRequest(format!("query `kind`: unknown event kind `{shown}`"))
        })?;
        kinds.push(kind);
    }
    Ok(kinds)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// Only these kinds, comma-separated (e.g. `encounter,dark-rendezvous`); all when absent.
    #[param(example = "going-dark,dark-rendezvous")]
    kind: Option<String>,
}

/// The caller's view's behaviour events as they happen (Server-Sent Events).
///
/// `event: event` with `data:` an `Event` (as at `/v1/events`): when the stream
/// opens, every event of the view (active and retracted); then each event newly
/// raised, and each whose state or end changed (retracted by late data, or
/// ended), once per change. Clients keep events by `id`.
///
/// The stream looks again when the hub's data or policy changes and every 30 s
/// (time alone turns a silence into a gap), but sends only what changed in the
/// caller's own view, so neither the content nor the timing of what it sends
/// depends on data the view may not use. An event that rested on data the view
/// may no longer use (a suspension) is not sent again: it is gone from the
/// view, as from `/v1/events`. Each event sent is audited as a read of the
/// reports it rests on.
#[utoipa::path(
    get,
    path = "/events/stream",
    operation_id = "streamEvents",
    tag = "view",
    params(ViewHeaders, StreamQuery),
    responses(
        (
            status = 200,
            description = "An event stream: `event: event`, `data:` an Event.",
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
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let query = EventQuery { kinds: kinds(q.kind.as_deref())?, active_only: false, limit: None };
    let mut seen = EventsSeen::default();
    // The first batch is decided before the stream opens, so a bad view key is an error, not an empty stream.
    let first = state.hub.event_changes(&view.caller.user, &view.key, &query, &mut seen).await?;
    let open = OpenStream::new(state.metrics.clone(), |m| &m.event_streams);
    let changes = state.hub.changes();
    let pending: std::collections::VecDeque<caveat_hub::EventBody> = first.into();
    let stream = futures_util::stream::unfold(
        (state, view, query, seen, changes, pending, open),
        |(state, view, query, mut seen, mut changes, mut pending, open)| async move {
            loop {
                if let Some(e) = pending.pop_front() {
                    let data = serde_json::to_string(&e).unwrap_or_default();
                    let event = Event::default().event("event").id(e.id).data(data);
                    return Some((Ok(event), (state, view, query, seen, changes, pending, open)));
                }
                tokio::select! {
                    changed = changes.changed() => changed.ok()?,
                    () = tokio::time::sleep(RECHECK) => {}
                }
                // A failure (the store is down) ends nothing: the stream tries again on the next change.
                if let Ok(found) = state.hub.event_changes(&view.caller.user, &view.key, &query, &mut seen).await {
                    pending.extend(found);
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
