//! Partner sensors: where they are, when they look, and how well they see.
//! The detection physics lives in `observe.rs`.

use caveat_core::{BoundingBox, PartnerId, Position};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::geo::{M_PER_DEG, distance_m};
use crate::partners::pid;

/// A shore radar site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoastalRadar {
    /// The partner that runs it and originates its reports.
    pub partner: PartnerId,
    /// Site name.
    pub name: String,
    /// Antenna position.
    pub site: Position,
    /// Instrumented range, metres; a 100 m ship is seen at 50% probability near this range.
    pub range_m: f64,
    /// Seconds between reports of one contact.
    pub scan_period_s: f64,
    /// Probability of detection of a large ship close in.
    pub pd_max: f64,
    /// One-sigma range error, metres.
    pub range_sigma_m: f64,
    /// One-sigma bearing error, degrees.
    pub bearing_sigma_deg: f64,
    /// Mean number of sea-clutter false alarms per scan (within 12 km of the site).
    pub clutter_per_scan: f64,
}

/// A daily on-station window in UTC hours; `from > to` crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HourWindow {
    /// First hour on station, 0-23.
    pub from_hour: u8,
    /// Hour it leaves, 0-24.
    pub to_hour: u8,
}

/// A maritime patrol aircraft flying a ladder search over its patrol box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatrolAircraft {
    /// The partner that flies it.
    pub partner: PartnerId,
    /// Type and call sign.
    pub name: String,
    /// Where it searches.
    pub patrol_box: BoundingBox,
    /// When it is on station, every day.
    pub on_station_utc: Vec<HourWindow>,
    /// Ground speed on the ladder, knots.
    pub speed_kn: f64,
    /// Search radar range, metres (a large ship; a go-fast is seen at 40% of it).
    pub radar_range_m: f64,
    /// Electro-optical identification range, metres: within it the crew reports type, length, engines, persons.
    pub eo_range_m: f64,
    /// Probability of detection close in.
    pub pd_max: f64,
    /// Seconds between reports of one contact.
    pub sweep_period_s: f64,
    /// Share of its reports sent only after landing (one to four hours late).
    pub post_mission_fraction: f64,
}

/// A cutter or patrol ship steaming back and forth along a patrol line, reporting radar and visual contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cutter {
    /// The partner.
    pub partner: PartnerId,
    /// Ship name.
    pub name: String,
    /// Its patrol line (at least two points).
    pub patrol_line: Vec<Position>,
    /// Speed, knots.
    pub speed_kn: f64,
    /// Surface search radar range, metres.
    pub radar_range_m: f64,
    /// Probability of detection close in.
    pub pd_max: f64,
    /// Seconds between reports of one contact.
    pub sweep_period_s: f64,
}

/// The AIS network that receives cooperative vessels' transmissions in the region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisNetwork {
    /// The partner that feeds AIS into the hub.
    pub partner: PartnerId,
    /// Seconds between forwarded position reports of a moving class A vessel
    /// (hubs thin the 2-10 s raw rate); class B and moored vessels report 3 times less often.
    pub interval_s: f64,
    /// Factor on `interval_s` for moored, class B and spoofing vessels (3: they report less often).
    pub slow_interval_factor: f64,
    /// Mean time between reception gaps of one vessel, seconds.
    pub mean_time_between_gaps_s: f64,
    /// Mean gap length, seconds.
    pub mean_gap_s: f64,
    /// Per-report probability that a report carries another vessel's MMSI (a spoof or a misconfigured transponder).
    pub spoof_probability: f64,
    /// Probability that a mother ship transmits AIS under a real vessel's MMSI.
    pub mother_ship_spoof_probability: f64,
    /// One-sigma GNSS position error, metres.
    pub position_sigma_m: f64,
}

/// Human-source tips about dark vessels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TipSource {
    /// The partner that issues them.
    pub partner: PartnerId,
    /// Probability that a go-fast is the subject of a tip.
    pub go_fast_probability: f64,
    /// Probability that a mother ship is the subject of a tip.
    pub mother_ship_probability: f64,
    /// Mean number of tips about nothing at all, per scenario.
    pub false_tips: f64,
    /// One-sigma position error range, metres (drawn per tip).
    pub sigma_m: (f64, f64),
    /// One-sigma error of the reported time, seconds.
    pub time_sigma_s: f64,
    /// Delay from the event to the tip's arrival, seconds (uniform).
    pub delay_s: (f64, f64),
}

/// All sensors of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorSet {
    /// Shore radars.
    pub coastal_radars: Vec<CoastalRadar>,
    /// Maritime patrol aircraft.
    pub aircraft: Vec<PatrolAircraft>,
    /// Cutters and patrol ships.
    pub cutters: Vec<Cutter>,
    /// The AIS feed.
    pub ais: AisNetwork,
    /// The tip line.
    pub tips: TipSource,
}

fn pos(lat: f64, lon: f64) -> Position {
    Position { lat, lon }
}

