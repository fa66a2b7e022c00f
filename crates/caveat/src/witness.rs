//! `caveat witness`: a partner's witness of the hub's audit log (issue 18), and
//! the hub's HTTP client to witnesses (`[[witnesses]]` in `caveat serve`).
//!
//! The witness serves c2sp.org/tlog-witness `POST /add-checkpoint` over HTTP:
//! what it answers is signed, so it needs no TLS for integrity (put it behind a
//! TLS proxy to hide what it sees). The checking and the durable state are
//! [`caveat_audit::Witness`]; this file is the key file, the listener and the client.
//!
//! ```toml
//! # the hub's caveat serve --config
//! [[witnesses]]
//! name = "witness.gbr.example"            # its key name
//! url = "http://127.0.0.1:7380"           # where add-checkpoint is served
//! key = "witness.gbr.example+1a2b3c4d+BA..."  # `caveat witness key` on the witness
//! timeout_ms = 2000                       # default
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use caveat_audit::{
    AddCheckpoint, CosignerKey, CosignerVerifier, FileWitnessStore, MAX_ADD_CHECKPOINT_BYTES, VerifierKey, Witness,
    WitnessError,
};
use caveat_hub::witnessing::{
    DEFAULT_WITNESS_TIMEOUT, MAX_WITNESS_ANSWER_BYTES, WitnessAnswer, WitnessClient, WitnessClientError, WitnessFuture,
    WitnessLink, Witnesses,
};
use http_body_util::Full;
use serde::Deserialize;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Make a witness key in DIR (once) and print its public key and Sigsum policy line.
    Init {
        /// The witness's directory (its key and state).
        #[arg(long)]
        dir: PathBuf,
        /// The key name its cosignatures carry, e.g. `witness.gbr.example`.
        #[arg(long)]
        name: String,
    },
    /// Print the witness's public key (C2SP vkey) and its Sigsum policy line.
    Key {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Serve `POST /add-checkpoint` (c2sp.org/tlog-witness) for the given logs.
    Serve {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: SocketAddr,
        /// A log to witness: its key (C2SP vkey, `caveat audit key` on the hub), or a file holding it. Repeatable.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
}

const KEY_FILE: &str = "witness.key";
const KEY_HEADER: &str = "caveat-witness-key v1";
/// Seconds a client has to send its request headers and body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn load_key(dir: &Path) -> anyhow::Result<CosignerKey> {
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}; run `caveat witness init` first", path.display()))?;
    let mut lines = text.lines();
    let (Some(KEY_HEADER), Some(name), Some(seed)) = (lines.next(), lines.next(), lines.next()) else {
        bail!("{}: not a caveat witness key file", path.display());
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(seed.trim(), &mut bytes)
        .with_context(|| format!("{}: bad seed line: expected 64 hex digits", path.display()))?;
    CosignerKey::from_seed(name, bytes).with_context(|| format!("{}: bad key", path.display()))
}

fn print_key(key: &CosignerKey) {
    let v = key.verifier();
    println!("{v}");
    println!("witness {} {}", v.name(), hex::encode(v.public_key()));
}

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init { dir, name } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join(KEY_FILE);
            if path.exists() {
                bail!("{} exists: a witness keeps its key (`caveat witness key` prints it)", path.display());
            }
            let seed: [u8; 32] = rand::random();
            CosignerKey::from_seed(&name, seed).context("--name")?;
            crate::audit_key::write_private(&path, &format!("{KEY_HEADER}\n{name}\n{}\n", hex::encode(seed)))?;
            print_key(&load_key(&dir)?);
            Ok(())
        }
        Command::Key { dir } => {
            print_key(&load_key(&dir)?);
            Ok(())
        }
        Command::Serve { dir, listen, logs } => serve(&dir, listen, &logs).await,
    }
}

async fn serve(dir: &Path, listen: SocketAddr, logs: &[String]) -> anyhow::Result<()> {
    let key = load_key(dir)?;
    let mut log_keys = Vec::new();
    for l in logs {
        let text = if Path::new(l).exists() { std::fs::read_to_string(l)? } else { l.clone() };
        let k: VerifierKey = text.trim().parse().with_context(|| format!("--log {l}: not a C2SP verifier key"))?;
        log_keys.push(k);
    }
    let store = FileWitnessStore::open(&dir.join("state")).context("opening the witness state")?;
    let name = key.name().to_owned();
    let witness = Arc::new(Witness::new(key, log_keys, store));
    let server = listener(witness, listen)?;
    eprintln!("caveat witness {name} on http://{listen}/add-checkpoint");
    server.await
}

