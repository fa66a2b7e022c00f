//! Sensor physics: which vessels each sensor detects, with what errors, and
//! when the report reaches the hub.

use caveat_core::{SourceKind, VesselDescriptors, VesselType};
use serde::{Deserialize, Serialize};

use crate::draw::Draw;
use crate::geo::{MS_PER_KN, bearing_deg, distance_m, normalize_deg, offset};
use crate::motion::VesselState;
use crate::sensors::{CoastalRadar, Cutter, PatrolAircraft};
use crate::traffic::Habit;
use crate::truth::{TruthVessel, VesselId};

/// What truly caused a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "vessel")]
pub enum Origin {
    /// A real (simulated) vessel.
    Vessel(VesselId),
    /// A radar false alarm: sea clutter, rain, a whitecap.
    Clutter,
    /// A tip about a vessel that does not exist.
    FalseTip,
}

impl Origin {
    /// The vessel, if any.
    pub fn vessel(self) -> Option<VesselId> {
        match self {
            Origin::Vessel(v) => Some(v),
            _ => None,
        }
    }
}

/// A report before it becomes a `caveat_core::Report`: times in seconds after the start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    pub(crate) t: f64,
    pub(crate) arrival: f64,
    pub(crate) partner: usize,
    pub(crate) source: SourceKind,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) sigma_m: f64,
    pub(crate) course: Option<f64>,
    pub(crate) speed: Option<f64>,
    pub(crate) time_sigma_s: Option<f64>,
    pub(crate) vessel: VesselDescriptors,
    pub(crate) remarks: Option<String>,
    pub(crate) origin: Origin,
}

impl Observation {
    fn new(t: f64, partner: usize, source: SourceKind, lat: f64, lon: f64, sigma_m: f64, origin: Origin) -> Self {
        Observation {
            t,
            arrival: t + 1.0,
            partner,
            source,
            lat,
            lon,
            sigma_m,
            course: None,
            speed: None,
            time_sigma_s: None,
            vessel: VesselDescriptors::default(),
            remarks: None,
            origin,
        }
    }
}

/// How much of a radar's range a target of this length is seen at (radar cross-section, crudely).
fn size_factor(v: &TruthVessel) -> f64 {
    match v.identity.length_m {
        _ if v.habit == Habit::GoFast => 0.5,
        Some(l) if l < 15.0 => 0.45,
        Some(l) if l < 40.0 => 0.65,
        Some(l) if l < 120.0 => 0.85,
        Some(_) => 1.0,
        None => 0.6,
    }
}

/// Probability of detection at range `r` for a target seen at 50% at `r50`:
/// a logistic fall-off over a tenth of the instrumented range, cut at 1.2 x range.
fn pd(pd_max: f64, r: f64, r50: f64, range: f64) -> f64 {
    if r > 1.2 * range {
        return 0.0;
    }
    pd_max / (1.0 + ((r - r50) / (0.08 * range)).exp())
}

/// A polar measurement from (lat, lon): range and bearing errors, and a one-sigma circular uncertainty.
fn polar(
    draw: &mut Draw,
    site: (f64, f64),
    target: (f64, f64),
    range_sigma: f64,
    bearing_sigma_deg: f64,
) -> (f64, f64, f64) {
    let r = distance_m(site.0, site.1, target.0, target.1);
    let b = bearing_deg(site.0, site.1, target.0, target.1);
    let rr = (r + draw.normal(range_sigma)).max(0.0);
    let bb = (b + draw.normal(bearing_sigma_deg)).to_radians();
    let (lat, lon) = offset(site.0, site.1, rr * bb.sin(), rr * bb.cos());
    (lat, lon, range_sigma.max(r * bearing_sigma_deg.to_radians()))
}

/// Shore radar latency: 3-15 s, and now and then a link outage of 10-90 minutes.
fn radar_latency(draw: &mut Draw) -> f64 {
    let base = draw.uniform(3.0, 15.0);
    if draw.chance(0.005) { base + draw.uniform(600.0, 5400.0) } else { base }
}

