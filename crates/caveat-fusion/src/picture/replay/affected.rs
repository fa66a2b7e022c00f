//! One step of a replay: the part of it a change can reach, run again, and
//! compared with the recorded run.
//!
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
//!   carried to the next step.

use std::collections::HashSet;

use caveat_core::ReportId;

use super::{Walk, alive};
use crate::FusionConfig;
use crate::gating;
use crate::measurement::Observation;
use crate::picture::{Reports, Step, Tracker};
use crate::scan;
use crate::track::TrackCore;

impl Tracker {
    /// Replays step `x` on the part its seeds reach, records where the new
    /// run differs from the recorded one, and carries what stays dirty on.
    pub(super) fn replay_step(
        &mut self,
        rep: &Reports,
        cfg: &FusionConfig,
        walk: &mut Walk<'_>,
        x: Step,
        seeds: &[u32],
    ) {
        let (tracks, reports) = self.affected(rep, cfg, walk, x, seeds);
        let results = self.rerun(rep, cfg, walk, x, &tracks, &reports);
        let (start, _) = rep.bounds(x.scan);
        let bucket = self.index.bucket_of(start);
        // Compare with the recorded run, track by track.
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

    /// The affected part of step `x`: the closure of the seeds and the step's
    /// changed reports in the union of the old and new gating graphs. Returns
    /// its tracks (slots) and its reports (log keys), each sorted.
    fn affected(
        &self,
        rep: &Reports,
        cfg: &FusionConfig,
        walk: &mut Walk<'_>,
        x: Step,
        seeds: &[u32],
    ) -> (Vec<u32>, Vec<(i64, ReportId)>) {
        let (start, end) = rep.bounds(x.scan);
        let bucket = self.index.bucket_of(start);
        let sqrt_gate = rep.sqrt_gate;
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
        tracks.sort_unstable();
        reports.sort_unstable();
        (tracks, reports)
    }

    /// The new run of step `x` on its affected part: each of the part's
    /// tracks, the tracks the new run started and those the old run started
    /// here, with its new-run state after the step (`None`: not in the new
    /// run) and whether the step changed it.
    fn rerun(
        &mut self,
        rep: &Reports,
        cfg: &FusionConfig,
        walk: &Walk<'_>,
        x: Step,
        tracks: &[u32],
        reports: &[(i64, ReportId)],
    ) -> Vec<(u32, Option<TrackCore>, bool)> {
        let (start, end) = rep.bounds(x.scan);
        let mut work: Vec<TrackCore> = Vec::new();
        let mut work_slots: Vec<u32> = Vec::new();
        for &slot in tracks {
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
        for &slot in tracks {
            if seen.insert(slot) {
                let new = match walk.dirty.get(&slot) {
                    Some(n) => n.clone(),
                    None => self.slot(slot).and_then(|sl| sl.before(x)).cloned(),
                };
                results.push((slot, new, false));
            }
        }
        // Tracks the old run started here that the new run did not.
        for (_, id) in reports {
            if let Some(&slot) = self.slot_of.get(id)
                && self.slot(slot).and_then(|sl| sl.steps.first()).is_some_and(|st| *st == x)
                && seen.insert(slot)
            {
                results.push((slot, None, false));
            }
        }
        results
    }
}
