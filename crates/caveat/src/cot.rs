//! The Cursor on Target stream for TAK clients (issue 21, `caveat serve --cot-listen`):
//! streaming CoT XML over TCP, one view per connection.
//!
//! A connection is bound to a user and a view key by its first message, TAK
//! Server's authentication message `<auth><cot username=".." password=".."/></auth>`
//! (what ATAK sends on a streaming connection with "use authentication"):
//! the password is the user's API token and the username the declared
//! purpose, optionally `purpose/case-id`. A connection that does not present a
//! valid token and purpose within `auth_timeout` is closed having been sent
//! nothing. The events themselves are [`caveat_hub::Hub::cot_picture`]'s:
//! decided and audited like `/v1/tracks`, on every delivery.
//!
//! The stream sends every track at once, then, whenever the view's content
//! changes (at most once per `min_interval`), the tracks that changed, and
//! each track that left the view (a suspension, a purpose withdrawn) once
//! more with `stale` now, so the client drops it at once. Every track is sent
//! again each `stale_after / 2`, before its events go stale.
//!
//! Bounded: connections (`max_connections`, more are closed on accept), the
//! write queue per client (`queue` deliveries: a client that falls behind is
//! dropped and counted), the size of what a client sends ([`MAX_EVENT_BYTES`])
//! and how many sightings a connection may submit a minute.
//!
//! What a client sends after authenticating is read as CoT events: an atom
//! (`a-...`, a contact dropped on the map) becomes a report of the user's
//! partner with its default marking for a `vessel` sighting; pings and other
//! control events are ignored.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use caveat_core::{CaseId, DEFAULT_FUTURE_SKEW, IngestContext, Purpose, ReportIdMint, User, ViewKey};
use caveat_hub::cot::{CotEvent, MAX_EVENT_BYTES, sighting, stale_event};
use caveat_hub::{Actor, Batch, Hub};
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Longest authentication message, bytes.
const MAX_AUTH_BYTES: usize = 4096;

/// What one CoT listener allows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CotLimits {
    pub(crate) max_connections: usize,
    pub(crate) auth_timeout: Duration,
    pub(crate) min_interval: Duration,
    pub(crate) stale_after: Duration,
    /// Deliveries queued per client before it is dropped as too slow.
    pub(crate) queue: usize,
    /// A write that takes longer than this drops the client.
    pub(crate) write_timeout: Duration,
    /// Sightings one connection may submit a minute.
    pub(crate) sightings_per_minute: u32,
}

impl Default for CotLimits {
    fn default() -> Self {
        CotLimits {
            max_connections: 64,
            auth_timeout: Duration::from_secs(10),
            min_interval: Duration::from_secs(1),
            stale_after: Duration::from_mins(5),
            queue: 16,
            write_timeout: Duration::from_secs(30),
            sightings_per_minute: 60,
        }
    }
}

/// `[cot]` in `caveat serve --config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CotConfig {
    /// Address of the streaming CoT listener (`--cot-listen`); the TAK convention is port 8087.
    listen: Option<SocketAddr>,
    /// Most connections at once (`--cot-max-connections`) [default: 64].
    max_connections: Option<usize>,
    /// Seconds an event stays valid (`stale`) [default: 300].
    stale_s: Option<u64>,
    /// Fewest milliseconds between two deliveries to one client [default: 1000].
    min_interval_ms: Option<u64>,
    /// Deliveries queued per client before it is dropped as too slow [default: 16].
    queue: Option<usize>,
    /// Sightings a connection may submit a minute [default: 60].
    sightings_per_minute: Option<u32>,
    /// Seconds a new connection has to authenticate [default: 10].
    auth_timeout_s: Option<u64>,
    /// Address of the TLS listener with client certificates (TAK's usual port is 8089).
    tls_listen: Option<SocketAddr>,
    /// PEM certificate chain and key of the TLS listener.
    tls_cert: Option<std::path::PathBuf>,
    tls_key: Option<std::path::PathBuf>,
    /// PEM CA certificates whose client certificates the TLS listener accepts (required with it).
    client_ca: Option<std::path::PathBuf>,
    /// `[[cot.certificate]]`: which user a client certificate is.
    #[serde(default)]
    certificate: Vec<CertificateEntry>,
}

