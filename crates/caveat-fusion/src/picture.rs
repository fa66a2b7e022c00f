//! A picture: the tracks fused from one set of reports, kept up to date as
//! reports arrive in any order.
//!
//! The tracker works in steps: one step is one sensor's reports of one scan,
//! and steps run in a canonical order (scan, then originator, then source
//! kind). Within a step, reports and tracks that gate with each other form
//! clusters, each solved on its own; a track's state after a step depends
//! only on its cluster. In-order reports cost one step each.
//!
//! # Late reports: localised exact replay
//!
//! A report for a scan already applied (or a removal, or a correction that
//! hides a report) changes the result only where it can reach. The picture
//! keeps, for every track, its state after each step that changed it (its
//! history, back to [`FusionConfig::replay_horizon`]), plus two spatial
//! indexes over the past (`index`): track reach discs per ten seconds and
//! reports per scan.
//! On the next read it walks the steps from the earliest change and, at each
//! step, recomputes only the *affected* part:
//!
//! - a track is *dirty* when its state in the new run differs from the one
//!   recorded (or it exists in only one run); changed reports and dirty tracks
//!   are the seeds of a step;
//! - the affected part is the connected component of the seeds in the union
//!   of the old run's and the new run's gating graphs of the step (old states
//!   and old report set, new states and new report set; a clean track has one
//!   state in both). It contains every new-run cluster that differs from an
//!   old-run cluster, and consists of whole new-run clusters, so solving it
//!   alone gives exactly what a full run gives for those tracks. Outside it,
//!   every cluster is the old cluster with the old inputs, so the recorded
//!   states stand;
//! - the recomputed tracks are compared with their recorded states bit for
//!   bit: equal ones become clean again (a late report that went to a new
//!   track leaves its neighbours alone), different ones stay dirty and are
//!   carried to the next step;
//! - deletion is a pure function of a track's state and the scan start
//!   (`scan::is_dead`), so deciding it per track needs no global pass.
//!
//! The walk ends at the newest applied scan; then the histories are edited
//! where the runs differ and the live tracks are patched. The result is bit
//! for bit the batch result ([`fuse`]) whatever the arrival order; the tests
//! check this with random arrival orders (slightly late to wholly shuffled),
//! reads in between, removals, re-insertions and corrections, on scenarios
//! dense enough for vessels to share clusters. A change older than the
//! horizon (measured back from the 1024th newest report, so that one tip
//! stamped hours ahead does not drag it along) re-fuses everything held.
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

use std::collections::{BTreeMap, HashMap, HashSet};

use caveat_core::{PartnerId, Report, ReportId};
use time::OffsetDateTime;

use crate::gating;
use crate::index::Entry;
use crate::measurement::Observation;
use crate::scan;
use crate::track::{Track, TrackCore};
use crate::{Error, FusionConfig};

mod history;
mod memo;
mod reports;
mod tracker;

pub use memo::TrackMemo;
use reports::{Reports, Step};
use tracker::Tracker;

/// Cells of the indexes over the past, as a fraction of the gating grid's:
/// their discs span seconds, not minutes, so they are small.
const INDEX_CELL_FRACTION: f64 = 0.25;

