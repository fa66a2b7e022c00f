//! One step of the tracker: associate and filter one sensor's reports of one
//! scan with the live tracks (the caller drops dead tracks at each scan start
//! and takes sensors in their canonical order).

use std::sync::Arc;

use crate::FusionConfig;
use crate::association::{self, Edge};
use crate::gating::{self, Grid, Reach};
use crate::identity::Identity;
use crate::measurement::Observation;
use crate::track::{PartnerBits, TrackCore, TrackStatus, Trail};

/// Cost added for associating with a tentative track, so a confirmed track
/// wins a report both could take (a duplicate tentative track then dies).
const TENTATIVE_PENALTY: f64 = 1.0;

/// Whether a track is dropped at time `t`. Monotone in `t` (once dead, dead
/// later too), which is what makes it safe to evaluate only at the start of
/// scans that have reports: a picture and one with fewer reports agree on
/// which tracks are dead at any time both have reached.
pub(crate) fn is_dead(track: &TrackCore, t: i64, cfg: &FusionConfig) -> bool {
    let since = |from: i64| t.saturating_sub(from);
    let ns = |d: time::Duration| i64::try_from(d.whole_nanoseconds()).unwrap_or(i64::MAX);
    match track.status {
        TrackStatus::Tentative => {
            since(track.born) > ns(cfg.confirm_window) || since(track.last_update) > ns(cfg.tentative_coast)
        }
        TrackStatus::Confirmed => since(track.last_update) > ns(cfg.confirmed_coast),
    }
}

/// Reusable buffers.
#[derive(Debug)]
pub(crate) struct Scratch {
    pub(crate) grid: Grid,
    candidates: Vec<usize>,
    edges: Vec<Edge>,
}

impl Scratch {
    pub(crate) fn new(cfg: &FusionConfig) -> Self {
        Scratch { grid: Grid::new(cfg.grid_cell_m), candidates: Vec::new(), edges: Vec::new() }
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.grid.heap_bytes() + crate::memory::vec(&self.candidates) + crate::memory::vec(&self.edges)
    }
}

/// Square root of the largest gate in use.
pub(crate) fn sqrt_gate(cfg: &FusionConfig) -> f64 {
    cfg.gate_position.max(cfg.gate_position_velocity).sqrt()
}

/// Where a track could meet a gated report in `[start, end)`.
pub(crate) fn reach(track: &TrackCore, start: i64, end: i64, cfg: &FusionConfig) -> Reach {
    gating::reach(&track.est, start, end, cfg.process_noise, sqrt_gate(cfg))
}

/// The association cost of a report with a track, if the pair passes the
/// statistical gate. The one test every path (in order, replay, indexes) uses.
pub(crate) fn gate(track: &TrackCore, o: &Observation, cfg: &FusionConfig) -> Option<f64> {
    let pred = track.est.predict(o.t, cfg.process_noise);
    let m = o.measurement(&pred);
    let gate = if m.dim == 4 { cfg.gate_position_velocity } else { cfg.gate_position };
    // Most candidates are far off: rule them out before inverting S. The
    // position part alone already gives d² >= |ν|² / trace(S_pos) (and the
    // full d² is at least the position part's), so this rejects only pairs
    // the exact test rejects; the margin dwarfs rounding.
    let trace = pred.cov[0][0] + m.r[0][0] + pred.cov[1][1] + m.r[1][1];
    let nu2 = m.z[0] * m.z[0] + m.z[1] * m.z[1];
    if nu2 > 1.01 * gate * trace {
        return None;
    }
    let inn = pred.innovation(&m)?;
    (inn.d2 <= gate).then(|| {
        let mut cost = inn.d2;
        if let Some(v) = &o.vessel {
            cost += track.identity.association_cost(v);
        }
        if track.status == TrackStatus::Tentative {
            cost += TENTATIVE_PENALTY;
        }
        cost
    })
}

/// Places every track in the gating grid for the scan `[start, end)`.
pub(crate) fn place_all(tracks: &[TrackCore], start: i64, end: i64, cfg: &FusionConfig, scratch: &mut Scratch) {
    scratch.grid.clear();
    for (i, t) in tracks.iter().enumerate() {
        scratch.grid.place(i, &reach(t, start, end, cfg), end);
    }
}

/// Scans a placement in the kept grid covers: a track not updated is placed
/// again only this often.
///
/// Placing every live track at every scan cost more than fusing itself
/// once thousands of tracks coast between rare reports (tentative tracks
/// from reports at random positions: issue 16). A placement's reach over
/// a longer span contains its reach over any scan within it (the radius
/// grows with the span and the time from the estimate, the centre moves
/// less than the added radius), so the grid still finds every track that
/// can gate; look-ups take whole cells, so the wider discs barely add
/// candidates.
const PLACEMENT_SCANS: i64 = 16;

/// Brings the kept grid up to the scan `[start, end)`: places every track
/// whose placement ends before `end` for the next [`PLACEMENT_SCANS`] scans.
/// The caller keeps the grid's indices in step with `tracks`
/// ([`Grid::swap_remove`] as tracks die, [`Grid::place`] as they change).
pub(crate) fn place_due(tracks: &[TrackCore], start: i64, end: i64, cfg: &FusionConfig, scratch: &mut Scratch) {
    let until = start.saturating_add(cfg.scan_ns().saturating_mul(PLACEMENT_SCANS)).max(end);
    for (i, t) in tracks.iter().enumerate() {
        if scratch.grid.until(i).is_none_or(|u| u < end) {
            scratch.grid.place(i, &reach(t, start, until, cfg), until);
        }
    }
    scratch.grid.compact();
}

