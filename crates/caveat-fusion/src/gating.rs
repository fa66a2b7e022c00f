//! The gating grid: which tracks a report could possibly gate with, without
//! comparing it to every track.
//!
//! The grid is only an accelerator. For each track it stores a conservative
//! radius that bounds where any report passing the statistical gate during the
//! scan can be; a report looks up every cell its own radius plus one cell can
//! reach. Tracks or reports whose radius exceeds what the cells can cover are
//! compared with everything instead. So the candidate set always contains every
//! track the exact Mahalanobis test would accept, and the grid never changes an
//! association result (the tests compare it with brute force).

use std::collections::HashMap;

use crate::kalman::{self, Estimate};
use crate::measurement::Observation;
use crate::memory;

/// Metres per degree of latitude on the sphere used by the tangent planes.
const M_PER_DEG: f64 = kalman::EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// Rounding slack on every radius.
pub(crate) fn slack(r: f64) -> f64 {
    r * 1.01 + 10.0
}

/// One level of cells: tracks whose radius fits within `cell_m`.
#[derive(Debug, Default)]
struct Level {
    cell_m: f64,
    cell_deg: f64,
    cells: HashMap<(i64, i64), Vec<usize>>,
}

/// Where a track was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Fine((i64, i64)),
    Coarse((i64, i64)),
    Wide,
}

/// Two levels of cells (a fine one, and one four times coarser for tracks
/// whose uncertainty has grown, such as tentative tracks coasting), and a
/// list of the tracks too uncertain for either.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    fine: Level,
    coarse: Level,
    placed: Vec<Option<Slot>>,
    wide: Vec<usize>,
}

impl Level {
    fn new(cell_m: f64) -> Self {
        Level { cell_m, cell_deg: cell_m / M_PER_DEG, cells: HashMap::new() }
    }

    #[expect(clippy::cast_possible_truncation, reason = "saturating float-to-int cast of a finite, bounded position")]
    fn key(&self, lat: f64, lon: f64) -> (i64, i64) {
        ((lat / self.cell_deg).floor() as i64, (lon / self.cell_deg).floor() as i64)
    }

    fn remove(&mut self, k: (i64, i64), index: usize) {
        if let Some(v) = self.cells.get_mut(&k)
            && let Some(pos) = v.iter().position(|&i| i == index)
        {
            v.swap_remove(pos);
        }
    }

    /// Adds the tracks in cells a report at (lat, lon) with own radius `own` could reach;
    /// `None` if the search box is unusable (poles, antimeridian, huge).
    fn collect(&self, lat: f64, lon: f64, own: f64, out: &mut Vec<usize>) -> Option<()> {
        let reach = slack(own + self.cell_m);
        let dlat = reach / M_PER_DEG;
        let lat_max = (lat.abs() + dlat).min(90.0);
        let cos = lat_max.to_radians().cos();
        if cos < 0.05 || reach > 50.0 * self.cell_m {
            return None;
        }
        let dlon = reach / (M_PER_DEG * cos);
        if lon - dlon < -180.0 || lon + dlon > 180.0 {
            return None;
        }
        let (y0, x0) = self.key(lat - dlat, lon - dlon);
        let (y1, x1) = self.key(lat + dlat, lon + dlon);
        for y in y0..=y1 {
            for x in x0..=x1 {
                if let Some(v) = self.cells.get(&(y, x)) {
                    out.extend_from_slice(v);
                }
            }
        }
        Some(())
    }
}

/// Bounds on a track for one scan `[start, end)`.
pub(crate) struct Reach {
    /// Position dead-reckoned to the middle of the scan.
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    /// Radius around it containing every gated report in the scan, without the report's own noise.
    pub(crate) radius: f64,
}

