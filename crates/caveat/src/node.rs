//! Federation in `caveat serve` (issue 17): a `[node]` section makes the
//! process a partner's node, answering the hub's release requests on a
//! listener of its own that admits only the pinned hub certificate; a
//! `[federation]` section makes it a hub that asks the nodes it lists.
//!
//! ```toml
//! # the node of GBR
//! [node]
//! partner = "GBR"
//! listen = "127.0.0.1:9443"
//! cert = "gbr-node.pem"      # the node's server certificate and key
//! key = "gbr-node.key"
//! hub_cert = "hub-client.pem" # the only client certificate admitted (pinned)
//! lease_s = 600               # default
//! [node.witness]              # optional: witness the hub's log (issue 18), see `node_witness.rs`
//! dir = "witness"
//! listen = "127.0.0.1:7380"
//! hub_url = "http://127.0.0.1:8080"
//! hub_token_file = "hub-auditor.token"
//! hub_key = "caveat.hub/audit+1a2b3c4d+AQ..."
//!
//! # the hub
//! [federation]
//! client_cert = "hub-client.pem"
//! client_key = "hub-client.key"
//! timeout_ms = 2000           # default; per page of a node's answer (a whole ask: at most 4x)
//! [[federation.nodes]]
//! partner = "GBR"
//! url = "https://127.0.0.1:9443"
//! cert = "gbr-node.pem"       # the node's certificate (pinned)
//! key = "caveat.hub/audit+1a2b3c4d+AQ..."   # `caveat audit key` on the node: verifies receipts
//! ```

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use caveat_audit::VerifierKey;
use caveat_core::PartnerId;
use caveat_hub::Hub;
use caveat_hub::federation::{
    DEFAULT_LEASE, DEFAULT_NODE_TIMEOUT, Federation, MAX_RELEASE_ANSWER_BYTES, Node, NodeClient, NodeError, NodeFuture,
    NodeLink, Notice, NoticeFuture, ReleaseAnswer, ReleaseRequest,
};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::Deserialize;

/// `[node]`: this process is the node of one partner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeConfig {
    /// The partner whose reports this node holds and releases.
    partner: PartnerId,
    /// Where the hub reaches the release API (mutual TLS only).
    listen: SocketAddr,
    /// The node's server certificate chain (PEM).
    cert: PathBuf,
    /// Its private key (PEM).
    key: PathBuf,
    /// The hub's client certificate (PEM): the only one admitted.
    hub_cert: PathBuf,
    /// Lease granted with each release, seconds (default 600).
    lease_s: Option<u64>,
    /// `[node.witness]`: also witness the hub's log, cosigning only what this node's receipts cover (issue 18).
    witness: Option<crate::node_witness::NodeWitnessConfig>,
}

/// `[federation]`: this hub asks partner nodes for every view.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FederationConfig {
    /// The hub's client certificate (PEM), which every node pins.
    client_cert: PathBuf,
    /// Its private key (PEM).
    client_key: PathBuf,
    /// How long one node has to answer one ask, milliseconds (default 2000).
    timeout_ms: Option<u64>,
    /// The nodes.
    #[serde(default)]
    nodes: Vec<NodeEntry>,
}

/// One `[[federation.nodes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    /// The node's partner.
    partner: PartnerId,
    /// `https://host:port` of its release API.
    url: String,
    /// The node's server certificate (PEM): the only one accepted from it.
    cert: PathBuf,
    /// The node's audit key in C2SP vkey form: its receipts must verify with it.
    key: String,
}

/// Seconds a node's listener gives a TLS handshake and request headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the node's release listener in the background.
pub(crate) async fn start_node(hub: Hub, db: &crate::db::Db, config: &NodeConfig, create: bool) -> anyhow::Result<()> {
    let partners = hub.partners().await?;
    if !partners.contains(&config.partner) {
        bail!("[node] partner {} is not a partner of this database (caveat init)", config.partner);
    }
    let lease_s = config.lease_s.unwrap_or(DEFAULT_LEASE.whole_seconds().unsigned_abs());
    if lease_s == 0 || lease_s > 86_400 {
        bail!("[node] lease_s must be between 1 and 86400");
    }
    let lease = time::Duration::seconds(i64::try_from(lease_s).context("[node] lease_s")?);
    // Receipts are signed with the node's audit key: the key partners already
    // know for its checkpoints (the receipt format keeps the two apart).
    let key = crate::audit_key::load(db, create)?;
    let tls = crate::pin::node_server(&config.cert, &config.key, &config.hub_cert)?;
    let node = Arc::new(Node::new(hub, config.partner.clone(), key, lease));
    if let Some(w) = &config.witness {
        crate::node_witness::start(node.clone(), w)?;
    }
    let listener =
        std::net::TcpListener::bind(config.listen).with_context(|| format!("[node] listening on {}", config.listen))?;
    listener.set_nonblocking(true).context("[node] listening")?;
    let acceptor =
        axum_server::tls_rustls::RustlsAcceptor::new(axum_server::tls_rustls::RustlsConfig::from_config(tls))
            .handshake_timeout(HANDSHAKE_TIMEOUT);
    let mut server = axum_server::from_tcp(listener).context("[node] listening")?.acceptor(acceptor);
    server.http_builder().http1().header_read_timeout(HANDSHAKE_TIMEOUT);
    let app = caveat_server::node_app(node).into_make_service();
    eprintln!(
        "caveat node of {} releasing on https://{}/ (mutual TLS, pinned hub certificate)",
        config.partner, config.listen
    );
    tokio::spawn(async move {
        if let Err(e) = server.serve(app).await {
            eprintln!("caveat: node release listener stopped: {e}");
        }
    });
    Ok(())
}

