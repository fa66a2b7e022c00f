//! `caveat reports`: list or count what the store holds (an operator's view:
//! this reads the store directly and is not subject to markings; data
//! requests from partners go through the server and policy).

use std::io::Write as _;

use anyhow::Context;
use caveat_core::{BoundingBox, PartnerId, SourceKind, TimeWindow};
use caveat_store::{ReportQuery, Superseded};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only reports by this originator.
    #[arg(long)]
    originator: Option<PartnerId>,
    /// Only this source kind (ais, coastal-radar, mpa-radar, mpa-eo, vessel, tip).
    #[arg(long)]
    source: Option<SourceKind>,
    /// Area as min_lon,min_lat,max_lon,max_lat.
    #[arg(long, allow_hyphen_values = true)]
    bbox: Option<BoundingBox>,
    /// Observed at or after (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    from: Option<OffsetDateTime>,
    /// Observed before (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    to: Option<OffsetDateTime>,
    /// Include reports that were corrected by a later one.
    #[arg(long)]
    include_superseded: bool,
    /// Only print how many match.
    #[arg(long)]
    count: bool,
    /// Print NDJSON (one stored report per line) instead of a table.
    #[arg(long)]
    json: bool,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("not an RFC 3339 time ({e}); e.g. 2026-11-23T12:00:00Z"))
}

pub(crate) async fn run(db: &crate::db::Db, args: Args) -> anyhow::Result<()> {
    let store = crate::open_store(db).await?;
    let query = ReportQuery {
        window: TimeWindow { from: args.from, to: args.to },
        bbox: args.bbox,
        originator: args.originator,
        source: args.source,
        superseded: if args.include_superseded { Superseded::Include } else { Superseded::Hide },
        after_seq: None,
        limit: Some(args.limit),
    };
    if args.count {
        println!("{}", store.count_reports(&query).await?);
        return Ok(());
    }
    let rows = store.reports(&query).await?;
    // Written, not printed: a reader that stops early (`| head`) is an I/O
    // error here, which `main` treats as the end, where `println!` would panic.
    let mut out = std::io::stdout().lock();
    if args.json {
        for r in rows {
            writeln!(out, "{}", serde_json::to_string(&r.report).context("encoding a report")?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:>6}  {:36}  {:10}  {:20}  {:>9}  {:>10}  {:13}  VESSEL",
        "SEQ", "ID", "ORIGINATOR", "OBSERVED", "LAT", "LON", "SOURCE"
    )?;
    for s in rows {
        let r = &s.report;
        let when = r.observed_at.format(&Rfc3339).unwrap_or_default();
        let vessel = [
            r.vessel.name.clone(),
            r.vessel.mmsi.map(|m| format!("MMSI {m}")),
            r.vessel.vessel_type.and_then(|t| serde_json::to_value(t).ok()).and_then(|v| v.as_str().map(str::to_owned)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        writeln!(
            out,
            "{:>6}  {:36}  {:10}  {:20}  {:>9.4}  {:>10.4}  {:13}  {}",
            s.seq,
            r.id.to_string(),
            r.originator.as_str(),
            when,
            r.position.lat,
            r.position.lon,
            r.source.as_str(),
            vessel
        )?;
    }
    Ok(())
}
