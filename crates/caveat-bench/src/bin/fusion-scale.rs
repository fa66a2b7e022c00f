//! Fusion at scale (issue 6): 10,000 vessels, about 100,000 reports per
//! scenario minute, replayed on one thread as fast as possible into one
//! picture. Prints reports/s, the ratio to real time, peak memory and
//! per-report update latency (p50, p99, max), plus the refresh latency.
//!
//! `fusion-scale [minutes] [order]`: order `observed` (default) replays in
//! observation-time order, `arrival` in the simulator's arrival order with a
//! picture refresh every scenario second (late reports then cost a local
//! replay: see caveat-fusion's `picture` module). `fusion-scale 3 arrival 20`
//! refreshes every 20 scenario seconds instead: the server folds new reports
//! into an open view at most once a wall-clock second, which at 20x real time
//! is every 20 scenario seconds.
//!
//! The picture is judged at the scenario's end, before the first report
//! observed (or, in arrival order, arriving) after it: a few tips are observed
//! up to an hour later, and by the last of them every AIS track has timed out.
//! There it prints the tracks by status and how many distinct truth vessels
//! the confirmed tracks cover, each confirmed track standing for the vessel
//! most of its lineage's reports came from (the simulator knows each report's
//! origin). Taking that snapshot is not counted in the timings.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use caveat_bench::{peak_rss_kb, percentile};
use caveat_core::ReportId;
use caveat_fusion::{FusionConfig, Picture, Track, TrackStatus};
use caveat_sim::{Fleet, ScenarioConfig, ScenarioPlan, SimReport, VesselId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let minutes: i64 = args.get(1).map_or(Ok(3), |s| s.parse())?;
    let arrival = args.get(2).is_some_and(|s| s == "arrival");
    let every_s: i64 = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let mut config = ScenarioConfig::scale(1, 10_000, 100_000);
    config.duration = time::Duration::minutes(minutes);
    let fleet = Fleet::eastern_caribbean()?;
    let plan = ScenarioPlan::new(config, &fleet)?;
    let vessels = plan.truth().vessels().len();

    let mut reports: Vec<_> = plan.stream().collect();
    if !arrival {
        reports.sort_by_key(|r| (r.report.observed_at, r.report.id));
    }
    let n = reports.len();
    // Real time is the scenario's duration (a few tips are observed outside it).
    let span_s = plan.config().duration.as_seconds_f64();

    let mut picture = Picture::new(FusionConfig::default());
    let mut latencies: Vec<u64> = Vec::with_capacity(n);
    let mut refreshes: Vec<u64> = Vec::new();
    // Refresh time spent while the scenario runs and after it (late stragglers).
    let scenario_end = plan.config().start + plan.config().duration;
    let mut refresh_ns = [0u64; 2];
    // Work (inserts and refreshes) for reports arriving during the scenario, and after it.
    let mut work_ns = [0u64; 2];
    let mut arrived_in_scenario = 0usize;
    let mut next_refresh = reports.first().map(|r| r.arrival);
    // The picture at the scenario's end, and the time taken to copy it out.
    let mut at_end: Option<Vec<Track>> = None;
    let mut snapshot_ns = 0u64;
    let past_end = |r: &SimReport| if arrival { r.arrival > scenario_end } else { r.report.observed_at > scenario_end };
    let started = Instant::now();
    let cpu_before = cpu_seconds().unwrap_or(f64::NAN);
    for r in &reports {
        if at_end.is_none() && past_end(r) {
            // The refresh is work the next read would do anyway, so it stays in the timings.
            picture.refresh();
            let t = Instant::now();
            at_end = Some(picture.tracks_at(scenario_end));
            snapshot_ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        }
        let t = Instant::now();
        picture.insert(&r.report)?;
        let insert_ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        latencies.push(insert_ns);
        let after = usize::from(r.arrival > scenario_end);
        arrived_in_scenario += 1 - after;
        if let Some(slot) = work_ns.get_mut(after) {
            *slot = slot.saturating_add(insert_ns);
        }
        if arrival && next_refresh.is_some_and(|nr| r.arrival >= nr) {
            let t = Instant::now();
            picture.refresh();
            let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
            refreshes.push(ns);
            if let Some(slot) = refresh_ns.get_mut(after) {
                *slot = slot.saturating_add(ns);
            }
            if let Some(slot) = work_ns.get_mut(after) {
                *slot = slot.saturating_add(ns);
            }
            next_refresh = Some(r.arrival + time::Duration::seconds(every_s));
        }
    }
    let t = Instant::now();
    let tracks = picture.track_count();
    refreshes.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
    let snapshot_s = snapshot_ns as f64 / 1e9;
    let wall = started.elapsed().as_secs_f64() - snapshot_s;
    let cpu = cpu_seconds().unwrap_or(f64::NAN) - cpu_before - snapshot_s;
    let at_end = match at_end {
        Some(t) => t,
        None => picture.tracks_at(scenario_end),
    };

    let rate = n as f64 / wall;
    println!(
        "fusion-scale: {vessels} vessels, {n} reports over {span_s:.0} s of scenario time ({:.0} per scenario minute), order: {}",
        n as f64 / (span_s / 60.0),
        if arrival { format!("arrival (refresh every {every_s} scenario s)") } else { "observation time".into() }
    );
    println!("  wall time            {wall:.2} s (one thread; CPU time {cpu:.2} s on a shared machine)");
    println!("  throughput           {rate:.0} reports/s = {:.1}x real time (target >= 20x)", span_s / wall);
    println!(
        "  update latency       p50 {:.1} us, p99 {:.1} us, max {:.1} ms",
        percentile(&mut latencies, 0.5) as f64 / 1e3,
        percentile(&mut latencies, 0.99) as f64 / 1e3,
        percentile(&mut latencies, 1.0) as f64 / 1e6
    );
    println!(
        "  refresh latency      p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms over {} refreshes",
        percentile(&mut refreshes, 0.5) as f64 / 1e6,
        percentile(&mut refreshes, 0.99) as f64 / 1e6,
        percentile(&mut refreshes, 1.0) as f64 / 1e6,
        refreshes.len()
    );
    if arrival {
        println!(
            "  refresh time         {:.2} s while the scenario runs, {:.2} s on reports arriving after it",
            refresh_ns[0] as f64 / 1e9,
            refresh_ns[1] as f64 / 1e9
        );
        let last_arrival = reports.iter().map(|r| r.arrival).max().unwrap_or(scenario_end);
        println!(
            "  in arrival time      the {arrived_in_scenario} reports arriving during the scenario's {span_s:.0} s took {:.2} s of work \
             = {:.1}x real time; the {} stragglers arriving over the next {:.0} min took {:.2} s",
            work_ns[0] as f64 / 1e9,
            span_s / (work_ns[0] as f64 / 1e9),
            n - arrived_in_scenario,
            (last_arrival - scenario_end).as_seconds_f64() / 60.0,
            work_ns[1] as f64 / 1e9
        );
    }
    let last_observed = reports.iter().map(|r| r.report.observed_at).max().unwrap_or(scenario_end);
    println!(
        "  live tracks after    {tracks} (after the last report, observed {:.0} min after the scenario's end)",
        (last_observed - scenario_end).as_seconds_f64() / 60.0
    );
    let end = Coverage::at_end(&at_end, &reports, scenario_end);
    println!(
        "  at the scenario end  {} tracks: {} confirmed, {} tentative",
        at_end.len(),
        end.confirmed,
        at_end.len() - end.confirmed
    );
    println!(
        "  vessels covered      {} distinct truth vessels by {} confirmed tracks ({} of them on clutter or false tips), \
         of {} vessels reported on by the end ({vessels} in the scenario); \
         a confirmed track covers the vessel most of its lineage came from",
        end.covered, end.confirmed, end.on_nothing, end.reported
    );
    println!(
        "  peak memory (VmHWM)  {} MB (includes the scenario's reports held in memory)",
        peak_rss_kb().unwrap_or(0) / 1024
    );
    Ok(())
}

