//! Caveat against Stone Soup (issue 6): the Rust half of `bench/fusion/compare.sh`.
//!
//! `fusion-compare prepare DIR [minutes] [seed] [scan_s] [lat:lon:lat:lon]`
//! builds the eastern Caribbean scenario (seed 6) restricted to the Virgin
//! Islands and the northern Leeward Islands (default box 17..19 N, 66..62 W:
//! the real vessels whose first fix lies there, about 190, plus four go-fasts
//! and two mother ships; coastal radars of Anguilla, Tortola, Sint Maarten,
//! Saba, Sint Eustatius and Saint-Barthelemy, the HMS Medway, AIS), takes every
//! detection observed in the first `minutes` (default 30) from every sensor
//! except tips, and writes to `DIR`:
//! - `detections.csv`: `step,t_s,x_m,y_m,sigma_m,sensor,origin`, in processing
//!   order. `x_m`/`y_m` are metres in a local tangent plane (equirectangular
//!   about the region's centre, see [`Plane`]); `step` numbers the groups
//!   Caveat associates together (a scan of `scan_s` seconds, default 10, then
//!   sensor = originator and source kind), so Stone Soup runs its GNN over
//!   exactly the same groups, and `scan_t_s` is the scan's start;
//!   `origin` is the truth (vessel id or `clutter`), for diagnosis only.
//! - `eval.csv`: the evaluation instants (every 30 s from minute 5).
//! - `truth.csv`: at each instant, the true position of every vessel detected
//!   at least once by then (a vessel no sensor has seen yet is no tracker's miss).
//! - `params.txt`: the tracker parameters both sides use, and the plane's origin.
//! - `caveat_tracks.csv`, `caveat_time.txt`: Caveat's confirmed tracks at each
//!   instant and its wall time (median of five runs).
//!
//! `fusion-compare report DIR` reads those and `stonesoup_tracks.csv` and
//! `stonesoup_time.txt` (written by `bench/fusion/stonesoup_gnn.py`), scores
//! both with the same `caveat_sim::gospa` at the same instants, and prints the table.
//!
//! Detections are position-only for both trackers: course, speed, AIS
//! identity and descriptors are stripped before Caveat sees them, because
//! Stone Soup's GNN with a `LinearGaussian` model uses position alone. Tips are
//! left out: their hour-long time uncertainty has no place in a `LinearGaussian`
//! detection, and a tip is a single kilometre-wide report that neither tracker
//! could confirm. Radar clutter stays in.
//!
//! Both trackers run online in observation-time order and are asked for their
//! confirmed tracks at each evaluation instant just before the first scan
//! starting at or after it, each estimate moved to the instant with its own velocity.
//!
//! Why these sizes: Stone Soup's cost is about (tracks) x (association steps),
//! in Python, so the whole region (270 vessels, 45 min, one-second scans: 2,597
//! steps) took it 517 s. A box of about 200 vessels, 30 minutes and 10-second
//! scans (fewer, larger steps; the same for both trackers) keeps it near a minute.
#![allow(clippy::print_stdout, reason = "a benchmark binary prints its results")]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use caveat_core::{Position, Report, VesselDescriptors};
use caveat_fusion::{FusionConfig, Picture, TrackStatus};
use caveat_sim::{Fleet, Gospa, GospaParams, Origin, Scenario, ScenarioConfig, gospa};
use time::{Duration, OffsetDateTime};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// GOSPA cut-off, metres: a track further than this from every vessel is false,
/// a vessel further than this from every track is missed. Radar sigmas reach
/// 400 m at 60 km, so 1 km separates a poor estimate from a wrong one.
const GOSPA_C_M: f64 = 1_000.0;
/// GOSPA order (alpha is 2).
const GOSPA_P: f64 = 2.0;
/// First evaluation instant after the start: lets both trackers confirm their first tracks.
const WARM_UP: Duration = Duration::minutes(5);
/// Time between evaluation instants.
const EVAL_EVERY: Duration = Duration::seconds(30);
/// Caveat runs this many times; its median wall time is reported.
const CAVEAT_RUNS: usize = 5;
/// Mean Earth radius, metres (the plane's scale).
const R_EARTH_M: f64 = 6_371_008.8;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: fusion-compare prepare DIR [minutes] [seed] [scan_s] [lat:lon:lat:lon] | fusion-compare report DIR";
    let (Some(cmd), Some(dir)) = (args.get(1), args.get(2)) else {
        return Err(usage.into());
    };
    let dir = PathBuf::from(dir);
    match cmd.as_str() {
        "prepare" => {
            let minutes: i64 = args.get(3).map_or(Ok(30), |s| s.parse())?;
            let seed: u64 = args.get(4).map_or(Ok(6), |s| s.parse())?;
            let scan_s: i64 = args.get(5).map_or(Ok(10), |s| s.parse())?;
            let bbox: Vec<f64> =
                args.get(6).map_or(Ok(vec![17.0, -66.0, 19.0, -62.0]), |s| s.split(':').map(str::parse).collect())?;
            prepare(&dir, minutes, seed, scan_s, &bbox)
        }
        "report" => report(&dir),
        _ => Err(usage.into()),
    }
}

