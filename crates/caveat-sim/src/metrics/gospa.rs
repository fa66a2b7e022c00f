//! GOSPA and OSPA between a set of true positions and a set of estimates.

use caveat_core::Position;
use serde::{Deserialize, Serialize};

use super::assignment::hungarian;
use crate::Error;
use crate::geo::{M_PER_DEG, haversine_m};

/// Parameters of (G)OSPA: cut-off `c` in metres and order `p`. GOSPA uses alpha = 2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GospaParams {
    /// Cut-off distance, metres: a pair further apart counts as one miss and one false estimate.
    pub c: f64,
    /// Order, at least 1.
    pub p: f64,
}

impl GospaParams {
    fn check(self) -> Result<Self, Error> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(Error::config("gospa.c", self.c, "must be a positive number of metres"));
        }
        if !(self.p.is_finite() && self.p >= 1.0) {
            return Err(Error::config("gospa.p", self.p, "must be at least 1"));
        }
        Ok(self)
    }
}

/// GOSPA (alpha = 2) at one instant, with its decomposition
/// (García-Fernández, Rahmathullah, Svensson 2020, eq. 2):
///
/// `distance^p = localisation + missed_cost + false_cost`, where
/// `localisation` is the sum of `d^p` over assigned pairs (all closer than `c`),
/// and each miss or false estimate costs `c^p / 2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gospa {
    /// The metric, metres.
    pub distance: f64,
    /// Sum of `d^p` over assigned pairs.
    pub localisation: f64,
    /// `c^p / 2` times the number of missed truths.
    pub missed_cost: f64,
    /// `c^p / 2` times the number of false estimates.
    pub false_cost: f64,
    /// Truths with no estimate within `c`.
    pub missed: usize,
    /// Estimates with no truth within `c`.
    pub false_estimates: usize,
    /// The optimal assignment: (truth index, estimate index), each closer than `c`.
    pub pairs: Vec<(usize, usize)>,
}

/// OSPA (Schuhmacher, Vo, Vo 2008) at one instant, metres; 0 when both sets are empty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ospa {
    /// The metric, metres, at most `c`.
    pub distance: f64,
}

/// Union-find root with path halving.
fn root(parent: &mut [usize], mut x: usize) -> usize {
    while let Some(&px) = parent.get(x) {
        if px == x {
            break;
        }
        let gp = parent.get(px).copied().unwrap_or(px);
        if let Some(slot) = parent.get_mut(x) {
            *slot = gp;
        }
        x = px;
    }
    x
}

/// One connected component of the gated graph: its truths, its estimates, its edges.
type Component = (Vec<usize>, Vec<usize>, Vec<(usize, usize, f64)>);

/// Gated optimal assignment: pairs closer than `c` (given as `edges`), the rest unassigned.
///
/// Pairs at `c` or beyond never help (`min(d, c)^p = c^p` equals one miss plus
/// one false), so the problem splits into connected components of the gated
/// graph, each solved exactly with the Hungarian method. That keeps 10,000
/// vessels cheap.
#[expect(clippy::many_single_char_names, reason = "kinematics and assignment use their textbook names (t, v, p, c)")]
fn solve(n: usize, m: usize, edges: &[(usize, usize, f64)], params: GospaParams) -> (f64, Vec<(usize, usize)>) {
    // Union-find over truths 0..n and estimates n..n+m.
    let mut parent: Vec<usize> = (0..n + m).collect();
    for &(i, j, _) in edges {
        let (a, b) = (root(&mut parent, i), root(&mut parent, n + j));
        if a != b
            && let Some(slot) = parent.get_mut(a)
        {
            *slot = b;
        }
    }
    let mut components: std::collections::BTreeMap<usize, Component> = std::collections::BTreeMap::new();
    for &(i, j, d) in edges {
        let r = root(&mut parent, i);
        components.entry(r).or_default().2.push((i, j, d));
    }
    for comp in components.values_mut() {
        let mut rows: Vec<usize> = comp.2.iter().map(|e| e.0).collect();
        let mut cols: Vec<usize> = comp.2.iter().map(|e| e.1).collect();
        rows.sort_unstable();
        rows.dedup();
        cols.sort_unstable();
        cols.dedup();
        comp.0 = rows;
        comp.1 = cols;
    }
    let cp = params.c.powf(params.p);
    let mut localisation = 0.0;
    let mut pairs = Vec::new();
    for (rows, cols, es) in components.values() {
        let transpose = rows.len() > cols.len();
        let (r, c) = if transpose { (cols.len(), rows.len()) } else { (rows.len(), cols.len()) };
        let mut cost = vec![cp; r * c];
        for &(i, j, d) in es {
            let (Ok(ri), Ok(cj)) = (rows.binary_search(&i), cols.binary_search(&j)) else { continue };
            let (a, b) = if transpose { (cj, ri) } else { (ri, cj) };
            if let Some(slot) = cost.get_mut(a * c + b) {
                *slot = d.min(params.c).powf(params.p);
            }
        }
        for (a, b) in hungarian(&cost, r, c).into_iter().enumerate() {
            let (ri, cj) = if transpose { (b, a) } else { (a, b) };
            let Some(&k) = cost.get(a * c + b) else { continue };
            if k < cp
                && let (Some(&i), Some(&j)) = (rows.get(ri), cols.get(cj))
            {
                localisation += k;
                pairs.push((i, j));
            }
        }
    }
    pairs.sort_unstable();
    (localisation, pairs)
}

