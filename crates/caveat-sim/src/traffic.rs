//! Cooperative traffic: a real track, fitted and continued by a habit that
//! depends on the vessel's AIS type and speed.

use serde::{Deserialize, Serialize};

use crate::draw::Draw;
use crate::fleet::{Fix, RealTrack};
use crate::geo::{MS_PER_KN, angle_diff_deg, bearing_deg, distance_m, offset};
use crate::motion::{Leg, Pilot, Trajectory, VesselState};

/// How a simulated vessel behaves once its real fixes run out (or, for dark
/// vessels, from the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Habit {
    /// Moored or at anchor (fitted speed under 0.6 kn): stays put.
    Moored,
    /// Fishing (AIS type 30): loiters around where it was, 1.5-4 kn, drifting at times.
    Fishing,
    /// Pleasure craft or sailing (AIS types 36, 37): wanders, sometimes heads into a nearby port.
    Leisure,
    /// Merchant and other traffic: holds course and speed, enters a port ahead.
    Transit,
    /// Non-cooperative go-fast: runs to a rendezvous, then to a landing beach.
    GoFast,
    /// Non-cooperative support vessel: drifts in a transshipment area, waiting for go-fasts.
    MotherShip,
}

/// A port or anchorage that traffic may approach.
pub(crate) struct Port {
    pub(crate) lat: f64,
    pub(crate) lon: f64,
}

const fn port(lat: f64, lon: f64) -> Port {
    Port { lat, lon }
}

/// Ports and anchorages of Puerto Rico, the Virgin Islands and the Lesser Antilles.
pub(crate) const PORTS: [Port; 24] = [
    port(18.46, -66.10), // San Juan
    port(17.97, -66.62), // Ponce
    port(18.20, -67.16), // Mayagüez
    port(18.33, -65.63), // Fajardo
    port(18.04, -65.83), // Yabucoa
    port(17.99, -66.76), // Guayanilla
    port(18.15, -65.44), // Isabel Segunda, Vieques
    port(18.30, -65.30), // Culebra
    port(18.33, -64.93), // Charlotte Amalie
    port(17.75, -64.70), // Christiansted
    port(17.71, -64.89), // Frederiksted
    port(18.42, -64.61), // Road Town
    port(18.01, -63.05), // Philipsburg
    port(18.07, -63.09), // Marigot
    port(17.90, -62.85), // Gustavia
    port(17.61, -63.25), // Fort Bay, Saba
    port(17.48, -62.99), // Oranjestad, Sint Eustatius
    port(17.29, -62.72), // Basseterre
    port(17.13, -61.86), // St John's
    port(16.80, -62.21), // Little Bay, Montserrat
    port(16.23, -61.53), // Pointe-à-Pitre
    port(16.00, -61.73), // Basse-Terre
    port(15.30, -61.39), // Roseau
    port(14.60, -61.07), // Fort-de-France
];

/// Course (deg), speed (m/s) and turn rate (deg/s) fitted to a real track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    pub(crate) course: f64,
    pub(crate) speed: f64,
    pub(crate) turn: f64,
}

/// Below this fitted speed a vessel is moored: AIS jitter, not motion.
const MOORED_MS: f64 = 0.3;
/// The fastest merchant or leisure vessel we continue (real tracks can glitch).
const MAX_TRAFFIC_MS: f64 = 30.0 * MS_PER_KN;

