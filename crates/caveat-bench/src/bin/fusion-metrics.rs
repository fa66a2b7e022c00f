//! Fusion scored against truth (issue 6, part 4): GOSPA and OSPA over time,
//! track purity, continuity (identity switches) and time to first confirmed
//! track for dark vessels, in one run.
//!
//! `fusion-metrics [seed] [minutes]` (defaults 1 and 240) builds
//! `ScenarioConfig::eastern_caribbean(seed)` for `minutes`, feeds every report
//! (all sensors, tips included, clutter included) into one [`Picture`] in
//! observation order (sorted by `(observed_at, id)`), and every 60 s of
//! scenario time, after every report observed at or before that instant, reads
//! the confirmed tracks with `tracks_at`, each estimate dead-reckoned to the
//! instant with its own velocity.
//!
//! - **Truth** at an instant: the true position of every vessel detected at
//!   least once by then. A detection is a non-tip report whose origin
//!   (`SimReport::origin`) is that vessel: a tip's time is uncertain by an hour
//!   and is intelligence, not a sensor contact.
//! - **GOSPA / OSPA**: c = 1000 m, p = 2, alpha = 2 (`caveat_sim::gospa`,
//!   `caveat_sim::ospa`), confirmed tracks only; mean over all instants, and a
//!   table of the means per 30 minutes.
//! - **Track purity** (lineage): for each track ever confirmed, its lineage as
//!   of the last instant it was seen confirmed; the share of those report ids
//!   whose origin is the track's dominant vessel (clutter and false tips count
//!   as no vessel, so they only lower the share). Mean and minimum over tracks.
//!   The assignment-based purity of `caveat_sim::track_purity` (instants on the
//!   dominant vessel / instants assessed) is printed alongside.
//! - **Continuity**: GOSPA-optimal track-to-truth assignment at each instant
//!   (`assign_tracks`), then `continuity`: how often a vessel's assigned track
//!   changes between the instants it is tracked. Total, and per vessel.
//! - **Time to first confirmed track** for each dark vessel (go-fasts and mother
//!   ships): from its first detection to the first instant a confirmed track is
//!   assigned to it (`time_to_first_track`; 60 s resolution), or "never".
//!
//! Deterministic from the seed: the scenario is, the order is a total order, and
//! the tracker and the metrics are pure functions of their inputs.
#![allow(clippy::print_stdout, reason = "a benchmark binary prints its results")]

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use caveat_core::{Position, ReportId, SourceKind};
use caveat_fusion::{FusionConfig, Picture, TrackId, TrackStatus};
use caveat_sim::{
    Assignment, Fleet, GospaParams, Origin, Scenario, ScenarioConfig, VesselId, VesselKind, assign_tracks, continuity,
    gospa, ospa, time_to_first_track, track_purity,
};
use time::{Duration, OffsetDateTime};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// GOSPA/OSPA cut-off, metres.
const GOSPA_C_M: f64 = 1_000.0;
/// GOSPA/OSPA order (GOSPA's alpha is 2).
const GOSPA_P: f64 = 2.0;
/// Time between evaluation instants.
const EVAL_EVERY: Duration = Duration::seconds(60);
/// Rows of the over-time table.
const TABLE_EVERY: Duration = Duration::minutes(30);

/// Sums of the per-instant figures over a span of instants.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    instants: usize,
    gospa: f64,
    ospa: f64,
    truths: usize,
    tracks: usize,
    missed: usize,
    false_tracks: usize,
}

impl Window {
    fn add(&mut self, other: &Window) {
        self.instants += other.instants;
        self.gospa += other.gospa;
        self.ospa += other.ospa;
        self.truths += other.truths;
        self.tracks += other.tracks;
        self.missed += other.missed;
        self.false_tracks += other.false_tracks;
    }

    fn mean(&self, x: f64) -> f64 {
        if self.instants == 0 { f64::NAN } else { x / self.instants as f64 }
    }

