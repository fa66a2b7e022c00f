//! Live AIS feeds into `caveat serve` (issue 21): NMEA 0183 `!AIVDM`/`!AIVDO`
//! lines over UDP, over TCP connections the hub accepts, and over a TCP
//! connection the hub makes to a partner's receiver or multiplexer (with
//! reconnection and exponential backoff).
//!
//! Each feed belongs to one partner: its reports are that partner's, under its
//! AIS marking, stored through [`caveat_hub::Hub::ingest`] in small batches (by
//! count or age, whichever comes first), so each batch is durable and audited
//! like any other. Decoding is caveat-ais's, as for `caveat ingest --format
//! nmea` (tag blocks, Gatehouse times, the `s:` station kept on each report).
//!
//! What a feed may cost is bounded: lines longer than `max_line_bytes` are
//! skipped and counted; a UDP feed's queue drops its oldest datagrams when full
//! (counted), a TCP feed's queue stops reading its sockets (the sender's TCP
//! window closes); a listening TCP feed accepts at most `max_connections`.
//! Nothing a feed sends is fatal: damaged lines are counted by reason in
//! `/metrics` ([`metrics`]).
//!
//! - [`transport`]: sockets to lines (framing, limits, reconnection).
//! - [`commit`]: lines to decoded reports to committed batches.

mod commit;
mod metrics;
mod transport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use caveat_core::PartnerId;
use caveat_hub::Hub;
use serde::Deserialize;

pub(crate) use metrics::Feeds;

/// How a feed's bytes arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Datagrams sent to this address (one or more lines each).
    Udp(SocketAddr),
    /// TCP connections accepted on this address (each a line stream).
    TcpListen(SocketAddr),
    /// A TCP connection the hub keeps open to this `host:port`.
    TcpConnect(String),
}

impl Transport {
    fn kind(&self) -> &'static str {
        match self {
            Transport::Udp(_) => "udp",
            Transport::TcpListen(_) => "tcp",
            Transport::TcpConnect(_) => "connect",
        }
    }
}

/// One feed: its name (in `/metrics` and the audit log's user), its partner, its transport.
#[derive(Debug, Clone)]
pub(crate) struct FeedSpec {
    pub(crate) name: String,
    pub(crate) partner: PartnerId,
    pub(crate) transport: Transport,
}

/// Limits and batching shared by every feed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FeedLimits {
    /// A batch is committed once it holds this many reports...
    pub(crate) batch_reports: usize,
    /// ...or once its oldest report has waited this long.
    pub(crate) batch_age: Duration,
    /// Chunks (datagrams, or reads of whole lines) queued before decoding.
    pub(crate) queue: usize,
    /// Longest line accepted, bytes without the line ending.
    pub(crate) max_line_bytes: usize,
    /// Most TCP connections one listening feed accepts at once.
    pub(crate) max_connections: usize,
    /// A connection (either direction) silent this long is closed.
    pub(crate) idle_timeout: Duration,
    /// First and longest wait before connecting out again.
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    /// How far ahead of the hub's clock a tag block time may be.
    pub(crate) max_future_skew: time::Duration,
}

impl Default for FeedLimits {
    /// 500 reports or 250 ms: a regional feed of a few hundred sentences a
    /// second commits about four times a second, well within the 1 s target,
    /// and a flood commits in batches big enough to keep up (issue 21's bench).
    /// 512 bytes a line: 82 characters of sentence plus a tag block and a
    /// logger's prefix fit many times over.
    fn default() -> Self {
        FeedLimits {
            batch_reports: 500,
            batch_age: Duration::from_millis(250),
            queue: 4096,
            max_line_bytes: 512,
            max_connections: 64,
            idle_timeout: Duration::from_mins(5),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_mins(1),
            max_future_skew: time::Duration::minutes(5),
        }
    }
}

/// `[feeds]` in `caveat serve --config`: shared settings and `[[feeds.feed]]` entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedsConfig {
    /// Reports per committed batch at most (`--feed-batch-reports`).
    batch_reports: Option<usize>,
    /// Milliseconds a report may wait for its batch (`--feed-batch-ms`).
    batch_ms: Option<u64>,
    /// Queued chunks per feed.
    queue: Option<usize>,
    /// Longest line, bytes.
    max_line_bytes: Option<usize>,
    /// Connections per listening TCP feed.
    max_connections: Option<usize>,
    /// Seconds a silent connection is kept.
    idle_timeout_s: Option<u64>,
    /// The feeds.
    #[serde(default)]
    feed: Vec<FeedEntry>,
}

/// `[[feeds.feed]]`: exactly one of `udp`, `tcp`, `connect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedEntry {
    name: Option<String>,
    partner: PartnerId,
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    connect: Option<String>,
}

/// The feed flags of `caveat serve`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct FeedArgs {
    /// Listen for AIS NMEA datagrams as a partner: `PARTNER=ADDR`, e.g.
    /// `GBR=0.0.0.0:10110` (repeatable).
    #[arg(long = "feed-udp", value_name = "PARTNER=ADDR")]
    udp: Vec<String>,
    /// Accept TCP connections streaming AIS NMEA lines as a partner: `PARTNER=ADDR` (repeatable).
    #[arg(long = "feed-tcp", value_name = "PARTNER=ADDR")]
    tcp: Vec<String>,
    /// Connect to a TCP AIS NMEA source as a partner, reconnecting with
    /// backoff: `PARTNER=HOST:PORT` (repeatable).
    #[arg(long = "feed-connect", value_name = "PARTNER=HOST:PORT")]
    connect: Vec<String>,
    /// Commit a feed's batch once it holds this many reports [default: 500].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=50_000))]
    feed_batch_reports: Option<u64>,
    /// ...or once its oldest report has waited this many milliseconds [default: 250].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    feed_batch_ms: Option<u64>,
}

