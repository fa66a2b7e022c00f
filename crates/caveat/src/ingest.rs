//! `caveat ingest`: each file is one all-or-nothing, durable batch.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use caveat_ais::{FeedConfig, FeedDecoder, ReportConverter};
use caveat_core::{IngestContext, PartnerId, Report, ReportIdMint, parse_line};
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

/// Most reports one file may hold: it is validated whole and stored in one
/// transaction, so it must fit in memory. Split larger feeds.
pub(crate) const MAX_FILE_REPORTS: usize = 5_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One JSON report per line (schemas/report.schema.json).
    Ndjson,
    /// An AIS feed: NMEA 0183 !AIVDM/!AIVDO sentences, with or without tag blocks.
    Nmea,
    /// Another Caveat hub's GeoJSON export (its tracks): each track, resting
    /// only on the submitting partner's reports, is stored as one report of its
    /// last position. Only with `--binding`.
    Geojson,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The submitting partner: the originator of every report.
    #[arg(long = "as", value_name = "PARTNER")]
    submitter: PartnerId,
    /// Input format.
    #[arg(long, value_enum, default_value = "ndjson")]
    format: Format,
    /// How far ahead of this machine's clock an observation may be, seconds.
    #[arg(long, default_value_t = 300)]
    max_future_skew: u32,
    /// A labelled export of another Caveat hub (issue 21): its binding data
    /// object (`.bdoj`, the export's `Caveat-Binding` header decoded). The one
    /// file is stored only if the binding verifies with `--signer` over its
    /// exact bytes and its label allows it (docs/labels.md).
    #[arg(long, requires = "signer")]
    binding: Option<PathBuf>,
    /// The exporting hub's public key (C2SP vkey text, or a file holding it: `caveat audit key` there).
    #[arg(long, requires = "binding")]
    signer: Option<String>,
    /// Files to ingest, in order; each is acknowledged on its own line once durable.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Checks a labelled file's binding and label before anything of it is read as reports.
fn check_binding(
    binding: &Path,
    signer: &str,
    file: &Path,
    bytes: &[u8],
    format: Format,
    now: OffsetDateTime,
) -> anyhow::Result<caveat_hub::label::Label> {
    let key = crate::audit::verifier_key(signer, "--signer")?;
    let text = std::fs::read(binding).with_context(|| format!("reading {}", binding.display()))?;
    let b = caveat_hub::label::Binding::parse(&text).with_context(|| format!("{}", binding.display()))?;
    let label = b.verify(&key, bytes).with_context(|| {
        format!("{} is not bound to {} by {}: nothing stored", binding.display(), file.display(), key)
    })?;
    let media = &b.binding_information.metadata_binding.data_reference.media_type;
    let expected = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Geojson => "application/geo+json",
        Format::Nmea => "",
    };
    if media != expected {
        bail!(
            "{}: a labelled file must be an NDJSON or GeoJSON export read with its --format (the binding says {media:?}); nothing stored",
            file.display()
        );
    }
    if label.category("NoExport").is_some() {
        bail!("{}: its label carries NoExport: it may not leave its hub; nothing stored", file.display());
    }
    if let Some(review) = label.review_date_time
        && review <= now
    {
        bail!("{}: its label's review time {review} has passed (the data's not-after): nothing stored", file.display());
    }
    println!(
        "{}: binding verified with {key}; label {} {} (releasable to {})",
        file.display(),
        label.policy(),
        label.classification(),
        label.category("ReleasableTo").map(|v| v.join(" ")).unwrap_or_default()
    );
    Ok(label)
}