/// The hub's federation from its configuration.
pub(crate) fn federation(config: &FederationConfig) -> anyhow::Result<Federation> {
    let client_cert = crate::pin::certs(&config.client_cert)?;
    let client_key = crate::pin::key(&config.client_key)?;
    let mut links = Vec::new();
    for n in &config.nodes {
        if links.iter().any(|l: &NodeLink| l.partner == n.partner) {
            bail!("[[federation.nodes]]: partner {} is listed twice", n.partner);
        }
        let key: VerifierKey = n
            .key
            .parse()
            .with_context(|| format!("[[federation.nodes]] {}: key is not a C2SP verifier key", n.partner))?;
        let tls = crate::pin::hub_client(&client_cert, &client_key, &n.cert)?;
        let client = HttpsNode::new(&n.url, tls).with_context(|| format!("[[federation.nodes]] {}", n.partner))?;
        links.push(NodeLink { partner: n.partner.clone(), key, client: Arc::new(client) });
    }
    let timeout = config.timeout_ms.map_or(DEFAULT_NODE_TIMEOUT, Duration::from_millis);
    if timeout < Duration::from_millis(10) || timeout > Duration::from_mins(1) {
        bail!("[federation] timeout_ms must be between 10 and 60000");
    }
    Ok(Federation::new(links, timeout))
}

/// The path of the node's release API.
const RELEASE_PATH: &str = "/v1/federation/release";

/// The path of the node's revocation notice.
const NOTICE_PATH: &str = "/v1/federation/notice";

/// Largest notice answer read, bytes (it is `{"version": N}`).
const MAX_NOTICE_BYTES: usize = 1024;

/// A node reached over HTTPS with mutual TLS: one connection per ask (a hub
/// asks each node at most about once a second per open view, and a fresh
/// connection never carries a stale TLS session past a re-pin).
struct HttpsNode {
    addr: String,
    authority: String,
    server_name: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for HttpsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsNode").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl HttpsNode {
    fn new(url: &str, tls: Arc<rustls::ClientConfig>) -> anyhow::Result<Self> {
        let (authority, host) = crate::peer_url::authority(url, "https")?;
        let server_name = ServerName::try_from(host.to_owned()).context("url: bad host")?;
        Ok(HttpsNode {
            addr: authority.to_owned(),
            authority: authority.to_owned(),
            server_name,
            tls: tokio_rustls::TlsConnector::from(tls),
        })
    }

    async fn post(&self, body: Vec<u8>) -> Result<ReleaseAnswer, NodeError> {
        let request = hyper::Request::post(RELEASE_PATH)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| NodeError::Bad(e.to_string()))?;
        let bytes = self.send(request, MAX_RELEASE_ANSWER_BYTES).await?;
        serde_json::from_slice(&bytes).map_err(|e| NodeError::Bad(format!("the answer is not a release: {e}")))
    }

    async fn notice(&self, after: Option<u64>) -> Result<u64, NodeError> {
        let path = after.map_or_else(|| NOTICE_PATH.to_owned(), |a| format!("{NOTICE_PATH}?after={a}"));
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, &self.authority)
            .body(Full::new(Bytes::new()))
            .map_err(|e| NodeError::Bad(e.to_string()))?;
        let bytes = self.send(request, MAX_NOTICE_BYTES).await?;
        let notice: Notice =
            serde_json::from_slice(&bytes).map_err(|e| NodeError::Bad(format!("the answer is not a notice: {e}")))?;
        Ok(notice.version)
    }

    /// One request on a fresh connection; the body of a 2xx answer, at most `limit` bytes.
    async fn send(&self, request: hyper::Request<Full<Bytes>>, limit: usize) -> Result<Bytes, NodeError> {
        fn unreachable(e: &dyn Display) -> NodeError {
            NodeError::Unreachable(e.to_string())
        }
        let tcp = tokio::net::TcpStream::connect(&self.addr).await.map_err(|e| unreachable(&e))?;
        let _nodelay = tcp.set_nodelay(true).is_ok();
        let tls = self.tls.connect(self.server_name.clone(), tcp).await.map_err(|e| unreachable(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| unreachable(&e))?;
        // The connection is driven apart and ended with this ask, however it ends
        // (the hub's timeout drops this future mid-way).
        let _driver = AbortOnDrop(tokio::spawn(conn));
        let response = sender.send_request(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let bytes = match Limited::new(response.into_body(), limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(NodeError::TooLarge),
            Err(e) => return Err(unreachable(&e)),
        };
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&bytes);
            let message: String = text.chars().take(200).collect();
            return Err(NodeError::Refused { status, message });
        }
        Ok(bytes)
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl NodeClient for HttpsNode {
    fn release<'a>(&'a self, request: &'a ReleaseRequest) -> NodeFuture<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(request).map_err(|e| NodeError::Bad(e.to_string()))?;
            self.post(body).await
        })
    }

    fn notice(&self, after: Option<u64>) -> NoticeFuture<'_> {
        Box::pin(HttpsNode::notice(self, after))
    }
}