/// Fits course and speed from the first and last fix (displacement over time,
/// robust to per-fix jitter) and the turn rate from the change of reported COG.
pub(crate) fn fit(fixes: &[Fix]) -> Fit {
    let (Some(a), Some(b)) = (fixes.first(), fixes.last()) else {
        return Fit { course: 0.0, speed: 0.0, turn: 0.0 };
    };
    let span = b.t - a.t;
    let reported = b.sog_kn.unwrap_or(0.0) * MS_PER_KN;
    let (course, speed) = if span >= 30.0 {
        let d = distance_m(a.lat, a.lon, b.lat, b.lon);
        let course = if d > 100.0 { bearing_deg(a.lat, a.lon, b.lat, b.lon) } else { b.cog_deg.unwrap_or(0.0) };
        (course, d / span)
    } else {
        (b.cog_deg.unwrap_or(0.0), reported)
    };
    let speed = if speed < MOORED_MS { 0.0 } else { speed.min(MAX_TRAFFIC_MS) };
    let turn = match (a.cog_deg, b.cog_deg) {
        (Some(c0), Some(c1)) if span >= 60.0 && speed > 2.0 * MS_PER_KN => {
            (angle_diff_deg(c0, c1) / span).clamp(-0.03, 0.03)
        }
        _ => 0.0,
    };
    Fit { course, speed, turn }
}

/// The habit of a real vessel, from its AIS type and fitted speed.
pub(crate) fn habit(ais_ship_type: Option<u8>, fit: Fit) -> Habit {
    if fit.speed < MOORED_MS {
        return Habit::Moored;
    }
    match ais_ship_type {
        Some(30) => Habit::Fishing,
        Some(36 | 37) => Habit::Leisure,
        _ => Habit::Transit,
    }
}

/// The truth of a real vessel moved by `east`/`north` metres (clones for
/// large fleets): back-projected from its first fix to the scenario start,
/// through its real fixes, then continued by its habit until `end`.
pub(crate) fn continue_track(
    track: &RealTrack,
    east: f64,
    north: f64,
    end: f64,
    draw: &mut Draw,
) -> (Trajectory, Habit) {
    let moved = |f: &Fix| {
        let (lat, lon) = offset(f.lat, f.lon, east, north);
        Fix { lat, lon, ..*f }
    };
    let fixes: Vec<Fix> = track.fixes.iter().filter(|f| f.t <= end).map(moved).collect();
    // A track whose first fix lies after the end still starts from that fix,
    // moved like the rest: unmoved, every clone of it would sit on the original.
    let fixes = if fixes.is_empty() { track.fixes.iter().take(1).map(moved).collect() } else { fixes };
    let f = fit(&fixes);
    let habit = habit(track.ais_ship_type, f);
    let Some(first) = fixes.first() else {
        return (Pilot::new(0.0, 0.0, 0.0, 0.0, 0.0, end).finish(), Habit::Moored);
    };
    let mut legs = Vec::new();
    if first.t > 0.0 {
        let c = f.course.to_radians();
        let back = -f.speed * first.t;
        let (lat, lon) = offset(first.lat, first.lon, back * c.sin(), back * c.cos());
        legs.push(Leg { t0: 0.0, lat, lon, course: f.course, speed: f.speed, turn: 0.0, accel: 0.0 });
    }
    let mut course = f.course;
    for pair in fixes.windows(2) {
        if let [a, b] = pair {
            let d = distance_m(a.lat, a.lon, b.lat, b.lon);
            let dt = (b.t - a.t).max(1.0);
            if d > 5.0 {
                course = bearing_deg(a.lat, a.lon, b.lat, b.lon);
            }
            let speed = if f.speed == 0.0 { 0.0 } else { (d / dt).min(MAX_TRAFFIC_MS) };
            let (lat, lon) = if f.speed == 0.0 { (first.lat, first.lon) } else { (a.lat, a.lon) };
            legs.push(Leg { t0: a.t.max(0.0), lat, lon, course, speed, turn: 0.0, accel: 0.0 });
        }
    }
    let last = fixes.last().unwrap_or(first);
    let (lat, lon) = if f.speed == 0.0 { (first.lat, first.lon) } else { (last.lat, last.lon) };
    let state = VesselState { lat, lon, course_deg: f.course, speed_kn: f.speed / MS_PER_KN };
    let mut pilot = Pilot::after(legs, last.t.max(0.0), state, end);
    if f.turn.abs() > 0.002 {
        let duration = (45.0 / f.turn.abs()).min(900.0);
        pilot.turn_to(f.course + f.turn * duration, f.turn.abs());
    }
    match habit {
        Habit::Fishing => fish(&mut pilot, draw),
        Habit::Leisure => wander(&mut pilot, draw),
        Habit::Transit => transit(&mut pilot, draw),
        _ => pilot.cruise(f64::INFINITY),
    }
    (pilot.finish(), habit)
}

