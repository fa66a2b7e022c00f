//! Track histories: each track's state after every step that changed it,
//! which is what lets a replay start from any step, and the horizon beyond
//! which they are dropped.
//!
//! A change older than the horizon (measured back from the 1024th newest
//! report, so that one tip stamped hours ahead does not drag it along)
//! re-fuses everything held.

use caveat_core::ReportId;

use super::{Picture, Step, Tracker};
use crate::FusionConfig;
use crate::scan;
use crate::track::TrackCore;

/// One track's history: its state after each step that changed it, in step
/// order (the first is the step that started it, or the oldest kept).
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) id: ReportId,
    /// In the free list (its id no longer maps to it).
    pub(super) freed: bool,
    /// Steps that changed it, ascending, and its state after each (apart, so
    /// that the binary searches touch only the steps).
    pub(super) steps: Vec<Step>,
    pub(super) states: Vec<TrackCore>,
    /// Index in the live tracks.
    pub(super) live: Option<usize>,
}

impl Slot {
    /// The state before step `x`.
    pub(super) fn before(&self, x: Step) -> Option<&TrackCore> {
        let i = self.steps.partition_point(|s| *s < x);
        i.checked_sub(1).and_then(|i| self.states.get(i))
    }

    /// The state recorded at step `x`, if the step changed it.
    pub(super) fn at(&self, x: Step) -> Option<&TrackCore> {
        self.steps.binary_search(&x).ok().and_then(|i| self.states.get(i))
    }

    pub(super) fn push(&mut self, x: Step, t: TrackCore) {
        // A first push would reserve four states (over a kilobyte), and most
        // tracks from clutter or a lone sighting never get a second: one.
        if self.states.capacity() == 0 {
            self.steps.reserve_exact(1);
            self.states.reserve_exact(1);
        }
        self.steps.push(x);
        self.states.push(t);
    }

    /// Sets (`Some`) or drops (`None`) the state recorded at step `x`.
    pub(super) fn set(&mut self, x: Step, v: Option<TrackCore>) {
        match (self.steps.binary_search(&x), v) {
            (Ok(i), Some(t)) => {
                if let Some(e) = self.states.get_mut(i) {
                    *e = t;
                }
            }
            (Ok(i), None) => {
                self.steps.remove(i);
                self.states.remove(i);
            }
            (Err(i), Some(t)) => {
                self.steps.insert(i, x);
                self.states.insert(i, t);
            }
            (Err(_), None) => {}
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    fn clear(&mut self) {
        self.steps.clear();
        self.states.clear();
    }
}

/// Rank, newest first, of the report whose time anchors the replay horizon.
const ANCHOR_RANK: usize = 1024;

impl Tracker {
    pub(super) fn alloc(&mut self, id: ReportId) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => u32::try_from(self.slots.len()).unwrap_or(u32::MAX),
        };
        let fresh = Slot { id, freed: false, steps: Vec::new(), states: Vec::new(), live: None };
        match self.slots.get_mut(slot as usize) {
            Some(s) => *s = fresh,
            None => self.slots.push(fresh),
        }
        self.slot_of.insert(id, slot);
        slot
    }

    pub(super) fn release(&mut self, slot: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize)
            && !s.freed
        {
            s.freed = true;
            s.clear();
            if self.slot_of.get(&s.id) == Some(&slot) {
                self.slot_of.remove(&s.id);
            }
            self.free.push(slot);
        }
    }

    pub(super) fn slot(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize)
    }

    /// Drops history before the horizon; returns the first scan still fully described.
    fn prune(&mut self, cfg: &FusionConfig, scan_ns: i64, cut: i64) -> Option<i64> {
        let bucket = self.index.bucket_of(cut);
        if self.pruned.is_some_and(|p| p >= bucket) {
            return None;
        }
        self.pruned = Some(bucket);
        let (bstart, _) = self.index.bounds(bucket);
        let first_scan = bstart.div_euclid(scan_ns);
        let first = Step::first(first_scan);
        let mut gone = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            let k = s.steps.partition_point(|st| *st < first);
            if k > 1 {
                s.steps.drain(..k - 1);
                s.states.drain(..k - 1);
                // Histories past the horizon leave their buffers behind.
                if s.states.capacity() > 2 * s.states.len() + 4 {
                    s.steps.shrink_to_fit();
                    s.states.shrink_to_fit();
                }
            }
            if !s.freed
                && s.live.is_none()
                && s.steps.iter().all(|st| *st < first)
                && s.states.iter().all(|t| scan::is_dead(t, bstart, cfg))
            {
                gone.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        for slot in gone {
            self.release(slot);
        }
        self.index.prune_before(bucket);
        self.base_scan = Some(first_scan);
        Some(first_scan)
    }
}

impl Picture {
    /// Drops history older than the horizon behind "now": the time of the
    /// [`ANCHOR_RANK`]-th newest report, so that a few reports stamped far
    /// ahead (a tip whose time is a guess) do not push the horizon forward.
    pub(super) fn prune(&mut self) {
        let Some(applied) = self.tracker.applied else { return };
        // Scans applied in order are complete: sort their reports for a
        // later replay's look-ups, and trim them.
        self.reports.index.seal(applied.saturating_add(1));
        let horizon = i64::try_from(self.config.replay_horizon.whole_nanoseconds()).unwrap_or(i64::MAX);
        let newest = applied.saturating_add(1).saturating_mul(self.reports.scan_ns);
        let cut = newest.saturating_sub(horizon);
        if self.tracker.pruned.is_some_and(|p| p >= self.tracker.index.bucket_of(cut)) {
            return;
        }
        let len = self.reports.log.len();
        let anchor = match self.anchor {
            Some((at, t)) if len < at.saturating_add(ANCHOR_RANK) => t,
            _ => {
                let log = &self.reports.log;
                let t = log.nth_back(ANCHOR_RANK - 1).or_else(|| log.first()).map_or(i64::MIN, |o| o.t);
                self.anchor = Some((len, t));
                t
            }
        };
        let cut = newest.min(anchor).saturating_sub(horizon);
        if let Some(first) = self.tracker.prune(&self.config, self.reports.scan_ns, cut) {
            self.reports.index.prune_before(first);
        }
    }
}
