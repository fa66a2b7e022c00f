//! Ground truth: every simulated vessel, its identity and its exact trajectory.

use std::fmt;

use caveat_core::{BoundingBox, Mmsi, Position, VesselDescriptors, VesselType};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::dark::{go_fast, mother_ship};
use crate::draw::Draw;
use crate::fleet::{Fleet, RealTrack};
use crate::geo::enu;
use crate::motion::{Trajectory, VesselState};
use crate::traffic::{Habit, continue_track};
use crate::{Error, ScenarioConfig};

/// A simulated vessel's id, stable for a given seed and configuration. Written `V00042`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VesselId(pub u32);

impl fmt::Display for VesselId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V{:05}", self.0)
    }
}

/// Whether a vessel announces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VesselKind {
    /// Transmits AIS under its own identity (a real vessel of the snapshot, or a clone of one).
    Cooperative,
    /// Transmits no AIS, or AIS under a spoofed MMSI: go-fasts and their mother ships.
    Dark,
}

/// One simulated vessel.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthVessel {
    /// Its id.
    pub id: VesselId,
    /// Cooperative or dark.
    pub kind: VesselKind,
    /// How it moves.
    pub habit: Habit,
    /// Its true identity and looks (what a perfect observer would report).
    pub identity: VesselDescriptors,
    /// For a dark vessel that transmits AIS: the MMSI it borrows from another vessel.
    pub spoofed_mmsi: Option<Mmsi>,
    /// For a go-fast: the mother ship it meets.
    pub rendezvous_with: Option<VesselId>,
    /// Class B AIS (reports half as often).
    pub class_b: bool,
    pub(crate) trajectory: Trajectory,
}

impl TruthVessel {
    pub(crate) fn state_s(&self, t: f64) -> Option<VesselState> {
        self.trajectory.state_at(t)
    }
}

/// One truth sample, as written to `truth.ndjson`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthSample {
    /// The vessel.
    pub vessel: VesselId,
    /// Cooperative or dark.
    pub kind: VesselKind,
    /// The instant.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Where it is.
    pub position: Position,
    /// Course over ground, degrees true.
    pub course_deg: f64,
    /// Speed over ground, knots.
    pub speed_kn: f64,
}

/// The truth of a scenario: all vessels from the start for the whole duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    start: OffsetDateTime,
    end_s: f64,
    vessels: Vec<TruthVessel>,
}

/// Draw streams: one per vessel so that paths do not depend on each other or on sensors.
const COOPERATIVE_STREAM: u64 = 1 << 32;
const DARK_STREAM: u64 = 2 << 32;
const FLEET_STREAM: u64 = 3 << 32;

impl Truth {
    /// Builds the truth for `config` from the real vessels of `fleet` inside the region.
    pub(crate) fn plan(config: &ScenarioConfig, fleet: &Fleet) -> Result<Truth, Error> {
        let end = config.duration.as_seconds_f64();
        let local = fleet.within(&config.region);
        if local.is_empty() && config.cooperative_vessels != Some(0) {
            return Err(Error::EmptyFleet);
        }
        let picks = pick(&local, config, Draw::new(config.seed, FLEET_STREAM));
        let mut vessels = Vec::with_capacity(picks.len() + 2 * config.dark_vessels);
        for (i, (track, east, north, mmsi)) in picks.into_iter().enumerate() {
            let id = VesselId(u32::try_from(i).unwrap_or(u32::MAX));
            let mut draw = Draw::new(config.seed, COOPERATIVE_STREAM + u64::from(id.0));
            let (trajectory, habit) = continue_track(track, east, north, end, &mut draw);
            let clone = mmsi != track.mmsi;
            let identity = VesselDescriptors {
                mmsi: Some(mmsi),
                imo: if clone { None } else { track.imo },
                name: track.name.as_ref().map(|n| {
                    if clone { format!("{} {}", n.chars().take(50).collect::<String>(), id) } else { n.clone() }
                }),
                call_sign: if clone { None } else { track.call_sign.clone() },
                vessel_type: track.ais_ship_type.map(vessel_type),
                ais_ship_type: track.ais_ship_type,
                length_m: track.length_m,
                beam_m: track.beam_m,
                ..VesselDescriptors::default()
            };
            vessels.push(TruthVessel {
                id,
                kind: VesselKind::Cooperative,
                habit,
                identity,
                spoofed_mmsi: None,
                rendezvous_with: None,
                class_b: track.class_b,
                trajectory,
            });
        }
        // One mother ship for every two go-fasts; about half borrow a real vessel's MMSI.
        let mothers = config.dark_vessels.div_ceil(2);
        let first_dark = vessels.len();
        let cooperative_mmsis: Vec<Mmsi> = vessels.iter().filter_map(|v| v.identity.mmsi).collect();
        for k in 0..mothers {
            let id = VesselId(u32::try_from(first_dark + k).unwrap_or(u32::MAX));
            let mut draw = Draw::new(config.seed, DARK_STREAM + u64::from(id.0));
            let (trajectory, identity) = mother_ship(&config.region, end, &mut draw);
            let spoofed_mmsi = if draw.chance(config.sensors.ais.mother_ship_spoof_probability) {
                cooperative_mmsis.get(draw.index(cooperative_mmsis.len())).copied()
            } else {
                None
            };
            vessels.push(TruthVessel {
                id,
                kind: VesselKind::Dark,
                habit: Habit::MotherShip,
                identity,
                spoofed_mmsi,
                rendezvous_with: None,
                class_b: false,
                trajectory,
            });
        }
        for k in 0..config.dark_vessels {
            let id = VesselId(u32::try_from(first_dark + mothers + k).unwrap_or(u32::MAX));
            let mut draw = Draw::new(config.seed, DARK_STREAM + u64::from(id.0));
            let Some(mother) = vessels.get(first_dark + k / 2) else { continue };
            let mother_id = mother.id;
            let (trajectory, identity) = go_fast(&mother.trajectory, &config.region, end, &mut draw);
            vessels.push(TruthVessel {
                id,
                kind: VesselKind::Dark,
                habit: Habit::GoFast,
                identity,
                spoofed_mmsi: None,
                rendezvous_with: Some(mother_id),
                class_b: false,
                trajectory,
            });
        }
        Ok(Truth { start: config.start, end_s: end, vessels })
    }

