//! Late reports are replayed locally (only what they can reach), and the
//! result must still be exactly batch fusion of the reports held: checked
//! here on dense scenarios (vessels sharing clusters), with arrival orders
//! from slightly to wholly shuffled, removals, re-insertions, corrections,
//! frequent reads, and a horizon short enough to force full rebuilds.

use caveat_core::Report;
use caveat_fusion::{FusionConfig, Picture, fuse};
use proptest::prelude::*;
use time::Duration;

use crate::scenario::{self, Rng, Spec};

/// Reports in an arrival order: observation time plus a random delay of up
/// to `max_delay_s` (0: wholly shuffled), with corrections mixed in.
fn arrivals(seed: u64, spread_deg: f64, max_delay_s: f64, corrections: f64) -> Vec<Report> {
    let sc = scenario::generate(
        seed,
        &Spec { vessels: 10, minutes: 3, random_markings: false, spread_deg, ..Spec::default() },
    );
    let mut rng = Rng::new(seed ^ 0xA5A5);
    let mut reports = sc.reports;
    let mut extra = Vec::new();
    for (k, r) in reports.iter().enumerate() {
        if rng.unit() < corrections {
            let mut c = r.clone();
            c.id = scenario::id(1_000_000 + k as u64);
            c.supersedes = Some(r.id);
            // Sometimes a small fix, sometimes far off (a new stray track).
            let off = if rng.unit() < 0.5 { 0.002 } else { 0.05 };
            c.position.lat += off * rng.normal();
            c.position.lon += off * rng.normal();
            extra.push(c);
        }
    }
    reports.extend(extra);
    if max_delay_s > 0.0 {
        let mut keyed: Vec<(f64, Report)> = reports
            .into_iter()
            .map(|r| {
                let t = (r.observed_at - scenario::T0).as_seconds_f64();
                let late = if rng.unit() < 0.1 { rng.range(0.0, max_delay_s) } else { rng.range(0.0, 3.0) };
                (t + late, r)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        keyed.into_iter().map(|(_, r)| r).collect()
    } else {
        rng.shuffle(&mut reports);
        reports
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: scenario::cases(16), ..ProptestConfig::default() })]

    #[test]
    fn replay_equals_batch_fusion_of_the_reports_held(
        seed in any::<u64>(),
        dense in any::<bool>(),
        delay in prop_oneof![Just(0.0), Just(8.0), Just(60.0), Just(600.0)],
        read_every in 3usize..60,
        remove in 0.0f64..0.08,
        short_horizon in any::<bool>(),
    ) {
        let mut cfg = FusionConfig::default();
        if short_horizon {
            cfg.replay_horizon = Duration::seconds(20);
        }
        let reports = arrivals(seed, if dense { 0.02 } else { 0.36 }, delay, 0.03);
        let mut rng = Rng::new(seed);
        let mut p = Picture::new(cfg.clone());
        let mut held: Vec<Report> = Vec::new();
        let mut removed: Vec<Report> = Vec::new();
        for (k, r) in reports.iter().enumerate() {
            p.insert(r).unwrap();
            held.push(r.clone());
            if rng.unit() < remove && !held.is_empty() {
                let gone = held.swap_remove(rng.below(held.len()));
                prop_assert!(p.remove(&gone.id));
                removed.push(gone);
            }
            if rng.unit() < remove && !removed.is_empty() {
                let back = removed.swap_remove(rng.below(removed.len()));
                p.insert(&back).unwrap();
                held.push(back);
            }
            if k % read_every == 0 {
                prop_assert_eq!(p.tracks(), fuse(&held, &cfg).unwrap(), "after {} arrivals", k + 1);
            }
        }
        prop_assert_eq!(p.tracks(), fuse(&held, &cfg).unwrap());
        prop_assert_eq!(p.len(), held.len());
    }
}

#[test]
fn a_late_report_into_a_crowd_changes_only_what_it_reaches() {
    // Dense scenario, read once, then one report withheld arrives: the result
    // equals batch fusion, and tracks far from it are untouched.
    let all = arrivals(42, 0.36, 8.0, 0.0);
    let cfg = FusionConfig::default();
    let (late, rest) = all.split_at(1);
    let mut p = Picture::new(cfg.clone());
    for r in rest {
        p.insert(r).unwrap();
    }
    let before = p.tracks();
    p.insert(&late[0]).unwrap();
    let after = p.tracks();
    assert_eq!(after, fuse(&all, &cfg).unwrap());
    let unchanged = before.iter().filter(|t| after.contains(t)).count();
    assert!(unchanged > 0, "a single late report rewrote every track");
}
