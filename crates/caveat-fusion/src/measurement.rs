//! Reports as the tracker sees them: time in nanoseconds, noise, identity.

use std::sync::Arc;

use caveat_core::{PartnerId, Report, ReportId, SourceKind, VesselDescriptors};

use crate::Error;
use crate::kalman::{self, Estimate, Measurement};
use crate::matrix::ZERO4;

/// Knots to metres per second.
pub(crate) const KNOT_M_S: f64 = 1852.0 / 3600.0;

/// A report reduced to what fusion uses: converted once, shared by every
/// picture that holds the report ([`crate::Observed`]; a copy per view was
/// most of a view's bytes per report, issue 16).
#[derive(Debug, PartialEq)]
pub(crate) struct ObsData {
    pub(crate) id: ReportId,
    /// The originator: pictures index it in their own partner tables.
    pub(crate) partner: PartnerId,
    /// Unix nanoseconds.
    pub(crate) t: i64,
    pub(crate) source: SourceKind,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) sigma_m: f64,
    pub(crate) time_sigma_s: f64,
    /// East/north velocity, m/s, with its covariance, when course and speed were given.
    pub(crate) velocity: Option<([f64; 2], [[f64; 2]; 2])>,
    pub(crate) vessel: Option<Arc<VesselDescriptors>>,
    pub(crate) supersedes: Option<ReportId>,
}

/// A report as one picture holds it: the shared data, and the index of its
/// originator in the picture's partner table. Cheap to clone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    data: Arc<ObsData>,
    /// Index of the originator in the picture's partner table.
    pub(crate) originator: u16,
}

impl std::ops::Deref for Observation {
    type Target = ObsData;
    fn deref(&self) -> &ObsData {
        &self.data
    }
}

impl Observation {
    pub(crate) fn new(data: Arc<ObsData>, originator: u16) -> Self {
        Observation { data, originator }
    }

    /// Checks what fusion relies on and converts.
    pub(crate) fn from_report(report: &Report, originator: u16) -> Result<Self, Error> {
        Ok(Observation::new(Arc::new(ObsData::from_report(report)?), originator))
    }

    /// The shared data.
    pub(crate) fn data(&self) -> &Arc<ObsData> {
        &self.data
    }
}

/// One-sigma speed and course noise of a reported velocity, by source.
/// AIS SOG/COG come from the vessel's GNSS (ITU-R M.1371: 0.1 kn, 0.1°
/// resolution; a few tenths in practice); radar and sighting estimates are rough.
fn velocity_noise(source: SourceKind) -> (f64, f64) {
    match source {
        SourceKind::Ais => (0.3 * KNOT_M_S, 2.0),
        SourceKind::CoastalRadar | SourceKind::MpaRadar => (2.0 * KNOT_M_S, 10.0),
        SourceKind::MpaEo | SourceKind::Vessel | SourceKind::Tip => (5.0 * KNOT_M_S, 30.0),
    }
}

