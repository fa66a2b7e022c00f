//! The reports a picture holds, and the canonical order of the steps they
//! are applied in: scan, then sensor (originator by id, source kind).
//!
//! Everything here is derived from the reports alone, so it survives a reset
//! of the tracker.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use caveat_core::{Mmsi, PartnerId, ReportId, SourceKind, VesselDescriptors};

use super::INDEX_CELL_FRACTION;
use crate::gating;
use crate::index::ReportIndex;
use crate::measurement::{ObsData, Observation};
use crate::memory;
use crate::scan;
use crate::track::MAX_PARTNERS;
use crate::{Error, FusionConfig};

/// The canonical position of one step: scan, then sensor (originator by id, source kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Step {
    pub(super) scan: i64,
    pub(super) rank: u32,
    pub(super) source: SourceKind,
}

impl Step {
    /// Before every step of `scan`.
    pub(super) fn first(scan: i64) -> Step {
        Step { scan, rank: 0, source: SourceKind::Ais }
    }
}

/// The reports held, in (observation time, id) order: a sorted vector, 16
/// bytes a report where a B-tree map keyed by (time, id) took about 76 (issue
/// 16). Reports come mostly in time order, so an insertion is mostly a push;
/// a late one moves the newer entries up (a memmove of at most a few
/// megabytes, far less than the replay it causes).
#[derive(Debug, Default)]
pub(super) struct Log(Vec<Observation>);

impl Log {
    fn find(&self, key: &(i64, ReportId)) -> Result<usize, usize> {
        self.0.binary_search_by(|o| (o.t, o.id).cmp(key))
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every report, in order.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, Observation> {
        self.0.iter()
    }

    pub(super) fn get(&self, key: &(i64, ReportId)) -> Option<&Observation> {
        self.find(key).ok().and_then(|i| self.0.get(i))
    }

    /// Holds `o` (replacing a report with its time and id).
    fn insert(&mut self, o: Observation) {
        match self.find(&(o.t, o.id)) {
            Ok(i) => {
                if let Some(e) = self.0.get_mut(i) {
                    *e = o;
                }
            }
            Err(i) => self.0.insert(i, o),
        }
    }

    fn remove(&mut self, key: &(i64, ReportId)) -> Option<Observation> {
        self.find(key).ok().map(|i| self.0.remove(i))
    }

    /// The reports from `lo` (inclusive) to `hi` (exclusive).
    pub(super) fn range(&self, lo: (i64, ReportId), hi: (i64, ReportId)) -> &[Observation] {
        let a = self.0.partition_point(|o| (o.t, o.id) < lo);
        let b = self.0.partition_point(|o| (o.t, o.id) < hi).max(a);
        self.0.get(a..b).unwrap_or_default()
    }

    /// The reports from `lo` on.
    pub(super) fn from(&self, lo: (i64, ReportId)) -> &[Observation] {
        let a = self.0.partition_point(|o| (o.t, o.id) < lo);
        self.0.get(a..).unwrap_or_default()
    }

    /// The report `k` places from the newest (0: the newest).
    pub(super) fn nth_back(&self, k: usize) -> Option<&Observation> {
        self.0.len().checked_sub(k + 1).and_then(|i| self.0.get(i))
    }

    pub(super) fn first(&self) -> Option<&Observation> {
        self.0.first()
    }

    pub(super) fn last(&self) -> Option<&Observation> {
        self.0.last()
    }

    fn heap_bytes(&self) -> usize {
        memory::vec(&self.0)
    }
}

/// The reports held, and what is derived from them alone.
#[derive(Debug)]
pub(super) struct Reports {
    pub(super) scan_ns: i64,
    pub(super) partners: Vec<PartnerId>,
    pub(super) partner_index: HashMap<PartnerId, u16>,
    /// Rank of each interned originator among all of them by id: the step order.
    ranks: Vec<u32>,
    pub(super) log: Log,
    pub(super) times: HashMap<ReportId, i64>,
    /// Corrections held: superseded id -> (correcting id, its originator).
    corrections: HashMap<ReportId, Vec<(ReportId, u16)>>,
    pub(super) index: ReportIndex,
    pub(super) sqrt_gate: f64,
    /// Vessel descriptors held, one `Arc` per distinct value by MMSI: a
    /// vessel's AIS repeats the same descriptors in every report, and a copy
    /// per report was a sixth of a picture's memory (issue 16).
    vessels: HashMap<Option<Mmsi>, Vec<Arc<VesselDescriptors>>>,
    /// Insertions since the interned descriptors were last trimmed.
    interned: usize,
}

/// Distinct descriptors kept per MMSI (a vessel that changes its static
/// data keeps its latest few).
const VESSELS_PER_MMSI: usize = 8;

/// Insertions between trims of descriptors no report holds any more.
const VESSEL_TRIM_EVERY: usize = 1 << 16;

impl Reports {
    pub(super) fn new(config: &FusionConfig) -> Self {
        Reports {
            scan_ns: config.scan_ns(),
            partners: Vec::new(),
            partner_index: HashMap::new(),
            ranks: Vec::new(),
            log: Log::default(),
            times: HashMap::new(),
            corrections: HashMap::new(),
            index: ReportIndex::new(config.grid_cell_m * INDEX_CELL_FRACTION),
            sqrt_gate: scan::sqrt_gate(config),
            vessels: HashMap::new(),
            interned: 0,
        }
    }

