//! Localised exact replay: a late report, a removal or a correction is
//! noted as it arrives, and on the next read the steps are walked again from
//! the earliest change to the newest applied scan, each recomputing only
//! what the change can reach (`affected`).
//!
//! - a track is *dirty* when its state in the new run differs from the one
//!   recorded (or it exists in only one run); changed reports and dirty tracks
//!   are the seeds of a step;
//! - deletion is a pure function of a track's state and the scan start
//!   (`scan::is_dead`), so deciding it per track needs no global pass.
//!
//! The walk ends at the newest applied scan; then the histories are edited
//! where the runs differ and the live tracks are patched.
//!
//! What it costs: the work of the dirty tracks' clusters from the late report
//! on, not of every scan since. At sea that is the late report's own track and
//! its few later reports. In a crowded harbour a dirty track sits in a large
//! cluster at most steps and the whole cluster is re-gated and re-solved each
//! time, which dominates the arrival-order scale bench. Recording each step's
//! clusters (members and edge costs) would let such a step re-solve from the
//! recorded costs, gating only the dirty track again; that is the next step
//! if late reports into harbours matter.
//!
//! Why not a bounded reordering window with out-of-sequence filtering beyond
//! it: it costs less time and memory, but the result would depend on arrival
//! order. Making it order-independent means defining the processing order
//! from each report's receipt time, which the server would have to record and
//! pass in, and batch fusion (and every differential test) would need those
//! times too; beyond the window the estimate would be an out-of-sequence
//! approximation, not the batch one. Exact replay keeps "a view equals batch
//! fusion of its permitted subset" as it is, with no new input.

use std::collections::{BTreeMap, HashMap};

use caveat_core::ReportId;

use super::{Picture, Reports, Step, Tracker};
use crate::FusionConfig;
use crate::index::Entry;
use crate::measurement::Observation;
use crate::scan;
use crate::track::TrackCore;

mod affected;

impl Picture {
    /// Notes, before it changes, whether the recorded run used report `id`.
    pub(super) fn touch(&mut self, id: ReportId, scan: i64) {
        if self.tracker.applied.is_none_or(|a| scan > a) || self.pending.contains_key(&id) {
            return;
        }
        let used = self.reports.effective(&id).cloned();
        self.pending.insert(id, used);
    }

    /// Replays every change noted since the last read, or re-fuses
    /// everything when one is older than the histories reach.
    pub(super) fn replay_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let mut changes: BTreeMap<Step, Vec<ReportId>> = BTreeMap::new();
        for (id, old) in &pending {
            let new = self.reports.effective(id);
            if old.is_some() != new.is_some()
                && let Some(o) = old.as_ref().or(new)
            {
                changes.entry(self.reports.step(o)).or_default().push(*id);
            }
        }
        if let Some(first) = changes.keys().next() {
            if self.tracker.base_scan.is_some_and(|b| first.scan < b) {
                self.reset();
            } else {
                // Look-ups binary-search each scan's sorted reports.
                self.reports.index.seal_all();
                self.tracker.replay(&self.reports, &self.config, &changes, &pending);
            }
        }
    }
}

/// A replay in progress.
struct Walk<'p> {
    pending: &'p HashMap<ReportId, Option<Observation>>,
    changes: &'p BTreeMap<Step, Vec<ReportId>>,
    /// New-run state of the tracks whose state differs from their history (`None`: not in the new run).
    dirty: HashMap<u32, Option<TrackCore>>,
    /// Version edits: at step, set (`Some`) or drop (`None`) the slot's recorded state.
    edits: Vec<(u32, Step, Option<TrackCore>)>,
    /// Slots to seed at later steps of the current scan.
    todo: BTreeMap<Step, Vec<u32>>,
    bucket: Option<i64>,
    report_buf: Vec<Entry>,
    track_buf: Vec<u32>,
}

impl<'p> Walk<'p> {
    fn obs<'r>(&self, rep: &'r Reports, key: (i64, ReportId)) -> Option<&'r Observation>
    where
        'p: 'r,
    {
        let pending: &'p HashMap<ReportId, Option<Observation>> = self.pending;
        rep.log.get(&key).or_else(|| pending.get(&key.1).and_then(Option::as_ref))
    }

    fn in_new(rep: &Reports, id: &ReportId) -> bool {
        rep.effective(id).is_some()
    }

    fn in_old(&self, rep: &Reports, id: &ReportId) -> bool {
        match self.pending.get(id) {
            Some(o) => o.is_some(),
            None => Self::in_new(rep, id),
        }
    }
}

