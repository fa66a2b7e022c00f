//! A partner's node as a witness of the hub's audit log (issue 18 item 2): the
//! `[node.witness]` section of `caveat serve --config`.
//!
//! The node serves c2sp.org/tlog-witness `POST /add-checkpoint` (the hub lists
//! it under `[[witnesses]]` like any witness) and, before it cosigns, checks
//! with [`ReceiptStatement`] that every use of its partner's data since the
//! last checkpoint it cosigned cites a receipt it issued that covers it. It
//! reads those uses from the hub's usage report for its partner
//! (`GET /v1/usage?witnessing=true`), as a user of its partner on the hub (an
//! auditor's token), and verifies the report against the hub's key and the
//! very checkpoint it is asked to cosign: the hub's answer is trusted for
//! nothing. Refusals go to the node's own audit log.
//!
//! ```toml
//! [node.witness]
//! dir = "witness"                    # `caveat witness init --dir witness --name witness.gbr.example`
//! listen = "127.0.0.1:7380"          # where the hub sends add-checkpoint
//! hub_url = "http://127.0.0.1:8080"  # the hub's API
//! hub_token_file = "hub-auditor.token" # a token of an auditor of this partner on the hub
//! hub_key = "caveat.hub/audit+1a2b3c4d+AQ..." # `caveat audit key` on the hub
//! grace_ms = 2000                    # default; clock skew allowed, as `caveat audit reconcile --grace-ms`
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use caveat_audit::{FileWitnessStore, UsageReport, VerifierKey, Witness};
use caveat_hub::federation::{HubUsage, Node, ReceiptStatement, UsageFuture};
use http_body_util::Full;
use serde::Deserialize;

/// `[node.witness]`: the node witnesses the hub's log with its receipt statement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeWitnessConfig {
    /// The witness's directory: its key (`caveat witness init`) and its state.
    dir: PathBuf,
    /// Where it serves add-checkpoint (plain HTTP: what it answers is signed).
    listen: SocketAddr,
    /// `http://host:port` of the hub's API.
    hub_url: String,
    /// A file holding a hub API token of an auditor (or partner admin) of this node's partner.
    hub_token_file: PathBuf,
    /// The hub's audit key (C2SP vkey); its name is the log's origin.
    hub_key: String,
    /// Clock skew and notice delay allowed, milliseconds (default 2000).
    grace_ms: Option<u64>,
}

/// Largest usage page read from the hub, bytes: a full page of
/// [`caveat_hub::MAX_USAGE_ENTRIES`] entries with their proofs fits well
/// within it.
const MAX_USAGE_PAGE_BYTES: usize = 128 * 1024 * 1024;

/// How long one page of the hub's usage report may take to arrive.
const USAGE_TIMEOUT: Duration = Duration::from_secs(8);

/// Starts the node's witness listener in the background.
pub(crate) fn start(node: Arc<Node>, config: &NodeWitnessConfig) -> anyhow::Result<()> {
    let key = crate::witness::load_key(&config.dir).context("[node.witness] dir")?;
    let hub_key: VerifierKey =
        config.hub_key.trim().parse().context("[node.witness] hub_key is not a C2SP verifier key")?;
    let token = std::fs::read_to_string(&config.hub_token_file)
        .with_context(|| format!("[node.witness] reading hub_token_file {}", config.hub_token_file.display()))?;
    let token = token.trim().to_owned();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("[node.witness] hub_token_file {}: not one token", config.hub_token_file.display());
    }
    let grace_ms = config.grace_ms.unwrap_or(2_000);
    if grace_ms > 600_000 {
        bail!("[node.witness] grace_ms must be at most 600000");
    }
    let grace = time::Duration::milliseconds(i64::try_from(grace_ms).context("[node.witness] grace_ms")?);
    let usage = HttpHubUsage::new(&config.hub_url, token).context("[node.witness] hub_url")?;
    let partner = node.partner().clone();
    let statement =
        ReceiptStatement::new(node, hub_key.clone(), Arc::new(usage), grace, tokio::runtime::Handle::current());
    let store =
        FileWitnessStore::open(&config.dir.join("state")).context("[node.witness] opening the witness state")?;
    let name = key.name().to_owned();
    let origin = hub_key.name().to_owned();
    let witness = Arc::new(Witness::new(key, vec![hub_key], store).with_statement(Box::new(statement)));
    let server = crate::witness::listener(witness, config.listen).context("[node.witness] listen")?;
    eprintln!(
        "caveat node of {partner}: witness {name} of {origin} on http://{}/add-checkpoint (cosigns only what its receipts cover)",
        config.listen
    );
    tokio::spawn(async move {
        if let Err(e) = server.await {
            eprintln!("caveat: node witness listener stopped: {e:#}");
        }
    });
    Ok(())
}

/// The hub's usage report for the node's partner, read over HTTP with the
/// partner's token: one connection per page (a witness reads about one a
/// checkpoint).
struct HttpHubUsage {
    authority: String,
    token: String,
}

impl std::fmt::Debug for HttpHubUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("HttpHubUsage").field("authority", &self.authority).finish_non_exhaustive()
    }
}

impl HttpHubUsage {
    fn new(url: &str, token: String) -> anyhow::Result<Self> {
        let (authority, _) = crate::peer_url::authority(url, "http")?;
        Ok(HttpHubUsage { authority: authority.to_owned(), token })
    }

    async fn get(authority: String, token: String, path: String) -> Result<UsageReport, String> {
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, &authority)
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        // The bound covers connecting too: a hub that accepts and never answers holds no cosigning.
        let answer =
            tokio::time::timeout(USAGE_TIMEOUT, crate::peer_url::exchange(&authority, request, MAX_USAGE_PAGE_BYTES))
                .await
                .map_err(|_| format!("no answer within {} s", USAGE_TIMEOUT.as_secs()))?;
        let (status, bytes) = answer.map_err(|e| match e {
            crate::peer_url::NoAnswer::Unreachable(why) => why,
            crate::peer_url::NoAnswer::TooLarge => format!("the page is over {MAX_USAGE_PAGE_BYTES} bytes"),
        })?;
        if status != 200 {
            let text: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            return Err(format!("HTTP {status}: {text}"));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("not a usage report: {e}"))
    }
}

impl HubUsage for HttpHubUsage {
    fn page(&self, from: u64, saved_size: u64, limit: usize) -> UsageFuture {
        let path = format!("/v1/usage?witnessing=true&from={from}&saved_size={saved_size}&limit={limit}");
        Box::pin(HttpHubUsage::get(self.authority.clone(), self.token.clone(), path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls_are_checked() {
        for bad in ["https://127.0.0.1:8080", "http://", "http://host", "http://host:80/v1", "http://h:99999"] {
            assert!(HttpHubUsage::new(bad, "t".into()).is_err(), "{bad}");
        }
        let u = HttpHubUsage::new("http://127.0.0.1:8080/", "secret".into()).unwrap();
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert!(!format!("{u:?}").contains("secret"));
    }
}