/// Merchant traffic: holds course, small alterations every 30-90 minutes,
/// and enters a port that lies within 30 degrees of its course and 120 km.
fn transit(p: &mut Pilot, draw: &mut Draw) {
    while !p.done() {
        if let Some(port) = port_ahead(p, 120_000.0, 30.0) {
            enter_port(p, port);
            return;
        }
        p.cruise(draw.uniform(1800.0, 5400.0));
        p.turn_to(p.course + draw.normal(5.0), 0.2);
        let v = p.speed * draw.uniform(0.95, 1.05);
        p.change_speed(v, 0.01);
    }
}

/// Pleasure craft: alter course by about 30 degrees every 20-60 minutes, now
/// and then head into a port within 40 km.
fn wander(p: &mut Pilot, draw: &mut Draw) {
    while !p.done() {
        p.cruise(draw.uniform(1200.0, 3600.0));
        if draw.chance(0.25)
            && let Some(port) = nearest_port(p, 40_000.0)
        {
            enter_port(p, port);
            return;
        }
        p.turn_to(p.course + draw.normal(30.0), 1.0);
        let v = (p.speed * draw.uniform(0.8, 1.2)).clamp(3.0 * MS_PER_KN, 25.0 * MS_PER_KN);
        p.change_speed(v, 0.05);
    }
}

/// Fishing: loiter within about 3 km of where the real track ended, trawling
/// at 1.5-4 kn on changing courses, sometimes drifting at 0.3 kn.
fn fish(p: &mut Pilot, draw: &mut Draw) {
    let (clat, clon) = (p.lat, p.lon);
    while !p.done() {
        let d = distance_m(p.lat, p.lon, clat, clon);
        let course = if d > 3000.0 {
            bearing_deg(p.lat, p.lon, clat, clon) + draw.uniform(-30.0, 30.0)
        } else {
            draw.uniform(0.0, 360.0)
        };
        p.turn_to(course, 0.5);
        if draw.chance(0.2) {
            p.change_speed(0.3 * MS_PER_KN, 0.02);
            p.cruise(draw.uniform(900.0, 2700.0));
        } else {
            p.change_speed(draw.uniform(1.5, 4.0) * MS_PER_KN, 0.02);
            p.cruise(draw.uniform(600.0, 1800.0));
        }
    }
}

fn port_ahead(p: &Pilot, within_m: f64, within_deg: f64) -> Option<&'static Port> {
    PORTS
        .iter()
        .map(|q| (q, distance_m(p.lat, p.lon, q.lat, q.lon)))
        .filter(|(q, d)| {
            *d > 3000.0
                && *d < within_m
                && angle_diff_deg(p.course, bearing_deg(p.lat, p.lon, q.lat, q.lon)).abs() < within_deg
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(q, _)| q)
}

fn nearest_port(p: &Pilot, within_m: f64) -> Option<&'static Port> {
    port_ahead(p, within_m, 180.1)
}

/// Port approach: turn for the port, slow to 5 kn 6 km out, stop 800 m off and stay.
pub(crate) fn enter_port(p: &mut Pilot, port: &Port) {
    p.turn_to(bearing_deg(p.lat, p.lon, port.lat, port.lon), 0.3);
    let d = distance_m(p.lat, p.lon, port.lat, port.lon);
    if d > 6000.0 && p.speed > 0.5 {
        p.cruise((d - 6000.0) / p.speed);
    }
    p.change_speed(5.0 * MS_PER_KN, 0.02);
    p.turn_to(bearing_deg(p.lat, p.lon, port.lat, port.lon), 0.3);
    let d = distance_m(p.lat, p.lon, port.lat, port.lon);
    if d > 1500.0 && p.speed > 0.5 {
        p.cruise((d - 1500.0) / p.speed);
    }
    p.change_speed(0.0, 0.02);
    p.cruise(f64::INFINITY);
}

