//! The hub's side of witnessing (issue 18): after each checkpoint it asks every
//! configured witness to cosign (c2sp.org/tlog-witness `add-checkpoint`), all at
//! once, each within a timeout, and serves the checkpoint with the cosignatures
//! it got. A witness that is down, slow or refuses costs one timeout and is
//! named in [`Cosigned::down`]; ingest never waits for any of it (it runs on the
//! checkpoint path and a background ticker, not on the append path).

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caveat_audit::{AddCheckpoint, CosignerVerifier, SignedCheckpoint, SignedNote};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Error;
use crate::audit::AuditLog;

/// How long one witness has to answer one `add-checkpoint` by default.
pub const DEFAULT_WITNESS_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes of a witness's answer read (a few cosignature lines).
pub const MAX_WITNESS_ANSWER_BYTES: usize = 4096;
/// A witness that failed is asked again for the same checkpoint at most this often.
const RETRY_DOWN: Duration = Duration::from_secs(5);
/// How often the background ticker checks whether the log grew.
const TICK: Duration = Duration::from_secs(1);

/// A witness's answer that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessAnswer {
    /// 200: its cosignature line(s).
    Cosigned(String),
    /// 409: the size of the last checkpoint it cosigned.
    Conflict(u64),
}

/// Why a witness gave no cosignature.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WitnessClientError {
    /// It could not be reached.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// It answered an error status.
    #[error("refused with {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its message, shortened.
        message: String,
    },
    /// The answer was larger than [`MAX_WITNESS_ANSWER_BYTES`].
    #[error("answer over the size limit")]
    TooLarge,
    /// The answer is malformed or its cosignature does not verify.
    #[error("bad answer: {0}")]
    Bad(String),
}

/// A future a [`WitnessClient`] returns.
pub type WitnessFuture<'a> = Pin<Box<dyn Future<Output = Result<WitnessAnswer, WitnessClientError>> + Send + 'a>>;

/// How the hub reaches one witness. The `caveat` binary implements it over
/// HTTP; tests implement it in process.
pub trait WitnessClient: Send + Sync + Debug {
    /// Sends one `add-checkpoint` body and returns the answer, unverified.
    fn add_checkpoint(&self, body: String) -> WitnessFuture<'_>;
}

/// One configured witness.
#[derive(Debug, Clone)]
pub struct WitnessLink {
    /// Its key name (what its cosignature lines are named).
    pub name: String,
    /// Its cosigning key: what it answers must verify with it.
    pub key: CosignerVerifier,
    /// How to reach it.
    pub client: Arc<dyn WitnessClient>,
}

/// A witness's state as the hub last saw it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WitnessStatus {
    /// The witness's key name.
    pub name: String,
    /// Whether it cosigned the latest checkpoint.
    pub up: bool,
    /// The size of the last checkpoint it cosigned, as far as the hub knows.
    pub cosigned_size: Option<u64>,
    /// Why it did not cosign the latest checkpoint, if it did not.
    pub last_error: Option<String>,
}

/// The latest checkpoint with the cosignatures collected for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The signed note: the hub's signature line, then one line per cosigning witness.
    pub note: String,
    /// The tree size.
    pub size: u64,
    /// The witnesses that cosigned it.
    pub cosigned_by: Vec<String>,
    /// The witnesses that did not (down, slow or refusing).
    pub down: Vec<String>,
}

#[derive(Debug)]
struct State {
    /// Per link: the size it last cosigned, when known.
    known: Vec<Option<u64>>,
    /// Per link: why the latest ask failed.
    errors: Vec<Option<String>>,
    latest: Option<(SignedCheckpoint, Vec<Option<String>>)>,
    last_attempt: Option<Instant>,
}

/// The configured witnesses and what the hub collected from them.
#[derive(Debug)]
pub struct Witnesses {
    links: Vec<WitnessLink>,
    timeout: Duration,
    state: tokio::sync::Mutex<State>,
    status: std::sync::Mutex<Vec<WitnessStatus>>,
}

impl Witnesses {
    /// The witnesses `links`, each given `timeout` per ask.
    pub fn new(links: Vec<WitnessLink>, timeout: Duration) -> Self {
        let n = links.len();
        let status = links
            .iter()
            .map(|l| WitnessStatus { name: l.name.clone(), up: false, cosigned_size: None, last_error: None })
            .collect();
        Witnesses {
            links,
            timeout,
            state: tokio::sync::Mutex::new(State {
                known: vec![None; n],
                errors: vec![None; n],
                latest: None,
                last_attempt: None,
            }),
            status: std::sync::Mutex::new(status),
        }
    }

