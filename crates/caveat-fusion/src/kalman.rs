//! Constant-velocity Kalman filter in a local tangent plane that moves with the track.
//!
//! The state is east/north position and velocity in metres and metres per
//! second, in the plane tangent to the WGS 84 sphere at the track's own
//! position. After every update the plane is re-anchored at the new position,
//! so positions never drift far from the anchor and the equirectangular map
//! between plane and latitude/longitude stays accurate to well under a metre
//! at the tens of kilometres a scan spans, anywhere outside the poles. One
//! plane per track (rather than one per view) is what lets a picture span the
//! Caribbean and the Gulf of Mexico without distortion.

use crate::matrix::{self, Mat4, ZERO4};

/// Mean Earth radius, metres (IUGG).
pub(crate) const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A track's state estimate at time `t` (Unix nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) t: i64,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    /// East and north velocity, m/s.
    pub(crate) vel: [f64; 2],
    /// Covariance of (east, north, v_east, v_north) in the plane at (lat, lon).
    pub(crate) cov: Mat4,
}

/// A measurement in the plane of the estimate it is compared with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measurement {
    /// Position offset east/north from the predicted position, then velocity (if `dim` is 4).
    pub(crate) z: [f64; 4],
    pub(crate) r: Mat4,
    /// 2: position only; 4: position and velocity.
    pub(crate) dim: usize,
}

/// A measurement compared with a prediction: innovation and its inverse covariance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Innovation {
    pub(crate) nu: [f64; 4],
    pub(crate) s_inv: Mat4,
    pub(crate) dim: usize,
    /// Squared Mahalanobis distance.
    pub(crate) d2: f64,
}

/// East/north metres from (lat0, lon0) to (lat, lon).
pub(crate) fn offset(lat0: f64, lon0: f64, lat: f64, lon: f64) -> [f64; 2] {
    let mut dlon = lon - lon0;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let east = EARTH_RADIUS_M * lat0.to_radians().cos() * dlon.to_radians();
    let north = EARTH_RADIUS_M * (lat - lat0).to_radians();
    [east, north]
}

/// The point `east`, `north` metres from (lat0, lon0).
pub(crate) fn displace(lat0: f64, lon0: f64, east: f64, north: f64) -> (f64, f64) {
    let lat = (lat0 + (north / EARTH_RADIUS_M).to_degrees()).clamp(-90.0, 90.0);
    let cos = lat0.to_radians().cos().max(1e-6);
    let mut lon = lon0 + (east / (EARTH_RADIUS_M * cos)).to_degrees();
    if lon > 180.0 {
        lon -= 360.0;
    } else if lon < -180.0 {
        lon += 360.0;
    }
    (lat, lon)
}

/// Seconds from `t0` to `t1` (nanoseconds).
pub(crate) fn seconds(t0: i64, t1: i64) -> f64 {
    t1.saturating_sub(t0) as f64 * 1e-9
}

impl Estimate {
    /// Bit-for-bit equality (so that even a NaN compares equal to itself).
    pub(crate) fn same(&self, other: &Estimate) -> bool {
        let eq = |a: &f64, b: &f64| a.to_bits() == b.to_bits();
        self.t == other.t
            && eq(&self.lat, &other.lat)
            && eq(&self.lon, &other.lon)
            && self.vel.iter().zip(&other.vel).all(|(a, b)| eq(a, b))
            && self.cov.iter().flatten().zip(other.cov.iter().flatten()).all(|(a, b)| eq(a, b))
    }

    /// The estimate predicted to `t` with white-acceleration noise `q` (m²/s³).
    /// Backwards prediction (a report earlier than the state inside one scan)
    /// uses the same model with the noise of |dt|: an approximation bounded by the scan length.
    pub(crate) fn predict(&self, t: i64, q: f64) -> Estimate {
        let dt = seconds(self.t, t);
        if dt == 0.0 {
            return *self;
        }
        let (lat, lon) = displace(self.lat, self.lon, self.vel[0] * dt, self.vel[1] * dt);
        let mut f = ZERO4;
        for (i, row) in f.iter_mut().enumerate() {
            if let Some(x) = row.get_mut(i) {
                *x = 1.0;
            }
        }
        f[0][2] = dt;
        f[1][3] = dt;
        let mut cov = matrix::mul_t(&matrix::mul(&f, &self.cov), &f);
        let a = dt.abs();
        let q11 = q * a * a * a / 3.0;
        let q12 = q * dt * a / 2.0;
        let q22 = q * a;
        cov[0][0] += q11;
        cov[1][1] += q11;
        cov[0][2] += q12;
        cov[2][0] += q12;
        cov[1][3] += q12;
        cov[3][1] += q12;
        cov[2][2] += q22;
        cov[3][3] += q22;
        matrix::symmetrize(&mut cov);
        Estimate { t, lat, lon, vel: self.vel, cov }
    }

