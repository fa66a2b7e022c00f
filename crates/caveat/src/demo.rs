//! `caveat serve --demo`: the eastern Caribbean scenario of caveat-sim (real
//! vessels from the MarineCadastre excerpt shipped in caveat-sim, dark go-fasts,
//! partners' radars, patrol aircraft, cutters, AIS and tips), moved so that it
//! ends two hours from now: the first two hours are stored at start, the rest
//! arrives live, as it would from partners' systems.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use caveat_core::{PartnerId, Report, UserId};
use caveat_hub::{Actor, Batch, Hub};
use caveat_sim::{Fleet, Scenario, ScenarioConfig, SimReport};
use time::{Duration, OffsetDateTime};

/// How much of the scenario is already history when the hub starts.
const HISTORY: Duration = Duration::hours(2);

/// The scenario's partners (their default markings) and its reports, moved in time.
pub(crate) fn scenario(seed: u64, now: OffsetDateTime) -> anyhow::Result<(Vec<caveat_core::Partner>, Vec<SimReport>)> {
    let fleet = Fleet::eastern_caribbean().context("loading the shipped Caribbean excerpt")?;
    let config = ScenarioConfig::eastern_caribbean(seed);
    let shift = (now - HISTORY) - config.start;
    let scenario = Scenario::generate(config, &fleet).context("building the demo scenario")?;
    let partners = scenario.partners().to_vec();
    let mut reports: Vec<SimReport> = scenario
        .reports()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.report.observed_at += shift;
            s.report.marking.not_after = s.report.marking.not_after.map(|t| t + shift);
            s.arrival += shift;
            s
        })
        .collect();
    reports.sort_by_key(|s| (s.arrival, s.report.id));
    Ok((partners, reports))
}

/// Stores reports as per-originator batches, through the hub's ingest like an API submission.
async fn store_batch(hub: &Hub, reports: Vec<Report>, now: OffsetDateTime) -> anyhow::Result<usize> {
    let mut by: BTreeMap<PartnerId, Vec<Report>> = BTreeMap::new();
    for r in reports {
        by.entry(r.originator.clone()).or_default().push(r);
    }
    let mut n = 0;
    let feed: UserId = "demo-feed".parse()?;
    for (partner, batch) in by {
        n += batch.len();
        hub.ingest(&Actor { partner, user: feed.clone() }, now, Batch::numbered(batch)).await?;
    }
    Ok(n)
}

/// Stores the scenario's history now and spawns the live replay of the rest.
pub(crate) async fn start(hub: Hub, reports: Vec<SimReport>) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let split = reports.partition_point(|s| s.arrival <= now);
    let mut reports = reports;
    let live = reports.split_off(split);
    let history: Vec<Report> = reports.into_iter().map(|s| s.report).collect();
    let n = store_batch(&hub, history, now).await?;
    eprintln!("demo: {n} reports of the last two hours stored; {} more arrive live over two hours", live.len());
    let hub = Arc::new(hub);
    tokio::spawn(async move {
        let mut pending = live.into_iter().peekable();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        while pending.peek().is_some() {
            tick.tick().await;
            let now = OffsetDateTime::now_utc();
            let mut due = Vec::new();
            while let Some(s) = pending.next_if(|s| s.arrival <= now) {
                due.push(s.report);
            }
            if due.is_empty() {
                continue;
            }
            if let Err(e) = store_batch(&hub, due, now).await {
                eprintln!("demo: live replay stopped: {e:#}");
            }
        }
    });
    Ok(())
}
