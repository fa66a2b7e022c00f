//! Tracking metrics against truth, as pure functions over plain positions and
//! assignments: no dependency on `caveat-fusion`.

mod assignment;
mod gospa;
mod identity;

pub use gospa::{Gospa, GospaParams, Ospa, gospa, gospa_with, ospa, ospa_with};
pub use identity::{
    Assignment, Continuity, Purity, TrackPurity, TruthContinuity, assign_tracks, continuity, time_to_first_track,
    track_purity,
};