/// The tracker settings both sides use. Stone Soup gets the same numbers
/// through `params.txt`: `ConstantVelocity(q)` is the same continuous
/// white-acceleration model, its Mahalanobis gate is the square root of
/// Caveat's chi-square gate, its `MultiMeasurementInitiator` confirms on the
/// same number of hits, and its deleters use the same coasting times. Only the
/// scan length differs from the default (1 s): see the module documentation.
fn fusion_config(scan_s: i64) -> FusionConfig {
    let mut fc = FusionConfig::default();
    fc.scan = Duration::seconds(scan_s);
    fc
}

/// A local tangent plane: equirectangular about (`lat0`, `lon0`), east `x`, north `y`, metres.
#[derive(Debug, Clone, Copy)]
struct Plane {
    lat0: f64,
    lon0: f64,
}

impl Plane {
    fn to_xy(self, p: Position) -> (f64, f64) {
        let k = R_EARTH_M * self.lat0.to_radians().cos();
        ((p.lon - self.lon0).to_radians() * k, (p.lat - self.lat0).to_radians() * R_EARTH_M)
    }

    fn to_position(self, x: f64, y: f64) -> Position {
        let k = R_EARTH_M * self.lat0.to_radians().cos();
        Position { lat: self.lat0 + (y / R_EARTH_M).to_degrees(), lon: self.lon0 + (x / k).to_degrees() }
    }
}