    /// Each witness's state as last seen.
    pub fn status(&self) -> Vec<WitnessStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The checkpoint of the log as it is now, with the cosignatures of every
    /// witness that gives one within the timeout. Asks only when the log grew,
    /// or (at most every few seconds) again of witnesses that failed.
    pub(crate) async fn cosign(&self, audit: &AuditLog) -> Result<Cosigned, Error> {
        let mut state = self.state.lock().await;
        let fresh = audit.checkpoint().await?;
        let size = fresh.checkpoint().size();
        let same = state.latest.as_ref().is_some_and(|(cp, _)| cp.checkpoint() == fresh.checkpoint());
        let mut note: SignedNote = match (&state.latest, same) {
            (Some((cp, _)), true) => cp.note().clone(),
            _ => fresh.note().clone(),
        };
        let cosigned_now =
            |note: &SignedNote| self.links.iter().map(|l| l.key.verify(note).is_ok()).collect::<Vec<bool>>();
        let have = cosigned_now(&note);
        let retry_due = state.last_attempt.is_none_or(|t| t.elapsed() >= RETRY_DOWN);
        let ask: Vec<usize> =
            (0..self.links.len()).filter(|&i| !have.get(i).copied().unwrap_or(false) && (!same || retry_due)).collect();
        if !ask.is_empty() {
            state.last_attempt = Some(Instant::now());
            let mut tasks = tokio::task::JoinSet::new();
            for &i in &ask {
                let Some(link) = self.links.get(i).cloned() else { continue };
                let known = state.known.get(i).copied().flatten();
                let audit = audit.clone();
                let text = fresh.to_string();
                let timeout = self.timeout;
                tasks.spawn(async move {
                    let r = tokio::time::timeout(timeout, ask_one(&link, &audit, &text, size, known)).await;
                    (i, r.unwrap_or_else(|_| Err((known, format!("no answer within {} ms", timeout.as_millis())))))
                });
            }
            while let Some(joined) = tasks.join_next().await {
                let Ok((i, result)) = joined else { continue };
                match result {
                    Ok(lines) => {
                        let mut with = note.clone();
                        let verified = with.push_signature_line(&lines).is_ok()
                            && self.links.get(i).is_some_and(|l| l.key.verify(&with).is_ok());
                        if verified {
                            note = with;
                            set(&mut state.known, i, Some(size));
                            set(&mut state.errors, i, None);
                        } else {
                            set(&mut state.errors, i, Some("its cosignature does not verify".into()));
                        }
                    }
                    Err((known, e)) => {
                        set(&mut state.known, i, known);
                        set(&mut state.errors, i, Some(e));
                    }
                }
            }
        }
        let cp = SignedCheckpoint::open(&note.to_string(), audit.verifier_key())
            .map_err(|e| Error::internal("reading the cosigned checkpoint", &e))?;
        let have = cosigned_now(cp.note());
        let mut cosigned_by = Vec::new();
        let mut down = Vec::new();
        let mut status = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let up = have.get(i).copied().unwrap_or(false);
            if up {
                cosigned_by.push(link.name.clone());
            } else {
                down.push(link.name.clone());
            }
            status.push(WitnessStatus {
                name: link.name.clone(),
                up,
                cosigned_size: state.known.get(i).copied().flatten(),
                last_error: if up { None } else { state.errors.get(i).cloned().flatten() },
            });
        }
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
        let text = cp.to_string();
        state.latest = Some((cp, state.errors.clone()));
        Ok(Cosigned { note: text, size, cosigned_by, down })
    }
}

fn set<T>(v: &mut [T], i: usize, value: T) {
    if let Some(slot) = v.get_mut(i) {
        *slot = value;
    }
}

/// Asks one witness: from the size it is known to have (0 at first), and once
/// more from the size it names in a 409. Errors carry what is then known.
async fn ask_one(
    link: &WitnessLink,
    audit: &AuditLog,
    checkpoint: &str,
    size: u64,
    mut known: Option<u64>,
) -> Result<String, (Option<u64>, String)> {
    for _ in 0..2 {
        let old = known.unwrap_or(0);
        if old > size {
            return Err((known, format!("it cosigned a larger log ({old} entries) than the hub's {size}: a fork?")));
        }
        let proof = if old == 0 {
            Vec::new()
        } else {
            audit.consistency(old, size).await.map_err(|e| (known, e.to_string()))?.path
        };
        let body = AddCheckpoint { old_size: old, proof, checkpoint: checkpoint.to_owned() }.to_string();
        match link.client.add_checkpoint(body).await {
            Ok(WitnessAnswer::Cosigned(lines)) => return Ok(lines),
            Ok(WitnessAnswer::Conflict(k)) if known != Some(k) => known = Some(k),
            Ok(WitnessAnswer::Conflict(k)) => return Err((Some(k), format!("conflict at its size {k}"))),
            Err(e) => return Err((known, e.to_string())),
        }
    }
    Err((known, "conflict twice".into()))
}

impl crate::Hub {
    /// Makes this hub collect cosignatures from `witnesses` for its
    /// checkpoints, and check every second in the background whether the log
    /// grew. Once: a second call is ignored.
    pub fn witness_with(&self, witnesses: Witnesses) {
        let w = Arc::new(witnesses);
        if self.witnesses.set(w.clone()).is_err() {
            return;
        }
        let hub = self.clone();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                tokio::time::sleep(TICK).await;
                let size = hub.audit.tree_size().await.ok();
                if size.is_some()
                    && size != last
                    && let Ok(c) = w.cosign(&hub.audit).await
                {
                    last = Some(c.size);
                }
            }
        });
    }

    /// The configured witnesses' state (empty without witnesses).
    pub fn witness_status(&self) -> Vec<WitnessStatus> {
        self.witnesses.get().map(|w| w.status()).unwrap_or_default()
    }

    /// The checkpoint of the log as it is now with the witnesses' cosignatures
    /// (with none configured: signed by the hub alone, `down` empty); kept in
    /// the store too.
    ///
    /// # Errors
    /// The store or the audit log fails.
    pub async fn cosigned_checkpoint(&self) -> Result<Cosigned, Error> {
        let c = match self.witnesses.get() {
            Some(w) => w.cosign(&self.audit).await?,
            None => {
                let cp = self.audit.checkpoint().await?;
                Cosigned { note: cp.to_string(), size: cp.checkpoint().size(), cosigned_by: vec![], down: vec![] }
            }
        };
        self.store.save_checkpoint(c.size, c.note.clone()).await?;
        Ok(c)
    }
}
