//! The tracker: the live tracks, their histories and the track index over
//! the past, advanced scan by scan. Each scan first drops the tracks dead at
//! its start, then applies its steps in order; every track a step changed
//! gets that state appended to its history and is listed in the index.

use std::collections::HashMap;
use std::sync::Arc;

use caveat_core::ReportId;

use super::history::Slot;
use super::{INDEX_CELL_FRACTION, Reports};
use crate::FusionConfig;
use crate::identity::Identity;
use crate::index::TrackIndex;
use crate::measurement::Observation;
use crate::memory;
use crate::scan::{self, Scratch};
use crate::track::{TRAIL_POINT_BYTES, TrackCore, identity_bytes};

/// Length of a bucket of the track index: a track is listed once per bucket
/// (and again when it moves cell), so longer buckets mean fewer entries but
/// wider reach discs, hence more candidates per look-up. Every live track
/// is listed in every bucket back to the replay horizon: at 10 s that was
/// most of the index's memory (issue 16); at 30 s a vessel at 10 m/s adds
/// 300 m to its disc, within the report index's cells.
const BUCKET_NS: i64 = 30_000_000_000;

/// Everything derived from the reports: tracks, histories, the track index.
#[derive(Debug)]
pub(super) struct Tracker {
    /// Live tracks as of `applied`, in no particular order, and their slots.
    pub(super) live: Vec<TrackCore>,
    pub(super) live_slots: Vec<u32>,
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<u32>,
    pub(super) slot_of: HashMap<ReportId, u32>,
    pub(super) index: TrackIndex,
    /// Last scan reflected in `live`.
    pub(super) applied: Option<i64>,
    /// Last scan with reports: the one whose start decided which tracks are live.
    pub(super) last_scan: Option<i64>,
    /// Histories and indexes describe every step from this scan on.
    pub(super) base_scan: Option<i64>,
    pub(super) pruned: Option<i64>,
    pub(super) scratch: Scratch,
    /// The replay's own buffers: its grid holds a handful of tracks, and
    /// clearing one that held the whole picture costs more than the step.
    pub(super) replay_scratch: Scratch,
    pub(super) touched: Vec<usize>,
}

/// Lists a track estimate in the track index from `from` to the end of `bucket`.
fn place(
    index: &mut TrackIndex,
    slots: &mut [Slot],
    bucket: i64,
    slot: u32,
    t: &TrackCore,
    from: i64,
    cfg: &FusionConfig,
) {
    let (_, end) = index.bounds(bucket);
    if slots.get(slot as usize).is_some_and(|s| !s.freed) {
        index.insert(bucket, slot, &scan::reach(t, from, end, cfg));
    }
}

impl Tracker {
    pub(super) fn new(cfg: &FusionConfig) -> Self {
        Tracker {
            live: Vec::new(),
            live_slots: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            slot_of: HashMap::new(),
            index: TrackIndex::new(cfg.grid_cell_m * INDEX_CELL_FRACTION, BUCKET_NS),
            applied: None,
            last_scan: None,
            base_scan: None,
            pruned: None,
            scratch: Scratch::new(cfg),
            replay_scratch: Scratch::new(cfg),
            touched: Vec::new(),
        }
    }

    /// Estimated heap bytes: histories, trails and identities, the track
    /// index, and the rest (see [`crate::Memory`]).
    pub(super) fn heap_bytes(&self) -> (usize, usize, usize, usize) {
        let mut histories = memory::vec(&self.slots);
        let mut trails = 0;
        for s in &self.slots {
            histories += memory::vec(&s.steps) + memory::vec(&s.states);
            // A track's states share its trail (one point per report applied,
            // so as many as the newest state's hits) and, between changes, its identity.
            trails += s.states.last().map_or(0, |t| t.hits as usize * TRAIL_POINT_BYTES);
            let mut last: Option<*const Identity> = None;
            for t in &s.states {
                let p = Arc::as_ptr(&t.identity);
                if last != Some(p) {
                    trails += identity_bytes(&t.identity);
                    last = Some(p);
                }
            }
        }
        let other = memory::vec(&self.live)
            + memory::vec(&self.live_slots)
            + memory::vec(&self.free)
            + memory::hash_map(&self.slot_of)
            + self.scratch.heap_bytes()
            + self.replay_scratch.heap_bytes()
            + memory::vec(&self.touched);
        (histories, trails, self.index.heap_bytes(), other)
    }