fn prepare(dir: &Path, minutes: i64, seed: u64, scan_s: i64, bbox: &[f64]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let fleet = Fleet::eastern_caribbean()?;
    let mut config = ScenarioConfig::eastern_caribbean(seed);
    config.duration = Duration::minutes(minutes);
    let [min_lat, min_lon, max_lat, max_lon] = *bbox else {
        return Err("the box is min_lat:min_lon:max_lat:max_lon".into());
    };
    config.region = caveat_core::BoundingBox { min_lat, min_lon, max_lat, max_lon };
    let region = config.region;
    let plane = Plane {
        lat0: f64::midpoint(region.min_lat, region.max_lat),
        lon0: f64::midpoint(region.min_lon, region.max_lon),
    };
    let generated = Instant::now();
    let scenario = Scenario::generate(config, &fleet)?;
    let start = scenario.truth().start();
    let end = start + Duration::minutes(minutes);

    // Detections: every sensor but tips, observed within the span, position only.
    let mut dets: Vec<(&Report, Origin)> = scenario
        .reports()
        .iter()
        .filter(|r| r.report.source != caveat_core::SourceKind::Tip)
        .filter(|r| r.report.observed_at >= start && r.report.observed_at < end)
        .map(|r| (&r.report, r.origin))
        .collect();
    // Caveat's processing order: one-second scan, then sensor (originator, source), then time and id.
    let key = |r: &Report| {
        (r.observed_at.unix_timestamp().div_euclid(scan_s), r.originator.clone(), r.source, r.observed_at, r.id)
    };
    dets.sort_by_cached_key(|(r, _)| key(r));
    let reports: Vec<Report> = dets.iter().map(|(r, _)| position_only(r)).collect();

    let mut csv = String::from("step,scan_t_s,t_s,x_m,y_m,sigma_m,sensor,origin\n");
    let mut step = 0usize;
    let mut last = None;
    let mut first_seen: HashMap<u32, OffsetDateTime> = HashMap::new();
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    for (r, origin) in &dets {
        let group = (r.observed_at.unix_timestamp().div_euclid(scan_s), &r.originator, r.source);
        if last.is_some_and(|l| l != group) {
            step += 1;
        }
        last = Some(group);
        let (x, y) = plane.to_xy(r.position);
        let sensor = format!("{}/{:?}", r.originator.as_str(), r.source);
        let origin = match origin.vessel() {
            Some(v) => {
                first_seen.entry(v.0).and_modify(|t| *t = (*t).min(r.observed_at)).or_insert(r.observed_at);
                v.0.to_string()
            }
            None => "clutter".to_owned(),
        };
        *by_source.entry(format!("{:?}", r.source)).or_default() += 1;
        let scan_start = OffsetDateTime::from_unix_timestamp(group.0 * scan_s)?;
        writeln!(
            csv,
            "{step},{:.0},{:.3},{x:.2},{y:.2},{:.2},{sensor},{origin}",
            secs(scan_start - start),
            secs(r.observed_at - start),
            r.uncertainty_m
        )?;
    }
    std::fs::write(dir.join("detections.csv"), csv)?;

    let evals = eval_instants(start, end);
    let mut eval_csv = String::from("k,t_s\n");
    let mut truth_csv = String::from("k,vessel,lat,lon\n");
    for (k, &t) in evals.iter().enumerate() {
        writeln!(eval_csv, "{k},{:.3}", secs(t - start))?;
        for (v, p) in scenario.truth().positions_at(t, None) {
            if first_seen.get(&v.0).is_some_and(|&s| s <= t) {
                writeln!(truth_csv, "{k},{},{:.7},{:.7}", v.0, p.lat, p.lon)?;
            }
        }
    }
    std::fs::write(dir.join("eval.csv"), eval_csv)?;
    std::fs::write(dir.join("truth.csv"), truth_csv)?;

    let fc = fusion_config(scan_s);
    let params = format!(
        "seed={seed}\nminutes={minutes}\nscan_s={scan_s}\nregion={bbox:?}\nlat0={}\nlon0={}\nprocess_noise={}\ngate_position={}\ninitial_speed_sigma={}\n\
         confirm_hits={}\ntentative_coast_s={}\nconfirmed_coast_s={}\ngospa_c={GOSPA_C_M}\ngospa_p={GOSPA_P}\n\
         vessels={}\ndetections={}\nsteps={}\nby_source={:?}\n",
        plane.lat0,
        plane.lon0,
        fc.process_noise,
        fc.gate_position,
        fc.initial_speed_sigma,
        fc.confirm_hits,
        secs(fc.tentative_coast),
        secs(fc.confirmed_coast),
        scenario.truth().vessels().len(),
        reports.len(),
        step + 1,
        by_source,
    );
    std::fs::write(dir.join("params.txt"), params)?;
    println!(
        "prepared {} detections ({} steps) of {} vessels over {minutes} min, {} evaluation instants, in {:.2} s",
        reports.len(),
        step + 1,
        first_seen.len(),
        evals.len(),
        generated.elapsed().as_secs_f64()
    );

    // Caveat: median wall time of a few identical runs (the output is the same every time).
    let mut times = Vec::with_capacity(CAVEAT_RUNS);
    let mut snapshots = Vec::new();
    for _ in 0..CAVEAT_RUNS {
        let t = Instant::now();
        snapshots = run_caveat(&reports, &evals, &fc)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    let mut out = String::from("k,lat,lon\n");
    for (k, snap) in snapshots.iter().enumerate() {
        for p in snap {
            writeln!(out, "{k},{:.7},{:.7}", p.lat, p.lon)?;
        }
    }
    std::fs::write(dir.join("caveat_tracks.csv"), out)?;
    std::fs::write(
        dir.join("caveat_time.txt"),
        format!("{median}\n# runs: {}\n", times.iter().map(|t| format!("{t:.5}")).collect::<Vec<_>>().join(" ")),
    )?;
    println!("caveat-fusion: {median:.4} s (median of {CAVEAT_RUNS} runs)");
    Ok(())
}

/// The report as a position-only detection: no course, speed, identity or remarks.
fn position_only(r: &Report) -> Report {
    let mut r = r.clone();
    r.course_deg = None;
    r.speed_kn = None;
    r.vessel = VesselDescriptors::default();
    r.remarks = None;
    r.time_uncertainty_s = None;
    r
}

fn eval_instants(start: OffsetDateTime, end: OffsetDateTime) -> Vec<OffsetDateTime> {
    let mut out = Vec::new();
    let mut t = start + WARM_UP;
    while t <= end {
        out.push(t);
        t += EVAL_EVERY;
    }
    out
}

fn secs(d: Duration) -> f64 {
    d.as_seconds_f64()
}

/// Feeds the reports (already in processing order) into one picture and takes
/// the confirmed tracks at each instant, just before the first scan after it.
fn run_caveat(reports: &[Report], evals: &[OffsetDateTime], config: &FusionConfig) -> Result<Vec<Vec<Position>>> {
    let scan_s = config.scan.whole_seconds().max(1);
    let mut picture = Picture::new(config.clone());
    let mut out: Vec<Vec<Position>> = Vec::with_capacity(evals.len());
    let mut snapshot = |picture: &mut Picture, at: OffsetDateTime| {
        out.push(
            picture
                .tracks_at(at)
                .iter()
                .filter(|t| t.status == TrackStatus::Confirmed)
                .map(|t| t.position_at(at))
                .collect(),
        );
    };
    let mut next = evals.iter().peekable();
    for r in reports {
        let scan_start = r.observed_at.unix_timestamp().div_euclid(scan_s) * scan_s;
        while let Some(&&at) = next.peek() {
            if scan_start < at.unix_timestamp() {
                break;
            }
            snapshot(&mut picture, at);
            next.next();
        }
        picture.insert(r)?;
    }
    for &at in next {
        snapshot(&mut picture, at);
    }
    Ok(out)
}

/// Reads a CSV with a header into rows of fields.
fn read_csv(path: &Path) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect())
}