    fn mean_n(&self, x: usize) -> f64 {
        self.mean(x as f64)
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 3 {
        return Err("usage: fusion-metrics [seed] [minutes]".into());
    }
    let seed: u64 = args.get(1).map_or(Ok(1), |s| s.parse())?;
    let minutes: i64 = args.get(2).map_or(Ok(240), |s| s.parse())?;
    if minutes <= 0 {
        return Err("minutes must be positive".into());
    }
    let params = GospaParams { c: GOSPA_C_M, p: GOSPA_P };

    let started = Instant::now();
    let fleet = Fleet::eastern_caribbean()?;
    let mut config = ScenarioConfig::eastern_caribbean(seed);
    config.duration = Duration::minutes(minutes);
    let scenario = Scenario::generate(config, &fleet)?;
    let truth = scenario.truth();
    let start = truth.start();
    let end = start + Duration::minutes(minutes);

    let mut reports: Vec<_> = scenario.reports().iter().collect();
    reports.sort_by_key(|r| (r.report.observed_at, r.report.id));
    let origin: HashMap<ReportId, Origin> = reports.iter().map(|r| (r.report.id, r.origin)).collect();
    // First detection of each vessel (non-tip reports only).
    let mut first_seen: BTreeMap<VesselId, OffsetDateTime> = BTreeMap::new();
    for r in &reports {
        if r.report.source == SourceKind::Tip {
            continue;
        }
        if let Some(v) = r.origin.vessel() {
            first_seen.entry(v).and_modify(|t| *t = (*t).min(r.report.observed_at)).or_insert(r.report.observed_at);
        }
    }

    let mut picture = Picture::new(FusionConfig::default());
    let mut pending = reports.iter().peekable();
    let mut assignments: Vec<Assignment<TrackId, VesselId>> = Vec::new();
    // Each confirmed track's lineage as of the last instant it was seen confirmed.
    let mut lineages: BTreeMap<TrackId, Vec<ReportId>> = BTreeMap::new();
    let mut windows: Vec<(OffsetDateTime, Window)> = Vec::new();
    let mut skipped = 0usize;
    let mut at = start + EVAL_EVERY;
    while at <= end {
        while let Some(r) = pending.next_if(|r| r.report.observed_at <= at) {
            if picture.insert(&r.report).is_err() {
                skipped += 1;
            }
        }
        let tracks: Vec<(TrackId, Position)> = picture
            .tracks_at(at)
            .into_iter()
            .filter(|t| t.status == TrackStatus::Confirmed)
            .map(|t| {
                let p = t.position_at(at);
                lineages.insert(t.id, t.lineage.iter().copied().collect());
                (t.id, p)
            })
            .collect();
        let now: Vec<(VesselId, Position)> = truth
            .positions_at(at, None)
            .into_iter()
            .filter(|(v, _)| first_seen.get(v).is_some_and(|&s| s <= at))
            .collect();
        let tp: Vec<Position> = now.iter().map(|x| x.1).collect();
        let ep: Vec<Position> = tracks.iter().map(|x| x.1).collect();
        let g = gospa(&tp, &ep, params)?;
        let o = ospa(&tp, &ep, params)?;
        assignments.extend(assign_tracks(at, &now, &tracks, params)?);
        let w = Window {
            instants: 1,
            gospa: g.distance,
            ospa: o.distance,
            truths: tp.len(),
            tracks: ep.len(),
            missed: g.missed,
            false_tracks: g.false_estimates,
        };
        // Row k covers (start + k * 30 min, start + (k + 1) * 30 min].
        let every_s = TABLE_EVERY.whole_seconds();
        let row_end =
            start + Duration::seconds(((at - start).whole_seconds() - 1).div_euclid(every_s) * every_s + every_s);
        match windows.last_mut() {
            Some((e, acc)) if *e == row_end => acc.add(&w),
            _ => windows.push((row_end, w)),
        }
        at += EVAL_EVERY;
    }
    let wall = started.elapsed().as_secs_f64();

    let mut total = Window::default();
    for (_, w) in &windows {
        total.add(w);
    }
    let dark: Vec<&caveat_sim::TruthVessel> = truth.vessels().iter().filter(|v| v.kind == VesselKind::Dark).collect();
    println!(
        "fusion-metrics: seed {seed}, {minutes} min of the eastern Caribbean scenario: {} vessels ({} dark), \
         {} reports in observation order ({} not fusable), {} vessels detected; {:.2} s",
        truth.vessels().len(),
        dark.len(),
        reports.len(),
        skipped,
        first_seen.iter().filter(|(_, t)| **t <= end).count(),
        wall
    );
    println!(
        "GOSPA/OSPA: c = {GOSPA_C_M} m, p = {GOSPA_P}, alpha = 2; confirmed tracks vs vessels detected so far; \
         {} instants every {} s",
        total.instants,
        EVAL_EVERY.whole_seconds()
    );
    println!();
    println!(
        "| {:>9} | {:>9} | {:>8} | {:>8} | {:>10} | {:>8} | {:>8} |",
        "minutes", "GOSPA (m)", "OSPA (m)", "vessels", "conf. trk", "missed", "false"
    );
    println!("|{:->11}|{:->11}|{:->10}|{:->10}|{:->12}|{:->10}|{:->10}|", "", "", "", "", "", "", "");
    let row = |label: String, w: &Window| {
        println!(
            "| {label:>9} | {:>9.1} | {:>8.1} | {:>8.1} | {:>10.1} | {:>8.1} | {:>8.1} |",
            w.mean(w.gospa),
            w.mean(w.ospa),
            w.mean_n(w.truths),
            w.mean_n(w.tracks),
            w.mean_n(w.missed),
            w.mean_n(w.false_tracks)
        );
    };
    let mut from = 0;
    for (row_end, w) in &windows {
        let to = (*row_end - start).whole_minutes();
        row(format!("{from}-{to}"), w);
        from = to;
    }
    row("all".to_owned(), &total);
    println!();
    println!("mean GOSPA {:.1} m, mean OSPA {:.1} m", total.mean(total.gospa), total.mean(total.ospa));

    // Purity from lineage.
    let purities: Vec<f64> = lineages
        .values()
        .map(|ids| {
            let mut counts: BTreeMap<VesselId, usize> = BTreeMap::new();
            for id in ids {
                if let Some(v) = origin.get(id).and_then(|o| o.vessel()) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let best = counts.values().copied().max().unwrap_or(0);
            best as f64 / ids.len().max(1) as f64
        })
        .collect();
    let mean_purity = purities.iter().sum::<f64>() / purities.len().max(1) as f64;
    let min_purity = purities.iter().copied().fold(f64::INFINITY, f64::min);
    let pure = purities.iter().filter(|&&p| p >= 1.0).count();
    let assignment_purity = track_purity(&assignments);
    println!(
        "track purity (lineage share from dominant vessel), {} confirmed tracks: mean {:.4}, min {:.4}, {} fully pure; \
         assignment-based purity (instants on dominant vessel): overall {:.4}",
        purities.len(),
        mean_purity,
        if purities.is_empty() { f64::NAN } else { min_purity },
        pure,
        assignment_purity.overall
    );

    // Continuity.
    let cont = continuity(&assignments);
    let tracked = cont.truths.len();
    let switched: Vec<_> = cont.truths.iter().filter(|t| t.switches > 0).collect();
    println!(
        "continuity: {} identity switches over {} tracked vessels ({:.3} per vessel); {} vessels with no switch",
        cont.identity_switches,
        tracked,
        cont.identity_switches as f64 / tracked.max(1) as f64,
        tracked - switched.len()
    );
    let kind_of = |v: VesselId| match truth.vessel(v).map(|tv| (tv.kind, tv.rendezvous_with.is_some())) {
        Some((VesselKind::Dark, true)) => "go-fast",
        Some((VesselKind::Dark, false)) => "mother ship",
        _ => "cooperative",
    };
    // Per vessel: how many vessels had k switches, the worst ten, then every vessel with a switch.
    let mut histogram: BTreeMap<usize, usize> = BTreeMap::new();
    for t in &cont.truths {
        let bucket = match t.switches {
            0..=4 => t.switches,
            5..=9 => 5,
            10..=19 => 10,
            _ => 20,
        };
        *histogram.entry(bucket).or_default() += 1;
    }
    let label = |b: usize| match b {
        5 => "5-9".to_owned(),
        10 => "10-19".to_owned(),
        20 => "20+".to_owned(),
        b => b.to_string(),
    };
    println!(
        "  vessels by switches: {}",
        histogram.iter().map(|(b, n)| format!("{}: {n}", label(*b))).collect::<Vec<_>>().join(", ")
    );
    let mut worst = switched.clone();
    worst.sort_by_key(|t| (std::cmp::Reverse(t.switches), t.truth));
    println!(
        "  worst: {}",
        worst
            .iter()
            .take(10)
            .map(|t| format!("{} {} switches over {} tracks ({})", t.truth, t.switches, t.tracks, kind_of(t.truth)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for v in &dark {
        let c = cont.truths.iter().find(|t| t.truth == v.id);
        println!(
            "  {} ({}): {}",
            v.id,
            kind_of(v.id),
            c.map_or("never tracked".to_owned(), |c| format!("{} switches over {} tracks", c.switches, c.tracks))
        );
    }
    println!("  per vessel (vessel:switches, vessels with none left out):");
    for chunk in switched.chunks(14) {
        println!("    {}", chunk.iter().map(|t| format!("{}:{}", t.truth, t.switches)).collect::<Vec<_>>().join(" "));
    }

    // Time to first confirmed track for dark vessels.
    let dark_from: Vec<(VesselId, OffsetDateTime)> =
        dark.iter().filter_map(|v| first_seen.get(&v.id).filter(|t| **t <= end).map(|t| (v.id, *t))).collect();
    let ttft: BTreeMap<VesselId, Option<Duration>> =
        time_to_first_track(&dark_from, &assignments).into_iter().collect();
    println!("time to first confirmed track, dark vessels (from first detection by any sensor, 60 s resolution):");
    let mut got = Vec::new();
    for v in &dark {
        let first = first_seen.get(&v.id).filter(|t| **t <= end);
        let text = match (first, ttft.get(&v.id)) {
            (None, _) => "never detected".to_owned(),
            (Some(f), Some(Some(d))) => {
                got.push(d.as_seconds_f64());
                // Whose report started that track: its own, or another vessel's (a track inherited at a rendezvous).
                let first = assignments
                    .iter()
                    .filter(|a| a.truth == Some(v.id))
                    .min_by_key(|a| (a.at, a.track))
                    .and_then(|a| origin.get(&a.track.first_report()));
                let started_by = match first.and_then(|o| o.vessel()) {
                    Some(w) if w == v.id => "its own report".to_owned(),
                    Some(w) => format!("a report of {w} ({})", kind_of(w)),
                    None => "clutter or a false tip".to_owned(),
                };
                format!(
                    "first detected at +{:.2} min, confirmed track after {:.2} min (track started by {started_by})",
                    minutes_of(*f - start),
                    d.as_seconds_f64() / 60.0
                )
            }
            (Some(f), _) => format!("first detected at +{:.2} min, never", minutes_of(*f - start)),
        };
        println!("  {} ({}): {text}", v.id, kind_of(v.id));
    }
    let never = dark_from.len() - got.len();
    if got.is_empty() {
        println!("  mean: - (no dark vessel got a confirmed track; {never} never)");
    } else {
        println!(
            "  mean: {:.1} min over {} vessels ({never} never)",
            got.iter().sum::<f64>() / got.len() as f64 / 60.0,
            got.len()
        );
    }
    Ok(())
}

fn minutes_of(d: Duration) -> f64 {
    d.as_seconds_f64() / 60.0
}