/// `sqrt_gate`: square root of the largest gate in use.
pub(crate) fn reach(est: &Estimate, start: i64, end: i64, q: f64, sqrt_gate: f64) -> Reach {
    let mid = start + (end - start) / 2;
    let dt_mid = kalman::seconds(est.t, mid);
    let (lat, lon) = kalman::displace(est.lat, est.lon, est.vel[0] * dt_mid, est.vel[1] * dt_mid);
    let dt = kalman::seconds(est.t, start).abs().max(kalman::seconds(est.t, end).abs());
    // Per axis: Pxx(t) <= (sqrt(Pxx) + |dt| sqrt(Pvv))² + q|dt|³/3 (Cauchy-Schwarz on the cross term).
    let axis = |pxx: f64, pvv: f64| {
        let s = pxx.max(0.0).sqrt() + dt * pvv.max(0.0).sqrt();
        s * s + q * dt * dt * dt / 3.0
    };
    let trace = axis(est.cov[0][0], est.cov[2][2]) + axis(est.cov[1][1], est.cov[3][3]);
    let scan_s = kalman::seconds(start, end);
    Reach { lat, lon, radius: sqrt_gate * trace.sqrt() + est.speed() * scan_s }
}

/// A report's own radius: the part of the gate its noise can add.
pub(crate) fn report_radius(o: &Observation, sqrt_gate: f64) -> f64 {
    sqrt_gate * o.own_variance_bound().sqrt()
}

impl Grid {
    pub(crate) fn new(cell_m: f64) -> Self {
        let cell_m = if cell_m.is_finite() && cell_m > 100.0 { cell_m } else { 5_000.0 };
        Grid { fine: Level::new(cell_m), coarse: Level::new(cell_m * 4.0), placed: Vec::new(), wide: Vec::new() }
    }

    pub(crate) fn clear(&mut self) {
        // Emptied cells are kept for reuse, unless far more of them than the
        // tracks placed last time: then walking them costs more than the reuse saves.
        let keep = 4 * self.placed.len() + 256;
        for level in [&mut self.fine, &mut self.coarse] {
            if level.cells.len() > keep {
                level.cells.clear();
            }
        }
        for v in self.fine.cells.values_mut().chain(self.coarse.cells.values_mut()) {
            v.clear();
        }
        self.placed.clear();
        self.wide.clear();
    }

    /// Places track `index` (again, after it moved).
    pub(crate) fn place(&mut self, index: usize, r: &Reach) {
        self.remove(index);
        let radius = slack(r.radius);
        let slot = if radius <= self.fine.cell_m {
            let k = self.fine.key(r.lat, r.lon);
            self.fine.cells.entry(k).or_default().push(index);
            Slot::Fine(k)
        } else if radius <= self.coarse.cell_m {
            let k = self.coarse.key(r.lat, r.lon);
            self.coarse.cells.entry(k).or_default().push(index);
            Slot::Coarse(k)
        } else {
            self.wide.push(index);
            Slot::Wide
        };
        if self.placed.len() <= index {
            self.placed.resize(index + 1, None);
        }
        if let Some(p) = self.placed.get_mut(index) {
            *p = Some(slot);
        }
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let level = |l: &Level| memory::hash_map(&l.cells) + l.cells.values().map(memory::vec).sum::<usize>();
        level(&self.fine) + level(&self.coarse) + memory::vec(&self.placed) + memory::vec(&self.wide)
    }

    fn remove(&mut self, index: usize) {
        match self.placed.get(index).copied().flatten() {
            Some(Slot::Fine(k)) => self.fine.remove(k, index),
            Some(Slot::Coarse(k)) => self.coarse.remove(k, index),
            Some(Slot::Wide) => {
                if let Some(pos) = self.wide.iter().position(|&i| i == index) {
                    self.wide.swap_remove(pos);
                }
            }
            None => {}
        }
    }

    /// Every track that could gate with a report at (lat, lon) whose own radius
    /// is `own`; `None` when the caller must try every track.
    pub(crate) fn candidates(&self, lat: f64, lon: f64, own: f64, out: &mut Vec<usize>) -> Option<()> {
        out.clear();
        self.fine.collect(lat, lon, own, out)?;
        self.coarse.collect(lat, lon, own, out)?;
        out.extend_from_slice(&self.wide);
        Some(())
    }
}
