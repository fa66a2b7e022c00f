//! Decides one request over 1,000,000 reports in 64 marking classes, both ways,
//! and prints decisions per second for each.
//!
//! `cargo bench -p caveat-policy --bench decide` (release). The per-report
//! Cedar path is timed on the first `CAVEAT_BENCH_PER_REPORT` reports (default
//! 20,000; it is about a thousand times slower) and its rate extrapolated.

#![allow(clippy::indexing_slicing, clippy::unwrap_used, reason = "a benchmark over fixed, generated inputs")]

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use caveat_core::{CaseId, Marking, PartnerId, Purpose, Report, User, ViewKey};
use caveat_policy::{Action, CaseFacts, Policies, Request};
use time::macros::datetime;

const REPORTS: usize = 1_000_000;
const CLASSES: usize = 64;

fn partner(s: &str) -> PartnerId {
    s.parse().unwrap_or_else(|_| unreachable!("fixed partner id"))
}

/// 64 distinct markings: every subset of 3 partners x purposes x export x case x expiry.
fn markings() -> Vec<Marking> {
    let partners = ["CAN", "NLD", "FRA"];
    let now = datetime!(2026-11-23 12:00 UTC);
    (0..CLASSES)
        .map(|i| Marking {
            releasable_to: partners
                .iter()
                .enumerate()
                .filter(|(b, _)| i & (1 << b) != 0)
                .map(|(_, p)| partner(p))
                .collect(),
            purposes: if i & 8 == 0 {
                BTreeSet::from([Purpose::Interdiction])
            } else {
                BTreeSet::from([Purpose::Interdiction, Purpose::SearchAndRescue])
            },
            not_after: (i & 16 != 0).then(|| now + time::Duration::days(30)),
            requires_case: false,
            no_export: i & 32 != 0,
        })
        .collect()
}

fn main() {
    let per_report: usize =
        std::env::var("CAVEAT_BENCH_PER_REPORT").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000).min(REPORTS);
    let now = datetime!(2026-11-23 12:00 UTC);
    let classes = markings();
    let originators = ["GBR", "USA-USCG"];
    let reports: Vec<Report> = (0..REPORTS)
        .map(|i| {
            // A cheap LCG spreads classes so neighbours differ (no run-length luck).
            let k = (i.wrapping_mul(2_654_435_761) >> 7) % CLASSES;
            Report::builder()
                .originator(originators[k % 2])
                .marking(classes[k].clone())
                .position(10.0 + (i % 1000) as f64 * 0.01, -70.0 + (i % 700) as f64 * 0.01)
                .build()
        })
        .collect();

    let mut policies = Policies::new().unwrap_or_else(|e| unreachable!("{e}"));
    policies
        .upload(
            &partner("GBR"),
            r#"@id("no-fra") forbid (principal in Caveat::Partner::"FRA", action, resource);"#,
            now,
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
    policies
        .suspend(&partner("USA-USCG"), Some(BTreeSet::from([partner("NLD")])), None, "bench", now)
        .unwrap_or_else(|e| unreachable!("{e}"));
    let user = User {
        id: "bench@can".parse().unwrap_or_else(|_| unreachable!()),
        partner: partner("CAN"),
        roles: BTreeSet::new(),
    };
    let case =
        CaseFacts { id: CaseId::from_bytes([9; 16]), open: true, lead: partner("CAN"), participants: BTreeSet::new() };
    let view = ViewKey::new(partner("CAN"), Purpose::Interdiction, Some(case.id));
    let request = Request::new(&user, view, Action::Fuse, Some(case), now).unwrap_or_else(|e| unreachable!("{e}"));

    // Marking-class path: best of 5 over all 1,000,000 reports.
    let mut best = Duration::MAX;
    let mut permitted = 0;
    let mut evaluations = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let d = policies.decide(black_box(&request), black_box(&reports)).unwrap_or_else(|e| unreachable!("{e}"));
        best = best.min(t.elapsed());
        permitted = d.permitted().count();
        evaluations = d.cedar_evaluations();
    }
    let class_rate = REPORTS as f64 / best.as_secs_f64();

    // Per-report Cedar: a fresh evaluation for each of the first `per_report` reports.
    let t = Instant::now();
    let mut agree = 0usize;
    let check = policies.decide(&request, &reports[..per_report]).unwrap_or_else(|e| unreachable!("{e}"));
    for (i, r) in reports.iter().take(per_report).enumerate() {
        let fresh = policies.decide_one(black_box(&request), black_box(r)).unwrap_or_else(|e| unreachable!("{e}"));
        agree += usize::from(check.get(i) == Some(&fresh));
    }
    let per_report_time = t.elapsed();
    let fresh_rate = per_report as f64 / per_report_time.as_secs_f64();

    println!("caveat-policy decide: 1 request, {REPORTS} reports, {CLASSES} marking classes, 2 originators");
    println!(
        "machine: {} logical CPUs, one thread used",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!(
        "marking-class path : {:>8.1} ms for {REPORTS} reports, {:>14.0} decisions/s ({evaluations} Cedar evaluations, {permitted} permitted)",
        best.as_secs_f64() * 1e3,
        class_rate
    );
    println!(
        "per-report Cedar   : {:>8.1} ms for {per_report} reports, {:>14.0} decisions/s (1M would take {:.1} s; {agree}/{per_report} agree with the class path)",
        per_report_time.as_secs_f64() * 1e3,
        fresh_rate,
        REPORTS as f64 / fresh_rate
    );
    println!(
        "speed-up          : {:.0}x; target (1M in < 100 ms): {}",
        class_rate / fresh_rate,
        if best < Duration::from_millis(100) { "met" } else { "MISSED" }
    );
}