/// Whether a position lies near a known port (for tests and the README).
#[cfg(test)]
pub(crate) fn near_port(pos: caveat_core::Position, within_m: f64) -> bool {
    PORTS.iter().any(|q| distance_m(pos.lat, pos.lon, q.lat, q.lon) < within_m)
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "hand-computed values are exact in binary")]
mod tests {
    use super::*;

    fn fix(t: f64, lat: f64, lon: f64, sog: f64, cog: f64) -> Fix {
        Fix { t, lat, lon, sog_kn: Some(sog), cog_deg: Some(cog) }
    }

    #[test]
    fn fit_uses_displacement() {
        // 10 minutes due east at 10 m/s.
        let (lat, lon) = offset(18.0, -65.0, 6000.0, 0.0);
        let f = fit(&[fix(0.0, 18.0, -65.0, 19.0, 88.0), fix(600.0, lat, lon, 19.0, 92.0)]);
        assert!((f.course - 90.0).abs() < 0.1, "{f:?}");
        assert!((f.speed - 10.0).abs() < 0.05, "{f:?}");
        assert!((f.turn - 4.0 / 600.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn jitter_is_moored() {
        let f = fit(&[fix(0.0, 18.0, -65.0, 0.1, 10.0), fix(600.0, 18.0001, -65.0, 0.0, 200.0)]);
        assert_eq!(habit(Some(70), f), Habit::Moored);
        assert_eq!(f.speed, 0.0);
    }

    #[test]
    fn transit_enters_port_ahead() {
        // 20 km west of Road Town, heading east at 12 kn.
        let (lat, lon) = offset(18.42, -64.61, -20_000.0, 0.0);
        let mut p = Pilot::new(0.0, lat, lon, 90.0, 12.0 * MS_PER_KN, 4.0 * 3600.0);
        transit(&mut p, &mut Draw::new(1, 1));
        let tr = p.finish();
        let s = tr.state_at(4.0 * 3600.0).unwrap();
        assert!(s.speed_kn < 0.01, "{s:?}");
        assert!(near_port(caveat_core::Position { lat: s.lat, lon: s.lon }, 2000.0), "{s:?}");
    }

    #[test]
    fn fishing_stays_near_its_ground() {
        let mut p = Pilot::new(0.0, 17.5, -65.5, 0.0, 3.0 * MS_PER_KN, 6.0 * 3600.0);
        fish(&mut p, &mut Draw::new(2, 2));
        let tr = p.finish();
        for k in 0..=36 {
            let s = tr.state_at(f64::from(k) * 600.0).unwrap();
            assert!(distance_m(17.5, -65.5, s.lat, s.lon) < 8000.0, "{k} {s:?}");
        }
    }

    #[test]
    fn a_clone_whose_first_fix_is_after_the_end_is_moved_too() {
        // Issue 19: the fallback kept the original's position, so clones piled up on it.
        let track = RealTrack {
            mmsi: caveat_core::Mmsi::new(338_000_001).unwrap(),
            name: None,
            ais_ship_type: Some(70),
            length_m: None,
            beam_m: None,
            imo: None,
            call_sign: None,
            class_b: false,
            fixes: vec![fix(7200.0, 18.0, -65.0, 0.0, 0.0)],
        };
        let (tr, _) = continue_track(&track, 3000.0, -4000.0, 600.0, &mut Draw::new(3, 3));
        let s = tr.state_at(0.0).unwrap();
        let (lat, lon) = offset(18.0, -65.0, 3000.0, -4000.0);
        assert!(distance_m(lat, lon, s.lat, s.lon) < 1.0, "{s:?}");
    }
}
