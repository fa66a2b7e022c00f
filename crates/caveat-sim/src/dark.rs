//! Non-cooperative vessels: go-fasts that run to a rendezvous with a larger
//! support vessel (the mother ship), then to a landing beach; no AIS.

use caveat_core::{BoundingBox, VesselDescriptors, VesselType};

use crate::draw::Draw;
use crate::geo::{MS_PER_KN, bearing_deg, distance_m, offset};
use crate::motion::{Pilot, Trajectory, VesselState};

/// Beaches and coves where go-fasts land their cargo.
const LANDINGS: [(f64, f64); 8] = [
    (18.09, -65.42), // south coast of Vieques
    (17.68, -64.75), // south of St Croix
    (18.30, -64.65), // Norman Island, BVI
    (18.44, -64.75), // Jost Van Dyke, BVI
    (18.03, -63.13), // south of Sint Maarten
    (18.17, -63.12), // south coast of Anguilla
    (17.62, -63.27), // Saba, west side
    (16.75, -62.25), // Montserrat, west coast
];

/// The area mother ships wait in: the middle of the region's southern half
/// (in the default region, the open sea between St Croix, Saba and Montserrat).
fn loiter_box(region: &BoundingBox) -> (f64, f64, f64, f64) {
    let h = region.max_lat - region.min_lat;
    let w = region.max_lon - region.min_lon;
    (region.min_lat + 0.3 * h, region.min_lat + 0.5 * h, region.min_lon + 0.3 * w, region.max_lon - 0.3 * w)
}

/// A mother ship: drifts at 0.2-0.8 kn within about 1.5 km of its station.
pub(crate) fn mother_ship(region: &BoundingBox, end: f64, draw: &mut Draw) -> (Trajectory, VesselDescriptors) {
    let (lat0, lat1, lon0, lon1) = loiter_box(region);
    let (clat, clon) = (draw.uniform(lat0, lat1), draw.uniform(lon0, lon1));
    let mut p = Pilot::new(0.0, clat, clon, draw.uniform(0.0, 360.0), draw.uniform(0.2, 0.8) * MS_PER_KN, end);
    while !p.done() {
        p.cruise(draw.uniform(1200.0, 2400.0));
        let d = distance_m(p.lat, p.lon, clat, clon);
        let course = if d > 1500.0 { bearing_deg(p.lat, p.lon, clat, clon) } else { draw.uniform(0.0, 360.0) };
        p.turn_to(course, 0.5);
        p.change_speed(draw.uniform(0.2, 0.8) * MS_PER_KN, 0.01);
    }
    let looks = VesselDescriptors {
        vessel_type: Some(VesselType::Fishing),
        length_m: Some(draw.uniform(18.0, 35.0).round()),
        engines: Some(1),
        persons_on_board: u16::try_from(6 + draw.index(9)).ok(),
        ..VesselDescriptors::default()
    };
    (p.finish(), looks)
}