impl ObsData {
    /// Checks what fusion relies on and converts.
    pub(crate) fn from_report(report: &Report) -> Result<Self, Error> {
        let id = report.id;
        let time = i64::try_from(report.observed_at.unix_timestamp_nanos())
            .map_err(|_| Error::invalid(id, "observed_at", report.observed_at, "outside years 1678-2262"))?;
        let pos = report.position;
        if !(pos.lat.is_finite() && (-90.0..=90.0).contains(&pos.lat)) {
            return Err(Error::invalid(id, "position.lat", pos.lat, "must be in [-90, 90]"));
        }
        if !(pos.lon.is_finite() && (-180.0..=180.0).contains(&pos.lon)) {
            return Err(Error::invalid(id, "position.lon", pos.lon, "must be in [-180, 180]"));
        }
        if !(report.uncertainty_m.is_finite() && report.uncertainty_m > 0.0 && report.uncertainty_m <= 1e7) {
            return Err(Error::invalid(id, "uncertainty_m", report.uncertainty_m, "must be in (0, 1e7]"));
        }
        let time_sigma_s = report.time_uncertainty_s.unwrap_or(0.0);
        if !(time_sigma_s.is_finite() && (0.0..=1e7).contains(&time_sigma_s)) {
            return Err(Error::invalid(id, "time_uncertainty_s", time_sigma_s, "must be in [0, 1e7]"));
        }
        let velocity = match (report.course_deg, report.speed_kn) {
            (Some(c), Some(s)) => {
                if !(c.is_finite() && (0.0..1000.0).contains(&s)) {
                    return Err(Error::invalid(id, "course_deg/speed_kn", format!("{c}/{s}"), "not a velocity"));
                }
                let speed = s * KNOT_M_S;
                let (sin, cos) = c.to_radians().sin_cos();
                let (ss, sc_deg) = velocity_noise(report.source);
                let sc = sc_deg.to_radians();
                // Covariance of (east, north) = speed (sin c, cos c): J diag(σs², σc²) Jᵀ
                // with J = [[sin, speed cos], [cos, -speed sin]], plus a floor so a
                // vessel at rest still has a positive-definite velocity noise.
                let (ss2, sc2, floor) = (ss * ss, sc * sc * speed * speed, 0.05);
                let cov = [
                    [sin * sin * ss2 + cos * cos * sc2 + floor, sin * cos * (ss2 - sc2)],
                    [sin * cos * (ss2 - sc2), cos * cos * ss2 + sin * sin * sc2 + floor],
                ];
                Some(([speed * sin, speed * cos], cov))
            }
            _ => None,
        };
        let vessel = (!report.vessel.is_empty()).then(|| Arc::new(report.vessel.clone()));
        Ok(ObsData {
            id,
            partner: report.originator.clone(),
            t: time,
            source: report.source,
            lat: pos.lat,
            lon: pos.lon,
            sigma_m: report.uncertainty_m,
            time_sigma_s,
            velocity,
            vessel,
            supersedes: report.supersedes,
        })
    }

    /// Square of the radius (metres) that bounds this report's own part of any gate.
    pub(crate) fn own_variance_bound(&self) -> f64 {
        2.0 * self.sigma_m * self.sigma_m
    }

    /// This report as a measurement of `pred` (a track predicted to the report's time).
    /// Time uncertainty is folded into position noise with the track's velocity:
    /// R += σ_t² (v vᵀ + P_vv), the first-order effect of not knowing when.
    pub(crate) fn measurement(&self, pred: &Estimate) -> Measurement {
        let off = kalman::offset(pred.lat, pred.lon, self.lat, self.lon);
        let mut r = ZERO4;
        let var = self.sigma_m * self.sigma_m;
        r[0][0] = var;
        r[1][1] = var;
        if self.time_sigma_s > 0.0 {
            let ts2 = self.time_sigma_s * self.time_sigma_s;
            let v = pred.vel;
            r[0][0] += ts2 * (v[0] * v[0] + pred.cov[2][2]);
            r[1][1] += ts2 * (v[1] * v[1] + pred.cov[3][3]);
            r[0][1] += ts2 * (v[0] * v[1] + pred.cov[2][3]);
            r[1][0] = r[0][1];
        }
        match self.velocity {
            Some((v, vc)) if self.time_sigma_s == 0.0 => {
                r[2][2] = vc[0][0];
                r[2][3] = vc[0][1];
                r[3][2] = vc[1][0];
                r[3][3] = vc[1][1];
                Measurement { z: [off[0], off[1], v[0], v[1]], r, dim: 4 }
            }
            _ => Measurement { z: [off[0], off[1], 0.0, 0.0], r, dim: 2 },
        }
    }

    /// A new track's first estimate.
    pub(crate) fn initial_estimate(&self, initial_speed_sigma: f64) -> Estimate {
        let mut cov = ZERO4;
        let (vel, vv) = match self.velocity {
            Some((v, vc)) => (v, vc),
            None => {
                let s2 = initial_speed_sigma * initial_speed_sigma;
                ([0.0, 0.0], [[s2, 0.0], [0.0, s2]])
            }
        };
        let ts2 = self.time_sigma_s * self.time_sigma_s;
        let var = self.sigma_m * self.sigma_m;
        cov[0][0] = var + ts2 * (vel[0] * vel[0] + vv[0][0]);
        cov[1][1] = var + ts2 * (vel[1] * vel[1] + vv[1][1]);
        cov[2][2] = vv[0][0];
        cov[2][3] = vv[0][1];
        cov[3][2] = vv[1][0];
        cov[3][3] = vv[1][1];
        Estimate { t: self.t, lat: self.lat, lon: self.lon, vel, cov }
    }
}
