//! Caveat's scenarios: real AIS vessels continued as ground truth, dark
//! go-fasts, partner sensor models that turn truth into marked reports, and
//! the metrics that score a tracker against that truth.
//!
//! This crate is pure: it reads no clock and no file (the shipped trajectory
//! excerpt is compiled in; other CSVs come through a reader), and every random
//! draw comes from a ChaCha generator seeded from [`ScenarioConfig::seed`], so
//! a seed gives the same scenario on every machine. [`Scenario::write_to_dir`]
//! is the one function that writes files. Fusion is `caveat-fusion`, the
//! `caveat scenario` command and the demo server live in `caveat` and
//! `caveat-server`; this crate only produces their input.
//!
//! The main types:
//! - [`Fleet`]: real vessel tracks; [`Fleet::eastern_caribbean`] is the shipped
//!   excerpt of the MarineCadastre snapshot (see `data/README.md`).
//! - [`ScenarioConfig`]: seed, start, duration, region, vessel counts, the
//!   [`Partner`](caveat_core::Partner)s and their [`SensorSet`].
//! - [`ScenarioPlan`]: the [`Truth`] of a configuration, with a lazy
//!   [`ReportStream`] of [`SimReport`]s in arrival order (live replay, scale runs).
//! - [`Scenario`]: a plan with all its reports collected, and NDJSON writers.
//! - Metrics: [`gospa`], [`ospa`], [`track_purity`], [`continuity`],
//!   [`time_to_first_track`], with [`assign_tracks`] to pair tracks with truth.
//!
//! The motion and sensor models are documented in the crate's `README.md`.
//!
//! ```
//! use caveat_sim::{Fleet, GospaParams, Scenario, ScenarioConfig, VesselKind, gospa};
//!
//! let fleet = Fleet::eastern_caribbean()?;
//! let mut config = ScenarioConfig::eastern_caribbean(7);
//! config.duration = time::Duration::minutes(30);
//! let scenario = Scenario::generate(config, &fleet)?;
//!
//! // Reports arrive in order, each marked by its originator.
//! let reports = scenario.reports();
//! assert!(reports.windows(2).all(|w| w[0].arrival <= w[1].arrival));
//! assert!(reports.iter().any(|r| r.report.originator.as_str() == "GBR"));
//!
//! // Truth: real vessels plus four go-fasts and their two mother ships.
//! let dark = scenario.truth().vessels().iter().filter(|v| v.kind == VesselKind::Dark).count();
//! assert_eq!(dark, 6);
//!
//! // Score a perfect picture: GOSPA is zero.
//! let at = scenario.truth().start() + time::Duration::minutes(10);
//! let truth: Vec<_> = scenario.truth().positions_at(at, None).into_iter().map(|(_, p)| p).collect();
//! let g = gospa(&truth, &truth, GospaParams { c: 1000.0, p: 2.0 })?;
//! assert_eq!(g.distance, 0.0);
//! # Ok::<(), caveat_sim::Error>(())
//! ```
#![warn(missing_docs)]

mod dark;
mod draw;
mod error;
mod fleet;
mod geo;
mod metrics;
mod motion;
mod observe;
mod partners;
mod scenario;
mod sensors;
mod stream;
mod traffic;
mod truth;

pub use error::Error;
pub use fleet::{Fleet, RealTrack};
pub use geo::haversine_m;
pub use metrics::{
    Assignment, Continuity, Gospa, GospaParams, Ospa, Purity, TrackPurity, TruthContinuity, assign_tracks, continuity,
    gospa, gospa_with, ospa, ospa_with, time_to_first_track, track_purity,
};
pub use motion::VesselState;
pub use observe::Origin;
pub use partners::{PARTNER_IDS, caribbean_partners};
pub use scenario::{Scenario, ScenarioConfig, ScenarioPlan};
pub use sensors::{AisNetwork, CoastalRadar, Cutter, HourWindow, PatrolAircraft, SensorSet, TipSource};
pub use stream::{ReportStream, SimReport};
pub use traffic::Habit;

/// The ports and anchorages the simulated traffic heads for (Puerto Rico, the
/// Virgin Islands and the Lesser Antilles): the shore points event detection
/// is scored with ("in harbour" is near one of them).
pub fn ports() -> Vec<caveat_core::Position> {
    traffic::PORTS.iter().map(|p| caveat_core::Position { lat: p.lat, lon: p.lon }).collect()
}
pub use truth::{Truth, TruthSample, TruthVessel, VesselId, VesselKind};