pub(crate) async fn run(db: &crate::db::Db, args: Args) -> anyhow::Result<()> {
    let store = crate::open_store(db).await?;
    // Every ingest is in the audit log before it is acknowledged (invariant 5):
    // the hub's ingest stores and audits, as the API's does.
    let hub = caveat_hub::Hub::open(store.clone(), crate::audit_key::load(db, false)?).await?;
    let partner = store
        .partner(&args.submitter)
        .await?
        .with_context(|| format!("unknown partner {}; registered partners come from `caveat init`", args.submitter))?;
    let who = caveat_hub::Actor { partner: partner.id.clone(), user: "operator".parse()? };
    if args.binding.is_some() && args.files.len() != 1 {
        bail!("--binding labels one file: give exactly one");
    }
    if args.format == Format::Geojson && args.binding.is_none() {
        bail!("--format geojson reads another hub's labelled export: give its --binding and --signer");
    }
    for file in &args.files {
        let started = Instant::now();
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let now = OffsetDateTime::now_utc();
        let label = match (&args.binding, &args.signer) {
            (Some(binding), Some(signer)) => Some(check_binding(binding, signer, file, &bytes, args.format, now)?),
            _ => None,
        };
        let mut ctx = IngestContext {
            submitter: &partner,
            now,
            max_future_skew: time::Duration::seconds(i64::from(args.max_future_skew)),
            mint: ReportIdMint::new(unix_millis(now), rand::random()),
        };
        let (mut reports, lines) = match args.format {
            Format::Ndjson => parse_file(file, &bytes, &mut ctx)?,
            Format::Nmea => parse_nmea(file, &bytes, &mut ctx)?,
            Format::Geojson => parse_geojson(file, &bytes, &mut ctx)?,
        };
        // The label is the least of the exported markings and overrides each
        // report's own: an importer must not widen use to a report's marking.
        if let Some(label) = &label {
            for r in &mut reports {
                r.marking = label.narrow(&r.marking);
            }
        }
        let count = reports.len();
        let bar = spinner(format!("{}: writing {count} reports", file.display()));
        let done = hub.ingest(&who, now, caveat_hub::Batch { reports, lines }).await;
        bar.finish_and_clear();
        let receipt = done.map_err(|e| anyhow::anyhow!("{} {e}", file.display()))?.receipt;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "ingested {count} reports from {} as {}: batch {}, seq {}-{}, {secs:.2} s ({:.0} reports/s)",
            file.display(),
            partner.id,
            receipt.batch,
            receipt.first_seq,
            receipt.last_seq,
            count as f64 / secs.max(1e-9),
        );
    }
    Ok(())
}

/// Most features a labelled GeoJSON file may hold.
const MAX_FEATURES: usize = 100_000;

/// Another hub's GeoJSON export to reports: each feature (a track) becomes a
/// report of its position at its last update, with its identity, course and
/// speed, under its combined marking (held to the label by the caller). A
/// track resting on another partner's reports is refused: a hub moves only the
/// submitting partner's own data. The report goes through the same
/// validation as an NDJSON line, so the file is refused whole, naming the
/// feature, or stored whole.
fn parse_geojson(file: &Path, bytes: &[u8], ctx: &mut IngestContext<'_>) -> anyhow::Result<(Vec<Report>, Vec<u64>)> {
    use serde_json::{Map, Value, json};
    let bad =
        |at: String, why: &str| anyhow::anyhow!("{} {at}: {why}; nothing from this file was stored", file.display());
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad("(the document)".into(), &e.to_string()))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(bad("field `type`".into(), "not a GeoJSON FeatureCollection"));
    }
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("field `features`".into(), "missing or not an array"))?;
    if features.len() > MAX_FEATURES {
        return Err(bad("field `features`".into(), &format!("more than {MAX_FEATURES} features; split the export")));
    }
    let submitter = ctx.submitter.id.as_str().to_owned();
    let mut reports = Vec::with_capacity(features.len());
    let mut lines = Vec::with_capacity(features.len());
    for (n, f) in (1u64..).zip(features) {
        let at = |field: &str| format!("feature {n} field `{field}`");
        let p = f
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| bad(at("properties"), "missing or not an object"))?;
        let originators: Vec<&str> = p
            .get("originators")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if originators != [submitter.as_str()] {
            return Err(bad(
                at("properties.originators"),
                &format!(
                    "the track rests on reports of {}: only {submitter}'s own tracks may be imported as {submitter}",
                    originators.join(", ")
                ),
            ));
        }
        let point = f
            .pointer("/geometry/geometries")
            .and_then(Value::as_array)
            .and_then(|g| g.iter().find(|g| g.get("type").and_then(Value::as_str) == Some("Point")))
            .or_else(|| f.get("geometry").filter(|g| g.get("type").and_then(Value::as_str) == Some("Point")))
            .and_then(|g| g.get("coordinates"))
            .and_then(Value::as_array)
            .ok_or_else(|| bad(at("geometry"), "no Point with coordinates"))?;
        let (Some(lon), Some(lat)) = (point.first().and_then(Value::as_f64), point.get(1).and_then(Value::as_f64))
        else {
            return Err(bad(at("geometry"), "the Point's coordinates are not [lon, lat]"));
        };
        let source = p.get("sources").and_then(Value::as_array).and_then(|s| s.first()).cloned().unwrap_or(Value::Null);
        let mut vessel = Map::new();
        if let Some(identity) = p.get("identity").and_then(Value::as_object) {
            for k in
                ["mmsi", "imo", "name", "call_sign", "flag", "vessel_type", "length_m", "engines", "persons_on_board"]
            {
                if let Some(v) = identity.get(k).filter(|v| !v.is_null()) {
                    vessel.insert(k.into(), v.clone());
                }
            }
        }
        // The track's 95 % ellipse is the nearest thing to a report's uncertainty; a track without one is taken as 1 km.
        let uncertainty =
            f.pointer("/properties/uncertainty/semi_major_m").and_then(Value::as_f64).unwrap_or(1_000.0).max(1.0);
        let draft = json!({
            "observed_at": p.get("updated_at").cloned().unwrap_or(Value::Null),
            "position": { "lat": lat, "lon": lon },
            "uncertainty_m": uncertainty,
            "course_deg": p.get("course_deg").cloned().unwrap_or(Value::Null),
            "speed_kn": p.get("speed_kn").cloned().unwrap_or(Value::Null),
            "source": source,
            "vessel": vessel,
            "remarks": format!("imported from another hub's track {}", f.get("id").and_then(Value::as_str).unwrap_or("?")),
            "marking": p.get("marking").cloned().unwrap_or(Value::Null),
        });
        let line = serde_json::to_vec(&draft).map_err(|e| bad(at("properties"), &e.to_string()))?;
        let report = parse_line(&line, ctx).map_err(|e| bad(format!("feature {n}"), &e.to_string()))?;
        reports.push(report);
        lines.push(n);
    }
    Ok((reports, lines))
}

