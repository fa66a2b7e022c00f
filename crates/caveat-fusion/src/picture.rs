//! A picture: the tracks fused from one set of reports, kept up to date as
//! reports arrive in any order.
//!
//! Out-of-sequence reports are handled by re-filtering: the picture keeps
//! every report it holds, sorted by (time, id), and copies of the tracker
//! state at scan boundaries (checkpoints). A report for a scan already applied
//! marks the picture dirty from that scan; the next read restores the latest
//! checkpoint before it and re-applies every later scan. The result is exactly
//! the batch result over the same set, whatever the arrival order, at the cost
//! of re-running the scans since the late report (lazily, once for any number
//! of late reports between two reads). In-order reports cost one scan step.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use caveat_core::{PartnerId, Report, ReportId};
use time::OffsetDateTime;

use crate::measurement::Observation;
use crate::scan::{self, Scratch, State};
use crate::track::{MAX_PARTNERS, Track};
use crate::{Error, FusionConfig};

mod memo;
pub use memo::TrackMemo;

/// What [`Picture::insert`] did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insertion {
    /// Added after everything already applied: one scan step.
    InOrder,
    /// Added into a scan already applied: the picture re-filters from that scan on the next read.
    Late,
    /// Already held: nothing changed.
    Duplicate,
}

/// The tracks fused from the reports inserted into it.
///
/// Reads ([`Picture::tracks`]) are a pure function of the set of reports held
/// and the config: insertion order, removals and re-insertions leave no trace.
#[derive(Debug)]
pub struct Picture {
    config: FusionConfig,
    scan_ns: i64,
    checkpoint_ns: i64,
    partners: Vec<PartnerId>,
    partner_index: HashMap<PartnerId, u16>,
    log: BTreeMap<(i64, ReportId), Observation>,
    times: HashMap<ReportId, i64>,
    /// Corrections held: superseded id -> (correcting id, its originator).
    corrections: HashMap<ReportId, Vec<(ReportId, u16)>>,
    state: State,
    /// Last scan reflected in `state`.
    applied: Option<i64>,
    /// Earliest applied scan whose reports changed since it was applied.
    dirty: Option<i64>,
    /// Tracker state before applying the keyed scan.
    checkpoints: BTreeMap<i64, State>,
    scratch: Scratch,
}

impl Picture {
    /// An empty picture.
    pub fn new(config: FusionConfig) -> Self {
        let scan_ns = config.scan_ns();
        let checkpoint_ns = i64::try_from(config.checkpoint_every.whole_nanoseconds()).unwrap_or(i64::MAX).max(scan_ns);
        Picture {
            scratch: Scratch::new(&config),
            config,
            scan_ns,
            checkpoint_ns,
            partners: Vec::new(),
            partner_index: HashMap::new(),
            log: BTreeMap::new(),
            times: HashMap::new(),
            corrections: HashMap::new(),
            state: State::default(),
            applied: None,
            dirty: None,
            checkpoints: BTreeMap::new(),
        }
    }

    /// The config it was built with.
    pub fn config(&self) -> &FusionConfig {
        &self.config
    }

    /// How many reports it holds.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// Whether it holds no report.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// Whether it holds the report.
    pub fn contains(&self, id: &ReportId) -> bool {
        self.times.contains_key(id)
    }