/// `[[cot.certificate]]`: a client certificate (PEM, compared exactly) and the user it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    cert: std::path::PathBuf,
    user: caveat_core::UserId,
}

/// The TLS listener: where, its rustls configuration, and the users of the client certificates.
pub(crate) struct CotTls {
    listen: SocketAddr,
    config: Arc<rustls::ServerConfig>,
    users: Vec<(Vec<u8>, caveat_core::UserId)>,
}

impl std::fmt::Debug for CotTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CotTls").field("listen", &self.listen).field("users", &self.users.len()).finish_non_exhaustive()
    }
}

/// The TLS listener `[cot]` asks for, if any.
pub(crate) fn tls_spec(config: Option<&CotConfig>) -> anyhow::Result<Option<CotTls>> {
    let Some(c) = config else { return Ok(None) };
    let Some(listen) = c.tls_listen else {
        if c.tls_cert.is_some() || c.client_ca.is_some() || !c.certificate.is_empty() {
            anyhow::bail!("[cot]: tls_cert, client_ca and [[cot.certificate]] need tls_listen");
        }
        return Ok(None);
    };
    if c.client_ca.is_none() || c.certificate.is_empty() {
        anyhow::bail!(
            "[cot] tls_listen needs client_ca and at least one [[cot.certificate]]: its clients are known by their certificates"
        );
    }
    let files =
        crate::tls::TlsFiles { cert: c.tls_cert.clone(), key: c.tls_key.clone(), client_ca: c.client_ca.clone() };
    let Some(mut config) = crate::tls::server_config(&files)? else {
        anyhow::bail!("[cot] tls_listen needs tls_cert and tls_key");
    };
    // Streaming CoT is not HTTP: no ALPN.
    if let Some(cfg) = Arc::get_mut(&mut config) {
        cfg.alpn_protocols.clear();
    }
    let mut users = Vec::new();
    for e in &c.certificate {
        let certs = crate::pin::certs(&e.cert)?;
        let first = certs.first().with_context(|| format!("{}: no certificate", e.cert.display()))?;
        users.push((first.as_ref().to_vec(), e.user.clone()));
    }
    Ok(Some(CotTls { listen, config, users }))
}

/// The CoT flags of `caveat serve`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct CotArgs {
    /// Serve streaming CoT XML to TAK clients on this address (TAK's usual
    /// port is 8087); off unless given. Bind it where TAK clients reach it:
    /// each connection authenticates with an API token (docs/cot.md).
    #[arg(long)]
    cot_listen: Option<SocketAddr>,
    /// Most CoT connections at once [default: 64].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    cot_max_connections: Option<u64>,
}

/// The plain listener's address, if one is configured, and the limits of both listeners.
pub(crate) fn spec(args: &CotArgs, config: Option<&CotConfig>) -> anyhow::Result<(Option<SocketAddr>, CotLimits)> {
    let empty = CotConfig::default();
    let c = config.unwrap_or(&empty);
    let addr = args.cot_listen.or(c.listen);
    let d = CotLimits::default();
    let nonzero = |v: Option<u64>, name: &str| match v {
        Some(0) => anyhow::bail!("cot: {name} must be at least 1"),
        other => Ok(other),
    };
    let max_connections = nonzero(args.cot_max_connections.or(c.max_connections.map(|n| n as u64)), "max_connections")?
        .map_or(Ok(d.max_connections), usize::try_from)
        .context("cot: max_connections is too large")?;
    let limits = CotLimits {
        max_connections,
        stale_after: nonzero(c.stale_s, "stale_s")?.map_or(d.stale_after, Duration::from_secs),
        min_interval: nonzero(c.min_interval_ms, "min_interval_ms")?.map_or(d.min_interval, Duration::from_millis),
        queue: nonzero(c.queue.map(|n| n as u64), "queue")?
            .map_or(d.queue, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        sightings_per_minute: c.sightings_per_minute.unwrap_or(d.sightings_per_minute),
        auth_timeout: nonzero(c.auth_timeout_s, "auth_timeout_s")?.map_or(d.auth_timeout, Duration::from_secs),
        ..d
    };
    Ok((addr, limits))
}

/// The listener's counters, in `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct CotMetrics {
    connections: AtomicU64,
    accepted: AtomicU64,
    refused_busy: AtomicU64,
    auth_failed: AtomicU64,
    slow_dropped: AtomicU64,
    deliveries: AtomicU64,
    events_sent: AtomicU64,
    stale_sent: AtomicU64,
    sightings_stored: AtomicU64,
    sightings_refused: AtomicU64,
}

