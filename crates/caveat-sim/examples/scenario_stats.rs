//! Prints what a scenario holds and how long it took to build:
//! `cargo run --release -p caveat-sim --example scenario_stats -- [demo|scale] [seed] [vessels] [reports_per_minute] [minutes]`.

use std::collections::BTreeMap;
use std::time::Instant;

use caveat_sim::{Fleet, Origin, ScenarioConfig, ScenarioPlan, VesselKind};

fn main() -> Result<(), caveat_sim::Error> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let mode = args.get(1).map_or("demo", String::as_str);
    let seed = arg(2, 1);
    let config = if mode == "scale" {
        let mut c = ScenarioConfig::scale(
            seed,
            usize::try_from(arg(3, 10_000)).unwrap_or(10_000),
            usize::try_from(arg(4, 100_000)).unwrap_or(100_000),
        );
        c.duration = time::Duration::minutes(i64::try_from(arg(5, 10)).unwrap_or(10));
        c
    } else {
        let mut c = ScenarioConfig::eastern_caribbean(seed);
        c.duration = time::Duration::minutes(i64::try_from(arg(5, 120)).unwrap_or(120));
        c
    };
    let minutes = config.duration.whole_minutes().max(1);
    let t0 = Instant::now();
    let fleet = Fleet::eastern_caribbean()?;
    let plan = ScenarioPlan::new(config, &fleet)?;
    let planned = t0.elapsed();
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut n, mut clutter, mut late, mut out_of_order) = (0usize, 0usize, 0usize, 0usize);
    let mut max_obs = None;
    let dark: Vec<_> =
        plan.truth().vessels().iter().filter(|v| v.kind == VesselKind::Dark).map(|v| (v.id, v.habit)).collect();
    let mut dark_hits: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in plan.stream() {
        if let Some(v) = r.origin.vessel()
            && let Some((_, habit)) = dark.iter().find(|d| d.0 == v)
        {
            *dark_hits.entry(format!("{v} {habit:?}")).or_default().entry(r.report.source.to_string()).or_default() +=
                1;
        }
        n += 1;
        *per.entry((r.report.originator.to_string(), r.report.source.to_string())).or_default() += 1;
        if r.origin == Origin::Clutter {
            clutter += 1;
        }
        if r.arrival - r.report.observed_at > time::Duration::minutes(10) {
            late += 1;
        }
        if max_obs.is_some_and(|m| r.report.observed_at < m) {
            out_of_order += 1;
        }
        max_obs = max_obs.max(Some(r.report.observed_at));
    }
    let total = t0.elapsed();
    println!("mode {mode} seed {seed}: {} vessels, {n} reports over {minutes} min", plan.truth().vessels().len());
    println!(
        "plan {:.3} s, plan + stream {:.3} s, {:.0} reports/s, {:.0} reports per scenario minute",
        planned.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        n as f64 / minutes as f64
    );
    println!(
        "clutter {clutter}, more than 10 min late {late}, observed earlier than an already delivered report {out_of_order}"
    );
    for ((p, s), k) in per {
        println!("  {p:9} {s:14} {k}");
    }
    for (v, hits) in dark_hits {
        println!("  dark {v}: {hits:?}");
    }
    Ok(())
}