fn assemble(n: usize, m: usize, localisation: f64, pairs: Vec<(usize, usize)>, params: GospaParams) -> Gospa {
    let half = params.c.powf(params.p) / 2.0;
    let missed = n - pairs.len();
    let false_estimates = m - pairs.len();
    let missed_cost = half * missed as f64;
    let false_cost = half * false_estimates as f64;
    Gospa {
        distance: (localisation + missed_cost + false_cost).powf(1.0 / params.p),
        localisation,
        missed_cost,
        false_cost,
        missed,
        false_estimates,
        pairs,
    }
}

/// GOSPA between true and estimated positions, with the great-circle distance in metres.
pub fn gospa(truth: &[Position], estimates: &[Position], params: GospaParams) -> Result<Gospa, Error> {
    let params = params.check()?;
    let edges = gated_edges(truth, estimates, params.c);
    let (loc, pairs) = solve(truth.len(), estimates.len(), &edges, params);
    Ok(assemble(truth.len(), estimates.len(), loc, pairs, params))
}

/// GOSPA under any metric `distance` (e.g. planar metres for hand-checked tests).
pub fn gospa_with<T, U>(
    truth: &[T],
    estimates: &[U],
    distance: impl Fn(&T, &U) -> f64,
    params: GospaParams,
) -> Result<Gospa, Error> {
    let params = params.check()?;
    let mut edges = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, e) in estimates.iter().enumerate() {
            let d = distance(t, e);
            if d < params.c {
                edges.push((i, j, d));
            }
        }
    }
    let (loc, pairs) = solve(truth.len(), estimates.len(), &edges, params);
    Ok(assemble(truth.len(), estimates.len(), loc, pairs, params))
}

/// OSPA from the same optimal assignment as GOSPA (both minimise `sum(d^p) - c^p |pairs|`):
/// `OSPA^p = (localisation + c^p (max(n, m) - |pairs|)) / max(n, m)`.
pub fn ospa(truth: &[Position], estimates: &[Position], params: GospaParams) -> Result<Ospa, Error> {
    let g = gospa(truth, estimates, params)?;
    Ok(ospa_from(&g, truth.len(), estimates.len(), params))
}

/// OSPA under any metric.
pub fn ospa_with<T, U>(
    truth: &[T],
    estimates: &[U],
    distance: impl Fn(&T, &U) -> f64,
    params: GospaParams,
) -> Result<Ospa, Error> {
    let g = gospa_with(truth, estimates, distance, params)?;
    Ok(ospa_from(&g, truth.len(), estimates.len(), params))
}

fn ospa_from(g: &Gospa, n: usize, m: usize, params: GospaParams) -> Ospa {
    let big = n.max(m);
    if big == 0 {
        return Ospa { distance: 0.0 };
    }
    let unpaired = (big - g.pairs.len()) as f64;
    let total = g.localisation + params.c.powf(params.p) * unpaired;
    Ospa { distance: (total / big as f64).powf(1.0 / params.p) }
}

/// Pairs closer than `c`, found through a grid of cells about `c` wide.
fn gated_edges(truth: &[Position], estimates: &[Position], c: f64) -> Vec<(usize, usize, f64)> {
    let cell_lat = (c / M_PER_DEG).max(1e-9);
    let key = |p: &Position| -> (i64, i64) {
        let cell_lon = cell_lat / p.lat.to_radians().cos().abs().max(0.01);
        (floor_i64(p.lat / cell_lat), floor_i64(p.lon / cell_lon))
    };
    let mut grid: std::collections::HashMap<(i64, i64), Vec<usize>> = std::collections::HashMap::new();
    for (j, e) in estimates.iter().enumerate() {
        grid.entry(key(e)).or_default().push(j);
    }
    let mut edges = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        let (ky, kx) = key(t);
        // Longitude cells differ in width with latitude: look two cells either way.
        for dy in -1..=1 {
            for dx in -2..=2 {
                let Some(js) = grid.get(&(ky + dy, kx + dx)) else { continue };
                for &j in js {
                    let Some(e) = estimates.get(j) else { continue };
                    let d = haversine_m(*t, *e);
                    if d < c {
                        edges.push((i, j, d));
                    }
                }
            }
        }
    }
    edges.sort_by_key(|e| (e.0, e.1));
    edges.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
    edges
}