    /// Compares a measurement (already expressed in this estimate's plane) with this prediction.
    /// `None` when the innovation covariance is degenerate.
    pub(crate) fn innovation(&self, m: &Measurement) -> Option<Innovation> {
        let mut s = self.cov;
        for (srow, rrow) in s.iter_mut().zip(m.r.iter()) {
            for (x, r) in srow.iter_mut().zip(rrow.iter()) {
                *x += r;
            }
        }
        let s_inv = matrix::inverse_spd(&s, m.dim)?;
        let nu = [m.z[0], m.z[1], m.z[2] - self.vel[0], m.z[3] - self.vel[1]];
        let d2 = matrix::quad(&s_inv, &nu, m.dim);
        d2.is_finite().then_some(Innovation { nu, s_inv, dim: m.dim, d2 })
    }

    /// The Kalman update with an innovation from [`Estimate::innovation`].
    pub(crate) fn update(&self, inn: &Innovation) -> Estimate {
        // H selects the first `dim` state components, so P Hᵀ is P's first
        // `dim` columns and the gain is K = P Hᵀ S⁻¹.
        let mut ph = self.cov;
        for row in &mut ph {
            for x in row.iter_mut().skip(inn.dim) {
                *x = 0.0;
            }
        }
        let k = matrix::mul(&ph, &inn.s_inv);
        let mut dx = [0.0; 4];
        for (d, krow) in dx.iter_mut().zip(k.iter()) {
            *d = krow.iter().zip(inn.nu.iter()).take(inn.dim).map(|(a, b)| a * b).sum();
        }
        // P' = P - K H P = P - K (P Hᵀ)ᵀ.
        let khp = matrix::mul_t(&k, &ph);
        let mut cov = self.cov;
        for (crow, krow) in cov.iter_mut().zip(khp.iter()) {
            for (c, x) in crow.iter_mut().zip(krow.iter()) {
                *c -= x;
            }
        }
        matrix::symmetrize(&mut cov);
        let (lat, lon) = displace(self.lat, self.lon, dx[0], dx[1]);
        Estimate { t: self.t, lat, lon, vel: [self.vel[0] + dx[2], self.vel[1] + dx[3]], cov }
    }

    pub(crate) fn speed(&self) -> f64 {
        self.vel[0].hypot(self.vel[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Estimate {
        let mut cov = ZERO4;
        cov[0][0] = 100.0;
        cov[1][1] = 100.0;
        cov[2][2] = 4.0;
        cov[3][3] = 4.0;
        Estimate { t: 0, lat: 18.0, lon: -65.0, vel: [10.0, 0.0], cov }
    }

    #[test]
    fn plane_round_trips() {
        let (lat, lon) = displace(18.0, -65.0, 12_000.0, -7_000.0);
        let back = offset(18.0, -65.0, lat, lon);
        assert!((back[0] - 12_000.0).abs() < 1e-6 && (back[1] + 7_000.0).abs() < 1e-6, "{back:?}");
        let across = offset(0.0, 179.9, 0.0, -179.9);
        assert!((across[0] - 22_239.0).abs() < 1.0, "antimeridian: {across:?}");
    }

    #[test]
    fn predict_moves_and_grows() {
        let e = start().predict(10_000_000_000, 0.1);
        let d = offset(18.0, -65.0, e.lat, e.lon);
        assert!((d[0] - 100.0).abs() < 1e-6 && d[1].abs() < 1e-9);
        assert!(e.cov[0][0] > 100.0 + 400.0);
    }

    #[test]
    fn update_pulls_towards_measurement_and_shrinks() {
        let est = start();
        let mut noise = ZERO4;
        noise[0][0] = 100.0;
        noise[1][1] = 100.0;
        let meas = Measurement { z: [20.0, 0.0, 0.0, 0.0], r: noise, dim: 2 };
        let inn = est.innovation(&meas).unwrap();
        assert!((inn.d2 - 2.0).abs() < 1e-9);
        let u = est.update(&inn);
        let d = offset(18.0, -65.0, u.lat, u.lon);
        assert!((d[0] - 10.0).abs() < 1e-6, "{d:?}");
        assert!((u.cov[0][0] - 50.0).abs() < 1e-9);
    }
}
