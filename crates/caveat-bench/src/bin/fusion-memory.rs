//! Memory of one picture (issue 16): the bytes a view's fusion state costs
//! per report, counted by a global allocator that tracks live heap bytes.
//!
//! `fusion-memory [scale|random] [reports] [horizon_min]`: `scale` (default) is caveat-sim's
//! scale scenario sized to about `reports` reports (default 100,000) over two
//! hours; `random` puts the same number of reports at random positions in the
//! eastern Caribbean (nothing associates: every report starts a tentative
//! track), the case the issue saw reads of 13-41 s on. The replay horizon is
//! `horizon_min` minutes (default 15, as the hub's views). Reports are converted
//! once ([`caveat_fusion::Observed`], as a hub shares them among its views)
//! and counted apart. Prints live heap bytes
//! per report after building the picture, after materialising its tracks
//! (what a hub view keeps besides), and the picture's own estimate
//! ([`caveat_fusion::Picture::memory`]) beside them.

use std::alloc::System;
use std::time::Instant;

use caveat_core::Report;
use caveat_fusion::{FusionConfig, Observed, Picture, TrackMemo};
use caveat_sim::{Fleet, ScenarioConfig, ScenarioPlan};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes live now (a reallocation is counted in both totals already).
fn live() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

/// About `n` reports over two hours of the scale scenario, in observation order.
fn scale(n: usize) -> Result<Vec<Report>, Box<dyn std::error::Error>> {
    // AIS is most of the reports; the other sensors add about a tenth.
    let per_minute = n * 9 / 10 / 120;
    let vessels = 2_000;
    let mut config = ScenarioConfig::scale(1, vessels, per_minute.max(1));
    config.duration = time::Duration::hours(2);
    let fleet = Fleet::eastern_caribbean()?;
    let plan = ScenarioPlan::new(config, &fleet)?;
    // Up to the scenario's end: a few tips are stamped up to an hour later,
    // by when every track would have timed out; a hub's view is read "now".
    let end = plan.config().start + plan.config().duration;
    let mut reports: Vec<Report> = plan.stream().map(|r| r.report).filter(|r| r.observed_at <= end).collect();
    reports.sort_by_key(|r| (r.observed_at, r.id));
    Ok(reports)
}

/// `n` reports at random positions (lat 15..20, lon -68..-60) over two hours.
fn random(n: usize) -> Result<Vec<Report>, Box<dyn std::error::Error>> {
    let mut base = scale(n)?;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64*: reproducible, no dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    for r in &mut base {
        r.position.lat = 15.0 + 5.0 * next();
        r.position.lon = -68.0 + 8.0 * next();
        r.course_deg = None;
        r.speed_kn = None;
        r.vessel = caveat_core::VesselDescriptors::default();
    }
    Ok(base)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("scale", String::as_str);
    let n: usize = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
    let horizon_min: i64 = args.get(3).map_or(Ok(15), |s| s.parse())?;
    let mut config = FusionConfig::default();
    config.replay_horizon = time::Duration::minutes(horizon_min);
    let reports = match kind {
        "random" => random(n)?,
        _ => scale(n)?,
    };
    let n = reports.len();
    let span = reports.last().map(|r| r.observed_at).zip(reports.first().map(|r| r.observed_at));
    let span_min = span.map_or(0.0, |(b, a)| (b - a).as_seconds_f64() / 60.0);
    println!(
        "fusion-memory: {kind}, {n} reports over {span_min:.0} min, default config but a replay horizon of {horizon_min} min"
    );

    // As a hub does: each report converted once, shared by every view's picture.
    let shared_before = live();
    let observed: Vec<Observed> = reports.iter().map(Observed::new).collect::<Result<_, _>>()?;
    let shared = live() - shared_before;
    let before = live();
    let t = Instant::now();
    let mut picture = Picture::new(config);
    for o in &observed {
        picture.insert_observed(o)?;
    }
    picture.refresh();
    let build_s = t.elapsed().as_secs_f64();
    let built = live() - before;
    let mut memo = TrackMemo::default();
    let t = Instant::now();
    let tracks = picture.tracks_shared(&mut memo);
    let read_s = t.elapsed().as_secs_f64();
    let with_tracks = live() - before;
    let per = |b: usize| b as f64 / n as f64;
    println!("  build {build_s:.2} s, first read {read_s:.2} s, {} live tracks", tracks.len());
    println!("  shared reports      {:>12} bytes = {:>7.0} bytes/report (once for every view)", shared, per(shared));
    println!("  picture             {:>12} bytes = {:>7.0} bytes/report", built, per(built));
    println!(
        "  + tracks and memo   {:>12} bytes = {:>7.0} bytes/report",
        with_tracks - built,
        per(with_tracks - built)
    );
    println!("  total               {:>12} bytes = {:>7.0} bytes/report", with_tracks, per(with_tracks));
    let m = picture.memory();
    println!("  estimate (Picture::memory): {} bytes = {:.0} bytes/report", m.total(), per(m.total()));
    for (name, b) in m.parts() {
        println!("    {name:<22} {b:>12} bytes = {:>7.0} bytes/report", per(b));
    }
    let track_bytes: usize = tracks.iter().map(|t| size_of::<caveat_fusion::Track>() + t.heap_bytes()).sum();
    println!("  estimate (tracks + TrackMemo::memory): {} bytes", track_bytes + memo.memory());
    drop(tracks);
    Ok(())
}