/// The feeds and limits that flags and the configuration file ask for.
pub(crate) fn specs(args: &FeedArgs, config: Option<&FeedsConfig>) -> anyhow::Result<(Vec<FeedSpec>, FeedLimits)> {
    let d = FeedLimits::default();
    let empty = FeedsConfig::default();
    let c = config.unwrap_or(&empty);
    let at_least_1 = |v: Option<u64>, name: &str| -> anyhow::Result<Option<u64>> {
        match v {
            Some(0) => bail!("feeds: {name} must be at least 1"),
            other => Ok(other),
        }
    };
    let as_u64 = |v: Option<usize>| v.map(|n| n as u64);
    let batch_reports = at_least_1(args.feed_batch_reports.or(as_u64(c.batch_reports)), "batch_reports")?;
    let batch_ms = at_least_1(args.feed_batch_ms.or(c.batch_ms), "batch_ms")?;
    let limits = FeedLimits {
        batch_reports: batch_reports
            .map_or(Ok(d.batch_reports), usize::try_from)
            .context("feeds: batch_reports is too large")?
            .min(50_000),
        batch_age: batch_ms.map_or(d.batch_age, Duration::from_millis),
        queue: at_least_1(as_u64(c.queue), "queue")?.map_or(d.queue, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        max_line_bytes: at_least_1(as_u64(c.max_line_bytes), "max_line_bytes")?
            .map_or(d.max_line_bytes, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        max_connections: at_least_1(as_u64(c.max_connections), "max_connections")?
            .map_or(d.max_connections, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        idle_timeout: at_least_1(c.idle_timeout_s, "idle_timeout_s")?.map_or(d.idle_timeout, Duration::from_secs),
        ..d
    };
    let mut out = Vec::new();
    let flag = |spec: &str, flag: &str| -> anyhow::Result<(PartnerId, String)> {
        let (p, addr) = spec.split_once('=').with_context(|| format!("--{flag} {spec}: expected PARTNER=ADDR"))?;
        Ok((p.parse().with_context(|| format!("--{flag} {spec}"))?, addr.to_owned()))
    };
    for s in &args.udp {
        let (partner, a) = flag(s, "feed-udp")?;
        let addr = a.parse().with_context(|| format!("--feed-udp {s}: not an IP address and port"))?;
        out.push(FeedSpec { name: String::new(), partner, transport: Transport::Udp(addr) });
    }
    for s in &args.tcp {
        let (partner, a) = flag(s, "feed-tcp")?;
        let addr = a.parse().with_context(|| format!("--feed-tcp {s}: not an IP address and port"))?;
        out.push(FeedSpec { name: String::new(), partner, transport: Transport::TcpListen(addr) });
    }
    for s in &args.connect {
        let (partner, a) = flag(s, "feed-connect")?;
        out.push(FeedSpec { name: String::new(), partner, transport: Transport::TcpConnect(checked_host_port(&a)?) });
    }
    for (i, e) in c.feed.iter().enumerate() {
        let transport = match (&e.udp, &e.tcp, &e.connect) {
            (Some(a), None, None) => Transport::Udp(*a),
            (None, Some(a), None) => Transport::TcpListen(*a),
            (None, None, Some(a)) => Transport::TcpConnect(checked_host_port(a)?),
            _ => bail!("[[feeds.feed]] number {}: give exactly one of udp, tcp, connect", i + 1),
        };
        out.push(FeedSpec { name: e.name.clone().unwrap_or_default(), partner: e.partner.clone(), transport });
    }
    for f in &mut out {
        if f.name.is_empty() {
            let addr = match &f.transport {
                Transport::Udp(a) | Transport::TcpListen(a) => a.to_string(),
                Transport::TcpConnect(a) => a.clone(),
            };
            f.name = format!("{}-{}", f.transport.kind(), addr);
        }
        let ok = (1..=48).contains(&f.name.len())
            && f.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:[]".contains(&b));
        if !ok {
            bail!("feed name {:?}: 1-48 letters, digits and . _ - : [ ]", f.name);
        }
    }
    let mut names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w.first() == w.get(1)) {
        bail!("two feeds are named {:?}; name them apart", w.first().unwrap_or(&""));
    }
    Ok((out, limits))
}

fn checked_host_port(a: &str) -> anyhow::Result<String> {
    match a.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(a.to_owned()),
        _ => bail!("feed connect address {a:?}: expected HOST:PORT"),
    }
}

/// Starts every feed: binds its sockets (so a bad address fails the start),
/// checks its partner exists, and spawns its tasks. The returned counters are
/// what `/metrics` shows.
pub(crate) async fn start(hub: &Hub, specs: Vec<FeedSpec>, limits: FeedLimits) -> anyhow::Result<Arc<Feeds>> {
    let feeds = Arc::new(Feeds::default());
    for spec in specs {
        let partner = hub
            .store()
            .partner(&spec.partner)
            .await?
            .with_context(|| format!("feed {}: unknown partner {}", spec.name, spec.partner))?;
        let counters = feeds.add(&spec.name, &spec.partner);
        let queues = commit::start(hub.clone(), &spec.name, partner, limits, counters.clone())?;
        transport::start(&spec, limits, queues, counters).await.with_context(|| format!("feed {}", spec.name))?;
        eprintln!("caveat feed {} ({}) for {}", spec.name, spec.transport.kind(), spec.partner);
    }
    Ok(feeds)
}
