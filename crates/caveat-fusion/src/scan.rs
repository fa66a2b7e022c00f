//! One scan of the tracker: drop dead tracks, then associate and filter each
//! sensor's reports of the scan in turn.

use std::sync::Arc;

use caveat_core::{PartnerId, SourceKind};

use crate::FusionConfig;
use crate::association::{self, Edge};
use crate::gating::{self, Grid};
use crate::identity::Identity;
use crate::measurement::Observation;
use crate::track::{PartnerBits, TrackCore, TrackStatus, Trail};

/// Cost added for associating with a tentative track, so a confirmed track
/// wins a report both could take (a duplicate tentative track then dies).
const TENTATIVE_PENALTY: f64 = 1.0;

/// The whole tracker state; cloned into checkpoints.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// Live tracks in the order they were started.
    pub(crate) tracks: Vec<TrackCore>,
}

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
    grid: Grid,
    candidates: Vec<usize>,
    order: Vec<usize>,
    edges: Vec<Edge>,
}

impl Scratch {
    pub(crate) fn new(cfg: &FusionConfig) -> Self {
        Scratch { grid: Grid::new(cfg.grid_cell_m), candidates: Vec::new(), order: Vec::new(), edges: Vec::new() }
    }
}

/// Applies the reports of one scan `[start, start + scan)`, given in (time, id) order.
pub(crate) fn apply(
    state: &mut State,
    start: i64,
    obs: &[&Observation],
    partners: &[PartnerId],
    cfg: &FusionConfig,
    scratch: &mut Scratch,
) {
    let end = start.saturating_add(cfg.scan_ns());
    state.tracks.retain(|t| !is_dead(t, start, cfg));
    let sqrt_gate = cfg.gate_position.max(cfg.gate_position_velocity).sqrt();
    let q = cfg.process_noise;

    scratch.grid.clear();
    for (i, t) in state.tracks.iter().enumerate() {
        scratch.grid.place(i, &gating::reach(&t.est, start, end, q, sqrt_gate));
    }

    // Sensors in a canonical order (partner id, source kind); within one, (time, id).
    let sensor =
        |o: &Observation| -> (Option<&PartnerId>, SourceKind) { (partners.get(usize::from(o.originator)), o.source) };
    scratch.order.clear();
    scratch.order.extend(0..obs.len());
    scratch.order.sort_by(|&a, &b| match (obs.get(a), obs.get(b)) {
        (Some(x), Some(y)) => sensor(x).cmp(&sensor(y)).then(x.t.cmp(&y.t)).then(x.id.cmp(&y.id)),
        _ => a.cmp(&b),
    });
    let ordered: Vec<&Observation> = scratch.order.iter().filter_map(|&i| obs.get(i).copied()).collect();
    let mut rest = ordered.as_slice();
    while let Some(first) = rest.first() {
        let key = sensor(first);
        let n = rest.iter().take_while(|o| sensor(o) == key).count();
        let (group, tail) = rest.split_at(n);
        apply_group(state, start, end, group, cfg, scratch);
        rest = tail;
    }
}

fn apply_group(
    state: &mut State,
    start: i64,
    end: i64,
    group: &[&Observation],
    cfg: &FusionConfig,
    scratch: &mut Scratch,
) {
    let q = cfg.process_noise;
    let sqrt_gate = cfg.gate_position.max(cfg.gate_position_velocity).sqrt();
    scratch.edges.clear();
    for (ri, o) in group.iter().enumerate() {
        let own = gating::report_radius(o, sqrt_gate);
        let everything =
            o.time_sigma_s > 0.0 || scratch.grid.candidates(o.lat, o.lon, own, &mut scratch.candidates).is_none();
        if everything {
            scratch.candidates.clear();
            scratch.candidates.extend(0..state.tracks.len());
        }
        for &ti in &scratch.candidates {
            let Some(track) = state.tracks.get(ti) else { continue };
            let pred = track.est.predict(o.t, q);
            let m = o.measurement(&pred);
            let Some(inn) = pred.innovation(&m) else { continue };
            let gate = if inn.dim == 4 { cfg.gate_position_velocity } else { cfg.gate_position };
            if inn.d2 <= gate {
                let mut cost = inn.d2;
                if let Some(v) = &o.vessel {
                    cost += track.identity.association_cost(v);
                }
                if track.status == TrackStatus::Tentative {
                    cost += TENTATIVE_PENALTY;
                }
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
        let assignment = association::solve(&cluster, dummy, |ti| state.tracks.get(ti).map(|t| t.id));
        let mut influence = PartnerBits::default();
        for &ri in &cluster.reports {
            if let Some(o) = group.get(ri) {
                influence.insert(o.originator);
            }
        }
        for &ti in &cluster.tracks {
            if let Some(t) = state.tracks.get(ti) {
                influence.union(&t.influence);
            }
        }
        for &ti in &cluster.tracks {
            if let Some(t) = state.tracks.get_mut(ti) {
                t.influence = influence;
            }
        }
        for (&ri, target) in cluster.reports.iter().zip(assignment) {
            let Some(o) = group.get(ri) else { continue };
            match target.and_then(|ti| state.tracks.get_mut(ti).map(|t| (ti, t))) {
                Some((ti, track)) => {
                    update(track, o, cfg);
                    scratch.grid.place(ti, &gating::reach(&track.est, start, end, q, sqrt_gate));
                }
                None => {
                    let track = start_track(o, influence, cfg);
                    scratch.grid.place(state.tracks.len(), &gating::reach(&track.est, start, end, q, sqrt_gate));
                    state.tracks.push(track);
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
