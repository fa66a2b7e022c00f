//! `caveat serve`: the hub's HTTP API and web COP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use caveat_core::{Role, User};
use caveat_server::{AppState, DemoUser, Limits};
use caveat_store::Store;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Configuration file (TOML); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Load the demonstration picture: partners, demo users, and a live scenario.
    #[arg(long)]
    demo: bool,
    /// With --demo: store and replay none of these originators' reports (repeatable):
    /// their own node holds and releases them (issue 17, `scripts/demo`).
    #[arg(long, requires = "demo")]
    demo_without: Vec<caveat_core::PartnerId>,
    /// With --demo: store and replay only these originators' reports (repeatable): a partner's node.
    #[arg(long, requires = "demo", conflicts_with = "demo_without")]
    demo_only: Vec<caveat_core::PartnerId>,
    /// Serve HTTPS with this PEM certificate chain.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: accept only clients with a certificate issued by these PEM CA certificates.
    #[arg(long)]
    client_ca: Option<PathBuf>,
    /// Serve the operator's `/metrics` (Prometheus text) on this address, apart
    /// from the partners' API, which never serves it. Bind it to a loopback or
    /// management address: the counters are hub-wide.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Most connections open at once [default: 1024]. When all are taken, a new
    /// connection takes the slot of the one that has waited longest without a
    /// request; when every one is answering a request, it is refused (plain
    /// HTTP: 503 with Retry-After; TLS: closed).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// Seconds a client has to send complete request headers, counted from the
    /// connection's start and again while a kept-alive connection waits for its
    /// next request; also the TLS handshake's limit [default: 10].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_s: Option<u64>,
    /// Seconds a request body has, after its headers, to arrive whole; a late
    /// one is answered 408 and its connection closed [default: 30].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_s: Option<u64>,
    /// Seconds a connection may move no byte either way before it is closed
    /// (idle HTTP/2, clients that stop reading, vanished peers) [default: 60].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_s: Option<u64>,
    /// Largest request body in bytes; a larger declared Content-Length is
    /// answered 413 before the body is read [default: 16777216].
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Seconds a view (one partner, purpose and case) is kept in memory after
    /// its last request; the next request builds it again [default: 600].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    view_idle_s: Option<u64>,
    /// Most views kept in memory; past it the least recently used is dropped [default: 256].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_views: Option<u64>,
    /// Most memory, in MiB, that the views may hold together (an estimate of
    /// their pictures, tracks and decisions); past it the least recently used
    /// are dropped [default: 1024].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    view_memory_mb: Option<u64>,
    /// Live AIS feeds (issue 21).
    #[command(flatten)]
    feeds: crate::feed::FeedArgs,
    /// The CoT stream for TAK clients (issue 21).
    #[command(flatten)]
    cot: crate::cot::CotArgs,
}

/// `caveat serve --config FILE`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Listen address, default 127.0.0.1:8080.
    listen: Option<SocketAddr>,
    /// Largest request body, bytes.
    max_body_bytes: Option<usize>,
    /// Most reports in one submitted batch.
    max_batch_reports: Option<usize>,
    /// Address of the operator's `/metrics` (see `--metrics-listen`).
    metrics_listen: Option<SocketAddr>,
    /// Most connections open at once (`--max-connections`).
    max_connections: Option<u64>,
    /// Seconds to send complete request headers (`--header-timeout-s`).
    header_timeout_s: Option<u64>,
    /// Seconds for a request body to arrive whole (`--body-timeout-s`).
    body_timeout_s: Option<u64>,
    /// Seconds a connection may be silent both ways (`--idle-timeout-s`).
    idle_timeout_s: Option<u64>,
    /// Seconds an unused view is kept (`--view-idle-s`).
    view_idle_s: Option<u64>,
    /// Most views kept (`--max-views`).
    max_views: Option<u64>,
    /// MiB the views may hold (`--view-memory-mb`).
    view_memory_mb: Option<u64>,
    /// TLS files (`[tls] cert, key, client_ca`).
    #[serde(default)]
    tls: crate::tls::TlsFiles,
    /// `[node]`: serve the hub's release requests as this partner's node (issue 17).
    node: Option<crate::node::NodeConfig>,
    /// `[federation]`: ask these partner nodes for every view (issue 17).
    federation: Option<crate::node::FederationConfig>,
    /// `[feeds]` and `[[feeds.feed]]`: live AIS feeds (`--feed-udp` and the like).
    feeds: Option<crate::feed::FeedsConfig>,
    /// `[cot]`: the CoT stream for TAK clients (`--cot-listen`).
    cot: Option<crate::cot::CotConfig>,
    /// `[labels]`: the STANAG 4774 labelling of exports.
    labels: Option<LabelsConfig>,
    /// `[[witnesses]]`: ask these witnesses to cosign checkpoints (issue 18).
    #[serde(default)]
    witnesses: Vec<crate::witness::WitnessEntry>,
}

