//! Small fixed-size matrices for the Kalman filter.
//!
//! Hand-written rather than `nalgebra`: the filter needs 2x2 and 4x4
//! symmetric matrices only, on the stack, with a Cholesky inverse; a few
//! dozen lines keep the dependency tree and compile time small and the
//! arithmetic order fixed (bit-identical results are part of the contract).
#![expect(
    clippy::indexing_slicing,
    clippy::needless_range_loop,
    reason = "fixed-size arrays indexed by loop bounds that are their sizes"
)]

/// A 4x4 matrix, row-major.
pub(crate) type Mat4 = [[f64; 4]; 4];

pub(crate) const ZERO4: Mat4 = [[0.0; 4]; 4];

/// `a * b`.
pub(crate) fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut c = ZERO4;
    for i in 0..4 {
        for j in 0..4 {
            let mut s = 0.0;
            for k in 0..4 {
                s += a[i][k] * b[k][j];
            }
            c[i][j] = s;
        }
    }
    c
}

/// `a * bᵀ`.
pub(crate) fn mul_t(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut c = ZERO4;
    for i in 0..4 {
        for j in 0..4 {
            let mut s = 0.0;
            for k in 0..4 {
                s += a[i][k] * b[j][k];
            }
            c[i][j] = s;
        }
    }
    c
}

/// Makes `a` exactly symmetric (rounding drifts it).
pub(crate) fn symmetrize(a: &mut Mat4) {
    for i in 0..4 {
        for j in (i + 1)..4 {
            let m = 0.5 * (a[i][j] + a[j][i]);
            a[i][j] = m;
            a[j][i] = m;
        }
    }
}

/// The inverse of the leading `m`x`m` block of a symmetric positive definite
/// matrix (`m` is 2 or 4), by Cholesky; `None` if not positive definite.
/// Entries outside the block are zero.
pub(crate) fn inverse_spd(a: &Mat4, m: usize) -> Option<Mat4> {
    let m = m.min(4);
    let mut l = ZERO4;
    for i in 0..m {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // inv(L), lower triangular.
    let mut li = ZERO4;
    for i in 0..m {
        li[i][i] = 1.0 / l[i][i];
        for j in 0..i {
            let mut s = 0.0;
            for k in j..i {
                s -= l[i][k] * li[k][j];
            }
            li[i][j] = s / l[i][i];
        }
    }
    // inv(A) = inv(L)ᵀ inv(L).
    let mut inv = ZERO4;
    for i in 0..m {
        for j in 0..m {
            let mut s = 0.0;
            for k in i.max(j)..m {
                s += li[k][i] * li[k][j];
            }
            inv[i][j] = s;
        }
    }
    Some(inv)
}

/// `vᵀ a v` over the first `m` components.
pub(crate) fn quad(a: &Mat4, v: &[f64; 4], m: usize) -> f64 {
    let m = m.min(4);
    let mut s = 0.0;
    for i in 0..m {
        for j in 0..m {
            s += v[i] * a[i][j] * v[j];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_spd_is_inverse() {
        let a = [[4.0, 1.0, 0.5, 0.0], [1.0, 3.0, 0.0, 0.2], [0.5, 0.0, 2.0, 0.1], [0.0, 0.2, 0.1, 1.0]];
        let inv = inverse_spd(&a, 4).unwrap();
        let id = mul(&a, &inv);
        for i in 0..4 {
            for j in 0..4 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((id[i][j] - want).abs() < 1e-12, "{id:?}");
            }
        }
        let inv2 = inverse_spd(&a, 2).unwrap();
        assert!((inv2[0][0] - 3.0 / 11.0).abs() < 1e-12);
        assert!(inv2[2][2].abs() < f64::MIN_POSITIVE);
        assert!(inverse_spd(&[[-1.0; 4]; 4], 2).is_none());
    }
}
