//! The reports a picture holds, and the canonical order of the steps they
//! are applied in: scan, then sensor (originator by id, source kind).
//!
//! Everything here is derived from the reports alone, so it survives a reset
//! of the tracker.

use std::collections::{BTreeMap, HashMap};
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

/// The reports held, and what is derived from them alone.
#[derive(Debug)]
pub(super) struct Reports {
    pub(super) scan_ns: i64,
    pub(super) partners: Vec<PartnerId>,
    pub(super) partner_index: HashMap<PartnerId, u16>,
    /// Rank of each interned originator among all of them by id: the step order.
    ranks: Vec<u32>,
    pub(super) log: BTreeMap<(i64, ReportId), Observation>,
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
            log: BTreeMap::new(),
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
        self.log.insert((obs.t, obs.id), obs);
    }

    /// Forgets report `id`, and the correction it made. Its entry in the
    /// report index stays: a replay still has to find the report where the
    /// recorded run used it, and a stale entry only adds a candidate.
    pub(super) fn remove(&mut self, id: &ReportId) {
        let Some(t) = self.times.remove(id) else { return };
        let supersedes = self.log.remove(&(t, *id)).and_then(|o| o.supersedes);
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
            .values()
            .filter(|o| Arc::strong_count(o.data()) == 1)
            .map(|o| memory::arc::<ObsData>() + o.partner.as_str().len())
            .sum();
        let corrections: usize = self.corrections.values().map(memory::vec).sum();
        let reports = memory::btree_map(&self.log)
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
        self.log
            .range(..(until, ReportId::from_bytes([0; 16])))
            .rev()
            .find(|(_, o)| !self.shadowed(o))
            .map(|((t, _), _)| self.scan_of(*t))
    }

    /// The scans after `after` (all if `None`) up to `last`, each with its
    /// reports fusion uses in step order, then (time, id).
    pub(super) fn scans(&self, after: Option<i64>, last: i64) -> Vec<(i64, Vec<&Observation>)> {
        let from = after.map_or(i64::MIN, |a| a.saturating_add(1).saturating_mul(self.scan_ns));
        let until = last.saturating_add(1).saturating_mul(self.scan_ns);
        let lo = ReportId::from_bytes([0; 16]);
        let mut out: Vec<(i64, Vec<&Observation>)> = Vec::new();
        for ((t, _), o) in self.log.range((from, lo)..(until, lo)) {
            if self.shadowed(o) {
                continue;
            }
            let s = self.scan_of(*t);
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