/// `[labels]`: how exports are labelled (docs/labels.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelsConfig {
    /// The deployment's 4774 policy identifier, e.g. `urn:example:caveat:jiatfs-2026`.
    policy: String,
    /// Classifications, lowest first.
    classifications: Vec<String>,
    /// The classification of a partner not listed in `partners` (default: the lowest).
    default: Option<String>,
    /// Each originator's classification, `GBR = "RESTRICTED"`.
    #[serde(default)]
    partners: std::collections::BTreeMap<caveat_core::PartnerId, String>,
}

impl LabelsConfig {
    fn policy(&self) -> anyhow::Result<caveat_hub::label::LabelPolicy> {
        let known = |c: &String| self.classifications.contains(c);
        let default = self.default.clone().or_else(|| self.classifications.first().cloned());
        let Some(default) = default.filter(known) else {
            anyhow::bail!("[labels]: default must be one of classifications (and classifications not empty)");
        };
        if let Some((p, c)) = self.partners.iter().find(|(_, c)| !known(c)) {
            anyhow::bail!("[labels] partners.{p} = {c:?}: not one of classifications");
        }
        Ok(caveat_hub::label::LabelPolicy {
            policy: self.policy.clone(),
            classifications: self.classifications.clone(),
            partners: self.partners.clone(),
            default,
        })
    }
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How long and how many: what slow clients may hold.
#[derive(Debug, Clone, Copy)]
struct Transport {
    max_connections: usize,
    header_timeout: Duration,
    idle_timeout: Duration,
}

const DEFAULT_MAX_CONNECTIONS: u64 = 1024;
const DEFAULT_HEADER_TIMEOUT_S: u64 = 10;
const DEFAULT_IDLE_TIMEOUT_S: u64 = 60;

/// A flag, else its configuration key, else the default; at least 1 (a
/// zero would refuse everything or time out at once, never what is meant).
fn positive(flag: Option<u64>, key: Option<u64>, default: u64, name: &str) -> anyhow::Result<u64> {
    let v = flag.or(key).unwrap_or(default);
    if v == 0 {
        anyhow::bail!("{name} must be at least 1");
    }
    Ok(v)
}

fn seconds(flag: Option<u64>, key: Option<u64>, default: u64, name: &str) -> anyhow::Result<Duration> {
    positive(flag, key, default, name).map(Duration::from_secs)
}

pub(crate) async fn run(db: &crate::db::Db, args: Args) -> anyhow::Result<()> {
    let config: Config = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("reading configuration {}", p.display()))?
        }
        None => Config::default(),
    };
    let listen = match args.listen.or(config.listen) {
        Some(a) => a,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let defaults = Limits::default();
    let limits = Limits {
        max_body_bytes: args.max_body_bytes.or(config.max_body_bytes).unwrap_or(defaults.max_body_bytes),
        max_batch_reports: config.max_batch_reports.unwrap_or(defaults.max_batch_reports),
        body_timeout: seconds(
            args.body_timeout_s,
            config.body_timeout_s,
            defaults.body_timeout.as_secs(),
            "body_timeout_s",
        )?,
        view_idle: seconds(args.view_idle_s, config.view_idle_s, defaults.view_idle.as_secs(), "view_idle_s")?,
        max_views: usize::try_from(positive(args.max_views, config.max_views, defaults.max_views as u64, "max_views")?)
            .context("max_views is too large")?,
        view_memory_bytes: positive(
            args.view_memory_mb,
            config.view_memory_mb,
            (defaults.view_memory_bytes >> 20) as u64,
            "view_memory_mb",
        )?
        .checked_mul(1 << 20)
        .and_then(|b| usize::try_from(b).ok())
        .context("view_memory_mb is too large")?,
        ..defaults
    };
    let transport = Transport {
        max_connections: usize::try_from(positive(
            args.max_connections,
            config.max_connections,
            DEFAULT_MAX_CONNECTIONS,
            "max_connections",
        )?)
        .context("max_connections is too large")?,
        header_timeout: seconds(
            args.header_timeout_s,
            config.header_timeout_s,
            DEFAULT_HEADER_TIMEOUT_S,
            "header_timeout_s",
        )?,
        idle_timeout: seconds(args.idle_timeout_s, config.idle_timeout_s, DEFAULT_IDLE_TIMEOUT_S, "idle_timeout_s")?,
    };
    if !args.demo && !db.exists() {
        anyhow::bail!("no hub database at {db}; run `caveat init` first (or `caveat serve --demo`)");
    }
    let store = db.open(args.demo).await?;
    let key = crate::audit_key::load(db, args.demo)?;
    let mut state = AppState::open(store.clone(), key).await?.with_limits(limits);
    let mut demo_reports = None;
    if args.demo {
        let (partners, mut reports) = crate::demo::scenario(1, OffsetDateTime::now_utc())?;
        reports.retain(|s| {
            let o = &s.report.originator;
            !args.demo_without.contains(o) && (args.demo_only.is_empty() || args.demo_only.contains(o))
        });
        for p in &partners {
            store.put_partner(p).await?;
        }
        demo_reports = Some(reports);
        let users = demo_setup(store.as_ref()).await?;
        eprintln!("demo users (token per user; the web page offers them too):");
        for u in &users {
            eprintln!("  {:16} {:9} {}", u.user.as_str(), u.partner.as_str(), u.token);
        }
        state = state.with_demo_users(users);
    }
    let tls_files = crate::tls::TlsFiles {
        cert: args.tls_cert.or(config.tls.cert),
        key: args.tls_key.or(config.tls.key),
        client_ca: args.client_ca.or(config.tls.client_ca),
    };
    let tls = crate::tls::server_config(&tls_files)?;
    if let Some(f) = &config.federation {
        state.hub().federate(crate::node::federation(f)?);
    }
    if !config.witnesses.is_empty() {
        state.hub().witness_with(crate::witness::witnesses(&config.witnesses)?);
    }
    if let Some(n) = &config.node {
        crate::node::start_node(state.hub().clone(), db, n, args.demo).await?;
    }
    if let Some(reports) = demo_reports {
        crate::demo::start(state.hub().clone(), reports).await?;
    }
    if let Some(l) = &config.labels {
        state.hub().label_with(l.policy()?);
    }
    let (cot_plain, cot_limits) = crate::cot::spec(&args.cot, config.cot.as_ref())?;
    let cot_tls = crate::cot::tls_spec(config.cot.as_ref())?;
    if cot_plain.is_some() || cot_tls.is_some() {
        let counters = crate::cot::start(state.hub(), cot_plain, cot_tls, cot_limits).await?;
        state = state.with_metrics_source(counters);
    }
    let (feeds, feed_limits) = crate::feed::specs(&args.feeds, config.feeds.as_ref())?;
    if !feeds.is_empty() {
        let counters = crate::feed::start(state.hub(), feeds, feed_limits).await?;
        state = state.with_metrics_source(counters);
    }
    if let Some(addr) = args.metrics_listen.or(config.metrics_listen) {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening for metrics on {addr}"))?;
        eprintln!("caveat metrics on http://{addr}/metrics");
        let ops = caveat_server::operator_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, ops).await {
                eprintln!("caveat: metrics listener stopped: {e}");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let listener = listener.into_std().context("listening")?;
    let slots = crate::slots::Slots::new(transport.max_connections, transport.idle_timeout);
    let app = caveat_server::app(state).into_make_service();
    match tls {
        Some(tls) => {
            let mode = if tls_files.client_ca.is_some() { "mutual TLS" } else { "TLS" };
            let tls =
                axum_server::tls_rustls::RustlsAcceptor::new(axum_server::tls_rustls::RustlsConfig::from_config(tls))
                    .handshake_timeout(transport.header_timeout);
            let server = axum_server::from_tcp(listener)
                .context("listening")?
                .acceptor(crate::slots::Admit::new(tls, slots, false));
            let server = transport.apply(server);
            eprintln!("caveat serving {db} on https://{listen}/ ({mode})");
            server.serve(app).await.context("serving")?;
        }
        None => {
            let server = axum_server::from_tcp(listener).context("listening")?.acceptor(crate::slots::Admit::new(
                axum_server::accept::DefaultAcceptor,
                slots,
                true,
            ));
            let server = transport.apply(server);
            eprintln!("caveat serving {db} on http://{listen}/");
            server.serve(app).await.context("serving")?;
        }
    }
    Ok(())
}

impl Transport {
    /// The HTTP timers. Hyper's header timer also runs while a kept-alive
    /// connection waits for its next request, so it is the keep-alive limit
    /// too; the first-request timer covers protocol detection, which hyper
    /// does not time. No HTTP/2 pings: their replies would count as traffic
    /// and keep a silent connection from ever being idle.
    fn apply<A>(self, mut server: axum_server::Server<SocketAddr, A>) -> axum_server::Server<SocketAddr, A> {
        server.http_builder().http1().header_read_timeout(self.header_timeout);
        server.first_request_timeout(self.header_timeout)
    }
}

/// Demo users; tokens are fresh on every start.
async fn demo_setup(store: &dyn Store) -> anyhow::Result<Vec<DemoUser>> {
    let people: [(&str, &str, &[Role]); 7] = [
        ("ana@can", "CAN", &[Role::Analyst]),
        ("gbr-admin@gbr", "GBR", &[Role::PartnerAdmin, Role::Auditor, Role::Analyst]),
        ("analyst@gbr", "GBR", &[Role::Analyst]),
        ("watch@uscg", "USA-USCG", &[Role::WatchOfficer, Role::Analyst]),
        ("analyst@nld", "NLD", &[Role::Analyst]),
        ("analyst@fra", "FRA", &[Role::Analyst]),
        ("analyst@jiatfs", "JIATFS", &[Role::Analyst]),
    ];
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::new();
    for (id, partner, roles) in people {
        let user = User { id: id.parse()?, partner: partner.parse()?, roles: roles.iter().copied().collect() };
        store.put_user(&user).await?;
        store.revoke_tokens(&user.id, now).await?;
        let (token, hash) = caveat_server::new_token();
        store.add_token(&user.id, hash, now).await?;
        out.push(DemoUser { user: user.id, partner: user.partner, roles: roles.to_vec(), token });
    }
    Ok(out)
}
