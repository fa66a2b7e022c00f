//! What each event kind means, as numbers a deployment may change.
//!
//! The defaults are the published ones of Global Fishing Watch (GFW) and
//! Skylight (docs/events.md cites them); [`EventConfig::skylight`] swaps the
//! encounter definition for Skylight's rendezvous.

use caveat_core::Position;
use time::Duration;

use crate::Error;
use crate::geo::Polygon;

/// Metres in a nautical mile.
pub const NM_M: f64 = 1852.0;

/// Most areas and speed rules one configuration may hold.
pub const MAX_AREAS: usize = 256;

/// Most coastal reference points (shore and anchorages).
pub const MAX_SHORE_POINTS: usize = 100_000;

/// Everything the detectors are told.
#[derive(Debug, Clone, PartialEq)]
pub struct EventConfig {
    /// AIS gaps and going dark.
    pub gap: GapConfig,
    /// Encounters and dark rendezvous.
    pub encounter: EncounterConfig,
    /// Loitering.
    pub loitering: LoiteringConfig,
    /// Identity anomalies.
    pub identity: IdentityConfig,
    /// Named areas for entry, exit and speed rules.
    pub areas: Vec<Area>,
    /// Speed-range rules (e.g. over 25 kn in an area).
    pub speed_rules: Vec<SpeedRule>,
    /// Where the shore and the anchorages are: "near shore" and "in harbour"
    /// are distances to the nearest of these points (docs/events.md says why).
    pub shore: Vec<Position>,
    /// Step of the common time grid on which paths are compared and speeds measured.
    pub sample: Duration,
    /// Speeds are measured over this long a window (centred), so a noisy
    /// radar fix does not make a drifting vessel look fast.
    pub speed_window: Duration,
    /// Two points of a path further apart in time are not interpolated between.
    pub max_interpolation: Duration,
    /// Most events one detection returns (the earliest kept).
    pub max_events: usize,
}

/// AIS gap: a cooperative vessel (an MMSI seen on AIS) is silent this long while at sea.
#[derive(Debug, Clone, PartialEq)]
pub struct GapConfig {
    /// Shortest gap reported (GFW's gap table and Skylight: 6 h).
    pub min_gap: Duration,
    /// The last position before the gap must be at least this far from the shore points.
    pub min_shore_distance_m: f64,
}

/// Encounter: two vessels close together, slow, away from anchorages, for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct EncounterConfig {
    /// Farthest apart (GFW: 500 m; Skylight: 250 m).
    pub max_distance_m: f64,
    /// Shortest time together (GFW: 2 h; Skylight: 30 min).
    pub min_duration: Duration,
    /// Fastest either may go (GFW: 2 kn).
    pub max_speed_kn: f64,
    /// Nearest an anchorage (shore point) they may be (GFW: 10 km).
    pub min_anchorage_distance_m: f64,
}

/// Loitering: one vessel slow, far from shore, for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct LoiteringConfig {
    /// Fastest (GFW: 2 kn).
    pub max_speed_kn: f64,
    /// Nearest the shore (GFW: 20 nm).
    pub min_shore_distance_m: f64,
    /// Shortest (GFW's carrier portal: over 1 h).
    pub min_duration: Duration,
}

/// Identity anomalies.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityConfig {
    /// Two AIS positions of one MMSI implying more than this speed are two vessels.
    pub max_plausible_speed_kn: f64,
    /// ... and they must be at least this far apart (GNSS and timing noise).
    pub min_separation_m: f64,
    /// ... within this long of each other.
    pub max_interval: Duration,
    /// A track's second MMSI counts as a change only once it is on this many reports
    /// (one misread message is not a change of identity).
    pub min_reports_per_mmsi: usize,
}

/// A named area.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Its name, unique in the configuration (events name it).
    pub name: String,
    /// Its boundary.
    pub polygon: Polygon,
}

/// A speed range held in an area (or anywhere) for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedRule {
    /// Its name (events name it).
    pub name: String,
    /// The area's name, or `None` for anywhere.
    pub area: Option<String>,
    /// Slowest, knots.
    pub min_kn: f64,
    /// Fastest, knots.
    pub max_kn: f64,
    /// Shortest time in range.
    pub min_duration: Duration,
}