fn alive<'t>(t: Option<&'t TrackCore>, start: i64, cfg: &FusionConfig) -> Option<&'t TrackCore> {
    t.filter(|t| !scan::is_dead(t, start, cfg))
}

impl Tracker {
    /// Replays the steps from the earliest change to `applied`, recomputing
    /// only what the changes can reach (see the module documentation).
    fn replay(
        &mut self,
        rep: &Reports,
        cfg: &FusionConfig,
        changes: &BTreeMap<Step, Vec<ReportId>>,
        pending: &HashMap<ReportId, Option<Observation>>,
    ) {
        let Some(applied) = self.applied else { return };
        // Look-ups binary-search each bucket's sorted discs.
        let current = self.index.bucket_of(applied.saturating_mul(rep.scan_ns));
        self.index.seal(Some(current));
        let mut walk = Walk {
            pending,
            changes,
            dirty: HashMap::new(),
            edits: Vec::new(),
            todo: BTreeMap::new(),
            bucket: None,
            report_buf: Vec::new(),
            track_buf: Vec::new(),
        };
        let lo = ReportId::from_bytes([0; 16]);
        let mut next = changes.keys().next().map(|x| x.scan);
        while let Some(s) = next.filter(|&s| s <= applied) {
            self.replay_scan(rep, cfg, &mut walk, s);
            let after = s.saturating_add(1);
            let next_change = changes.range(Step::first(after)..).next().map(|(x, _)| x.scan);
            next = if walk.dirty.is_empty() {
                next_change
            } else {
                let next_report =
                    rep.log.from((after.saturating_mul(rep.scan_ns), lo)).first().map(|o| rep.scan_of(o.t));
                match (next_change, next_report) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
        }
        // Buckets after the last step visited list tracks too (they may be read by a later replay).
        let end = self.index.bucket_of(applied.saturating_add(1).saturating_mul(rep.scan_ns)).saturating_add(1);
        self.place_dirty_between(cfg, &mut walk, end);
        self.commit(rep, cfg, walk.edits, applied);
    }

    /// Lists the dirty tracks' new states in every filled bucket after the
    /// walk's current one and before `before`: the walk visits only buckets
    /// with steps, and a filled bucket must list every track live in it.
    fn place_dirty_between(&mut self, cfg: &FusionConfig, walk: &mut Walk<'_>, before: i64) {
        let Some(current) = walk.bucket else { return };
        for b in self.index.filled_between(Some(current), before) {
            let (bstart, _) = self.index.bounds(b);
            let states: Vec<(u32, TrackCore)> =
                walk.dirty.iter().filter_map(|(&k, v)| v.as_ref().map(|t| (k, t.clone()))).collect();
            for (slot, t) in states {
                self.place(b, slot, &t, bstart, cfg);
            }
        }
    }

    fn replay_scan(&mut self, rep: &Reports, cfg: &FusionConfig, walk: &mut Walk<'_>, s: i64) {
        let (start, _) = rep.bounds(s);
        let first = Step::first(s);
        let bucket = self.index.bucket_of(start);
        if walk.bucket != Some(bucket) {
            self.place_dirty_between(cfg, walk, bucket);
            let (bstart, _) = self.index.bounds(bucket);
            if !self.index.filled(bucket) {
                // No step of the recorded run fell in this bucket, so nothing
                // changed since the last filled one: its members, as they were.
                let members = self
                    .index
                    .members_before(bucket)
                    .unwrap_or_else(|| (0..u32::try_from(self.slots.len()).unwrap_or(u32::MAX)).collect());
                for slot in members {
                    if let Some(t) = self.slot(slot).and_then(|sl| sl.before(first)).cloned() {
                        self.place(bucket, slot, &t, bstart, cfg);
                    }
                }
                self.index.set_filled(bucket);
            }
            // New-run states enter the bucket as the in-order path would have put them.
            let states: Vec<(u32, TrackCore)> =
                walk.dirty.iter().filter_map(|(&k, v)| v.as_ref().map(|t| (k, t.clone()))).collect();
            for (slot, t) in states {
                self.place(bucket, slot, &t, bstart, cfg);
            }
            walk.bucket = Some(bucket);
        }
        // Tracks dead in both runs can meet nothing any more.
        walk.dirty.retain(|&slot, new| {
            let old = self.slots.get(slot as usize).and_then(|sl| alive(sl.before(first), start, cfg));
            old.is_some() || alive(new.as_ref(), start, cfg).is_some()
        });
        walk.todo.clear();
        let dirty: Vec<u32> = walk.dirty.keys().copied().collect();
        for slot in dirty {
            self.seed_later(rep, cfg, walk, slot, first, true);
        }
        for x in walk.changes.range(first..Step::first(s.saturating_add(1))).map(|(x, _)| *x) {
            walk.todo.entry(x).or_default();
        }
        // Seeding only ever adds later steps of this scan, so the map drains in step order.
        while let Some((x, seeds)) = walk.todo.pop_first() {
            self.replay_step(rep, cfg, walk, x, &seeds);
        }
    }

    /// Adds `slot` as a seed of the later steps of the scan whose reports its
    /// old or new state could gate with (from step `from`, inclusive if `inclusive`).
    fn seed_later(
        &self,
        rep: &Reports,
        cfg: &FusionConfig,
        walk: &mut Walk<'_>,
        slot: u32,
        from: Step,
        inclusive: bool,
    ) {
        let (start, end) = rep.bounds(from.scan);
        let after = |x: Step| if inclusive { x >= from } else { x > from };
        let old =
            self.slot(slot).and_then(|sl| if inclusive { sl.before(from) } else { sl.at(from).or(sl.before(from)) });
        let new = match walk.dirty.get(&slot) {
            Some(n) => n.as_ref(),
            None => old,
        };
        let mut steps: Vec<Step> = Vec::new();
        for st in [alive(old, start, cfg), alive(new, start, cfg)].into_iter().flatten() {
            let mut buf = std::mem::take(&mut walk.report_buf);
            rep.index.candidates(from.scan, &scan::reach(st, start, end, cfg), &mut buf);
            for e in &buf {
                let x = Step { scan: from.scan, rank: rep.rank(e.originator), source: e.source };
                if after(x) {
                    steps.push(x);
                }
            }
            walk.report_buf = buf;
        }
        steps.sort_unstable();
        steps.dedup();
        for x in steps {
            walk.todo.entry(x).or_default().push(slot);
        }
    }

    /// Writes the replay's edits into the histories and patches the live tracks.
    fn commit(
        &mut self,
        rep: &Reports,
        cfg: &FusionConfig,
        mut edits: Vec<(u32, Step, Option<TrackCore>)>,
        applied: i64,
    ) {
        // The live tracks change places below: the gating grid kept for the
        // in-order path indexes them by place, so it is rebuilt at the next scan.
        self.scratch.grid.clear();
        edits.sort_by_key(|(slot, x, _)| (*slot, *x));
        let mut edited: Vec<u32> = Vec::new();
        for (slot, x, v) in edits {
            if edited.last() != Some(&slot) {
                edited.push(slot);
            }
            if let Some(sl) = self.slots.get_mut(slot as usize) {
                sl.set(x, v);
            }
        }
        let last_scan = rep.last_effective_scan(applied);
        if last_scan != self.last_scan {
            // The scan that decides deletions moved: re-derive every live track.
            self.last_scan = last_scan;
            self.live.clear();
            self.live_slots.clear();
            edited = (0..u32::try_from(self.slots.len()).unwrap_or(u32::MAX)).collect();
            for s in &mut self.slots {
                s.live = None;
            }
        }
        let start = last_scan.map(|s| s.saturating_mul(rep.scan_ns));
        for slot in edited {
            let Some(sl) = self.slots.get_mut(slot as usize) else { continue };
            let now = sl.states.last().filter(|t| start.is_some_and(|s| !scan::is_dead(t, s, cfg)));
            match (sl.live, now) {
                (Some(i), Some(t)) => {
                    if let Some(e) = self.live.get_mut(i) {
                        *e = t.clone();
                    }
                }
                (Some(i), None) => {
                    sl.live = None;
                    self.live.swap_remove(i);
                    self.live_slots.swap_remove(i);
                    if let Some(&moved) = self.live_slots.get(i)
                        && let Some(m) = self.slots.get_mut(moved as usize)
                    {
                        m.live = Some(i);
                    }
                }
                (None, Some(t)) => {
                    sl.live = Some(self.live.len());
                    self.live.push(t.clone());
                    self.live_slots.push(slot);
                }
                (None, None) => {}
            }
            if self.slot(slot).is_some_and(|sl| sl.is_empty() && sl.live.is_none()) {
                self.release(slot);
            }
        }
    }
}