pub(crate) fn coastal_radar(
    radar: &CoastalRadar,
    partner: usize,
    t: f64,
    vessels: &[TruthVessel],
    states: &[Option<VesselState>],
    draw: &mut Draw,
    out: &mut Vec<Observation>,
) {
    let site = (radar.site.lat, radar.site.lon);
    let lat_reach = 1.2 * radar.range_m / crate::geo::M_PER_DEG;
    for (v, s) in vessels.iter().zip(states) {
        let Some(s) = s else { continue };
        if (s.lat - site.0).abs() > lat_reach {
            continue;
        }
        // Shore radars map out harbours (land and stationary clutter): moored
        // vessels are not reported, and anything stopped is seen half as often.
        if v.habit == Habit::Moored {
            continue;
        }
        let stopped = if s.speed_kn < 0.5 { 0.5 } else { 1.0 };
        let r = distance_m(site.0, site.1, s.lat, s.lon);
        if !draw.chance(stopped * pd(radar.pd_max, r, radar.range_m * size_factor(v), radar.range_m)) {
            continue;
        }
        let (lat, lon, sigma) = polar(draw, site, (s.lat, s.lon), radar.range_sigma_m, radar.bearing_sigma_deg);
        let mut o = Observation::new(t, partner, SourceKind::CoastalRadar, lat, lon, sigma, Origin::Vessel(v.id));
        o.arrival = t + radar_latency(draw);
        out.push(o);
    }
    for _ in 0..draw.poisson(radar.clutter_per_scan) {
        let (r, b) = (draw.uniform(500.0, 12_000.0), draw.uniform(0.0, 360.0).to_radians());
        let (lat, lon) = offset(site.0, site.1, r * b.sin(), r * b.cos());
        let sigma = radar.range_sigma_m.max(r * radar.bearing_sigma_deg.to_radians());
        let mut o = Observation::new(t, partner, SourceKind::CoastalRadar, lat, lon, sigma, Origin::Clutter);
        o.arrival = t + radar_latency(draw);
        out.push(o);
    }
}

/// What an eyeball or a camera makes of a vessel: type (right nine times in
/// ten), length within about 12%, outboards and persons for small craft.
fn sighting(v: &TruthVessel, s: &VesselState, draw: &mut Draw) -> (VesselDescriptors, Option<f64>, Option<f64>) {
    let truth = &v.identity;
    let small = truth.length_m.is_none_or(|l| l < 40.0);
    let engines = truth.engines.map(|e| {
        let e = i32::from(e) + if draw.chance(0.3) { if draw.chance(0.5) { 1 } else { -1 } } else { 0 };
        u8::try_from(e.clamp(1, 16)).unwrap_or(1)
    });
    let persons = truth.persons_on_board.filter(|_| small).map(|p| {
        let seen = (f64::from(p) + draw.normal(1.0)).round().clamp(0.0, 10_000.0);
        // In range after the clamp: converting through a string avoids a lossy cast.
        format!("{seen:.0}").parse::<u16>().unwrap_or(p)
    });
    let d = VesselDescriptors {
        vessel_type: truth.vessel_type.map(|t| if draw.chance(0.9) { t } else { VesselType::Other }),
        length_m: truth.length_m.map(|l| (l * (1.0 + draw.normal(0.12))).clamp(1.0, 500.0).round()),
        engines,
        persons_on_board: persons,
        ..VesselDescriptors::default()
    };
    let course = Some(normalize_deg(s.course_deg + draw.normal(8.0)));
    let speed = Some((s.speed_kn + draw.normal(2.0)).clamp(0.0, 102.2));
    (d, course, speed)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one sweep needs the sensor, its platform and the world; a struct would only rename them"
)]
#[expect(clippy::many_single_char_names, reason = "kinematics and assignment use their textbook names (t, v, p, c)")]
pub(crate) fn aircraft(
    a: &PatrolAircraft,
    partner: usize,
    at: (f64, f64),
    t: f64,
    remaining_s: f64,
    vessels: &[TruthVessel],
    states: &[Option<VesselState>],
    draw: &mut Draw,
    out: &mut Vec<Observation>,
) {
    let lat_reach = 1.2 * a.radar_range_m / crate::geo::M_PER_DEG;
    let latency = |draw: &mut Draw| {
        if draw.chance(a.post_mission_fraction) {
            remaining_s + draw.uniform(3600.0, 3.0 * 3600.0)
        } else {
            draw.uniform(60.0, 600.0)
        }
    };
    for (v, s) in vessels.iter().zip(states) {
        let Some(s) = s else { continue };
        // Vessels moored in harbour are not contacts of interest: not reported.
        if (s.lat - at.0).abs() > lat_reach || v.habit == Habit::Moored {
            continue;
        }
        let r = distance_m(at.0, at.1, s.lat, s.lon);
        if !draw.chance(pd(a.pd_max, r, a.radar_range_m * size_factor(v), a.radar_range_m)) {
            continue;
        }
        let mut o = if r < a.eo_range_m && draw.chance(0.6) {
            let lat_lon = offset(s.lat, s.lon, draw.normal(30.0), draw.normal(30.0));
            let mut o =
                Observation::new(t, partner, SourceKind::MpaEo, lat_lon.0, lat_lon.1, 30.0, Origin::Vessel(v.id));
            let (d, c, sp) = sighting(v, s, draw);
            o.vessel = d;
            o.course = c;
            o.speed = sp;
            o
        } else {
            let (lat, lon, sigma) = polar(draw, at, (s.lat, s.lon), 100.0, 0.5);
            Observation::new(t, partner, SourceKind::MpaRadar, lat, lon, sigma, Origin::Vessel(v.id))
        };
        o.arrival = t + latency(draw);
        out.push(o);
    }
    for _ in 0..draw.poisson(0.05) {
        let (r, b) = (draw.uniform(2000.0, a.radar_range_m), draw.uniform(0.0, 360.0).to_radians());
        let (lat, lon) = offset(at.0, at.1, r * b.sin(), r * b.cos());
        let mut o =
            Observation::new(t, partner, SourceKind::MpaRadar, lat, lon, 100.0_f64.max(r * 0.0087), Origin::Clutter);
        o.arrival = t + latency(draw);
        out.push(o);
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one sweep needs the sensor, its platform and the world; a struct would only rename them"
)]
#[expect(clippy::many_single_char_names, reason = "kinematics and assignment use their textbook names (t, v, p, c)")]
pub(crate) fn cutter(
    c: &Cutter,
    partner: usize,
    at: (f64, f64),
    t: f64,
    vessels: &[TruthVessel],
    states: &[Option<VesselState>],
    draw: &mut Draw,
    out: &mut Vec<Observation>,
) {
    let lat_reach = 1.2 * c.radar_range_m / crate::geo::M_PER_DEG;
    for (v, s) in vessels.iter().zip(states) {
        let Some(s) = s else { continue };
        // Vessels moored in harbour are not contacts of interest: not reported.
        if (s.lat - at.0).abs() > lat_reach || v.habit == Habit::Moored {
            continue;
        }
        let r = distance_m(at.0, at.1, s.lat, s.lon);
        if r < 200.0 || !draw.chance(pd(c.pd_max, r, c.radar_range_m * size_factor(v), c.radar_range_m)) {
            continue;
        }
        let (lat, lon, sigma) = polar(draw, at, (s.lat, s.lon), 20.0, 0.8);
        let mut o = Observation::new(t, partner, SourceKind::Vessel, lat, lon, sigma, Origin::Vessel(v.id));
        if r < 5000.0 && draw.chance(0.5) {
            let (d, course, speed) = sighting(v, s, draw);
            o.vessel = d;
            o.course = course;
            o.speed = speed;
        }
        o.arrival = t + draw.uniform(10.0, 120.0);
        out.push(o);
    }
}