    pub(super) fn place(&mut self, bucket: i64, slot: u32, t: &TrackCore, from: i64, cfg: &FusionConfig) {
        place(&mut self.index, &mut self.slots, bucket, slot, t, from, cfg);
    }

    /// Applies one scan's reports (in step order) to the live tracks, recording versions.
    fn apply_scan(&mut self, rep: &Reports, cfg: &FusionConfig, s: i64, obs: &[&Observation]) {
        let (start, end) = rep.bounds(s);
        let bucket = self.index.bucket_of(start);
        if !self.index.filled(bucket) {
            // The buckets before are complete as far as in-order steps go:
            // sort their discs for look-up and trim them.
            self.index.seal(Some(bucket));
            // Every track live before this scan's deletions, so the bucket covers
            // any step a later replay may add before this scan.
            let (bstart, _) = self.index.bounds(bucket);
            for (t, &slot) in self.live.iter().zip(&self.live_slots) {
                place(&mut self.index, &mut self.slots, bucket, slot, t, bstart, cfg);
            }
            self.index.set_filled(bucket);
        }
        // Dead tracks leave by swap_remove (the order of the live tracks
        // never matters: association orders tracks by id), so the gating
        // grid kept from the previous scan needs one fix-up per death.
        let mut i = 0;
        while i < self.live.len() {
            if self.live.get(i).is_some_and(|t| !scan::is_dead(t, start, cfg)) {
                i += 1;
                continue;
            }
            let last = self.live.len() - 1;
            let slot = self.live_slots.get(i).copied().unwrap_or(u32::MAX);
            if let Some(s) = self.slots.get_mut(slot as usize) {
                s.live = None;
            }
            self.live.swap_remove(i);
            self.live_slots.swap_remove(i);
            self.scratch.grid.swap_remove(i, last);
            if let Some(&moved) = self.live_slots.get(i)
                && let Some(m) = self.slots.get_mut(moved as usize)
            {
                m.live = Some(i);
            }
        }
        self.last_scan = Some(s);

        scan::place_due(&self.live, start, end, cfg, &mut self.scratch);
        let mut rest = obs;
        while let Some(first) = rest.first() {
            let step = rep.step(first);
            let n = rest.iter().take_while(|o| rep.step(o) == step).count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            let mut touched = std::mem::take(&mut self.touched);
            touched.clear();
            scan::apply_group(&mut self.live, start, group, cfg, &mut self.scratch, true, &mut touched);
            for &i in &touched {
                while self.live_slots.len() <= i {
                    let k = self.live_slots.len();
                    let Some(id) = self.live.get(k).map(|t| t.id) else { break };
                    let slot = self.alloc(id);
                    if let Some(s) = self.slots.get_mut(slot as usize) {
                        s.live = Some(k);
                    }
                    self.live_slots.push(slot);
                }
                let (Some(&slot), Some(t)) = (self.live_slots.get(i), self.live.get(i)) else { continue };
                place(&mut self.index, &mut self.slots, bucket, slot, t, start, cfg);
                if let Some(sl) = self.slots.get_mut(slot as usize) {
                    sl.push(step, t.clone());
                }
            }
            self.touched = touched;
        }
    }

    /// Applies every scan after `applied` up to `last` inclusive.
    pub(super) fn apply_through(&mut self, rep: &Reports, cfg: &FusionConfig, last: i64) {
        if self.applied.is_some_and(|a| a >= last) {
            return;
        }
        for (s, obs) in rep.scans(self.applied, last) {
            self.apply_scan(rep, cfg, s, &obs);
        }
        self.applied = Some(last);
    }
}