    /// `v` as held already, if an equal value is.
    pub(super) fn intern_vessel(&mut self, v: Arc<VesselDescriptors>) -> Arc<VesselDescriptors> {
        self.interned += 1;
        if self.interned >= VESSEL_TRIM_EVERY {
            self.interned = 0;
            for list in self.vessels.values_mut() {
                list.retain(|x| Arc::strong_count(x) > 1);
            }
            self.vessels.retain(|_, list| !list.is_empty());
        }
        let list = self.vessels.entry(v.mmsi).or_default();
        if let Some(x) = list.iter().find(|x| ***x == *v) {
            return x.clone();
        }
        if list.len() >= VESSELS_PER_MMSI {
            list.remove(0);
        }
        list.push(v.clone());
        v
    }

    /// Interns originator `p`, first named by report `id`. Returns its index
    /// and whether every originator was ranked afresh, which reorders steps
    /// already recorded.
    pub(super) fn intern(&mut self, p: &PartnerId, id: ReportId) -> Result<(u16, bool), Error> {
        if let Some(&i) = self.partner_index.get(p) {
            return Ok((i, false));
        }
        let i = u16::try_from(self.partners.len())
            .ok()
            .filter(|&i| usize::from(i) < MAX_PARTNERS)
            .ok_or(Error::TooManyOriginators { id, max: MAX_PARTNERS })?;
        // Ranks are spaced out so that a newcomer usually fits between its
        // neighbours by id without moving anyone's rank (recorded steps are
        // ordered by rank); when no gap is left, everything is ranked afresh.
        let below = self.partners.iter().zip(&self.ranks).filter(|(q, _)| *q < p).map(|(_, &r)| r).max();
        let above = self.partners.iter().zip(&self.ranks).filter(|(q, _)| *q > p).map(|(_, &r)| r).min();
        let (lo, hi) = (below.unwrap_or(0), above.unwrap_or(u32::MAX));
        self.partners.push(p.clone());
        self.partner_index.insert(p.clone(), i);
        if hi.saturating_sub(lo) >= 2 {
            self.ranks.push(lo + (hi - lo) / 2);
            return Ok((i, false));
        }
        let mut order: Vec<usize> = (0..self.partners.len()).collect();
        order.sort_by(|&a, &b| self.partners.get(a).cmp(&self.partners.get(b)));
        let gap = u32::MAX / (u32::try_from(order.len()).unwrap_or(u32::MAX).saturating_add(1));
        self.ranks = vec![0; order.len()];
        for (n, &k) in order.iter().enumerate() {
            if let Some(r) = self.ranks.get_mut(k) {
                *r = gap.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1));
            }
        }
        Ok((i, true))
    }

    /// Holds `obs`, a report of `scan` not held yet.
    pub(super) fn add(&mut self, obs: Observation, scan: i64) {
        if let Some(old) = obs.supersedes {
            self.corrections.entry(old).or_default().push((obs.id, obs.originator));
        }
        let own = gating::report_radius(&obs, self.sqrt_gate);
        self.index.insert(scan, &obs, own);
        self.times.insert(obs.id, obs.t);
        self.log.insert(obs);
    }

    /// Forgets report `id`, and the correction it made. Its entry in the
    /// report index stays: a replay still has to find the report where the
    /// recorded run used it, and a stale entry only adds a candidate.
    pub(super) fn remove(&mut self, id: &ReportId) {
        let Some(t) = self.times.remove(id) else { return };
        let supersedes = self.log.remove(&(t, *id)).and_then(|o| o.supersedes);
        self.forget_correction(id, supersedes);
    }

    /// Forgets the reports `ids` in one pass over the log (one removal at a
    /// time would move the log's tail once per report).
    pub(super) fn remove_all(&mut self, ids: &HashSet<ReportId>) {
        let mut corrections = Vec::new();
        self.log.0.retain(|o| {
            let gone = ids.contains(&o.id);
            if gone {
                corrections.push((o.id, o.supersedes));
            }
            !gone
        });
        for (id, supersedes) in corrections {
            self.times.remove(&id);
            self.forget_correction(&id, supersedes);
        }
    }

    /// Forgets the correction report `id` made of `supersedes`, if any.
    fn forget_correction(&mut self, id: &ReportId, supersedes: Option<ReportId>) {
        if let Some(old) = supersedes
            && let Some(v) = self.corrections.get_mut(&old)
        {
            v.retain(|(c, _)| c != id);
            if v.is_empty() {
                self.corrections.remove(&old);
            }
        }
    }

    /// Estimated heap bytes of the reports and of their index (see [`crate::Memory`]).
    pub(super) fn heap_bytes(&self) -> (usize, usize) {
        let vessels: usize = self
            .vessels
            .values()
            .map(|list| {
                memory::vec(list)
                    + list
                        .iter()
                        .map(|v| {
                            memory::arc::<VesselDescriptors>()
                                + v.name.as_ref().map_or(0, String::capacity)
                                + v.call_sign.as_ref().map_or(0, String::capacity)
                        })
                        .sum::<usize>()
            })
            .sum::<usize>()
            + memory::hash_map(&self.vessels);
        // Report data this picture alone holds (not shared through `Observed`).
        let own: usize = self
            .log
            .iter()
            .filter(|o| Arc::strong_count(o.data()) == 1)
            .map(|o| memory::arc::<ObsData>() + o.partner.as_str().len())
            .sum();
        let corrections: usize = self.corrections.values().map(memory::vec).sum();
        let reports = self.log.heap_bytes()
            + own
            + vessels
            + memory::hash_map(&self.times)
            + memory::hash_map(&self.corrections)
            + corrections
            + memory::vec(&self.partners)
            + memory::hash_map(&self.partner_index)
            + memory::vec(&self.ranks);
        (reports, self.index.heap_bytes())
    }

    pub(super) fn scan_of(&self, t: i64) -> i64 {
        t.div_euclid(self.scan_ns)
    }

    /// Start and end of scan `s`.
    pub(super) fn bounds(&self, s: i64) -> (i64, i64) {
        let start = s.saturating_mul(self.scan_ns);
        (start, start.saturating_add(self.scan_ns))
    }

    pub(super) fn step(&self, o: &Observation) -> Step {
        Step { scan: self.scan_of(o.t), rank: self.rank(o.originator), source: o.source }
    }

    pub(super) fn rank(&self, originator: u16) -> u32 {
        self.ranks.get(usize::from(originator)).copied().unwrap_or(u32::MAX)
    }

    pub(super) fn get(&self, id: &ReportId) -> Option<&Observation> {
        self.times.get(id).and_then(|&t| self.log.get(&(t, *id)))
    }

    fn shadowed(&self, o: &Observation) -> bool {
        self.corrections.get(&o.id).is_some_and(|v| v.iter().any(|(_, orig)| *orig == o.originator))
    }

    /// The report if it is held and not hidden by a correction.
    pub(super) fn effective(&self, id: &ReportId) -> Option<&Observation> {
        self.get(id).filter(|o| !self.shadowed(o))
    }

    /// The last scan, up to `last`, holding a report fusion uses.
    pub(super) fn last_effective_scan(&self, last: i64) -> Option<i64> {
        let until = last.saturating_add(1).saturating_mul(self.scan_ns);
        let lo = ReportId::from_bytes([0; 16]);
        self.log.range((i64::MIN, lo), (until, lo)).iter().rev().find(|o| !self.shadowed(o)).map(|o| self.scan_of(o.t))
    }

    /// The scans after `after` (all if `None`) up to `last`, each with its
    /// reports fusion uses in step order, then (time, id).
    pub(super) fn scans(&self, after: Option<i64>, last: i64) -> Vec<(i64, Vec<&Observation>)> {
        let from = after.map_or(i64::MIN, |a| a.saturating_add(1).saturating_mul(self.scan_ns));
        let until = last.saturating_add(1).saturating_mul(self.scan_ns);
        let lo = ReportId::from_bytes([0; 16]);
        let mut out: Vec<(i64, Vec<&Observation>)> = Vec::new();
        for o in self.log.range((from, lo), (until, lo)) {
            if self.shadowed(o) {
                continue;
            }
            let s = self.scan_of(o.t);
            match out.last_mut() {
                Some((c, v)) if *c == s => v.push(o),
                _ => out.push((s, vec![o])),
            }
        }
        for (_, v) in &mut out {
            v.sort_by_key(|o| (self.step(o), o.t, o.id));
        }
        out
    }
}