    /// The reports held, in (observed time, id) order.
    pub fn report_ids(&self) -> impl Iterator<Item = ReportId> + '_ {
        self.log.keys().map(|(_, id)| *id)
    }

    fn scan_of(&self, t: i64) -> i64 {
        t.div_euclid(self.scan_ns)
    }

    fn mark(&mut self, scan: i64) {
        if self.applied.is_some_and(|a| scan <= a) {
            self.dirty = Some(self.dirty.map_or(scan, |d| d.min(scan)));
        }
    }

    fn intern(&mut self, p: &PartnerId, id: ReportId) -> Result<u16, Error> {
        if let Some(&i) = self.partner_index.get(p) {
            return Ok(i);
        }
        let i = u16::try_from(self.partners.len())
            .ok()
            .filter(|&i| usize::from(i) < MAX_PARTNERS)
            .ok_or(Error::TooManyOriginators { id, max: MAX_PARTNERS })?;
        self.partners.push(p.clone());
        self.partner_index.insert(p.clone(), i);
        Ok(i)
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
        if self.times.contains_key(&report.id) {
            return Ok(Insertion::Duplicate);
        }
        let originator = match self.partner_index.get(&report.originator) {
            Some(&i) => i,
            None => {
                // Validate before interning so a refused report leaves no trace.
                Observation::from_report(report, 0)?;
                self.intern(&report.originator, report.id)?
            }
        };
        let obs = Observation::from_report(report, originator)?;
        let scan = self.scan_of(obs.t);
        let late = self.applied.is_some_and(|a| scan <= a);
        if let Some(old) = obs.supersedes {
            self.corrections.entry(old).or_default().push((obs.id, originator));
            if let Some(&t_old) = self.times.get(&old) {
                self.mark(self.scan_of(t_old));
            }
        }
        self.mark(scan);
        self.times.insert(obs.id, obs.t);
        self.log.insert((obs.t, obs.id), obs);
        if !late && self.dirty.is_none() {
            // Scans before this one are complete as far as in-order arrival goes: apply them now.
            self.apply_through(scan - 1);
        }
        Ok(if late { Insertion::Late } else { Insertion::InOrder })
    }

    /// Removes a report (a marking expired, a decision changed). Returns whether it was held.
    pub fn remove(&mut self, id: &ReportId) -> bool {
        let Some(t) = self.times.remove(id) else { return false };
        let obs = self.log.remove(&(t, *id));
        if let Some(old) = obs.and_then(|o| o.supersedes) {
            if let Some(v) = self.corrections.get_mut(&old) {
                v.retain(|(c, _)| c != id);
                if v.is_empty() {
                    self.corrections.remove(&old);
                }
            }
            if let Some(&t_old) = self.times.get(&old) {
                self.mark(self.scan_of(t_old));
            }
        }
        self.mark(self.scan_of(t));
        true
    }

    /// Keeps only the reports for which `keep` holds, given each report's id and
    /// originator (a suspension: `|_, o| o != suspended`). Returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&ReportId, &PartnerId) -> bool) -> usize {
        let doomed: Vec<ReportId> = self
            .log
            .values()
            .filter(|o| !self.partners.get(usize::from(o.originator)).is_some_and(|p| keep(&o.id, p)))
            .map(|o| o.id)
            .collect();
        for id in &doomed {
            self.remove(id);
        }
        doomed.len()
    }

    /// Forgets every track and re-fuses all held reports on the next read.
    pub fn invalidate(&mut self) {
        self.checkpoints.clear();
        self.state = State::default();
        self.applied = None;
        self.dirty = None;
    }

    fn shadowed(&self, o: &Observation) -> bool {
        self.corrections.get(&o.id).is_some_and(|v| v.iter().any(|(_, orig)| *orig == o.originator))
    }

    /// Brings the tracker state up to every report held.
    pub fn refresh(&mut self) {
        if let Some(d) = self.dirty.take() {
            // Checkpoints after `d` saw the old content of scan `d`: drop them.
            let stale: Vec<i64> =
                self.checkpoints.range((Bound::Excluded(d), Bound::Unbounded)).map(|(k, _)| *k).collect();
            for k in stale {
                self.checkpoints.remove(&k);
            }
            match self.checkpoints.range(..=d).next_back() {
                Some((&k, s)) => {
                    self.state = s.clone();
                    self.applied = Some(k - 1);
                }
                None => {
                    self.state = State::default();
                    self.applied = None;
                }
            }
        }
        if let Some(&(t, _)) = self.log.keys().next_back() {
            let last = self.scan_of(t);
            self.apply_through(last);
        }
    }

    /// Applies every held scan after `applied` up to `last` inclusive.
    fn apply_through(&mut self, last: i64) {
        let from = match self.applied {
            Some(a) if a >= last => return,
            Some(a) => a.saturating_add(1).saturating_mul(self.scan_ns),
            None => i64::MIN,
        };
        let until = last.saturating_add(1).saturating_mul(self.scan_ns);
        let mut batch: Vec<&Observation> = Vec::new();
        let mut current: Option<i64> = None;
        let range = self.log.range((from, ReportId::from_bytes([0; 16]))..(until, ReportId::from_bytes([0; 16])));
        let mut scans: Vec<(i64, Vec<&Observation>)> = Vec::new();
        for ((t, _), o) in range {
            if self.shadowed(o) {
                continue;
            }
            let s = t.div_euclid(self.scan_ns);
            if current != Some(s) {
                if let Some(c) = current {
                    scans.push((c, std::mem::take(&mut batch)));
                }
                current = Some(s);
            }
            batch.push(o);
        }
        if let Some(c) = current {
            scans.push((c, batch));
        }
        let last_checkpoint = self.checkpoints.keys().next_back().copied();
        let mut last_cp_bucket = last_checkpoint.map(|k| k.saturating_mul(self.scan_ns).div_euclid(self.checkpoint_ns));
        let n = scans.len();
        let mut new_checkpoints = Vec::new();
        for (i, (s, obs)) in scans.into_iter().enumerate() {
            let bucket = s.saturating_mul(self.scan_ns).div_euclid(self.checkpoint_ns);
            // Periodic checkpoints, plus one before the newest scan: a report
            // arriving late into it (the common case) then costs one scan.
            if last_cp_bucket != Some(bucket) || i + 1 == n {
                new_checkpoints.push((s, self.state.clone()));
                last_cp_bucket = Some(bucket);
            }
            scan::apply(
                &mut self.state,
                s.saturating_mul(self.scan_ns),
                &obs,
                &self.partners,
                &self.config,
                &mut self.scratch,
            );
        }
        for (s, st) in new_checkpoints {
            self.checkpoints.insert(s, st);
        }
        self.applied = Some(last);
        self.thin_checkpoints();
    }

    /// Keeps at most `max_checkpoints`: every other one of the older half goes,
    /// so spacing grows with age and a very late report replays a bit more.
    fn thin_checkpoints(&mut self) {
        let max = self.config.max_checkpoints.max(2);
        while self.checkpoints.len() > max {
            let keys: Vec<i64> = self.checkpoints.keys().copied().collect();
            let half = keys.len() / 2;
            for k in keys.iter().take(half).skip(1).step_by(2) {
                self.checkpoints.remove(k);
            }
        }
    }

    /// The tracks, live as of the latest report held, ordered by id.
    pub fn tracks(&mut self) -> Vec<Track> {
        self.refresh();
        let mut out: Vec<Track> = self.state.tracks.iter().map(|t| t.to_track(&self.partners)).collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// The tracks still live at `at` (tracks that would be dropped for
    /// staleness by then are left out; estimates are not moved forward).
    pub fn tracks_at(&mut self, at: OffsetDateTime) -> Vec<Track> {
        self.refresh();
        let t = i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        let mut out: Vec<Track> = self
            .state
            .tracks
            .iter()
            .filter(|tr| !scan::is_dead(tr, t, &self.config))
            .map(|tr| tr.to_track(&self.partners))
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// How many tracks are live (after a refresh), without building them.
    pub fn track_count(&mut self) -> usize {
        self.refresh();
        self.state.tracks.len()
    }
}

/// Fuses a set of reports in one go: a pure function of the set and the config.
///
/// # Errors
/// The first report fusion cannot use (see [`Picture::insert`]).
pub fn fuse<'a>(reports: impl IntoIterator<Item = &'a Report>, config: &FusionConfig) -> Result<Vec<Track>, Error> {
    let mut p = Picture::new(config.clone());
    for r in reports {
        p.insert(r)?;
    }
    Ok(p.tracks())
}