fn field<T: std::str::FromStr>(row: &[String], i: usize) -> Result<T>
where
    T::Err: std::error::Error + 'static,
{
    let s = row.get(i).ok_or("short CSV row")?;
    Ok(s.trim().parse::<T>()?)
}

fn read_params(dir: &Path) -> Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("params.txt"))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

fn param(params: &HashMap<String, String>, key: &str) -> Result<f64> {
    Ok(params.get(key).ok_or_else(|| format!("params.txt has no {key}"))?.parse()?)
}

/// Reads the first number of a timing file.
fn read_time(path: &Path) -> Result<f64> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text.split_whitespace().next().ok_or("empty timing file")?.parse()?)
}

/// Per-instant position sets, indexed by evaluation instant.
fn sets(n: usize, rows: impl Iterator<Item = Result<(usize, Position)>>) -> Result<Vec<Vec<Position>>> {
    let mut out = vec![Vec::new(); n];
    for row in rows {
        let (k, p) = row?;
        out.get_mut(k).ok_or("evaluation index out of range")?.push(p);
    }
    Ok(out)
}

/// Mean GOSPA over the instants and its parts.
#[derive(Debug, Default)]
struct Score {
    gospa: f64,
    localisation: f64,
    missed_cost: f64,
    false_cost: f64,
    missed: f64,
    false_estimates: f64,
    pairs: f64,
    tracks: f64,
}

fn score(truth: &[Vec<Position>], estimates: &[Vec<Position>], params: GospaParams) -> Result<Score> {
    let mut s = Score::default();
    let n = truth.len().max(1) as f64;
    for (t, e) in truth.iter().zip(estimates) {
        let g: Gospa = gospa(t, e, params)?;
        s.gospa += g.distance / n;
        s.localisation += g.localisation / n;
        s.missed_cost += g.missed_cost / n;
        s.false_cost += g.false_cost / n;
        s.missed += g.missed as f64 / n;
        s.false_estimates += g.false_estimates as f64 / n;
        s.pairs += g.pairs.len() as f64 / n;
        s.tracks += e.len() as f64 / n;
    }
    Ok(s)
}

