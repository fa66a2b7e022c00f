//! Behaviour events over one view: AIS gaps and going dark, encounters and
//! dark rendezvous, loitering, area entry and exit, speed in an area, and
//! identity anomalies (one MMSI in two places, a track changing MMSI).
//!
//! This crate is pure: it takes a view's tracks and the reports the view may
//! use, and the time, and returns events. It knows nothing of policy, the
//! store or HTTP; the hub (`caveat-hub`'s events module) passes it exactly one
//! view's snapshot, keeps what it announced, and retracts what no longer
//! holds. Every definition and default is in `docs/events.md`.
//!
//! Main types: [`EventConfig`] (the thresholds, GFW's by default,
//! [`EventConfig::skylight`] for Skylight's rendezvous), [`Detector`] (a
//! checked configuration), [`Event`] with its [`EventKind`] and stable
//! [`EventId`], and [`Path`] for detecting over anything that is not a fused
//! track (caveat-sim's truth, when scoring).
//!
//! ```
//! use caveat_events::{Detector, EventConfig, EventKind, Path, PathPoint, Subject};
//! use caveat_core::Position;
//! use time::{Duration, macros::datetime};
//!
//! // Two vessels drifting 100 m apart for three hours, far from any shore point.
//! let t0 = datetime!(2026-11-23 00:00 UTC);
//! let drift = |n: u64, lat: f64| Path {
//!     subject: Subject::Other(n),
//!     points: (0..=180)
//!         .map(|m| PathPoint {
//!             at: t0 + Duration::minutes(m),
//!             position: Position { lat, lon: -64.0 + 1e-5 * m as f64 },
//!             report: None,
//!             ais: true,
//!             mmsi: None,
//!         })
//!         .collect(),
//! };
//! let detector = Detector::new(EventConfig::default())?;
//! let events = detector.detect_paths(&[drift(1, 16.5), drift(2, 16.5009)], t0 + Duration::hours(3));
//! assert!(events.iter().any(|e| e.kind == EventKind::Encounter));
//! # Ok::<(), caveat_events::Error>(())
//! ```
#![warn(missing_docs)]

mod config;
mod detect;
mod error;
mod event;
mod geo;
mod path;

pub use config::{
    Area, EncounterConfig, EventConfig, GapConfig, IdentityConfig, LoiteringConfig, MAX_AREAS, MAX_SHORE_POINTS, NM_M,
    SpeedRule,
};
pub use detect::Detector;
pub use error::Error;
pub use event::{Event, EventId, EventKind, Subject};
pub use geo::{MAX_VERTICES, Polygon, distance_m, first_crossing};
pub use path::{Path, PathPoint};
