//! `caveat scenario --seed N --out DIR`: a caveat-sim scenario on disk, per
//! partner NDJSON reports plus the truth, for replays and benchmarks.

use std::path::PathBuf;

use anyhow::Context;
use caveat_sim::{Fleet, Scenario, ScenarioConfig};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seed: the same seed gives the same scenario, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (created).
    #[arg(long)]
    out: PathBuf,
    /// Scenario length, hours.
    #[arg(long, default_value_t = 4)]
    hours: i64,
    /// Number of dark (non-cooperative) go-fast vessels.
    #[arg(long)]
    dark: Option<usize>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let fleet = Fleet::eastern_caribbean().context("loading the Caribbean excerpt")?;
    let mut config = ScenarioConfig::eastern_caribbean(args.seed);
    config.duration = time::Duration::hours(args.hours);
    if let Some(d) = args.dark {
        config.dark_vessels = d;
    }
    let scenario = Scenario::generate(config, &fleet).context("generating the scenario")?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    scenario.write_to_dir(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "scenario seed {}: {} reports from {} partners, {} vessels, written to {}",
        args.seed,
        scenario.reports().len(),
        scenario.partners().len(),
        scenario.truth().vessels().len(),
        args.out.display()
    );
    Ok(())
}