fn report(dir: &Path) -> Result<()> {
    let params = read_params(dir)?;
    let plane = Plane { lat0: param(&params, "lat0")?, lon0: param(&params, "lon0")? };
    let gp = GospaParams { c: param(&params, "gospa_c")?, p: param(&params, "gospa_p")? };
    let n = read_csv(&dir.join("eval.csv"))?.len();
    let latlon = |row: Vec<String>, a: usize| -> Result<(usize, Position)> {
        Ok((field(&row, 0)?, Position { lat: field(&row, a)?, lon: field(&row, a + 1)? }))
    };
    let truth = sets(n, read_csv(&dir.join("truth.csv"))?.into_iter().map(|r| latlon(r, 2)))?;
    let caveat = sets(n, read_csv(&dir.join("caveat_tracks.csv"))?.into_iter().map(|r| latlon(r, 1)))?;
    let stonesoup = sets(
        n,
        read_csv(&dir.join("stonesoup_tracks.csv"))?
            .into_iter()
            .map(|row| Ok((field(&row, 0)?, plane.to_position(field(&row, 1)?, field(&row, 2)?)))),
    )?;
    let t_caveat = read_time(&dir.join("caveat_time.txt"))?;
    let t_stonesoup = read_time(&dir.join("stonesoup_time.txt"))?;
    let sc = score(&truth, &caveat, gp)?;
    let ss = score(&truth, &stonesoup, gp)?;
    let vessels = truth.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1) as f64;

    let get = |k: &str| params.get(k).map_or("?", String::as_str);
    println!();
    println!(
        "Caveat vs Stone Soup GNN: seed {}, {} min of the eastern Caribbean scenario in box {} (lat, lon, lat, lon), \
         {} position-only detections (no tips; {}), {} association steps ({} s scans, then sensor)",
        get("seed"),
        get("minutes"),
        get("region"),
        get("detections"),
        get("by_source"),
        get("steps"),
        get("scan_s")
    );
    println!(
        "GOSPA c = {} m, p = {}, alpha = 2, mean over {n} instants every {} s from minute {}; {vessels:.1} detected vessels per instant",
        gp.c,
        gp.p,
        EVAL_EVERY.whole_seconds(),
        WARM_UP.whole_minutes()
    );
    println!();
    println!("| {:<34} | {:>14} | {:>14} |", "", "Caveat", "Stone Soup GNN");
    println!("|{:-<36}|{:->16}|{:->16}|", "", "", "");
    let row = |name: &str, a: String, b: String| println!("| {name:<34} | {a:>14} | {b:>14} |");
    row("mean GOSPA (m)", format!("{:.1}", sc.gospa), format!("{:.1}", ss.gospa));
    let share = |s: &Score, part: f64| {
        let total = s.localisation + s.missed_cost + s.false_cost;
        if total > 0.0 { format!("{:.0} %", 100.0 * part / total) } else { "-".to_owned() }
    };
    row("  GOSPA^2 share: localisation", share(&sc, sc.localisation), share(&ss, ss.localisation));
    row("  GOSPA^2 share: missed", share(&sc, sc.missed_cost), share(&ss, ss.missed_cost));
    row("  GOSPA^2 share: false", share(&sc, sc.false_cost), share(&ss, ss.false_cost));
    let rms =
        |s: &Score| if s.pairs > 0.0 { format!("{:.1}", (s.localisation / s.pairs).sqrt()) } else { "-".to_owned() };
    row("RMS error of assigned tracks (m)", rms(&sc), rms(&ss));
    row("mean confirmed tracks", format!("{:.1}", sc.tracks), format!("{:.1}", ss.tracks));
    row("mean missed vessels", format!("{:.1}", sc.missed), format!("{:.1}", ss.missed));
    row("mean false tracks", format!("{:.1}", sc.false_estimates), format!("{:.1}", ss.false_estimates));
    row("wall time (s)", format!("{t_caveat:.4}"), format!("{t_stonesoup:.2}"));
    println!();
    let ratio = t_stonesoup / t_caveat;
    let gospa_ok = sc.gospa <= ss.gospa;
    println!(
        "target 1, mean GOSPA no worse than Stone Soup: {:.1} m vs {:.1} m -> {}",
        sc.gospa,
        ss.gospa,
        if gospa_ok { "met" } else { "NOT met" }
    );
    println!("target 2, at least 100x faster: {ratio:.0}x -> {}", if ratio >= 100.0 { "met" } else { "NOT met" });
    Ok(())
}
