//! Caveat's benchmark binaries: fusion at scale (`fusion-scale`), the
//! detections/score exporter for the Stone Soup comparison (`fusion-compare`,
//! driven by `bench/fusion/compare.sh`), and fusion scored against truth
//! (`fusion-metrics`: GOSPA/OSPA over time, purity, identity switches, time to
//! first confirmed track for dark vessels).
//!
//! Not a library anyone depends on: this file holds the few measurement helpers
//! the binaries share. Scenarios come from `caveat-sim`, tracking from `caveat-fusion`.
//!
//! ```
//! let p = caveat_bench::percentile(&mut vec![3, 1, 2], 0.5);
//! assert_eq!(p, 2);
//! ```
#![warn(missing_docs)]

/// The `q` quantile (0..=1) of `values` (sorted in place), nearest rank; 0 when empty.
pub fn percentile(values: &mut [u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = (q.clamp(0.0, 1.0) * (values.len() - 1) as f64).round();
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "rank is within 0..len")]
    let i = rank as usize;
    values.get(i).copied().unwrap_or(0)
}

/// Peak resident set size of this process, kB (`VmHWM` in `/proc/self/status`); `None` off Linux.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