/// The add-checkpoint listener of `witness` on `listen` (bound before this
/// returns, so a bad address fails at start), to run or spawn.
pub(crate) fn listener(
    witness: SharedWitness,
    listen: SocketAddr,
) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    let app = axum::Router::new()
        .route("/add-checkpoint", axum::routing::post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_BYTES))
        .with_state(witness);
    let listener = std::net::TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    listener.set_nonblocking(true).context("listening")?;
    let mut server = axum_server::from_tcp(listener).context("listening")?;
    server.http_builder().http1().header_read_timeout(REQUEST_TIMEOUT);
    Ok(async move { server.serve(app.into_make_service()).await.context("serving") })
}

pub(crate) type SharedWitness = Arc<Witness<FileWitnessStore>>;

async fn add_checkpoint(State(witness): State<SharedWitness>, body: Bytes) -> Response {
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t.to_owned(),
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("body is not UTF-8: {e}\n")),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0).cast_unsigned();
    // The state is fsynced before the answer: off the async threads.
    let answer = tokio::task::spawn_blocking(move || {
        let req: AddCheckpoint = text.parse()?;
        witness.add_checkpoint(&req, now)
    })
    .await;
    match answer {
        Ok(Ok(line)) => plain(StatusCode::OK, line),
        Ok(Err(WitnessError::Conflict { known, fork })) => {
            eprintln!(
                "caveat witness: 409: known size {known}{}",
                if fork { " (another root at that size)" } else { "" }
            );
            (StatusCode::CONFLICT, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{known}\n")).into_response()
        }
        Ok(Err(e)) => {
            // Every refusal is recorded, with its reason.
            eprintln!("caveat witness: refused ({}): {e}", e.status());
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            plain(status, format!("{e}\n"))
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("witness task failed: {e}\n")),
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// One `[[witnesses]]` entry of `caveat serve --config`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WitnessEntry {
    /// The witness's key name.
    name: String,
    /// `http://host:port` where it serves add-checkpoint.
    url: String,
    /// Its cosigning key (C2SP vkey, type 0x04).
    key: String,
    /// Milliseconds it has per ask (default 2000).
    timeout_ms: Option<u64>,
}

/// The hub's witnesses from its configuration.
pub(crate) fn witnesses(entries: &[WitnessEntry]) -> anyhow::Result<Witnesses> {
    let mut links: Vec<WitnessLink> = Vec::new();
    let mut timeout = DEFAULT_WITNESS_TIMEOUT;
    for e in entries {
        if links.iter().any(|l| l.name == e.name) {
            bail!("[[witnesses]]: {} is listed twice", e.name);
        }
        let key: CosignerVerifier =
            e.key.parse().with_context(|| format!("[[witnesses]] {}: key is not a cosigner vkey", e.name))?;
        if key.name() != e.name {
            bail!("[[witnesses]] {}: the key is named {}", e.name, key.name());
        }
        if let Some(ms) = e.timeout_ms {
            if !(10..=60_000).contains(&ms) {
                bail!("[[witnesses]] {}: timeout_ms must be between 10 and 60000", e.name);
            }
            timeout = timeout.max(Duration::from_millis(ms));
        }
        let client = HttpWitness::new(&e.url).with_context(|| format!("[[witnesses]] {}", e.name))?;
        links.push(WitnessLink { name: e.name.clone(), key, client: Arc::new(client) });
    }
    Ok(Witnesses::new(links, timeout))
}

/// A witness reached over HTTP, one connection per ask (about one a second).
#[derive(Debug)]
pub(crate) struct HttpWitness {
    authority: String,
}

impl HttpWitness {
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        let (authority, _) = crate::peer_url::authority(url, "http")?;
        Ok(HttpWitness { authority: authority.to_owned() })
    }

    async fn post(&self, body: String) -> Result<WitnessAnswer, WitnessClientError> {
        let request = hyper::Request::post("/add-checkpoint")
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "text/plain")
            .body(Full::new(bytes::Bytes::from(body)))
            .map_err(|e| WitnessClientError::Bad(e.to_string()))?;
        let (status, bytes) = crate::peer_url::exchange(&self.authority, request, MAX_WITNESS_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                crate::peer_url::NoAnswer::Unreachable(why) => WitnessClientError::Unreachable(why),
                crate::peer_url::NoAnswer::TooLarge => WitnessClientError::TooLarge,
            })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match status {
            200 => Ok(WitnessAnswer::Cosigned(text)),
            409 => text
                .trim()
                .parse()
                .map(WitnessAnswer::Conflict)
                .map_err(|_| WitnessClientError::Bad("409 without a size".into())),
            _ => Err(WitnessClientError::Refused { status, message: text.chars().take(200).collect() }),
        }
    }
}

impl WitnessClient for HttpWitness {
    fn add_checkpoint(&self, body: String) -> WitnessFuture<'_> {
        Box::pin(self.post(body))
    }
}
