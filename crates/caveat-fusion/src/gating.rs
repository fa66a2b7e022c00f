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

/// Where a track was placed: a level and its cell there, or the wide list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Cell(usize, (i64, i64)),
    Wide,
}

/// Levels of cells, each four times the previous.
///
/// Two levels (2 and 8 km by default) once sufficed for vessels that report
/// often. A tentative track that no report follows (clutter, a vessel seen
/// once: every report, when reports fall at random positions) coasts for
/// minutes with a velocity it does not know, and its reach passes 8 km
/// within two; then it went to the wide list, which every report is
/// compared with, and thousands of them made fusing 100,000 scattered
/// reports take tens of seconds (issue 16). Four levels reach 128 km, past
/// what a track coasting the tentative lifetime covers.
const LEVELS: usize = 4;

/// Levels of cells for tracks by how far their gate reaches, and a list of
/// the tracks too uncertain for any.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    levels: [Level; LEVELS],
    /// Tracks placed per level: a report looks only at levels that hold some.
    counts: [usize; LEVELS],
    placed: Vec<Option<Slot>>,
    /// Per track, the end of the time its placement covers.
    until: Vec<i64>,
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

    /// Takes `index` out of cell `k`; returns whether it was there.
    fn remove(&mut self, k: (i64, i64), index: usize) -> bool {
        if let Some(v) = self.cells.get_mut(&k)
            && let Some(pos) = v.iter().position(|&i| i == index)
        {
            v.swap_remove(pos);
            return true;
        }
        false
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
        let mut size = cell_m;
        let levels = std::array::from_fn(|_| {
            let l = Level::new(size);
            size *= 4.0;
            l
        });
        Grid { levels, counts: [0; LEVELS], placed: Vec::new(), until: Vec::new(), wide: Vec::new() }
    }

    pub(crate) fn clear(&mut self) {
        // Emptied cells are kept for reuse, unless far more of them than the
        // tracks placed last time: then walking them costs more than the reuse saves.
        let keep = 4 * self.placed.len() + 256;
        for level in &mut self.levels {
            if level.cells.len() > keep {
                level.cells.clear();
            }
            for v in level.cells.values_mut() {
                v.clear();
            }
        }
        self.counts = [0; LEVELS];
        self.placed.clear();
        self.until.clear();
        self.wide.clear();
    }

    /// Drops emptied cells once they far outnumber the tracks: a grid kept
    /// from scan to scan collects them as tracks move on.
    pub(crate) fn compact(&mut self) {
        let keep = 4 * self.placed.len() + 256;
        for level in &mut self.levels {
            if level.cells.len() > keep {
                level.cells.retain(|_, v| !v.is_empty());
                level.cells.shrink_to_fit();
            }
        }
    }

    /// The end of the time track `index`'s placement covers, if placed.
    pub(crate) fn until(&self, index: usize) -> Option<i64> {
        self.placed.get(index).copied().flatten().and(self.until.get(index).copied())
    }

    /// Forgets track `index`, and moves the placement of track `last` (the
    /// last index, which `Vec::swap_remove(index)` moves there) to `index`.
    pub(crate) fn swap_remove(&mut self, index: usize, last: usize) {
        self.remove(index);
        if let Some(p) = self.placed.get_mut(index) {
            *p = None;
        }
        if last != index {
            let moved = self.placed.get(last).copied().flatten();
            match moved {
                Some(Slot::Cell(l, k)) => {
                    if let Some(v) = self.levels.get_mut(l).and_then(|level| level.cells.get_mut(&k))
                        && let Some(e) = v.iter_mut().find(|e| **e == last)
                    {
                        *e = index;
                    }
                }
                Some(Slot::Wide) => {
                    if let Some(e) = self.wide.iter_mut().find(|e| **e == last) {
                        *e = index;
                    }
                }
                None => {}
            }
            let until = self.until.get(last).copied().unwrap_or(i64::MIN);
            if let Some(p) = self.placed.get_mut(index) {
                *p = moved;
            }
            if let Some(u) = self.until.get_mut(index) {
                *u = until;
            }
        }
        self.placed.truncate(last);
        self.until.truncate(last);
    }

    /// Places track `index` (again, after it moved) with reach `r`, which
    /// covers its gate until `until`.
    pub(crate) fn place(&mut self, index: usize, r: &Reach, until: i64) {
        self.remove(index);
        let radius = slack(r.radius);
        let slot = match self.levels.iter_mut().enumerate().find(|(_, l)| radius <= l.cell_m) {
            Some((i, level)) => {
                let k = level.key(r.lat, r.lon);
                level.cells.entry(k).or_default().push(index);
                if let Some(c) = self.counts.get_mut(i) {
                    *c += 1;
                }
                Slot::Cell(i, k)
            }
            None => {
                self.wide.push(index);
                Slot::Wide
            }
        };
        if self.placed.len() <= index {
            self.placed.resize(index + 1, None);
            self.until.resize(index + 1, i64::MIN);
        }
        if let Some(p) = self.placed.get_mut(index) {
            *p = Some(slot);
        }
        if let Some(u) = self.until.get_mut(index) {
            *u = until;
        }
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let level = |l: &Level| memory::hash_map(&l.cells) + l.cells.values().map(memory::vec).sum::<usize>();
        self.levels.iter().map(level).sum::<usize>()
            + memory::vec(&self.placed)
            + memory::vec(&self.until)
            + memory::vec(&self.wide)
    }

    fn remove(&mut self, index: usize) {
        match self.placed.get(index).copied().flatten() {
            Some(Slot::Cell(i, k)) => {
                if let Some(level) = self.levels.get_mut(i)
                    && level.remove(k, index)
                    && let Some(c) = self.counts.get_mut(i)
                {
                    *c = c.saturating_sub(1);
                }
            }
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
        for (level, &n) in self.levels.iter().zip(&self.counts) {
            if n > 0 {
                level.collect(lat, lon, own, out)?;
            }
        }
        out.extend_from_slice(&self.wide);
        Some(())
    }
}