/// Associates and filters one sensor's reports of one scan (`group`, in
/// (time, id) order) with `tracks`, starting new tracks at the end of it.
///
/// With `use_grid`, candidates come from `scratch.grid` (placed by
/// [`place_all`] and kept up to date here); without, every track is tried,
/// which gives the same result on a small set. `touched` receives the index
/// of every track whose state changed (updated, influence widened, or new).
pub(crate) fn apply_group(
    tracks: &mut Vec<TrackCore>,
    start: i64,
    group: &[&Observation],
    cfg: &FusionConfig,
    scratch: &mut Scratch,
    use_grid: bool,
    touched: &mut Vec<usize>,
) {
    let end = start.saturating_add(cfg.scan_ns());
    let sqrt_gate = sqrt_gate(cfg);
    scratch.edges.clear();
    for (ri, o) in group.iter().enumerate() {
        let own = gating::report_radius(o, sqrt_gate);
        let everything = !use_grid
            || o.time_sigma_s > 0.0
            || scratch.grid.candidates(o.lat, o.lon, own, &mut scratch.candidates).is_none();
        if everything {
            scratch.candidates.clear();
            scratch.candidates.extend(0..tracks.len());
        }
        for &ti in &scratch.candidates {
            let Some(track) = tracks.get(ti) else { continue };
            if let Some(cost) = gate(track, o, cfg) {
                scratch.edges.push(Edge { report: ri, track: ti, cost });
            }
        }
    }

    let dummy = |ri: usize| {
        group.get(ri).map_or(cfg.gate_position, |o| {
            if o.velocity.is_some() && o.time_sigma_s == 0.0 { cfg.gate_position_velocity } else { cfg.gate_position }
        })
    };
    for cluster in association::clusters(group.len(), &scratch.edges) {
        let assignment = association::solve(&cluster, dummy, |ti| tracks.get(ti).map(|t| t.id));
        let mut influence = PartnerBits::default();
        for &ri in &cluster.reports {
            if let Some(o) = group.get(ri) {
                influence.insert(o.originator);
            }
        }
        for &ti in &cluster.tracks {
            if let Some(t) = tracks.get(ti) {
                influence.union(&t.influence);
            }
        }
        for &ti in &cluster.tracks {
            if let Some(t) = tracks.get_mut(ti) {
                let assigned = assignment.contains(&Some(ti));
                if t.influence != influence || assigned {
                    touched.push(ti);
                }
                t.influence = influence;
            }
        }
        for (&ri, target) in cluster.reports.iter().zip(assignment) {
            let Some(o) = group.get(ri) else { continue };
            match target.and_then(|ti| tracks.get_mut(ti).map(|t| (ti, t))) {
                Some((ti, track)) => {
                    update(track, o, cfg);
                    if use_grid {
                        scratch.grid.place(ti, &reach(track, start, end, cfg), end);
                    }
                }
                None => {
                    let track = start_track(o, influence, cfg);
                    if use_grid {
                        scratch.grid.place(tracks.len(), &reach(&track, start, end, cfg), end);
                    }
                    touched.push(tracks.len());
                    tracks.push(track);
                }
            }
        }
    }
}

fn update(track: &mut TrackCore, o: &Observation, cfg: &FusionConfig) {
    let pred = track.est.predict(o.t, cfg.process_noise);
    let m = o.measurement(&pred);
    // The pair passed the gate with this very computation, so the innovation exists;
    // if rounding ever made it degenerate, coast on the prediction rather than fail.
    track.est = pred.innovation(&m).map_or(pred, |inn| pred.update(&inn));
    track.last_update = track.last_update.max(o.t);
    track.hits = track.hits.saturating_add(1);
    track.trail.push(o.id, o.t, track.est.lat, track.est.lon);
    track.contributors.insert(o.originator);
    if let Some(v) = &o.vessel {
        Arc::make_mut(&mut track.identity).absorb(v);
    }
    let window = i64::try_from(cfg.confirm_window.whole_nanoseconds()).unwrap_or(i64::MAX);
    if track.status == TrackStatus::Tentative
        && track.hits >= cfg.confirm_hits
        && o.t.saturating_sub(track.born) <= window
    {
        track.status = TrackStatus::Confirmed;
    }
}

fn start_track(o: &Observation, influence: PartnerBits, cfg: &FusionConfig) -> TrackCore {
    let mut identity = Identity::default();
    if let Some(v) = &o.vessel {
        identity.absorb(v);
    }
    let mut trail = Trail::default();
    trail.push(o.id, o.t, o.lat, o.lon);
    TrackCore {
        id: o.id,
        est: o.initial_estimate(cfg.initial_speed_sigma),
        status: if cfg.confirm_hits <= 1 { TrackStatus::Confirmed } else { TrackStatus::Tentative },
        born: o.t,
        last_update: o.t,
        hits: 1,
        identity: Arc::new(identity),
        trail,
        contributors: PartnerBits::one(o.originator),
        influence,
    }
}
