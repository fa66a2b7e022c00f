//! `caveat serve`: the hub's HTTP API and web COP.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// TLS files (`[tls] cert, key, client_ca`).
    #[serde(default)]
    tls: crate::tls::TlsFiles,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

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
        max_body_bytes: config.max_body_bytes.unwrap_or(defaults.max_body_bytes),
        max_batch_reports: config.max_batch_reports.unwrap_or(defaults.max_batch_reports),
        ..defaults
    };
    if !args.demo && !db.exists() {
        anyhow::bail!("no hub database at {db}; run `caveat init` first (or `caveat serve --demo`)");
    }
    let store = db.open(args.demo).await?;
    let key = crate::audit_key::load(db, args.demo)?;
    let mut state = AppState::open(store.clone(), key).await?.with_limits(limits);
    let mut demo_reports = None;
    if args.demo {
        let (partners, reports) = crate::demo::scenario(1, OffsetDateTime::now_utc())?;
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
    if let Some(reports) = demo_reports {
        crate::demo::start(state.clone(), reports).await?;
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
    if let Some(tls) = tls {
        let mode = if tls_files.client_ca.is_some() { "mutual TLS" } else { "TLS" };
        eprintln!("caveat serving {db} on https://{listen}/ ({mode})");
        axum_server::bind_rustls(listen, axum_server::tls_rustls::RustlsConfig::from_config(tls))
            .serve(caveat_server::app(state).into_make_service())
            .await
            .context("serving")?;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    eprintln!("caveat serving {db} on http://{listen}/");
    axum::serve(listener, caveat_server::app(state)).await.context("serving")?;
    Ok(())
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