impl Default for EventConfig {
    /// GFW's published definitions (docs/events.md).
    fn default() -> Self {
        EventConfig {
            gap: GapConfig { min_gap: Duration::hours(6), min_shore_distance_m: 5.0 * NM_M },
            encounter: EncounterConfig {
                max_distance_m: 500.0,
                min_duration: Duration::hours(2),
                max_speed_kn: 2.0,
                min_anchorage_distance_m: 10_000.0,
            },
            loitering: LoiteringConfig {
                max_speed_kn: 2.0,
                min_shore_distance_m: 20.0 * NM_M,
                min_duration: Duration::hours(1),
            },
            identity: IdentityConfig {
                max_plausible_speed_kn: 60.0,
                min_separation_m: 10_000.0,
                max_interval: Duration::minutes(30),
                min_reports_per_mmsi: 2,
            },
            areas: Vec::new(),
            speed_rules: Vec::new(),
            shore: Vec::new(),
            sample: Duration::minutes(1),
            speed_window: Duration::minutes(10),
            max_interpolation: Duration::minutes(30),
            max_events: 100_000,
        }
    }
}

impl EventConfig {
    /// GFW's definitions (the default).
    pub fn gfw() -> Self {
        EventConfig::default()
    }

    /// Skylight's rendezvous instead of GFW's encounter: 250 m for 30 min.
    pub fn skylight() -> Self {
        let mut c = EventConfig::default();
        c.encounter.max_distance_m = 250.0;
        c.encounter.min_duration = Duration::minutes(30);
        c
    }

    /// Checks every threshold, naming the first bad field.
    pub fn validate(&self) -> Result<(), Error> {
        positive_duration("gap.min_gap", self.gap.min_gap)?;
        range("gap.min_shore_distance_m", self.gap.min_shore_distance_m, 0.0, 1e6)?;
        range("encounter.max_distance_m", self.encounter.max_distance_m, 1.0, 50_000.0)?;
        positive_duration("encounter.min_duration", self.encounter.min_duration)?;
        range("encounter.max_speed_kn", self.encounter.max_speed_kn, 0.0, 100.0)?;
        range("encounter.min_anchorage_distance_m", self.encounter.min_anchorage_distance_m, 0.0, 1e6)?;
        range("loitering.max_speed_kn", self.loitering.max_speed_kn, 0.0, 100.0)?;
        range("loitering.min_shore_distance_m", self.loitering.min_shore_distance_m, 0.0, 1e6)?;
        positive_duration("loitering.min_duration", self.loitering.min_duration)?;
        range("identity.max_plausible_speed_kn", self.identity.max_plausible_speed_kn, 1.0, 1000.0)?;
        range("identity.min_separation_m", self.identity.min_separation_m, 0.0, 1e7)?;
        positive_duration("identity.max_interval", self.identity.max_interval)?;
        positive_duration("sample", self.sample)?;
        if self.sample < Duration::seconds(1) {
            return Err(Error::bad("sample", self.sample, "at least one second"));
        }
        positive_duration("speed_window", self.speed_window)?;
        positive_duration("max_interpolation", self.max_interpolation)?;
        if self.areas.len() + self.speed_rules.len() > MAX_AREAS {
            return Err(Error::bad("areas", self.areas.len(), "at most 256 areas and speed rules together"));
        }
        if self.shore.len() > MAX_SHORE_POINTS {
            return Err(Error::bad("shore", self.shore.len(), "at most 100,000 points"));
        }
        for (i, a) in self.areas.iter().enumerate() {
            if a.name.is_empty() || self.areas.iter().take(i).any(|b| b.name == a.name) {
                return Err(Error::bad(format!("areas[{i}].name"), &a.name, "non-empty and unique"));
            }
        }
        for (i, r) in self.speed_rules.iter().enumerate() {
            range(&format!("speed_rules[{i}].min_kn"), r.min_kn, 0.0, 200.0)?;
            range(&format!("speed_rules[{i}].max_kn"), r.max_kn, r.min_kn, 1000.0)?;
            positive_duration(&format!("speed_rules[{i}].min_duration"), r.min_duration)?;
            if let Some(area) = &r.area
                && !self.areas.iter().any(|a| &a.name == area)
            {
                return Err(Error::bad(format!("speed_rules[{i}].area"), area, "names no configured area"));
            }
        }
        Ok(())
    }
}

fn range(field: &str, x: f64, lo: f64, hi: f64) -> Result<(), Error> {
    if x.is_finite() && (lo..=hi).contains(&x) {
        Ok(())
    } else {
        Err(Error::bad(field, x, "out of range (see docs/events.md)"))
    }
}

fn positive_duration(field: &str, d: Duration) -> Result<(), Error> {
    if d.is_positive() && d <= Duration::days(7) {
        Ok(())
    } else {
        Err(Error::bad(field, d, "positive and at most 7 days"))
    }
}
