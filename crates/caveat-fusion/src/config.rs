//! Tuning of the tracker: scan length, gates, noise, track life cycle.

use time::Duration;

/// How the tracker associates, filters and manages tracks.
///
/// Every picture built with equal configs from equal report sets is equal, so a
/// config is part of a view's identity: change it and rebuild.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FusionConfig {
    /// Length of a scan: reports are associated scan by scan, scans at fixed
    /// boundaries of Unix time (so scans do not depend on which reports exist).
    pub scan: Duration,
    /// Gate for a position measurement: chi-square, 2 degrees of freedom.
    /// 13.8 keeps 99.9 % of true associations.
    pub gate_position: f64,
    /// Gate for a position-and-velocity measurement: chi-square, 4 degrees of freedom.
    pub gate_position_velocity: f64,
    /// Process noise of the constant-velocity model: white-acceleration
    /// spectral density, m²/s³ per axis. Go-fasts turn hard; merchants do not.
    pub process_noise: f64,
    /// One-sigma speed, per axis, of a track started from a report without velocity, m/s.
    pub initial_speed_sigma: f64,
    /// Reports a tentative track needs to be confirmed (the M of M-of-N).
    pub confirm_hits: u32,
    /// Time from a tentative track's first report within which it needs
    /// `confirm_hits` reports (the N of M-of-N, as a time window because
    /// partners' sensors do not scan in step); after it the track is dropped.
    pub confirm_window: Duration,
    /// A tentative track with no report for this long is dropped.
    pub tentative_coast: Duration,
    /// A confirmed track with no report for this long is dropped.
    pub confirmed_coast: Duration,
    /// Cell size of the gating grid, metres. Tracks whose gate can reach
    /// further than one cell are checked against every report instead.
    pub grid_cell_m: f64,
    /// How far back (behind the newest scan applied) a picture keeps each
    /// track's history, so that a late report is replayed locally. A report
    /// older than that makes the next read re-fuse everything held. Memory
    /// grows with it: about one track state (a few hundred bytes) per report.
    pub replay_horizon: Duration,
}

impl Default for FusionConfig {
    fn default() -> Self {
        FusionConfig {
            scan: Duration::seconds(1),
            gate_position: 13.8,
            gate_position_velocity: 18.5,
            process_noise: 0.05,
            initial_speed_sigma: 10.0,
            confirm_hits: 3,
            confirm_window: Duration::minutes(10),
            tentative_coast: Duration::minutes(5),
            confirmed_coast: Duration::minutes(20),
            grid_cell_m: 2_000.0,
            replay_horizon: Duration::hours(1),
        }
    }
}

impl FusionConfig {
    pub(crate) fn scan_ns(&self) -> i64 {
        i64::try_from(self.scan.whole_nanoseconds()).unwrap_or(1_000_000_000).max(1)
    }
}
