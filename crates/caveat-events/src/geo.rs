//! The little geometry the detectors need: great-circle distance, polygons,
//! and "is this within so far of the shore".
//!
//! Written here rather than taken from the `geo` crate: the detectors need
//! three functions on WGS 84 degrees, and `geo` would bring a geometry model
//! (and its dependency tree) for them.

use std::collections::HashMap;

use caveat_core::Position;

use crate::Error;

/// Mean Earth radius, metres (the one caveat-sim scores with).
const EARTH_M: f64 = 6_371_008.8;

/// Most vertices of one polygon.
pub const MAX_VERTICES: usize = 1_000;

/// Great-circle distance, metres.
pub fn distance_m(a: Position, b: Position) -> f64 {
    let (la, lb) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lb - la;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_M * h.sqrt().min(1.0).asin()
}

/// A simple polygon (no hole, not self-intersecting), vertices in order, not closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    vertices: Vec<Position>,
}

impl Polygon {
    /// A checked polygon: 3 to [`MAX_VERTICES`] finite vertices, no two edges crossing.
    /// A closing vertex equal to the first (as GeoJSON writes rings) is dropped.
    pub fn new(mut vertices: Vec<Position>) -> Result<Polygon, Error> {
        if vertices.len() > 1 && vertices.first() == vertices.last() {
            vertices.pop();
        }
        if vertices.len() < 3 || vertices.len() > MAX_VERTICES {
            return Err(Error::bad("polygon", vertices.len(), "3 to 1,000 vertices"));
        }
        for (i, v) in vertices.iter().enumerate() {
            if Position::new(v.lat, v.lon).is_err() {
                return Err(Error::bad(format!("polygon[{i}]"), format!("{},{}", v.lat, v.lon), "not a position"));
            }
        }
        if let Some((i, j)) = first_crossing(&vertices) {
            return Err(Error::bad(format!("polygon[{i}]"), format!("edges {i} and {j}"), "self-intersecting"));
        }
        Ok(Polygon { vertices })
    }

    /// The vertices.
    pub fn vertices(&self) -> &[Position] {
        &self.vertices
    }

    /// Whether `p` is inside (ray casting in degrees: areas are small next to the Earth).
    #[expect(clippy::many_single_char_names, reason = "the textbook names of ray casting")]
    pub fn contains(&self, p: Position) -> bool {
        let mut inside = false;
        let n = self.vertices.len();
        for i in 0..n {
            let (Some(a), Some(b)) = (self.vertices.get(i), self.vertices.get((i + n - 1) % n)) else { continue };
            if (a.lat > p.lat) != (b.lat > p.lat) {
                let x = (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon;
                if p.lon < x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

/// The first two edges of the closed ring through `vertices` (not repeating
/// the first) that cross, by index (edge `i` joins vertex `i` to the next),
/// `i < j`. Adjacent edges share a vertex and do not count. Quadratic, which
/// [`MAX_VERTICES`] bounds (half a million pairs).
pub fn first_crossing(vertices: &[Position]) -> Option<(usize, usize)> {
    let n = vertices.len();
    let edge = |i: usize| (vertices.get(i).copied(), vertices.get((i + 1) % n).copied());
    for i in 0..n {
        for j in (i + 1)..n {
            if j == i + 1 || (i == 0 && j == n - 1) {
                continue;
            }
            if let ((Some(a), Some(b)), (Some(c), Some(d))) = (edge(i), edge(j))
                && segments_cross(a, b, c, d)
            {
                return Some((i, j));
            }
        }
    }
    None
}

fn orient(a: Position, b: Position, c: Position) -> f64 {
    (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon)
}

fn segments_cross(a: Position, b: Position, c: Position, d: Position) -> bool {
    let (o1, o2, o3, o4) = (orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b));
    (o1 * o2 < 0.0) && (o3 * o4 < 0.0)
}

/// Cell size of the shore index, degrees.
const CELL_DEG: f64 = 0.25;

/// Shore points in a grid, to ask "is `p` within `r` of any of them".
#[derive(Debug, Clone, Default)]
pub(crate) struct Shore {
    cells: HashMap<(i32, i32), Vec<Position>>,
}

#[expect(clippy::cast_possible_truncation, reason = "degrees over a cell size fit in i32")]
fn cell(p: Position) -> (i32, i32) {
    ((p.lat / CELL_DEG).floor() as i32, (p.lon / CELL_DEG).floor() as i32)
}

impl Shore {
    pub(crate) fn new(points: &[Position]) -> Shore {
        let mut cells: HashMap<(i32, i32), Vec<Position>> = HashMap::new();
        for p in points {
            cells.entry(cell(*p)).or_default().push(*p);
        }
        Shore { cells }
    }

    /// Whether some shore point is within `r` metres of `p`.
    #[expect(clippy::cast_possible_truncation, reason = "a few cells")]
    pub(crate) fn within(&self, p: Position, r: f64) -> bool {
        if self.cells.is_empty() || r <= 0.0 {
            return false;
        }
        let dlat = (r / 111_000.0 / CELL_DEG).ceil() as i32 + 1;
        let coslat = p.lat.to_radians().cos().max(0.05);
        let dlon = (r / (111_000.0 * coslat) / CELL_DEG).ceil() as i32 + 1;
        let (ci, cj) = cell(p);
        for i in (ci - dlat)..=(ci + dlat) {
            for j in (cj - dlon)..=(cj + dlon) {
                if let Some(ps) = self.cells.get(&(i, j))
                    && ps.iter().any(|q| distance_m(p, *q) < r)
                {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn p(lat: f64, lon: f64) -> Position {
        Position { lat, lon }
    }

    #[test]
    fn polygon_contains_and_refuses_bow_ties() {
        let sq = Polygon::new(vec![p(0.0, 0.0), p(0.0, 1.0), p(1.0, 1.0), p(1.0, 0.0), p(0.0, 0.0)]).unwrap();
        assert!(sq.contains(p(0.5, 0.5)));
        assert!(!sq.contains(p(1.5, 0.5)));
        let bow = Polygon::new(vec![p(0.0, 0.0), p(1.0, 1.0), p(0.0, 1.0), p(1.0, 0.0)]);
        assert!(matches!(bow, Err(Error::BadConfig { reason: "self-intersecting", .. })));
        assert!(Polygon::new(vec![p(0.0, 0.0), p(1.0, 1.0)]).is_err());
    }

    #[test]
    fn shore_within() {
        let s = Shore::new(&[p(18.0, -65.0)]);
        assert!(s.within(p(18.05, -65.0), 10_000.0));
        assert!(!s.within(p(18.2, -65.0), 10_000.0));
        assert!(!Shore::default().within(p(18.0, -65.0), 1e6));
    }
}