fn radar(partner: &str, name: &str, lat: f64, lon: f64, range_km: f64) -> CoastalRadar {
    CoastalRadar {
        partner: pid(partner),
        name: name.into(),
        site: pos(lat, lon),
        range_m: range_km * 1000.0,
        scan_period_s: 20.0,
        pd_max: 0.9,
        range_sigma_m: 30.0,
        bearing_sigma_deg: 0.4,
        clutter_per_scan: 0.15,
    }
}

fn window(from_hour: u8, to_hour: u8) -> HourWindow {
    HourWindow { from_hour, to_hour }
}

fn area(min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64) -> BoundingBox {
    BoundingBox { min_lat, min_lon, max_lat, max_lon }
}

impl SensorSet {
    /// Sensors placed where partners plausibly have them around Puerto Rico,
    /// the Virgin Islands and the Leeward Islands:
    /// - GBR radar on Anguilla, Tortola (BVI) and Montserrat; HMS Medway off the BVI;
    /// - NLD radar on Sint Maarten, Saba and Sint Eustatius;
    /// - FRA radar on Saint-Barthélemy, Guadeloupe and Martinique;
    /// - CAN CP-140 Aurora over the Caribbean south of Puerto Rico, 01-07 and 13-19 UTC;
    /// - USA-USCG HC-144 over the Mona Passage and Puerto Rico, 00-05 and 12-17 UTC;
    ///   the cutter Joseph Napier south of Puerto Rico; the AIS feed (NAIS);
    /// - JIATFS tips.
    pub fn eastern_caribbean() -> Self {
        SensorSet {
            coastal_radars: vec![
                radar("GBR", "Anguilla, Crocus Hill", 18.21, -63.06, 45.0),
                radar("GBR", "Tortola, Sage Mountain", 18.41, -64.65, 50.0),
                radar("GBR", "Montserrat, Garibaldi Hill", 16.73, -62.22, 45.0),
                radar("NLD", "Sint Maarten, Sentry Hill", 18.04, -63.07, 45.0),
                radar("NLD", "Saba, Mount Scenery", 17.63, -63.24, 60.0),
                radar("NLD", "Sint Eustatius, The Quill", 17.48, -62.96, 45.0),
                radar("FRA", "Saint-Barthélemy, Morne Vitet", 17.90, -62.81, 40.0),
                radar("FRA", "Guadeloupe, Basse-Terre", 16.00, -61.72, 50.0),
                radar("FRA", "Martinique, Montagne Pelée", 14.81, -61.17, 50.0),
            ],
            aircraft: vec![
                PatrolAircraft {
                    partner: pid("CAN"),
                    name: "CP-140 Aurora RESCUE 140".into(),
                    patrol_box: area(15.5, -67.5, 17.5, -63.5),
                    on_station_utc: vec![window(1, 7), window(13, 19)],
                    speed_kn: 200.0,
                    radar_range_m: 60_000.0,
                    eo_range_m: 10_000.0,
                    pd_max: 0.85,
                    sweep_period_s: 60.0,
                    post_mission_fraction: 0.3,
                },
                PatrolAircraft {
                    partner: pid("USA-USCG"),
                    name: "HC-144 Ocean Sentry CG 2312".into(),
                    patrol_box: area(17.2, -68.0, 19.0, -64.5),
                    on_station_utc: vec![window(0, 5), window(12, 17)],
                    speed_kn: 180.0,
                    radar_range_m: 50_000.0,
                    eo_range_m: 8_000.0,
                    pd_max: 0.85,
                    sweep_period_s: 60.0,
                    post_mission_fraction: 0.0,
                },
            ],
            cutters: vec![
                Cutter {
                    partner: pid("USA-USCG"),
                    name: "USCGC Joseph Napier (WPC-1115)".into(),
                    patrol_line: vec![pos(17.75, -67.3), pos(17.55, -66.2), pos(17.6, -65.4), pos(17.85, -64.9)],
                    speed_kn: 12.0,
                    radar_range_m: 30_000.0,
                    pd_max: 0.9,
                    sweep_period_s: 30.0,
                },
                Cutter {
                    partner: pid("GBR"),
                    name: "HMS Medway (P223)".into(),
                    patrol_line: vec![pos(18.2, -64.9), pos(18.0, -64.2), pos(17.9, -63.6)],
                    speed_kn: 14.0,
                    radar_range_m: 35_000.0,
                    pd_max: 0.9,
                    sweep_period_s: 30.0,
                },
            ],
            ais: AisNetwork {
                partner: pid("USA-USCG"),
                interval_s: 60.0,
                slow_interval_factor: 3.0,
                mean_time_between_gaps_s: 3.0 * 3600.0,
                mean_gap_s: 15.0 * 60.0,
                spoof_probability: 0.0005,
                mother_ship_spoof_probability: 0.5,
                position_sigma_m: 10.0,
            },
            tips: TipSource {
                partner: pid("JIATFS"),
                go_fast_probability: 0.8,
                mother_ship_probability: 0.5,
                false_tips: 0.5,
                sigma_m: (2_000.0, 8_000.0),
                time_sigma_s: 2_400.0,
                delay_s: (3_600.0, 6.0 * 3_600.0),
            },
        }
    }
}