/// How the confirmed tracks at the scenario's end stand against the truth.
struct Coverage {
    confirmed: usize,
    /// Distinct vessels that are some confirmed track's majority origin.
    covered: usize,
    /// Confirmed tracks most of whose reports came from no vessel.
    on_nothing: usize,
    /// Distinct vessels with a report observed by the end.
    reported: usize,
}

impl Coverage {
    fn at_end(tracks: &[Track], reports: &[SimReport], end: time::OffsetDateTime) -> Coverage {
        let origin: HashMap<ReportId, Option<VesselId>> =
            reports.iter().map(|r| (r.report.id, r.origin.vessel())).collect();
        let reported: HashSet<VesselId> =
            reports.iter().filter(|r| r.report.observed_at <= end).filter_map(|r| r.origin.vessel()).collect();
        let mut covered: HashSet<VesselId> = HashSet::new();
        let mut confirmed = 0;
        let mut on_nothing = 0;
        for t in tracks.iter().filter(|t| t.status == TrackStatus::Confirmed) {
            confirmed += 1;
            // BTreeMap: ties go to the lowest vessel id (None first), the same on every run.
            let mut counts: BTreeMap<Option<VesselId>, usize> = BTreeMap::new();
            for id in t.lineage.iter() {
                *counts.entry(origin.get(id).copied().flatten()).or_default() += 1;
            }
            let majority = counts.iter().max_by_key(|(v, n)| (**n, std::cmp::Reverse(**v))).map(|(v, _)| *v);
            match majority.flatten() {
                Some(v) => {
                    covered.insert(v);
                }
                None => on_nothing += 1,
            }
        }
        Coverage { confirmed, covered: covered.len(), on_nothing, reported: reported.len() }
    }
}

/// User + system CPU time of this process, seconds (`/proc/self/stat`, clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