/// What [`Picture::insert`] did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insertion {
    /// Added after everything already applied: one scan step.
    InOrder,
    /// Added into a scan already applied: the picture replays from that scan on the next read.
    Late,
    /// Already held: nothing changed.
    Duplicate,
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
                    rep.log.range((after.saturating_mul(rep.scan_ns), lo)..).next().map(|((t, _), _)| rep.scan_of(*t));
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
        let start = s.saturating_mul(rep.scan_ns);
        let end = start.saturating_add(rep.scan_ns);
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
            self.replay_step(rep, cfg, walk, x, start, end, &seeds);
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
        let start = from.scan.saturating_mul(rep.scan_ns);
        let end = start.saturating_add(rep.scan_ns);
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

    #[expect(clippy::too_many_arguments, reason = "one step of the walk needs its scan bounds and the walk")]
    #[expect(clippy::too_many_lines, reason = "closure, recompute and comparison read best in one place")]
    fn replay_step(
        &mut self,
        rep: &Reports,
        cfg: &FusionConfig,
        walk: &mut Walk<'_>,
        x: Step,
        start: i64,
        end: i64,
        seeds: &[u32],
    ) {
        let bucket = self.index.bucket_of(start);
        let sqrt_gate = rep.sqrt_gate;
        // The affected part: closure of the seeds in the union of the old and new gating graphs.
        let mut in_t: HashSet<u32> = HashSet::new();
        let mut in_r: HashSet<ReportId> = HashSet::new();
        let mut reports: Vec<(i64, ReportId)> = Vec::new();
        let mut tracks: Vec<u32> = Vec::new();
        let mut queue: Vec<Result<u32, (i64, ReportId)>> = Vec::new();
        for &slot in seeds {
            if in_t.insert(slot) {
                queue.push(Ok(slot));
            }
        }
        for id in walk.changes.get(&x).into_iter().flatten() {
            let key = walk.pending.get(id).and_then(Option::as_ref).or_else(|| rep.get(id)).map(|o| (o.t, o.id));
            if let Some(key) = key
                && in_r.insert(*id)
            {
                queue.push(Err(key));
            }
        }
        while let Some(e) = queue.pop() {
            match e {
                Ok(slot) => {
                    tracks.push(slot);
                    let old = self.slot(slot).and_then(|sl| alive(sl.before(x), start, cfg));
                    let clean = !walk.dirty.contains_key(&slot);
                    let new =
                        if clean { old } else { alive(walk.dirty.get(&slot).and_then(Option::as_ref), start, cfg) };
                    // (state, takes old-run reports, takes new-run reports)
                    let states = if clean {
                        [old.map(|t| (t, true, true)), None]
                    } else {
                        [old.map(|t| (t, true, false)), new.map(|t| (t, false, true))]
                    };
                    for (st, takes_old, takes_new) in states.into_iter().flatten() {
                        let mut buf = std::mem::take(&mut walk.report_buf);
                        rep.index.candidates(x.scan, &scan::reach(st, start, end, cfg), &mut buf);
                        for e in &buf {
                            let key = e.key;
                            if e.source != x.source || rep.rank(e.originator) != x.rank || in_r.contains(&key.1) {
                                continue;
                            }
                            let Some(o) = walk.obs(rep, key) else { continue };
                            let member =
                                (takes_old && walk.in_old(rep, &key.1)) || (takes_new && Walk::in_new(rep, &key.1));
                            if member && scan::gate(st, o, cfg).is_some() {
                                in_r.insert(key.1);
                                queue.push(Err(key));
                            }
                        }
                        walk.report_buf = buf;
                    }
                }
                Err(key) => {
                    reports.push(key);
                    let Some(o) = walk.obs(rep, key) else { continue };
                    let (r_old, r_new) = (walk.in_old(rep, &key.1), Walk::in_new(rep, &key.1));
                    let mut buf = std::mem::take(&mut walk.track_buf);
                    self.index.candidates(bucket, o, gating::report_radius(o, sqrt_gate), &mut buf);
                    for &slot in &buf {
                        if in_t.contains(&slot) {
                            continue;
                        }
                        let old = self.slot(slot).and_then(|sl| alive(sl.before(x), start, cfg));
                        let edge = match walk.dirty.get(&slot) {
                            None => (r_old || r_new) && old.is_some_and(|t| scan::gate(t, o, cfg).is_some()),
                            Some(new) => {
                                (r_old && old.is_some_and(|t| scan::gate(t, o, cfg).is_some()))
                                    || (r_new
                                        && alive(new.as_ref(), start, cfg)
                                            .is_some_and(|t| scan::gate(t, o, cfg).is_some()))
                            }
                        };
                        if edge {
                            in_t.insert(slot);
                            queue.push(Ok(slot));
                        }
                    }
                    walk.track_buf = buf;
                }
            }
        }
        // The new run on the affected part.
        tracks.sort_unstable();
        reports.sort_unstable();
        let mut work: Vec<TrackCore> = Vec::new();
        let mut work_slots: Vec<u32> = Vec::new();
        for &slot in &tracks {
            let new = match walk.dirty.get(&slot) {
                Some(n) => n.as_ref(),
                None => self.slot(slot).and_then(|sl| sl.before(x)),
            };
            if let Some(t) = alive(new, start, cfg) {
                work.push(t.clone());
                work_slots.push(slot);
            }
        }
        let group: Vec<&Observation> =
            reports.iter().filter(|k| Walk::in_new(rep, &k.1)).filter_map(|&k| rep.log.get(&k)).collect();
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        // The affected part is a union of clusters, often many small ones: the grid keeps it linear.
        scan::place_all(&work, start, end, cfg, &mut self.replay_scratch);
        scan::apply_group(&mut work, start, &group, cfg, &mut self.replay_scratch, true, &mut touched);
        let mut changed = vec![false; work.len()];
        for &i in &touched {
            if let Some(c) = changed.get_mut(i) {
                *c = true;
            }
        }
        self.touched = touched;

        // Compare with the recorded run, track by track.
        let mut results: Vec<(u32, Option<TrackCore>, bool)> = Vec::new();
        let mut seen: HashSet<u32> = HashSet::new();
        for (i, t) in work.into_iter().enumerate() {
            let slot = match work_slots.get(i) {
                Some(&s) => s,
                None => match self.slot_of.get(&t.id) {
                    Some(&s) => s,
                    None => self.alloc(t.id),
                },
            };
            seen.insert(slot);
            results.push((slot, Some(t), changed.get(i).copied().unwrap_or(false)));
        }
        for &slot in &tracks {
            if seen.insert(slot) {
                let new = match walk.dirty.get(&slot) {
                    Some(n) => n.clone(),
                    None => self.slot(slot).and_then(|sl| sl.before(x)).cloned(),
                };
                results.push((slot, new, false));
            }
        }
        // Tracks the old run started here that the new run did not.
        for (_, id) in &reports {
            if let Some(&slot) = self.slot_of.get(id)
                && self.slot(slot).and_then(|sl| sl.steps.first()).is_some_and(|st| *st == x)
                && seen.insert(slot)
            {
                results.push((slot, None, false));
            }
        }
        for (slot, new, changed) in results {
            let (old_at, old_after) = match self.slot(slot) {
                Some(sl) => (sl.at(x).is_some(), sl.at(x).or_else(|| sl.before(x))),
                None => (false, None),
            };
            let clean = match (old_after, new.as_ref()) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same(b),
                _ => false,
            };
            if changed {
                if let Some(t) = &new {
                    self.place(bucket, slot, t, start, cfg);
                    if !(clean && old_at) {
                        walk.edits.push((slot, x, Some(t.clone())));
                    }
                }
            } else if old_at {
                walk.edits.push((slot, x, None));
            }
            let moved = changed || old_at;
            if clean {
                walk.dirty.remove(&slot);
            } else {
                walk.dirty.insert(slot, new);
                if moved {
                    self.seed_later(rep, cfg, walk, slot, x, false);
                }
            }
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

/// The tracks fused from the reports inserted into it.
///
/// Reads ([`Picture::tracks`]) are a pure function of the set of reports held
/// and the config: insertion order, removals and re-insertions leave no trace.
/// A report into a scan already applied costs, on the next read, a replay of
/// only the clusters it can reach from its scan on (exact: the result equals
/// [`fuse`]); one older than [`FusionConfig::replay_horizon`] re-fuses everything.
#[derive(Debug)]
pub struct Picture {
    config: FusionConfig,
    reports: Reports,
    tracker: Tracker,
    /// Reports whose use may have changed since the last replay, with whether
    /// (and as what) the recorded run used them.
    pending: HashMap<ReportId, Option<Observation>>,
    /// Log length and time of the last horizon anchor computed.
    anchor: Option<(usize, i64)>,
}

impl Picture {
    /// An empty picture.
    pub fn new(config: FusionConfig) -> Self {
        Picture {
            reports: Reports::new(&config),
            tracker: Tracker::new(&config),
            config,
            pending: HashMap::new(),
            anchor: None,
        }
    }

    /// How many reports it holds.
    pub fn len(&self) -> usize {
        self.reports.log.len()
    }

    /// Whether it holds no report.
    pub fn is_empty(&self) -> bool {
        self.reports.log.is_empty()
    }

    /// The reports held, in (observed time, id) order.
    pub fn report_ids(&self) -> impl Iterator<Item = ReportId> + '_ {
        self.reports.log.keys().map(|(_, id)| *id)
    }

    /// Notes, before it changes, whether the recorded run used report `id`.
    fn touch(&mut self, id: ReportId, scan: i64) {
        if self.tracker.applied.is_none_or(|a| scan > a) || self.pending.contains_key(&id) {
            return;
        }
        let used = self.reports.effective(&id).cloned();
        self.pending.insert(id, used);
    }

    /// Adds a report. The caller has already decided the picture's view may see it.
    ///
    /// A report whose `supersedes` names a report of the same originator held
    /// here hides that report from fusion while both are held.
    ///
    /// # Errors
    /// [`Error::InvalidReport`] for a field fusion cannot use (nothing is
    /// added); [`Error::TooManyOriginators`] past 256 originators.
    pub fn insert(&mut self, report: &Report) -> Result<Insertion, Error> {
        if self.reports.times.contains_key(&report.id) {
            return Ok(Insertion::Duplicate);
        }
        let originator = match self.reports.partner_index.get(&report.originator) {
            Some(&i) => i,
            None => {
                // Validate before interning so a refused report leaves no trace.
                Observation::from_report(report, 0)?;
                let (i, reranked) = self.reports.intern(&report.originator, report.id)?;
                if reranked && self.tracker.applied.is_some() {
                    // Recorded steps are ordered by rank: none of them is in order any more.
                    self.reset();
                }
                i
            }
        };
        let obs = Observation::from_report(report, originator)?;
        let scan = self.reports.scan_of(obs.t);
        let late = self.tracker.applied.is_some_and(|a| scan <= a);
        self.touch(obs.id, scan);
        if let Some(old) = obs.supersedes
            && let Some(&t_old) = self.reports.times.get(&old)
        {
            self.touch(old, self.reports.scan_of(t_old));
        }
        self.reports.add(obs, scan);
        if !late && self.pending.is_empty() {
            // Scans before this one are complete as far as in-order arrival goes: apply them now.
            self.tracker.apply_through(&self.reports, &self.config, scan - 1);
            self.prune();
        }
        Ok(if late { Insertion::Late } else { Insertion::InOrder })
    }

    /// Removes a report (a marking expired, a decision changed). Returns whether it was held.
    pub fn remove(&mut self, id: &ReportId) -> bool {
        let Some(&t) = self.reports.times.get(id) else { return false };
        self.touch(*id, self.reports.scan_of(t));
        let supersedes = self.reports.log.get(&(t, *id)).and_then(|o| o.supersedes);
        if let Some(old) = supersedes
            && let Some(&t_old) = self.reports.times.get(&old)
        {
            self.touch(old, self.reports.scan_of(t_old));
        }
        self.reports.remove(id);
        true
    }

    /// Keeps only the reports for which `keep` holds, given each report's id and
    /// originator (a suspension: `|_, o| o != suspended`). Returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&ReportId, &PartnerId) -> bool) -> usize {
        let doomed: Vec<ReportId> = self
            .reports
            .log
            .values()
            .filter(|o| !self.reports.partners.get(usize::from(o.originator)).is_some_and(|p| keep(&o.id, p)))
            .map(|o| o.id)
            .collect();
        for id in &doomed {
            self.remove(id);
        }
        doomed.len()
    }

    fn reset(&mut self) {
        self.tracker = Tracker::new(&self.config);
        self.pending.clear();
    }

    /// Brings the tracker state up to every report held.
    pub fn refresh(&mut self) {
        if !self.pending.is_empty() {
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
                    self.tracker.replay(&self.reports, &self.config, &changes, &pending);
                }
            }
        }
        if let Some(&(t, _)) = self.reports.log.keys().next_back() {
            let last = self.reports.scan_of(t);
            self.tracker.apply_through(&self.reports, &self.config, last);
            self.prune();
        }
    }

    /// The tracks, live as of the latest report held, ordered by id.
    pub fn tracks(&mut self) -> Vec<Track> {
        self.refresh();
        let mut out: Vec<Track> = self.tracker.live.iter().map(|t| t.to_track(&self.reports.partners)).collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// The tracks still live at `at` (tracks that would be dropped for
    /// staleness by then are left out; estimates are not moved forward).
    pub fn tracks_at(&mut self, at: OffsetDateTime) -> Vec<Track> {
        self.refresh();
        let t = i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        let mut out: Vec<Track> = self
            .tracker
            .live
            .iter()
            .filter(|tr| !scan::is_dead(tr, t, &self.config))
            .map(|tr| tr.to_track(&self.reports.partners))
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// How many tracks are live (after a refresh), without building them.
    pub fn track_count(&mut self) -> usize {
        self.refresh();
        self.tracker.live.len()
    }
}

/// Fuses a set of reports in one go: a pure function of the set and the config.
///
/// # Errors
/// The first report fusion cannot use (see [`Picture::insert`]).
pub fn fuse<'a>(reports: impl IntoIterator<Item = &'a Report>, config: &FusionConfig) -> Result<Vec<Track>, Error> {
    let mut sorted: Vec<&Report> = reports.into_iter().collect();
    // In observation order every report is in order: the batch path, no replay.
    sorted.sort_by_key(|r| (r.observed_at, r.id));
    let mut p = Picture::new(config.clone());
    for r in sorted {
        p.insert(r)?;
    }
    Ok(p.tracks())
}