fn unix_millis(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// Validates a whole NDJSON file; returns its reports and each one's line number.
fn parse_file(file: &Path, bytes: &[u8], ctx: &mut IngestContext<'_>) -> anyhow::Result<(Vec<Report>, Vec<u64>)> {
    let bar = progress(file, bytes.len() as u64);
    let mut reports = Vec::new();
    let mut lines = Vec::new();
    let mut seen = HashMap::new();
    let mut offset = 0u64;
    for (line_no, line) in (1u64..).zip(bytes.split(|b| *b == b'\n')) {
        offset += line.len() as u64 + 1;
        if line_no % 4096 == 0 {
            bar.set_position(offset);
            bar.set_message(format!("{} reports", reports.len()));
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if reports.len() == MAX_FILE_REPORTS {
            bar.finish_and_clear();
            bail!("{}: more than {MAX_FILE_REPORTS} reports; split the file; nothing stored", file.display());
        }
        let report = match parse_line(line, ctx) {
            Ok(r) => r,
            Err(e) => {
                bar.finish_and_clear();
                bail!("{} line {line_no}: {e}; nothing from this file was stored", file.display());
            }
        };
        if let Some(first) = seen.insert(report.id, line_no) {
            bar.finish_and_clear();
            bail!(
                "{} line {line_no}: field `id`: {} already used on line {first}; nothing from this file was stored",
                file.display(),
                report.id
            );
        }
        reports.push(report);
        lines.push(line_no);
    }
    bar.finish_and_clear();
    if reports.is_empty() {
        bail!("{}: no reports in the file; nothing stored", file.display());
    }
    Ok((reports, lines))
}

/// Decodes an AIS feed into reports. Damaged sentences are normal in a feed:
/// they are counted in the summary, not fatal; the reports that come out are
/// one all-or-nothing batch like any other.
fn parse_nmea(file: &Path, bytes: &[u8], ctx: &mut IngestContext<'_>) -> anyhow::Result<(Vec<Report>, Vec<u64>)> {
    let bar = progress(file, bytes.len() as u64);
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let mut converter = ReportConverter::new();
    let mut reports = Vec::new();
    let mut lines = Vec::new();
    let mut refused = 0u64;
    let mut offset = 0u64;
    let received = ctx.now;
    for line in bytes.split(|b| *b == b'\n') {
        offset += line.len() as u64 + 1;
        let Ok(Some(decoded)) = feed.push_line(line) else { continue };
        if decoded.line % 4096 == 0 {
            bar.set_position(offset);
            bar.set_message(format!("{} reports", reports.len()));
        }
        match converter.convert(&decoded, received, ctx) {
            Ok(Some(report)) => {
                if reports.len() == MAX_FILE_REPORTS {
                    bar.finish_and_clear();
                    bail!("{}: more than {MAX_FILE_REPORTS} reports; split the file; nothing stored", file.display());
                }
                reports.push(report);
                lines.push(decoded.line);
            }
            Ok(None) => {}
            Err(_) => refused += 1,
        }
    }
    let stats = feed.finish();
    bar.finish_and_clear();
    eprintln!("{}: {stats}; {refused} positions refused by validation", file.display());
    if reports.is_empty() {
        bail!("{}: no position reports in the feed; nothing stored", file.display());
    }
    Ok((reports, lines))
}

/// A byte-progress bar with a rate, on a terminal only (pipes and logs get the summary line).
fn progress(file: &Path, len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(file.display().to_string());
    bar
}

fn spinner(msg: String) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(msg);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