impl caveat_server::MetricsSource for CotMetrics {
    fn write_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let rows: [(&str, &str, &AtomicU64, &str); 10] = [
            ("caveat_cot_connections", "gauge", &self.connections, "CoT connections open"),
            ("caveat_cot_accepted_total", "counter", &self.accepted, "CoT connections authenticated"),
            ("caveat_cot_refused_busy_total", "counter", &self.refused_busy, "CoT connections closed: all slots taken"),
            (
                "caveat_cot_auth_failed_total",
                "counter",
                &self.auth_failed,
                "CoT connections closed: no valid token or purpose",
            ),
            ("caveat_cot_slow_dropped_total", "counter", &self.slow_dropped, "CoT clients dropped for not reading"),
            ("caveat_cot_deliveries_total", "counter", &self.deliveries, "CoT deliveries (each decided and audited)"),
            ("caveat_cot_events_sent_total", "counter", &self.events_sent, "CoT track events sent"),
            ("caveat_cot_stale_sent_total", "counter", &self.stale_sent, "CoT events sent stale (a track left a view)"),
            ("caveat_cot_sightings_stored_total", "counter", &self.sightings_stored, "TAK sightings stored as reports"),
            (
                "caveat_cot_sightings_refused_total",
                "counter",
                &self.sightings_refused,
                "TAK events refused (bad, or over the rate)",
            ),
        ];
        for (name, kind, v, help) in rows {
            let _infallible =
                write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n", v.load(Ordering::Relaxed));
        }
    }
}