    /// The scenario start.
    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    /// The scenario end.
    pub fn end(&self) -> OffsetDateTime {
        self.start + Duration::seconds_f64(self.end_s)
    }

    /// Every vessel, cooperative first, then mother ships, then go-fasts.
    pub fn vessels(&self) -> &[TruthVessel] {
        &self.vessels
    }

    /// One vessel.
    pub fn vessel(&self, id: VesselId) -> Option<&TruthVessel> {
        self.vessels.get(usize::try_from(id.0).ok()?).filter(|v| v.id == id)
    }

    /// A vessel's exact state at `at`, `None` outside the scenario.
    pub fn state_at(&self, id: VesselId, at: OffsetDateTime) -> Option<VesselState> {
        self.vessel(id)?.state_s((at - self.start).as_seconds_f64())
    }

    /// Every vessel's position at `at`, optionally only those inside `region`.
    pub fn positions_at(&self, at: OffsetDateTime, region: Option<&BoundingBox>) -> Vec<(VesselId, Position)> {
        let t = (at - self.start).as_seconds_f64();
        self.vessels
            .iter()
            .filter_map(|v| {
                let s = v.state_s(t)?;
                let p = Position { lat: s.lat, lon: s.lon };
                region.is_none_or(|r| r.contains(p)).then_some((v.id, p))
            })
            .collect()
    }

    /// Samples every `interval` from the start to the end, in time then vessel order.
    pub fn samples(&self, interval: Duration) -> Vec<TruthSample> {
        let step = interval.as_seconds_f64().max(1.0);
        let steps = (self.end_s / step).floor();
        let mut out = Vec::new();
        let mut k = 0.0;
        while k <= steps {
            let t = k * step;
            let at = self.start + Duration::seconds_f64(t);
            for v in &self.vessels {
                if let Some(s) = v.state_s(t) {
                    out.push(TruthSample {
                        vessel: v.id,
                        kind: v.kind,
                        at,
                        position: Position { lat: s.lat, lon: s.lon },
                        course_deg: s.course_deg,
                        speed_kn: s.speed_kn,
                    });
                }
            }
            k += 1.0;
        }
        out
    }
}

/// The observer's class for an AIS ship-and-cargo type (ITU-R M.1371 Table 53).
pub(crate) fn vessel_type(code: u8) -> VesselType {
    match code {
        30 => VesselType::Fishing,
        31 | 32 | 52 => VesselType::Tug,
        35 => VesselType::Military,
        36 => VesselType::Sailing,
        37 => VesselType::Pleasure,
        50 | 51 | 53 | 54 | 56..=58 => VesselType::Service,
        55 => VesselType::LawEnforcement,
        60..=69 => VesselType::Passenger,
        70..=79 => VesselType::Cargo,
        80..=89 => VesselType::Tanker,
        _ => VesselType::Other,
    }
}

/// MMSIs for clones: Cayman Islands ship stations (MID 319) not used by a real vessel.
const CLONE_MMSI_BASE: u32 = 319_000_000;

/// Which real tracks become cooperative vessels: all of them, a seeded subset,
/// or all of them plus clones moved to random places in the region (each with
/// its own MMSI) to reach the requested count.
fn pick<'a>(fleet: &'a Fleet, config: &ScenarioConfig, mut draw: Draw) -> Vec<(&'a RealTrack, f64, f64, Mmsi)> {
    let tracks = fleet.tracks();
    let want = config.cooperative_vessels.unwrap_or(tracks.len());
    let mut order: Vec<usize> = (0..tracks.len()).collect();
    if want < tracks.len() {
        for i in (1..order.len()).rev() {
            let j = draw.index(i + 1);
            order.swap(i, j);
        }
        order.truncate(want);
        order.sort_unstable();
    }
    let mut out: Vec<_> = order.iter().filter_map(|&i| tracks.get(i)).map(|t| (t, 0.0, 0.0, t.mmsi)).collect();
    let taken: std::collections::HashSet<Mmsi> = tracks.iter().map(|t| t.mmsi).collect();
    let mut next = CLONE_MMSI_BASE;
    let r = &config.region;
    while out.len() < want && !tracks.is_empty() {
        let Some(t) = tracks.get(out.len() % tracks.len()) else { break };
        let Some(first) = t.first_position() else { break };
        let (lat, lon) = (draw.uniform(r.min_lat, r.max_lat), draw.uniform(r.min_lon, r.max_lon));
        let (east, north) = enu(first.lat, first.lon, lat, lon);
        let mmsi = loop {
            next += 1;
            match Mmsi::new(next) {
                Ok(m) if !taken.contains(&m) => break Some(m),
                Ok(_) => {}
                Err(_) => break None,
            }
        };
        let Some(mmsi) = mmsi else { break };
        out.push((t, east, north, mmsi));
    }
    out
}
