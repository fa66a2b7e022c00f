//! Fusion of already-permitted reports into vessel tracks, one picture per view key.
//!
//! This crate knows nothing of policy, storage or the server: it takes reports
//! the caller has already decided a view may see and returns tracks, so a view's
//! tracks are computed from exactly its permitted reports (DESIGN.md invariant 2,
//! "fuse after filtering"). Access decisions are `caveat-policy`; reports come
//! from `caveat-store`; scenarios with ground truth and the GOSPA/OSPA metrics
//! are `caveat-sim`. It reads no clock: times arrive as arguments.
//!
//! How it tracks:
//! - reports are taken scan by scan (fixed one-second slices of Unix time by
//!   default), and within a scan sensor by sensor (originator, source kind);
//! - each report is gated against the tracks by squared Mahalanobis distance
//!   (chi-square gates for 2 or 4 measured dimensions), with a spatial grid so
//!   only nearby tracks are tried; gated pairs split into clusters, each solved
//!   by the Hungarian method (global nearest neighbour);
//! - each track is a constant-velocity Kalman filter in a tangent plane that
//!   moves with it; course and speed, where given, are measured too; a tip's time
//!   uncertainty inflates its position noise along the track's motion;
//! - tracks start tentative from an unassociated report, are confirmed after
//!   M reports within a window (M-of-N in time), and are dropped when stale;
//! - identity (MMSI and AIS static data, patrol descriptors) only adjusts the cost
//!   of kinematically gated pairs, so a spoofed MMSI never merges two vessels;
//! - a late report (or a removal, or a correction) is replayed locally: each
//!   track keeps its state after every step that changed it, and the picture
//!   re-runs, step by step from the late report on, only the clusters the
//!   change can reach, so it equals batch fusion of the same set whatever the
//!   arrival order (the `picture` module and its submodules say how, and why
//!   the result is exact).
//!
//! Main types: [`Picture`] (incremental tracks of one report set), [`fuse`]
//! (the batch function a picture always equals), [`Views`] (pictures per
//! [`caveat_core::ViewKey`], lazy, evicted when idle), [`Track`] with its
//! [`TrackId`], [`Lineage`], [`Identity`] and trail, and [`FusionConfig`].
//!
//! ```
//! use caveat_core::{Report, ReportIdMint};
//! use caveat_fusion::{fuse, FusionConfig, Picture, TrackStatus};
//! # fn report(id: caveat_core::ReportId, secs: i64, lon: f64) -> Report {
//! #     let json = format!(
//! #         r#"{{"id":"{id}","originator":"GBR","observed_at":"2026-11-23T11:00:{secs:02}Z",
//! #            "position":{{"lat":18.4,"lon":{lon}}},"uncertainty_m":30,"source":"coastal-radar",
//! #            "marking":{{}}}}"#);
//! #     serde_json::from_str(&json).unwrap()
//! # }
//! let mut mint = ReportIdMint::new(1_795_000_000_000, [1; 10]);
//! // A vessel heading east at about 10 m/s, seen every 10 seconds.
//! let reports: Vec<Report> =
//!     (0..5).map(|k| report(mint.next_id(), 10 * k, -64.6 + 0.000_95 * k as f64)).collect();
//!
//! let mut picture = Picture::new(FusionConfig::default());
//! for r in reports.iter().rev() {
//!     picture.insert(r)?; // any order
//! }
//! let tracks = picture.tracks();
//! assert_eq!(tracks.len(), 1);
//! assert_eq!(tracks[0].status, TrackStatus::Confirmed);
//! assert_eq!(tracks[0].lineage.len(), 5);
//! assert_eq!(tracks, fuse(&reports, &FusionConfig::default())?);
//! # Ok::<(), caveat_fusion::Error>(())
//! ```
#![warn(missing_docs)]

mod association;
mod config;
mod error;
mod gating;
mod identity;
mod index;
mod kalman;
mod matrix;
mod measurement;
mod memory;
mod picture;
mod scan;
mod track;
mod views;

pub use config::FusionConfig;
pub use error::Error;
pub use identity::Identity;
pub use memory::Memory;
pub use picture::{Insertion, Observed, Picture, TrackMemo, fuse};
pub use track::{Lineage, Track, TrackId, TrackStatus, Trail, TrailPoint};
pub use views::Views;