/// Binds the listeners (so a bad address fails the start) and serves them; the
/// plain and TLS listeners share the connection bound.
pub(crate) async fn start(
    hub: &Hub,
    addr: Option<SocketAddr>,
    tls: Option<CotTls>,
    limits: CotLimits,
) -> anyhow::Result<Arc<CotMetrics>> {
    let metrics = Arc::new(CotMetrics::default());
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    if let Some(addr) = addr {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cot: listening on {addr}"))?;
        eprintln!("caveat CoT stream on tcp://{addr}");
        let (hub, m, slots) = (hub.clone(), metrics.clone(), slots.clone());
        tokio::spawn(async move {
            loop {
                let (socket, permit) = crate::admit::next(&listener, &slots, "CoT", || {
                    m.refused_busy.fetch_add(1, Ordering::Relaxed);
                })
                .await;
                let _nodelay = socket.set_nodelay(true);
                let (hub, m) = (hub.clone(), m.clone());
                tokio::spawn(async move {
                    m.connections.fetch_add(1, Ordering::Relaxed);
                    serve(hub, socket, None, limits, &m).await;
                    m.connections.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        });
    }
    if let Some(tls) = tls {
        let listener = tokio::net::TcpListener::bind(tls.listen)
            .await
            .with_context(|| format!("cot: listening on {}", tls.listen))?;
        eprintln!("caveat CoT stream on tls://{} (client certificates)", tls.listen);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.clone());
        let users = Arc::new(tls.users);
        let (hub, m) = (hub.clone(), metrics.clone());
        tokio::spawn(async move {
            loop {
                let (socket, permit) = crate::admit::next(&listener, &slots, "CoT", || {
                    m.refused_busy.fetch_add(1, Ordering::Relaxed);
                })
                .await;
                let _nodelay = socket.set_nodelay(true);
                let (hub, m, acceptor, users) = (hub.clone(), m.clone(), acceptor.clone(), users.clone());
                tokio::spawn(async move {
                    m.connections.fetch_add(1, Ordering::Relaxed);
                    match tokio::time::timeout(limits.auth_timeout, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => {
                            let presented = stream.get_ref().1.peer_certificates().and_then(|c| c.first());
                            let user = presented
                                .and_then(|c| users.iter().find(|(der, _)| der.as_slice() == c.as_ref()))
                                .map(|(_, u)| u.clone());
                            match user {
                                Some(user) => serve(hub, stream, Some(user), limits, &m).await,
                                None => {
                                    m.auth_failed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        _ => {
                            m.auth_failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    m.connections.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        });
    }
    Ok(metrics)
}

/// The user and view key an authentication message names, or `None`. Over TLS the
/// certificate names the user (`by_certificate`) and a token, if also given, must be the same user's.
async fn authenticate(
    hub: &Hub,
    message: &[u8],
    by_certificate: Option<&caveat_core::UserId>,
) -> Option<(User, ViewKey)> {
    let text = std::str::from_utf8(message).ok()?;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut username, mut password) = (None, None);
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().into_inner() == "cot" =>
            {
                for a in e.attributes() {
                    let a = a.ok()?;
                    let v = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok()?.into_owned();
                    match a.key.into_inner() {
                        "username" => username = Some(v),
                        "password" => password = Some(v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let username = username?;
    let (purpose, case) = match username.split_once('/') {
        Some((p, c)) => (p, Some(c.trim().parse::<CaseId>().ok()?)),
        None => (username.as_str(), None),
    };
    let purpose: Purpose = purpose.trim().parse().ok()?;
    let by_token = match password.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(token) => Some(hub.store().user_by_token(caveat_server::hash_token(token)).await.ok()??),
        None => None,
    };
    let user = match (by_certificate, by_token) {
        (Some(id), by_token) => {
            if by_token.as_ref().is_some_and(|u| &u.id != id) {
                return None;
            }
            hub.store().users(None).await.ok()?.into_iter().find(|u| &u.id == id)?
        }
        (None, by_token) => by_token?,
    };
    let key = ViewKey::new(user.partner.clone(), purpose, case);
    Some((user, key))
}

/// Reads until `</auth>`, at most [`MAX_AUTH_BYTES`]: the message, and what came after it
/// in the same reads (a client may send its first event at once).
async fn read_auth<S: AsyncRead + Unpin>(socket: &mut S) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
        if let Some(end) = find(&buf, b"</auth>") {
            let rest = buf.split_off(end + b"</auth>".len());
            return Some((buf, rest));
        }
        if buf.len() > MAX_AUTH_BYTES {
            return None;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn serve<S>(
    hub: Hub,
    mut socket: S,
    by_certificate: Option<caveat_core::UserId>,
    limits: CotLimits,
    m: &Arc<CotMetrics>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let auth = tokio::time::timeout(limits.auth_timeout, read_auth(&mut socket)).await.ok().flatten();
    let (who, rest) = match auth {
        Some((message, rest)) => (authenticate(&hub, &message, by_certificate.as_ref()).await, rest),
        None => (None, Vec::new()),
    };
    let Some((user, key)) = who else {
        // Nothing is sent: not even an error, which would confirm a guessed purpose or token.
        m.auth_failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    m.accepted.fetch_add(1, Ordering::Relaxed);
    let (read, write) = tokio::io::split(socket);
    let (tx, rx) = mpsc::channel::<Vec<u8>>(limits.queue);
    let writer = tokio::spawn(write_loop(write, rx, limits.write_timeout));
    let reader = tokio::spawn(read_loop(hub.clone(), read, rest, user.clone(), limits, m.clone()));
    deliver_loop(&hub, &user, &key, limits, &tx, m).await;
    reader.abort();
    drop(tx);
    let _finished = writer.await;
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::Receiver<Vec<u8>>, timeout: Duration) {
    while let Some(bytes) = rx.recv().await {
        match tokio::time::timeout(timeout, w.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
    let _closing = w.shutdown().await;
}

/// Sends the view's events as it changes until the client goes (or falls behind).
async fn deliver_loop(
    hub: &Hub,
    user: &User,
    key: &ViewKey,
    limits: CotLimits,
    tx: &mpsc::Sender<Vec<u8>>,
    m: &CotMetrics,
) {
    let stale_after = time::Duration::try_from(limits.stale_after).unwrap_or(time::Duration::minutes(5));
    let mut sent: HashMap<String, CotEvent> = HashMap::new();
    let mut content = None;
    let mut changes = hub.changes();
    let mut refresh = tokio::time::interval(limits.stale_after / 2);
    refresh.tick().await;
    let mut full = true;
    loop {
        if tx.is_closed() {
            return;
        }
        // Only a change of the view's own content sends anything (as /v1/live):
        // what the view may not see never shows, not even in the timing.
        let now_content = match hub.view_content(user, key).await {
            Ok(c) => Some(c),
            Err(_) => return,
        };
        if full || now_content != content {
            let Ok(picture) = hub.cot_picture(user, key, stale_after).await else { return };
            content = Some(picture.content);
            let now = OffsetDateTime::now_utc();
            let mut out = Vec::new();
            let (mut events, mut stale) = (0, 0);
            // Only what is sent is signed (one Ed25519 signature an event): a
            // delivery after a change signs the tracks that changed, not the view.
            for (uid, e) in &picture.events {
                if full || sent.get(uid).is_none_or(|s| s.content != e.content) {
                    let Ok(xml) = hub.bind_cot(e) else { return };
                    out.extend_from_slice(xml.as_bytes());
                    events += 1;
                }
            }
            for (uid, e) in &sent {
                if !picture.events.contains_key(uid) {
                    let Ok(xml) = hub.bind_cot(&stale_event(e, now)) else { return };
                    out.extend_from_slice(xml.as_bytes());
                    stale += 1;
                }
            }
            sent = picture.events;
            m.deliveries.fetch_add(1, Ordering::Relaxed);
            if !out.is_empty() {
                if tx.try_send(out).is_err() {
                    m.slow_dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                m.events_sent.fetch_add(events, Ordering::Relaxed);
                m.stale_sent.fetch_add(stale, Ordering::Relaxed);
            }
            full = false;
        }
        tokio::time::sleep(limits.min_interval).await;
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = refresh.tick() => full = true,
            () = tx.closed() => return,
        }
    }
}

/// Reads the client's events: sightings are stored as the user's partner's reports.
async fn read_loop<R: AsyncRead + Unpin>(
    hub: Hub,
    mut r: R,
    mut buf: Vec<u8>,
    user: User,
    limits: CotLimits,
    m: Arc<CotMetrics>,
) {
    let mut chunk = [0u8; 4096];
    let mut window = (tokio::time::Instant::now(), 0u32);
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            let Ok(n) = r.read(&mut chunk).await else { return };
            if n == 0 {
                return;
            }
            let Some(read) = chunk.get(..n) else { return };
            buf.extend_from_slice(read);
        }
        while let Some(end) = find(&buf, b"</event>") {
            let event: Vec<u8> = buf.drain(..end + b"</event>".len()).collect();
            let start = find(&event, b"<event").unwrap_or(0);
            let event = event.get(start..).unwrap_or_default();
            if window.0.elapsed() >= Duration::from_mins(1) {
                window = (tokio::time::Instant::now(), 0);
            }
            match submit(&hub, &user, event, &mut window.1, limits.sightings_per_minute).await {
                Ok(true) => {
                    m.sightings_stored.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(e) => {
                    m.sightings_refused.fetch_add(1, Ordering::Relaxed);
                    eprintln!("caveat: CoT event from {} refused: {e}", user.id);
                }
            }
        }
        if buf.len() > MAX_EVENT_BYTES {
            // No event end within the bound: drop what was read and resynchronise on the next `<event`.
            m.sightings_refused.fetch_add(1, Ordering::Relaxed);
            eprintln!("caveat: CoT event from {} refused: over {MAX_EVENT_BYTES} bytes", user.id);
            buf.clear();
        }
    }
}

/// Stores one client event if it is a sighting; `Ok(false)` for what is not one.
async fn submit(hub: &Hub, user: &User, event: &[u8], count: &mut u32, per_minute: u32) -> anyhow::Result<bool> {
    let Some(draft) = sighting(event)? else { return Ok(false) };
    if *count >= per_minute {
        anyhow::bail!("more than {per_minute} sightings this minute");
    }
    *count += 1;
    let partner = hub.store().partner(&user.partner).await?.context("the user's partner is gone")?;
    let now = OffsetDateTime::now_utc();
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut ctx = IngestContext {
        submitter: &partner,
        now,
        max_future_skew: DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(millis, rand::random()),
    };
    let report = draft.validate(&mut ctx)?;
    let who = Actor { partner: partner.id.clone(), user: user.id.clone() };
    hub.ingest(&who, now, Batch::numbered(vec![report])).await?;
    Ok(true)
}