/// Speed of a state in knots, for AIS: what the transponder would say.
pub(crate) fn reported_speed(s: &VesselState, draw: &mut Draw) -> f64 {
    (s.speed_kn + draw.normal(0.1)).clamp(0.0, 102.2)
}

/// A position drawn around the truth with a circular normal error of `sigma` metres.
pub(crate) fn tip_position(s: &VesselState, sigma: f64, draw: &mut Draw) -> (f64, f64) {
    offset(s.lat, s.lon, draw.normal(sigma), draw.normal(sigma))
}

/// Knots to metres per second (re-exported for the stream).
pub(crate) const KN: f64 = MS_PER_KN;

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "hand-computed values are exact in binary")]
mod tests {
    use super::*;

    #[test]
    fn pd_falls_with_range() {
        let near = pd(0.9, 1000.0, 30_000.0, 50_000.0);
        let mid = pd(0.9, 30_000.0, 30_000.0, 50_000.0);
        let far = pd(0.9, 55_000.0, 30_000.0, 50_000.0);
        assert!(near > 0.89 && (mid - 0.45).abs() < 1e-9 && far < 0.01, "{near} {mid} {far}");
        assert_eq!(pd(0.9, 61_000.0, 30_000.0, 50_000.0), 0.0);
    }

    #[test]
    fn polar_errors_grow_with_range() {
        let mut d = Draw::new(5, 5);
        let target = offset(18.0, -65.0, 0.0, 40_000.0);
        let (_, _, sigma) = polar(&mut d, (18.0, -65.0), target, 30.0, 0.4);
        assert!((sigma - 40_000.0 * 0.4_f64.to_radians()).abs() < 1.0, "{sigma}");
    }
}
