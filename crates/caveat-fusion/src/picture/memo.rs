//! Materialised tracks shared between reads: a picture's reader that wants
//! every track after each batch of reports (a server view) pays only for the
//! tracks that changed since its last read.

use std::collections::HashMap;
use std::sync::Arc;

use caveat_core::ReportId;

use super::Picture;
use crate::Track;
use crate::track::TrackCore;

/// Tracks built by earlier reads of one picture, to reuse when unchanged.
/// Keep one per picture: it is keyed by the picture's own tracker state.
#[derive(Debug, Default)]
pub struct TrackMemo {
    entries: HashMap<ReportId, Entry>,
}

/// A track as materialised, with the record it was made from: the same
/// comparison replay uses tells whether the record has changed since.
#[derive(Debug)]
struct Entry {
    core: TrackCore,
    track: Arc<Track>,
}

impl TrackMemo {
    /// Estimated heap bytes of the memo itself: the records it compares
    /// with, not the tracks it shares with the reads that returned them
    /// ([`Track::heap_bytes`]).
    pub fn memory(&self) -> usize {
        crate::memory::hash_map(&self.entries)
    }
}

impl Picture {
    /// The tracks, as [`Picture::tracks`], reusing from `memo` every track
    /// that has not changed since the memo last saw it.
    pub fn tracks_shared(&mut self, memo: &mut TrackMemo) -> Vec<Arc<Track>> {
        self.refresh();
        let mut fresh = HashMap::with_capacity(self.tracker.live.len());
        let mut out = Vec::with_capacity(self.tracker.live.len());
        for core in &self.tracker.live {
            let track = match memo.entries.remove(&core.id) {
                Some(e) if e.core.same(core) => e.track,
                _ => Arc::new(core.to_track(&self.reports.partners)),
            };
            fresh.insert(core.id, Entry { core: core.clone(), track: track.clone() });
            out.push(track);
        }
        memo.entries = fresh;
        out.sort_by_key(|t| t.id);
        out
    }
}
