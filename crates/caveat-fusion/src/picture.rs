//! A picture: the tracks fused from one set of reports, kept up to date as
//! reports arrive in any order.
//!
//! The tracker works in steps: one step is one sensor's reports of one scan,
//! and steps run in a canonical order (scan, then originator, then source
//! kind; `reports`). Within a step, reports and tracks that gate with each
//! other form clusters, each solved on its own; a track's state after a step
//! depends only on its cluster. In-order reports cost one step each
//! (`tracker`).
//!
//! # Late reports: localised exact replay
//!
//! A report for a scan already applied (or a removal, or a correction that
//! hides a report) changes the result only where it can reach. The picture
//! keeps, for every track, its state after each step that changed it (its
//! history, back to [`FusionConfig::replay_horizon`]; `history`), plus two
//! spatial indexes over the past (`index`): track reach discs per ten seconds
//! and reports per scan.
//! On the next read it walks the steps from the earliest change and, at each
//! step, recomputes only the *affected* part: the changed reports, the tracks
//! the change has moved so far, and whatever gates with them in the recorded
//! run or the new one. `replay` says how the walk goes and what it costs, and
//! why not a reordering window instead; `replay::affected` why solving the
//! affected part alone is exact.
//!
//! The result is bit for bit the batch result ([`fuse`]) whatever the arrival
//! order; the tests check this with random arrival orders (slightly late to
//! wholly shuffled), reads in between, removals, re-insertions and
//! corrections, on scenarios dense enough for vessels to share clusters. A
//! change older than the horizon re-fuses everything held.

use std::collections::HashMap;

use caveat_core::{PartnerId, Report, ReportId, VesselDescriptors};
use time::OffsetDateTime;

use std::sync::Arc;

use crate::measurement::{ObsData, Observation};
use crate::memory::{self, Memory};
use crate::scan;
use crate::track::Track;
use crate::{Error, FusionConfig};

mod history;
mod memo;
mod replay;
mod reports;
mod tracker;

pub use memo::TrackMemo;
use reports::{Reports, Step};
use tracker::Tracker;

/// Cells of the indexes over the past, as a fraction of the gating grid's:
/// their discs span seconds, not minutes, so they are small.
const INDEX_CELL_FRACTION: f64 = 0.25;

/// A report converted for fusion once ([`Observed::new`]), to add to many
/// pictures ([`Picture::insert_observed`]) that then share its data: a hub
/// keeps one per recent report for all its views.
#[derive(Debug, Clone)]
pub struct Observed(Arc<ObsData>);

impl Observed {
    /// Checks what fusion relies on and converts.
    ///
    /// # Errors
    /// [`Error::InvalidReport`] for a field fusion cannot use.
    pub fn new(report: &Report) -> Result<Self, Error> {
        Ok(Observed(Arc::new(ObsData::from_report(report)?)))
    }

    /// Heap bytes it holds (counted once, however many pictures share it).
    pub fn heap_bytes(&self) -> usize {
        memory::arc::<ObsData>() + self.0.vessel.as_ref().map_or(0, |_| memory::arc::<VesselDescriptors>())
    }
}

/// What [`Picture::insert`] did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// Added after everything already applied: one scan step.
    InOrder,
    /// Added into a scan already applied: the picture replays from that scan on the next read.
    Late,
    /// Already held: nothing changed.
    Duplicate,
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
        self.reports.log.iter().map(|o| o.id)
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
        let mut data = ObsData::from_report(report)?;
        data.vessel = data.vessel.map(|v| self.reports.intern_vessel(v));
        self.insert_data(Arc::new(data))
    }

    /// Adds a report converted already ([`Observed::new`]), sharing its data
    /// with every other picture that holds it, as [`Picture::insert`] does.
    ///
    /// # Errors
    /// [`Error::TooManyOriginators`] past 256 originators.
    pub fn insert_observed(&mut self, report: &Observed) -> Result<Insertion, Error> {
        if self.reports.times.contains_key(&report.0.id) {
            return Ok(Insertion::Duplicate);
        }
        self.insert_data(report.0.clone())
    }

    fn insert_data(&mut self, data: Arc<ObsData>) -> Result<Insertion, Error> {
        let originator = match self.reports.partner_index.get(&data.partner) {
            Some(&i) => i,
            None => {
                let (i, reranked) = self.reports.intern(&data.partner, data.id)?;
                if reranked && self.tracker.applied.is_some() {
                    // The histories are keyed by the old ranks, so no recorded step can be found again.
                    self.reset();
                }
                i
            }
        };
        let obs = Observation::new(data, originator);
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
            .iter()
            .filter(|o| !self.reports.partners.get(usize::from(o.originator)).is_some_and(|p| keep(&o.id, p)))
            .map(|o| o.id)
            .collect();
        // Every change is noted before any is made (as `remove` does for one),
        // then the reports go in one pass.
        for id in &doomed {
            let Some(&t) = self.reports.times.get(id) else { continue };
            self.touch(*id, self.reports.scan_of(t));
            let supersedes = self.reports.log.get(&(t, *id)).and_then(|o| o.supersedes);
            if let Some(old) = supersedes
                && let Some(&t_old) = self.reports.times.get(&old)
            {
                self.touch(old, self.reports.scan_of(t_old));
            }
        }
        self.reports.remove_all(&doomed.iter().copied().collect());
        doomed.len()
    }

    fn reset(&mut self) {
        self.tracker = Tracker::new(&self.config);
        self.pending.clear();
    }

    /// Brings the tracker state up to every report held.
    pub fn refresh(&mut self) {
        self.replay_pending();
        if let Some(t) = self.reports.log.last().map(|o| o.t) {
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

    /// What it holds in memory, estimated from its structures (a caller
    /// keeping many pictures bounds their total with it).
    pub fn memory(&self) -> Memory {
        let (reports, report_index) = self.reports.heap_bytes();
        let (histories, trails, track_index, other) = self.tracker.heap_bytes();
        let pending = memory::hash_map(&self.pending);
        Memory { reports, report_index, histories, trails, track_index, other: other + pending }
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