/// A polyline flown or steamed back and forth.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    points: Vec<(f64, f64)>,
    cumulative: Vec<f64>,
}

impl Route {
    pub(crate) fn new(points: Vec<(f64, f64)>) -> Self {
        let mut cumulative = Vec::with_capacity(points.len());
        let mut total = 0.0;
        let mut prev: Option<(f64, f64)> = None;
        for &(lat, lon) in &points {
            if let Some((plat, plon)) = prev {
                total += distance_m(plat, plon, lat, lon);
            }
            cumulative.push(total);
            prev = Some((lat, lon));
        }
        Route { points, cumulative }
    }

    fn length(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// The position after `s` metres, going back and forth.
    #[expect(
        clippy::many_single_char_names,
        reason = "kinematics and assignment use their textbook names (t, v, p, c)"
    )]
    pub(crate) fn at(&self, s: f64) -> Option<(f64, f64)> {
        let len = self.length();
        let first = *self.points.first()?;
        if len <= 0.0 {
            return Some(first);
        }
        let m = s.rem_euclid(2.0 * len);
        let s = if m > len { 2.0 * len - m } else { m };
        let i = self.cumulative.partition_point(|c| *c <= s).clamp(1, self.points.len().saturating_sub(1).max(1));
        let (a, b) = (self.points.get(i - 1)?, self.points.get(i)?);
        let (ca, cb) = (self.cumulative.get(i - 1)?, self.cumulative.get(i)?);
        let f = if cb > ca { ((s - ca) / (cb - ca)).clamp(0.0, 1.0) } else { 0.0 };
        Some((a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1)))
    }
}

impl PatrolAircraft {
    /// The ladder: east-west rows one radar range apart, alternating direction.
    pub(crate) fn route(&self) -> Route {
        let b = &self.patrol_box;
        let spacing = (self.radar_range_m / M_PER_DEG).max(0.05);
        let mut points = Vec::new();
        let mut lat = b.min_lat + 0.5 * spacing;
        let mut east = true;
        while lat <= b.max_lat {
            let (w, e) = (b.min_lon, b.max_lon);
            if east {
                points.extend([(lat, w), (lat, e)]);
            } else {
                points.extend([(lat, e), (lat, w)]);
            }
            east = !east;
            lat += spacing;
        }
        if points.is_empty() {
            points.push((0.5 * (b.min_lat + b.max_lat), b.min_lon));
            points.push((0.5 * (b.min_lat + b.max_lat), b.max_lon));
        }
        Route::new(points)
    }

    /// Seconds since the current sortie began and seconds left in it, if on station at `at`.
    pub(crate) fn on_station(&self, at: OffsetDateTime) -> Option<(f64, f64)> {
        let sod = f64::from(at.time().hour()) * 3600.0
            + f64::from(at.time().minute()) * 60.0
            + f64::from(at.time().second())
            + f64::from(at.time().nanosecond()) * 1e-9;
        self.on_station_utc.iter().find_map(|w| {
            let from = f64::from(w.from_hour) * 3600.0;
            let len = (f64::from(w.to_hour) - f64::from(w.from_hour)).rem_euclid(24.0) * 3600.0;
            let elapsed = (sod - from).rem_euclid(86_400.0);
            (elapsed < len).then_some((elapsed, len - elapsed))
        })
    }
}

impl Cutter {
    pub(crate) fn route(&self) -> Route {
        Route::new(self.patrol_line.iter().map(|p| (p.lat, p.lon)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn route_goes_back_and_forth() {
        let r = Route::new(vec![(18.0, -65.0), (18.0, -64.9)]);
        let len = distance_m(18.0, -65.0, 18.0, -64.9);
        let (lat, lon) = r.at(0.5 * len).unwrap();
        assert!((lat - 18.0).abs() < 1e-9 && (lon + 64.95).abs() < 1e-9);
        let back = r.at(1.5 * len).unwrap();
        assert!((back.1 + 64.95).abs() < 1e-9);
        assert!((r.at(2.0 * len).unwrap().1 + 65.0).abs() < 1e-9);
    }

    #[test]
    fn on_station_windows_cross_midnight() {
        let mut a = SensorSet::eastern_caribbean().aircraft.remove(0);
        a.on_station_utc = vec![HourWindow { from_hour: 22, to_hour: 4 }];
        assert_eq!(a.on_station(datetime!(2022-01-03 23:00 UTC)), Some((3600.0, 5.0 * 3600.0)));
        assert_eq!(a.on_station(datetime!(2022-01-03 03:00 UTC)), Some((5.0 * 3600.0, 3600.0)));
        assert_eq!(a.on_station(datetime!(2022-01-03 05:00 UTC)), None);
    }

    #[test]
    fn ladder_stays_in_its_box() {
        let a = SensorSet::eastern_caribbean().aircraft.remove(0);
        let r = a.route();
        for k in 0..200 {
            let (lat, lon) = r.at(f64::from(k) * 10_000.0).unwrap();
            assert!(a.patrol_box.contains(Position { lat, lon }), "{lat} {lon}");
        }
    }
}
