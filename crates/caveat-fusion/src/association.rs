//! Global nearest-neighbour assignment within clusters.
//!
//! Reports of one sensor in one scan and the tracks they gate with form a
//! bipartite graph; its connected components (clusters) are solved apart,
//! each by the Hungarian method (`pathfinding`'s Kuhn-Munkres) with one
//! "new track" column per report costing the gate, so a report goes to a
//! track only when that beats starting a new one. Solving per cluster, with
//! rows and columns in a canonical order (reports by time and id, tracks by
//! id), is what makes a cluster's outcome independent of everything outside
//! it, which the suspension property relies on.

use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;

/// A gated (report, track) pair, indices local to the scan group and picture.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub(crate) report: usize,
    pub(crate) track: usize,
    pub(crate) cost: f64,
}

/// One connected component: its reports (ascending) and tracks (ascending by index).
#[derive(Debug, Default)]
pub(crate) struct Cluster {
    pub(crate) reports: Vec<usize>,
    pub(crate) tracks: Vec<usize>,
    pub(crate) edges: Vec<Edge>,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while let Some(&p) = parent.get(x) {
        if p == x {
            break;
        }
        let gp = parent.get(p).copied().unwrap_or(p);
        if let Some(slot) = parent.get_mut(x) {
            *slot = gp;
        }
        x = gp;
    }
    x
}

/// Splits reports `0..n_reports` and the edges into clusters. A report with no
/// edge is a cluster of its own.
pub(crate) fn clusters(n_reports: usize, edges: &[Edge]) -> Vec<Cluster> {
    let mut tracks: Vec<usize> = edges.iter().map(|e| e.track).collect();
    tracks.sort_unstable();
    tracks.dedup();
    let node_of_track = |t: usize| n_reports + tracks.binary_search(&t).unwrap_or(0);
    let mut parent: Vec<usize> = (0..n_reports + tracks.len()).collect();
    for e in edges {
        let a = find(&mut parent, e.report);
        let b = find(&mut parent, node_of_track(e.track));
        if a != b {
            let (lo, hi) = (a.min(b), a.max(b));
            if let Some(p) = parent.get_mut(hi) {
                *p = lo;
            }
        }
    }
    // Roots are the smallest report index of each cluster (every cluster has a report).
    let mut index_of_root: Vec<Option<usize>> = vec![None; n_reports];
    let mut out: Vec<Cluster> = Vec::new();
    for r in 0..n_reports {
        let root = find(&mut parent, r);
        let ci = match index_of_root.get(root).copied().flatten() {
            Some(ci) => ci,
            None => {
                out.push(Cluster::default());
                if let Some(slot) = index_of_root.get_mut(root) {
                    *slot = Some(out.len() - 1);
                }
                out.len() - 1
            }
        };
        if let Some(c) = out.get_mut(ci) {
            c.reports.push(r);
        }
    }
    for (ti, &t) in tracks.iter().enumerate() {
        let root = find(&mut parent, n_reports + ti);
        if let Some(c) = index_of_root.get(root).copied().flatten().and_then(|ci| out.get_mut(ci)) {
            c.tracks.push(t);
        }
    }
    for e in edges {
        let root = find(&mut parent, e.report);
        if let Some(c) = index_of_root.get(root).copied().flatten().and_then(|ci| out.get_mut(ci)) {
            c.edges.push(*e);
        }
    }
    out
}

/// Costs are compared as integers in micro-units so that the solver is exact.
#[expect(clippy::cast_possible_truncation, reason = "clamped to well inside i64")]
fn scaled(c: f64) -> i64 {
    (c * 1e6).round().clamp(-1e13, 1e13) as i64
}

/// Assigns the cluster's reports: for each of `cluster.reports`, the track it
/// goes to, or `None` for a new track. `dummy(report)` is the cost of a new
/// track; `track_key` orders tracks canonically.
/// Cost of a pair outside the gate: never chosen over a new track.
const BIG: i64 = 1_000_000_000_000;

pub(crate) fn solve<K: Ord>(
    cluster: &Cluster,
    dummy: impl Fn(usize) -> f64,
    track_key: impl Fn(usize) -> K,
) -> Vec<Option<usize>> {
    let mut tracks = cluster.tracks.clone();
    tracks.sort_by_key(|&t| track_key(t));
    let nr = cluster.reports.len();
    let nt = tracks.len();
    if nt == 0 {
        return vec![None; nr];
    }
    if nr == 1 {
        // One report: the cheapest track (canonical order breaks ties) if it beats a new track.
        let best = tracks
            .iter()
            .filter_map(|&t| cluster.edges.iter().find(|e| e.track == t).map(|e| (scaled(e.cost), t)))
            .min_by_key(|(c, _)| *c);
        let d = cluster.reports.first().map_or(0, |&r| scaled(dummy(r)));
        return vec![best.filter(|(c, _)| *c < d).map(|(_, t)| t)];
    }
    let mut cost = Matrix::new(nr, nt + nr, BIG);
    for e in &cluster.edges {
        let row = cluster.reports.binary_search(&e.report);
        let col = tracks.iter().position(|&t| t == e.track);
        if let (Ok(row), Some(col)) = (row, col)
            && let Some(c) = cost.get_mut((row, col))
        {
            *c = scaled(e.cost);
        }
    }
    for (row, &r) in cluster.reports.iter().enumerate() {
        if let Some(c) = cost.get_mut((row, nt + row)) {
            *c = scaled(dummy(r));
        }
    }
    let (_, assignment) = kuhn_munkres_min(&cost);
    assignment
        .iter()
        .enumerate()
        .map(|(row, &col)| {
            let real = cost.get((row, col)).is_some_and(|&c| c < BIG);
            tracks.get(col).copied().filter(|_| real && col < nt)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_split_and_solve_globally() {
        // r0-t10, r1-t10, r1-t11 form one cluster; r2 alone.
        let edges = [
            Edge { report: 0, track: 10, cost: 1.0 },
            Edge { report: 1, track: 10, cost: 2.0 },
            Edge { report: 1, track: 11, cost: 5.0 },
        ];
        let cs = clusters(3, &edges);
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].reports, vec![0, 1]);
        assert_eq!(cs[0].tracks, vec![10, 11]);
        assert_eq!(cs[1].reports, vec![2]);
        // Greedy would give r1 nothing better than t11 after r0 takes t10;
        // global: r0-t10 (1) + r1-t11 (5) = 6 beats r1-t10 (2) + r0 new (9).
        let a = solve(&cs[0], |_| 9.0, |t| t);
        assert_eq!(a, vec![Some(10), Some(11)]);
        // A dear new-track cost changes nothing; a cheap one sends r1 to a new track.
        assert_eq!(solve(&cs[0], |_| 4.0, |t| t), vec![Some(10), None]);
        assert_eq!(solve(&cs[1], |_| 9.0, |t| t), vec![None]);
    }
}
