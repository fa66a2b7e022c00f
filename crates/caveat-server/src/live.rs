//! `GET /v1/live`: Server-Sent Events telling a client its view changed.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{View, ViewHeaders};
use crate::error::ErrorBody;
use crate::state::OpenStream;
use crate::{ApiError, AppState};

/// The data of a `view` event of `/v1/live`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ViewEvent {
    /// The version of the view's content: it changes only when the caller's own tracks do.
    pub(crate) version: u64,
}

/// Server-Sent Events telling the client its view changed.
///
/// `event: view` with `data:` a `ViewEvent` (`{"version": N}`) when the stream
/// opens and whenever the caller's own tracks changed; the client then
/// re-fetches `/v1/tracks`.
///
/// The event carries no data of the view, only the version of its content: the
/// client re-fetches its tracks through the same policy path as any request.
///
/// The hub wakes every stream on any change (reports stored, policy changed),
/// but a stream sends an event only when the caller's own tracks changed:
/// reports it may not see arriving, or another partner's policy change that
/// leaves its view as it was, send nothing (invariant 2: not even the timing
/// of events may depend on what the view may not see). The check builds the
/// view as a request would; nothing of it leaves but "changed", and the
/// client's next read is decided and audited as usual.
#[utoipa::path(
    get,
    path = "/live",
    operation_id = "live",
    tag = "view",
    params(ViewHeaders),
    responses(
        (
            status = 200,
            description = "An event stream: `event: view`, `data:` a ViewEvent, e.g. `{\"version\":3}`.",
            body = String,
            content_type = "text/event-stream"
        ),
        (status = 400, description = "No purpose, an unknown one, or an unknown case.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn live(
    State(state): State<AppState>,
    view: View,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The view as it is now: the first event, and what later ones compare with.
    let first = state.hub.view_content(&view.caller.user, &view.key).await?;
    let open = OpenStream::new(state.metrics.clone(), |m| &m.live_clients);
    let changes = state.hub.changes();
    let stream = futures_util::stream::unfold(
        (state, view, changes, None::<u64>, first, open),
        |(state, view, mut changes, sent, mut now, open)| async move {
            loop {
                if sent != Some(now) {
                    let data = serde_json::to_string(&ViewEvent { version: now }).unwrap_or_default();
                    let event = Event::default().event("view").data(data);
                    return Some((Ok(event), (state, view, changes, Some(now), now, open)));
                }
                changes.changed().await.ok()?;
                // A failure to build the view (the store is down) ends nothing:
                // the stream waits for the next change and tries again.
                if let Ok(content) = state.hub.view_content(&view.caller.user, &view.key).await {
                    now = content;
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
