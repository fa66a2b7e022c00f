//! What one live stream (of events or of alerts) has already sent, so that
//! only changes are sent, and audited, again.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::events::EventState;

/// What a stream last sent of each item: its state and the time that can
/// still change (an event's end, an alert's clearing).
pub(crate) type SentState = (EventState, Option<OffsetDateTime>);

/// An item a stream announces: its id and what of it may change.
pub(crate) trait Announced {
    fn sent(&self) -> (&str, SentState);
}

/// What one stream has sent of its view's events or alerts.
#[derive(Debug, Default)]
pub struct Sent(HashMap<String, SentState>);

impl Sent {
    /// Of `items` (all the view holds now), those new or changed since last
    /// sent, in their order, at most `limit`. Items gone from the view (a
    /// suspension) are forgotten, never announced: they are not the view's.
    pub(crate) fn changes<T: Announced>(&mut self, items: Vec<T>, limit: usize) -> Vec<T> {
        let present: HashSet<&str> = items.iter().map(|i| i.sent().0).collect();
        self.0.retain(|id, _| present.contains(id.as_str()));
        let mut changed: Vec<T> = items
            .into_iter()
            .filter(|i| {
                let (id, state) = i.sent();
                self.0.get(id) != Some(&state)
            })
            .collect();
        changed.truncate(limit);
        changed
    }

    /// Records `items` as sent: called once they are audited.
    pub(crate) fn mark_sent<T: Announced>(&mut self, items: &[T]) {
        for i in items {
            let (id, state) = i.sent();
            self.0.insert(id.to_owned(), state);
        }
    }
}

/// What one event stream has sent.
pub type EventsSeen = Sent;
/// What one alert stream has sent.
pub type AlertsSeen = Sent;