/// A go-fast: starts 40-100 km south of its mother ship at 25-45 kn, zig-zags
/// to it (course offsets up to 25 degrees every 10-30 minutes, a 10-30 minute
/// stop now and then), lies alongside for 20-45 minutes, runs to a landing
/// beach, stops 10-25 minutes, and leaves southward at 30-40 kn.
#[expect(clippy::many_single_char_names, reason = "kinematics and assignment use their textbook names (t, v, p, c)")]
pub(crate) fn go_fast(
    mother: &Trajectory,
    region: &BoundingBox,
    end: f64,
    draw: &mut Draw,
) -> (Trajectory, VesselDescriptors) {
    let m0 = mother.state_at(0.0).unwrap_or(VesselState { lat: 16.5, lon: -65.0, course_deg: 0.0, speed_kn: 0.0 });
    let b = draw.uniform(150.0, 230.0).to_radians();
    let dist = draw.uniform(40_000.0, 100_000.0);
    let (lat, lon) = offset(m0.lat, m0.lon, dist * b.sin(), dist * b.cos());
    let lat = lat.clamp(region.min_lat + 0.02, region.max_lat - 0.02);
    let lon = lon.clamp(region.min_lon + 0.02, region.max_lon - 0.02);
    let mut v = draw.uniform(25.0, 45.0) * MS_PER_KN;
    let mut p = Pilot::new(0.0, lat, lon, bearing_deg(lat, lon, m0.lat, m0.lon), v, end);

    // Run to the mother ship, aiming where it will be on arrival.
    let aim = |p: &Pilot, v: f64| {
        let d = distance_m(p.lat, p.lon, m0.lat, m0.lon);
        mother.state_at(p.t + d / v.max(1.0)).unwrap_or(m0)
    };
    while !p.done() {
        let target = aim(&p, v);
        let d = distance_m(p.lat, p.lon, target.lat, target.lon);
        if d < 2500.0 {
            break;
        }
        p.turn_to(bearing_deg(p.lat, p.lon, target.lat, target.lon) + draw.uniform(-25.0, 25.0), 3.0);
        p.cruise(draw.uniform(600.0, 1800.0).min((d - 2000.0) / p.speed.max(1.0)));
        if draw.chance(0.15) {
            p.change_speed(0.0, 0.5);
            p.cruise(draw.uniform(600.0, 1800.0));
            v = draw.uniform(25.0, 45.0) * MS_PER_KN;
        }
        p.change_speed(v, 0.5);
    }
    // Come alongside at 8 kn, then keep station 25 m off the mother ship.
    let d = distance_m(p.lat, p.lon, m0.lat, m0.lon).min(5000.0);
    let dt = d / (8.0 * MS_PER_KN);
    if let Some(m) = mother.state_at(p.t + dt) {
        let (lat, lon) = offset(m.lat, m.lon, 25.0, 0.0);
        p.run_to(lat, lon, dt);
    }
    let dwell_end = (p.t + draw.uniform(1200.0, 2700.0)).min(end);
    if let Some(m) = mother.state_at(dwell_end) {
        let legs = mother.escort(p.t, dwell_end, 25.0, 0.0);
        let (lat, lon) = offset(m.lat, m.lon, 25.0, 0.0);
        p.splice(legs, dwell_end, VesselState { lat, lon, ..m });
    }
    // Run to a landing inside the region, land, and leave south.
    let landings: Vec<(f64, f64)> = LANDINGS
        .iter()
        .copied()
        .filter(|&(la, lo)| region.contains(caveat_core::Position { lat: la, lon: lo }))
        .collect();
    let (llat, llon) = match landings.get(draw.index(landings.len())) {
        Some(&l) => l,
        None => (region.max_lat - 0.05, 0.5 * (region.min_lon + region.max_lon)),
    };
    v = draw.uniform(30.0, 45.0) * MS_PER_KN;
    p.change_speed(v, 0.5);
    while !p.done() {
        let d = distance_m(p.lat, p.lon, llat, llon);
        if d < 1500.0 {
            break;
        }
        let zig = if d > 10_000.0 { draw.uniform(-20.0, 20.0) } else { 0.0 };
        p.turn_to(bearing_deg(p.lat, p.lon, llat, llon) + zig, 3.0);
        p.cruise(draw.uniform(600.0, 1500.0).min((d - 1000.0) / p.speed.max(1.0)));
    }
    p.change_speed(0.0, 0.5);
    p.cruise(draw.uniform(600.0, 1500.0));
    p.turn_to(draw.uniform(160.0, 220.0), 3.0);
    p.change_speed(draw.uniform(30.0, 40.0) * MS_PER_KN, 0.5);
    p.cruise(f64::INFINITY);
    let looks = VesselDescriptors {
        vessel_type: Some(VesselType::GoFast),
        length_m: Some(draw.uniform(9.0, 14.0).round()),
        engines: u8::try_from(2 + draw.index(3)).ok(),
        persons_on_board: u16::try_from(2 + draw.index(4)).ok(),
        ..VesselDescriptors::default()
    };
    (p.finish(), looks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> BoundingBox {
        BoundingBox::new(15.0, -68.0, 20.0, -60.0).unwrap()
    }

    #[test]
    fn go_fast_meets_its_mother_ship_and_runs_fast() {
        let end = 8.0 * 3600.0;
        for seed in 0..5 {
            let mut d = Draw::new(seed, 0);
            let (mother, _) = mother_ship(&region(), end, &mut d);
            let (gf, looks) = go_fast(&mother, &region(), end, &mut d);
            assert_eq!(looks.vessel_type, Some(VesselType::GoFast));
            let mut met = false;
            let mut top: f64 = 0.0;
            for k in 0..=(8 * 360) {
                let t = f64::from(k) * 10.0;
                let (Some(a), Some(b)) = (gf.state_at(t), mother.state_at(t)) else { continue };
                met |= distance_m(a.lat, a.lon, b.lat, b.lon) < 100.0;
                top = top.max(a.speed_kn);
            }
            assert!(met, "seed {seed}: no rendezvous");
            assert!((25.0..=45.01).contains(&top), "seed {seed}: top speed {top}");
        }
    }
}
