//! `GET /v1/live`: Server-Sent Events telling a client its view may have changed.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::WatchStream;

use crate::auth::View;
use crate::state::Metrics;
use crate::{ApiError, AppState};

/// Counts a live stream while it is open.
struct Open(Arc<Metrics>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.live_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The event carries no data of the view, only a version: the client re-fetches
/// its tracks through the same policy path as any request, so the stream
/// itself can reveal nothing (not even whether the change concerned it).
pub(crate) async fn live(
    State(state): State<AppState>,
    view: View,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let _ = view.key;
    state.metrics.live_clients.fetch_add(1, Ordering::Relaxed);
    let open = Open(state.metrics.clone());
    let stream = WatchStream::new(state.changes.subscribe()).map(move |version| {
        let _keep = &open;
        Ok(Event::default().event("view").data(format!("{{\"version\":{version}}}")))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
