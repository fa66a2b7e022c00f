//! Optimal assignment (Kuhn-Munkres) for the metrics.

/// Minimum-cost assignment of every row to a distinct column of a `rows x cols`
/// matrix (row-major), `rows <= cols`. Returns the column of each row.
///
/// The O(n^2 m) shortest-augmenting-path form with potentials (Jonker-Volgenant
/// style, as in e-maxx's "Hungarian algorithm"). Costs must be finite.
#[expect(
    clippy::indexing_slicing,
    reason = "indices are bounded by the rows/cols this function sizes its own arrays to"
)]
pub(crate) fn hungarian(cost: &[f64], rows: usize, cols: usize) -> Vec<usize> {
    if rows == 0 || cols < rows || cost.len() < rows * cols {
        return Vec::new();
    }
    let inf = f64::INFINITY;
    // 1-based with a dummy column 0, as in the classic formulation.
    let mut u = vec![0.0; rows + 1];
    let mut v = vec![0.0; cols + 1];
    let mut p = vec![0usize; cols + 1];
    let mut way = vec![0usize; cols + 1];
    for i in 1..=rows {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; cols + 1];
        let mut used = vec![false; cols + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=cols {
                if !used[j] {
                    let cur = cost[(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                break;
            }
            for j in 0..=cols {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; rows];
    for j in 1..=cols {
        if p[j] != 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    out
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "hand-computed values are exact in binary")]
mod tests {
    use super::*;

    #[test]
    fn classic_three_by_three() {
        // Optimal: row0->col1 (1), row1->col0 (2), row2->col2 (2) = 5.
        let cost = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        let a = hungarian(&cost, 3, 3);
        let total: f64 = a.iter().enumerate().map(|(i, &j)| cost[i * 3 + j]).sum();
        assert_eq!(total, 5.0);
    }

    #[test]
    fn rectangular_picks_the_cheap_columns() {
        let cost = [9.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 1.0];
        assert_eq!(hungarian(&cost, 2, 4), vec![1, 3]);
    }

    #[test]
    fn matches_brute_force_on_small_random_matrices() {
        let mut d = crate::draw::Draw::new(11, 0);
        for _ in 0..50 {
            let (r, c) = (1 + d.index(4), 4);
            let cost: Vec<f64> = (0..r * c).map(|_| d.uniform(0.0, 10.0)).collect();
            let a = hungarian(&cost, r, c);
            let got: f64 = a.iter().enumerate().map(|(i, &j)| cost[i * c + j]).sum();
            let best = brute(&cost, r, c, 0, &mut vec![false; c]);
            assert!((got - best).abs() < 1e-9, "{got} {best}");
        }
    }

    fn brute(cost: &[f64], r: usize, c: usize, i: usize, used: &mut Vec<bool>) -> f64 {
        if i == r {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for j in 0..c {
            if !used[j] {
                used[j] = true;
                best = best.min(cost[i * c + j] + brute(cost, r, c, i + 1, used));
                used[j] = false;
            }
        }
        best
    }
}
