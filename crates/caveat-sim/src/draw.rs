//! Seeded randomness: every random choice of a scenario comes from here.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic random stream: ChaCha8 seeded from the scenario seed and a
/// stream number, so truth, sensors and ids draw independently and adding a
/// sensor does not change the vessels' paths.
#[derive(Debug, Clone)]
pub(crate) struct Draw(ChaCha8Rng);

/// SplitMix64 finaliser: spreads (seed, stream) over the whole seed space.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Draw {
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        Draw(ChaCha8Rng::seed_from_u64(mix(seed ^ mix(stream))))
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Uniform in [lo, hi) (or lo when the range is empty).
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo).max(0.0) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Zero-mean normal with standard deviation `sigma` (Box-Muller).
    pub(crate) fn normal(&mut self, sigma: f64) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with the given mean.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Poisson count with mean `lambda` (Knuth; lambda is small here).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u32 {
        let limit = (-lambda.clamp(0.0, 30.0)).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit && k < 100 {
            k += 1;
            p *= self.unit();
        }
        k
    }

    /// Uniform index in `0..n` (0 when n is 0).
    pub(crate) fn index(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        usize::try_from(self.0.random::<u64>() % n64).unwrap_or(0)
    }

    /// Ten random bytes, for report id mints.
    pub(crate) fn bytes10(&mut self) -> [u8; 10] {
        let mut b = [0u8; 10];
        self.0.fill(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<f64> = (0..5)
            .map({
                let mut d = Draw::new(7, 1);
                move |_| d.unit()
            })
            .collect();
        let mut d = Draw::new(7, 1);
        let b: Vec<f64> = (0..5).map(|_| d.unit()).collect();
        assert_eq!(a, b);
        let mut other = Draw::new(7, 2);
        assert_ne!(a.first().copied(), Some(other.unit()));
    }

    #[test]
    fn normal_has_roughly_unit_variance() {
        let mut d = Draw::new(1, 0);
        let n = 20_000;
        let var = (0..n).map(|_| d.normal(2.0).powi(2)).sum::<f64>() / f64::from(n);
        assert!((var - 4.0).abs() < 0.2, "{var}");
    }

    #[test]
    fn poisson_mean() {
        let mut d = Draw::new(3, 0);
        let total: u32 = (0..10_000).map(|_| d.poisson(0.7)).sum();
        let mean = f64::from(total) / 10_000.0;
        assert!((mean - 0.7).abs() < 0.05, "{mean}");
    }
}