fn floor_i64(x: f64) -> i64 {
    let f = x.floor();
    if f.is_finite() { format!("{f:.0}").parse().unwrap_or(0) } else { 0 }
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "hand-computed values are exact in binary")]
mod tests {
    use super::*;

    fn planar(a: &(f64, f64), b: &(f64, f64)) -> f64 {
        (a.0 - b.0).hypot(a.1 - b.1)
    }

    const P: GospaParams = GospaParams { c: 10.0, p: 2.0 };

    #[test]
    fn hand_computed_gospa() {
        // Truth at (0,0) and (100,0); estimates at (3,4) and (50,50).
        // Pair (0,0)-(3,4): d = 5, d^2 = 25. (100,0) is missed, (50,50) is false.
        // GOSPA^2 = 25 + 100/2 + 100/2 = 125.
        let truth = [(0.0, 0.0), (100.0, 0.0)];
        let est = [(3.0, 4.0), (50.0, 50.0)];
        let g = gospa_with(&truth, &est, planar, P).unwrap();
        assert!((g.distance - 125f64.sqrt()).abs() < 1e-12);
        assert_eq!((g.localisation, g.missed_cost, g.false_cost), (25.0, 50.0, 50.0));
        assert_eq!((g.missed, g.false_estimates), (1, 1));
        assert_eq!(g.pairs, vec![(0, 0)]);
        // OSPA^2 = (25 + 100 * (2 - 1)) / 2 = 62.5.
        let o = ospa_with(&truth, &est, planar, P).unwrap();
        assert!((o.distance - 62.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn assignment_is_global_not_greedy() {
        // Greedy would pair t0-e0 (d=1) and leave t1-e1 at d=9 (81): 1 + 81 = 82.
        // Optimal: t0-e1 (d=4, 16) and t1-e0 (d=6, 36) = 52.
        let truth = [(0.0, 0.0), (7.0, 0.0)];
        let est = [(1.0, 0.0), (-4.0, 0.0)];
        let g = gospa_with(&truth, &est, planar, P).unwrap();
        assert_eq!(g.localisation, 52.0);
        assert_eq!(g.pairs, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn empty_sets() {
        let none: [(f64, f64); 0] = [];
        let g = gospa_with(&none, &none, planar, P).unwrap();
        assert_eq!(g.distance, 0.0);
        let g = gospa_with(&[(0.0, 0.0)], &none, planar, P).unwrap();
        assert!((g.distance - 50f64.sqrt()).abs() < 1e-12);
        assert_eq!(ospa_with(&none, &none, planar, P).unwrap().distance, 0.0);
        assert_eq!(ospa_with(&[(0.0, 0.0)], &none, planar, P).unwrap().distance, 10.0);
    }

    #[test]
    fn geographic_matches_planar_brute_force() {
        let mut d = crate::draw::Draw::new(9, 9);
        let pts = |d: &mut crate::draw::Draw, n: usize| -> Vec<Position> {
            (0..n).map(|_| Position { lat: 18.0 + d.uniform(0.0, 0.05), lon: -65.0 + d.uniform(0.0, 0.05) }).collect()
        };
        let params = GospaParams { c: 1500.0, p: 1.0 };
        for _ in 0..20 {
            let (t, e) = (pts(&mut d, 6), pts(&mut d, 7));
            let fast = gospa(&t, &e, params).unwrap();
            let slow = gospa_with(&t, &e, |a, b| haversine_m(*a, *b), params).unwrap();
            assert!((fast.distance - slow.distance).abs() < 1e-6, "{} {}", fast.distance, slow.distance);
        }
    }

    #[test]
    fn bad_params_are_refused() {
        let err = gospa(&[], &[], GospaParams { c: 0.0, p: 2.0 }).unwrap_err();
        assert!(matches!(err, Error::Config { field: "gospa.c", .. }), "{err}");
        let err = gospa(&[], &[], GospaParams { c: 1.0, p: 0.5 }).unwrap_err();
        assert!(matches!(err, Error::Config { field: "gospa.p", .. }), "{err}");
    }
}
