//! Local flat-earth geometry for the simulator, and the great-circle distance the metrics use.

use caveat_core::Position;

/// Mean Earth radius, metres (IUGG).
pub(crate) const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Metres per degree of latitude on the mean sphere.
pub(crate) const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
/// Metres per second in one knot.
pub(crate) const MS_PER_KN: f64 = 1852.0 / 3600.0;

/// Moves (lat, lon) by `east`/`north` metres on the local tangent plane.
///
/// Equirectangular: exact enough (metres over tens of kilometres at
/// Caribbean latitudes) for a simulator whose truth is defined by this very
/// function.
pub(crate) fn offset(lat: f64, lon: f64, east: f64, north: f64) -> (f64, f64) {
    let lat2 = lat + north / M_PER_DEG;
    let coslat = lat.to_radians().cos().max(1e-6);
    (lat2, lon + east / (M_PER_DEG * coslat))
}

/// East and north metres from (lat0, lon0) to (lat, lon), equirectangular at the mean latitude.
pub(crate) fn enu(lat0: f64, lon0: f64, lat: f64, lon: f64) -> (f64, f64) {
    let coslat = (0.5 * (lat0 + lat)).to_radians().cos();
    ((lon - lon0) * M_PER_DEG * coslat, (lat - lat0) * M_PER_DEG)
}

/// Flat-earth distance in metres.
pub(crate) fn distance_m(lat0: f64, lon0: f64, lat: f64, lon: f64) -> f64 {
    let (e, n) = enu(lat0, lon0, lat, lon);
    e.hypot(n)
}

/// Initial bearing, degrees true in [0, 360).
pub(crate) fn bearing_deg(lat0: f64, lon0: f64, lat: f64, lon: f64) -> f64 {
    let (e, n) = enu(lat0, lon0, lat, lon);
    normalize_deg(e.atan2(n).to_degrees())
}

/// An angle in [0, 360).
pub(crate) fn normalize_deg(a: f64) -> f64 {
    let r = a.rem_euclid(360.0);
    if r >= 360.0 { 0.0 } else { r }
}

/// Signed smallest difference `b - a`, degrees in (-180, 180].
pub(crate) fn angle_diff_deg(a: f64, b: f64) -> f64 {
    let d = (b - a).rem_euclid(360.0);
    if d > 180.0 { d - 360.0 } else { d }
}

/// Great-circle (haversine) distance between two positions, metres on the
/// mean sphere. The metrics use it as their local metric.
pub fn haversine_m(a: Position, b: Position) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_and_enu_invert() {
        let (lat, lon) = offset(18.0, -65.0, 12_000.0, -5_000.0);
        let (e, n) = enu(18.0, -65.0, lat, lon);
        assert!((e - 12_000.0).abs() < 20.0 && (n + 5_000.0).abs() < 1e-6, "{e} {n}");
        assert!((bearing_deg(18.0, -65.0, 18.1, -65.0) - 0.0).abs() < 1e-9);
        assert!((bearing_deg(18.0, -65.0, 18.0, -65.1) - 270.0).abs() < 1e-6);
    }

    #[test]
    fn haversine_one_degree_of_latitude() {
        let d = haversine_m(Position { lat: 18.0, lon: -65.0 }, Position { lat: 19.0, lon: -65.0 });
        assert!((d - M_PER_DEG).abs() < 1e-6, "{d}");
        let flat = distance_m(18.0, -65.0, 18.2, -64.8);
        let round = haversine_m(Position { lat: 18.0, lon: -65.0 }, Position { lat: 18.2, lon: -64.8 });
        assert!((flat - round).abs() < 5.0, "{flat} {round}");
    }

    #[test]
    fn angles() {
        assert!((angle_diff_deg(350.0, 10.0) - 20.0).abs() < 1e-9);
        assert!((angle_diff_deg(10.0, 350.0) + 20.0).abs() < 1e-9);
        assert!((normalize_deg(-10.0) - 350.0).abs() < 1e-9);
    }
}
