//! Witnesses of a log: C2SP tlog-cosignature (Ed25519 `cosignature/v1`) and the
//! C2SP tlog-witness `add-checkpoint` logic, with the witness's durable state.
//!
//! A [`Witness`] holds, for each log it witnesses (by origin), the last checkpoint
//! it cosigned. It cosigns a new checkpoint only when the log's key signed it and a
//! consistency proof connects it to that last one, and it stores the new one
//! durably before it answers: so it never cosigns two checkpoints of one size with
//! different roots, nor one that does not extend what it cosigned before. No HTTP
//! here: the `caveat witness` command (and a partner's node) serves it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;

use crate::Error;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::hash::{Hash, empty_root, shorten};
use crate::log::TreeHead;
use crate::note::{NoteSignature, SignedNote, VerifierKey, check_key_name, key_id_for};
use crate::proof::{ConsistencyProof, MAX_PROOF_HASHES};

/// The signature type byte of an Ed25519 cosignature (c2sp.org/tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// The largest `add-checkpoint` body a witness reads: 63 proof lines and a
/// checkpoint note with a few signatures fit in a small fraction of it.
pub const MAX_ADD_CHECKPOINT_BYTES: usize = 64 * 1024;
/// The most consistency-proof lines an `add-checkpoint` body may hold (c2sp.org/tlog-witness).
pub const MAX_ADD_CHECKPOINT_PROOF: usize = 63;

/// The message a cosignature signs: the header, the time, the checkpoint body.
fn cosigned_message(timestamp: u64, checkpoint_text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// A witness's Ed25519 cosigning key (c2sp.org/tlog-cosignature), with its name.
///
/// Made from 32 bytes the caller draws from a secure random source. `Debug`
/// shows only the name and key id.
pub struct CosignerKey {
    name: String,
    key_id: u32,
    inner: ed25519_dalek::SigningKey,
}

impl CosignerKey {
    /// A key named `name` (e.g. `witness.gbr.example`) from a 32-byte random seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, Error> {
        check_key_name(name)?;
        let inner = ed25519_dalek::SigningKey::from_bytes(&seed);
        let key_id = key_id_for(name, ALG_COSIGNATURE_V1, inner.verifying_key().as_bytes());
        Ok(CosignerKey { name: name.to_owned(), key_id, inner })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, to give to the log and to verifiers.
    pub fn verifier(&self) -> CosignerVerifier {
        CosignerVerifier { name: self.name.clone(), key_id: self.key_id, inner: self.inner.verifying_key() }
    }

    /// The cosignature line of `checkpoint` at `timestamp` (seconds since the epoch).
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> NoteSignature {
        let sig = self.inner.sign(cosigned_message(timestamp, &checkpoint.to_string()).as_bytes());
        let mut raw = Vec::with_capacity(72);
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        NoteSignature::new(self.name.clone(), self.key_id, raw)
    }
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A witness's public key, in the C2SP vkey form
/// `<name>+<hex key id>+<base64(0x04 || public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignerVerifier {
    name: String,
    key_id: u32,
    inner: ed25519_dalek::VerifyingKey,
}

impl CosignerVerifier {
    /// The verifier of witness `name` whose Ed25519 public key is `public` (as a
    /// Sigsum policy names it: a name and a raw key).
    pub fn from_ed25519(name: &str, public: [u8; 32]) -> Result<Self, Error> {
        check_key_name(name)?;
        let inner = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| Error::Key { value: shorten(name), reason: "not an Ed25519 public key" })?;
        Ok(CosignerVerifier { name: name.to_owned(), key_id: key_id_for(name, ALG_COSIGNATURE_V1, &public), inner })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The timestamp of this witness's valid cosignature on `note`.
    ///
    /// Fails with [`Error::NoSignature`] when the note has no line from this key,
    /// and [`Error::BadSignature`] when one does not verify: a forged or altered
    /// cosignature is never just ignored.
    pub fn verify(&self, note: &SignedNote) -> Result<u64, Error> {
        let bad = || Error::BadSignature { name: self.name.clone(), key_id: self.key_id };
        let mut found = None;
        for sig in note.signatures().iter().filter(|s| s.name() == self.name && s.key_id() == self.key_id) {
            let (time, sig) = sig.bytes().split_first_chunk::<8>().ok_or_else(bad)?;
            let bytes: [u8; 64] = sig.try_into().map_err(|_| bad())?;
            let timestamp = u64::from_be_bytes(*time);
            let message = cosigned_message(timestamp, note.text());
            self.inner
                .verify_strict(message.as_bytes(), &ed25519_dalek::Signature::from_bytes(&bytes))
                .map_err(|_| bad())?;
            found = Some(timestamp);
        }
        found.ok_or(Error::NoSignature { name: self.name.clone(), key_id: self.key_id })
    }
}

impl fmt::Display for CosignerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_COSIGNATURE_V1);
        raw.extend_from_slice(self.inner.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }
}

impl fmt::Debug for CosignerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignerVerifier({self})")
    }
}

impl FromStr for CosignerVerifier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::Key { value: shorten(s), reason };
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("not <name>+<key id>+<key>"));
        };
        let raw = STANDARD.decode(b64).map_err(|_| bad("key is not base64"))?;
        let (&alg, key) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(bad("not a cosignature/v1 key (type 0x04)"));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let v = CosignerVerifier::from_ed25519(name, key)?;
        if id.len() != 8 || format!("{:08x}", v.key_id) != id {
            return Err(bad("key id does not match the key"));
        }
        Ok(v)
    }
}

/// An `add-checkpoint` request (c2sp.org/tlog-witness): the size the log believes
/// the witness knows, the consistency proof from it, and the new checkpoint note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the witness's last cosigned checkpoint, as the log believes.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the new checkpoint's size.
    pub proof: Vec<Hash>,
    /// The new checkpoint, a signed note.
    pub checkpoint: String,
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old_size)?;
        for h in &self.proof {
            writeln!(f, "{h}")?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl FromStr for AddCheckpoint {
    type Err = WitnessError;
    fn from_str(body: &str) -> Result<Self, WitnessError> {
        let bad = |what: String| WitnessError::BadRequest(what);
        if body.len() > MAX_ADD_CHECKPOINT_BYTES {
            return Err(bad(format!("body is over {MAX_ADD_CHECKPOINT_BYTES} bytes")));
        }
        let (head, checkpoint) =
            body.split_once("\n\n").ok_or_else(|| bad("no blank line before the checkpoint".into()))?;
        let mut lines = head.split('\n');
        let first = lines.next().unwrap_or_default();
        let size = first
            .strip_prefix("old ")
            .ok_or_else(|| bad(format!("line 1: expected `old <size>`, got {:?}", shorten(first))))?;
        let canonical =
            !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
        let old_size = size
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| bad(format!("line 1: old size {:?} is not a decimal number", shorten(size))))?;
        let mut proof = Vec::new();
        for (i, line) in lines.enumerate() {
            if proof.len() == MAX_ADD_CHECKPOINT_PROOF {
                return Err(bad(format!("more than {MAX_ADD_CHECKPOINT_PROOF} consistency proof lines")));
            }
            let h = line.parse::<Hash>().map_err(|_| bad(format!("line {}: not a base64 hash", i + 2)))?;
            proof.push(h);
        }
        Ok(AddCheckpoint { old_size, proof, checkpoint: checkpoint.to_owned() })
    }
}

/// Why a witness did not cosign, with the HTTP status c2sp.org/tlog-witness gives it.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The request is malformed (400).
    #[error("bad add-checkpoint request: {0}")]
    BadRequest(String),
    /// The checkpoint's origin is not a log this witness witnesses (404).
    #[error("unknown log origin {0:?}")]
    UnknownLog(String),
    /// The checkpoint is not signed by the log's key (403).
    #[error("the checkpoint is not signed by the log's key: {0}")]
    NotSigned(Error),
    /// The old size is beyond the new checkpoint's size (400).
    #[error("old size {old_size} is beyond the checkpoint's size {new_size}")]
    OldBeyondNew {
        /// The request's old size.
        old_size: u64,
        /// The new checkpoint's size.
        new_size: u64,
    },
    /// The old size is not the size the witness last cosigned, or a checkpoint of
    /// that size with another root was cosigned (409, the body names the known size).
    #[error("the witness's last cosigned checkpoint of this log has size {known}{}", if *.fork { " and another root at that size" } else { "" })]
    Conflict {
        /// The size of the last cosigned checkpoint.
        known: u64,
        /// Whether the request's size equals it but the root differs (a fork).
        fork: bool,
    },
    /// The consistency proof does not connect the two checkpoints (422).
    #[error("consistency proof from {old_size} to {new_size} does not verify")]
    BadProof {
        /// The old size.
        old_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// An additional statement the witness makes does not hold (403); the reason is recorded.
    #[error("refused: {0}")]
    Refused(String),
    /// The witness's state could not be read or written (500).
    #[error("witness state: {0}")]
    State(Error),
}

impl WitnessError {
    /// The HTTP status for this answer (c2sp.org/tlog-witness).
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::BadRequest(_) | WitnessError::OldBeyondNew { .. } => 400,
            WitnessError::UnknownLog(_) => 404,
            WitnessError::NotSigned(_) | WitnessError::Refused(_) => 403,
            WitnessError::Conflict { .. } => 409,
            WitnessError::BadProof { .. } => 422,
            WitnessError::State(_) => 500,
        }
    }
}

/// Where a witness keeps the last checkpoint it cosigned of each log.
pub trait WitnessStore: Send + Sync {
    /// The last cosigned checkpoint note of `origin`, if any.
    fn load(&self, origin: &str) -> Result<Option<String>, Error>;
    /// Replaces it, durably, before returning (the witness answers only after).
    fn save(&self, origin: &str, note: &str) -> Result<(), Error>;
}

/// A [`WitnessStore`] of one file per log in a directory, each replaced
/// atomically: written to a temporary file, synced, renamed over the old one,
/// and the directory synced, so a crash leaves the old or the new, never half.
#[derive(Debug)]
pub struct FileWitnessStore {
    dir: PathBuf,
}

impl FileWitnessStore {
    /// The store in `dir`, created if missing.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Storage {
            operation: "create witness state",
            at: 0,
            source,
        })?;
        Ok(FileWitnessStore { dir: dir.to_owned() })
    }

    fn path(&self, origin: &str) -> PathBuf {
        // Origins are URLs-ish text: a hash makes a safe file name.
        self.dir.join(format!("{}.checkpoint", Hash::sha256(origin.as_bytes()).to_hex()))
    }
}

impl WitnessStore for FileWitnessStore {
    fn load(&self, origin: &str) -> Result<Option<String>, Error> {
        match std::fs::read_to_string(self.path(origin)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Storage { operation: "read witness state", at: 0, source }),
        }
    }

    fn save(&self, origin: &str, note: &str) -> Result<(), Error> {
        let io = |source| Error::Storage { operation: "write witness state", at: 0, source };
        let path = self.path(origin);
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(note.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io)?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }
}

/// A [`WitnessStore`] in memory, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryWitnessStore {
    notes: Mutex<BTreeMap<String, String>>,
}

impl WitnessStore for MemoryWitnessStore {
    fn load(&self, origin: &str) -> Result<Option<String>, Error> {
        Ok(self.notes.lock().map_err(|_| poisoned())?.get(origin).cloned())
    }
    fn save(&self, origin: &str, note: &str) -> Result<(), Error> {
        self.notes.lock().map_err(|_| poisoned())?.insert(origin.to_owned(), note.to_owned());
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::Corrupt { what: "witness state lock poisoned", at: 0 }
}

/// An additional statement a witness checks before it cosigns (e.g. a partner's
/// node checking that new entries touching its data cite its receipts).
pub trait Statement: Send + Sync {
    /// Checks the entries from `old_size` to the new checkpoint's size; `Err`
    /// carries the reason to refuse (and record).
    fn check(&self, old: TreeHead, new: &Checkpoint) -> Result<(), String>;
}

/// The witness: checks and cosigns checkpoints of the logs it knows.
pub struct Witness<S> {
    key: CosignerKey,
    logs: BTreeMap<String, VerifierKey>,
    store: S,
    statement: Option<Box<dyn Statement>>,
    /// One add-checkpoint at a time: check, save and answer are one step.
    lock: Mutex<()>,
}

impl<S> fmt::Debug for Witness<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Witness").field("key", &self.key).field("logs", &self.logs).finish_non_exhaustive()
    }
}

impl<S: WitnessStore> Witness<S> {
    /// A witness cosigning with `key` the logs whose keys are `logs` (each key's
    /// name is its log's origin, c2sp.org/tlog-checkpoint).
    pub fn new(key: CosignerKey, logs: Vec<VerifierKey>, store: S) -> Self {
        let logs = logs.into_iter().map(|k| (k.name().to_owned(), k)).collect();
        Witness { key, logs, store, statement: None, lock: Mutex::new(()) }
    }

    /// Adds a statement checked before every cosignature.
    #[must_use]
    pub fn with_statement(mut self, statement: Box<dyn Statement>) -> Self {
        self.statement = Some(statement);
        self
    }

    /// The witness's public key.
    pub fn verifier(&self) -> CosignerVerifier {
        self.key.verifier()
    }

    /// The last checkpoint cosigned of `origin` (size 0 and the empty root when none).
    pub fn last(&self, origin: &str) -> Result<TreeHead, WitnessError> {
        let key = self.logs.get(origin).ok_or_else(|| WitnessError::UnknownLog(shorten(origin)))?;
        match self.store.load(origin).map_err(WitnessError::State)? {
            None => Ok(TreeHead { size: 0, root: empty_root() }),
            Some(text) => Ok(SignedCheckpoint::open(&text, key).map_err(WitnessError::State)?.checkpoint().tree_head()),
        }
    }

    /// Handles one `add-checkpoint`: verifies the log's signature, that `old_size`
    /// is the size last cosigned, the consistency proof from it, and the
    /// statement; saves the checkpoint durably; returns the cosignature line
    /// (`— <name> <base64>\n`) timestamped `now` (seconds since the epoch).
    pub fn add_checkpoint(&self, req: &AddCheckpoint, now: u64) -> Result<String, WitnessError> {
        let note: SignedNote =
            req.checkpoint.parse().map_err(|e| WitnessError::BadRequest(format!("checkpoint: {e}")))?;
        let body: Checkpoint = note.text().parse().map_err(|e| WitnessError::BadRequest(format!("checkpoint: {e}")))?;
        let key = self.logs.get(body.origin()).ok_or_else(|| WitnessError::UnknownLog(shorten(body.origin())))?;
        key.verify(&note).map_err(WitnessError::NotSigned)?;
        let new = body.tree_head();
        if req.old_size > new.size {
            return Err(WitnessError::OldBeyondNew { old_size: req.old_size, new_size: new.size });
        }
        if req.proof.len() > MAX_PROOF_HASHES {
            return Err(WitnessError::BadRequest("consistency proof is too long".into()));
        }
        let _one_at_a_time = self.lock.lock().map_err(|_| WitnessError::State(poisoned()))?;
        let last = self.last(body.origin())?;
        if req.old_size != last.size {
            return Err(WitnessError::Conflict { known: last.size, fork: false });
        }
        if new.size == last.size && new.root != last.root {
            return Err(WitnessError::Conflict { known: last.size, fork: true });
        }
        let proof = ConsistencyProof { old_size: last.size, new_size: new.size, path: req.proof.clone() };
        proof
            .verify(&last.root, &new.root)
            .map_err(|_| WitnessError::BadProof { old_size: last.size, new_size: new.size })?;
        if let Some(s) = &self.statement {
            s.check(last, &body).map_err(WitnessError::Refused)?;
        }
        // Only the log's signature is kept: the state is the log's checkpoint, not others' cosignatures.
        let mut kept = note.clone();
        kept.retain_signatures(|s| s.name() == key.name() && s.key_id() == key.key_id());
        self.store.save(body.origin(), &kept.to_string()).map_err(WitnessError::State)?;
        Ok(self.key.cosign(&body, now).to_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::MerkleLog;
    use crate::note::SigningKey;
    use crate::storage::MemoryStorage;

    fn log_of(n: u32) -> MerkleLog<MemoryStorage> {
        let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        log.append_batch(&leaves).unwrap();
        log
    }

    fn request(log: &MerkleLog<MemoryStorage>, key: &SigningKey, old: u64) -> AddCheckpoint {
        let cp = log.sign_checkpoint(key).unwrap();
        let proof = if old == 0 { Vec::new() } else { log.consistency_proof(old, log.size()).unwrap().path };
        AddCheckpoint { old_size: old, proof, checkpoint: cp.to_string() }
    }

    #[test]
    fn cosigns_consistent_checkpoints_and_refuses_the_rest() {
        let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32]).unwrap();
        let wkey = CosignerKey::from_seed("witness.gbr", [2; 32]).unwrap();
        let witness = Witness::new(wkey, vec![hub.verifier_key()], MemoryWitnessStore::default());
        let v = witness.verifier();
        let log5 = log_of(5);
        let line = witness.add_checkpoint(&request(&log5, &hub, 0), 1_700_000_000).unwrap();
        let mut note: SignedNote = log5.sign_checkpoint(&hub).unwrap().to_string().parse().unwrap();
        note.push_signature_line(&line).unwrap();
        assert_eq!(v.verify(&note).unwrap(), 1_700_000_000);
        // The request round-trips as text.
        let req = request(&log_of(9), &hub, 5);
        assert_eq!(req.to_string().parse::<AddCheckpoint>().unwrap(), req);
        // A stale old size: 409 with the known size.
        let e = witness.add_checkpoint(&request(&log_of(9), &hub, 0), 1).unwrap_err();
        assert!(matches!(e, WitnessError::Conflict { known: 5, fork: false }), "{e}");
        assert_eq!(e.status(), 409);
        witness.add_checkpoint(&request(&log_of(9), &hub, 5), 2).unwrap();
        // Another log of 9 entries (a fork): the same size with another root is refused.
        let mut fork = MerkleLog::open(MemoryStorage::new()).unwrap();
        fork.append_batch(&vec![b"x".to_vec(); 9]).unwrap();
        let e = witness.add_checkpoint(&request(&fork, &hub, 9), 3).unwrap_err();
        assert!(matches!(e, WitnessError::Conflict { known: 9, fork: true }), "{e}");
        // A larger fork with a proof from the real 9 is not consistent.
        fork.append_batch(&[b"y".to_vec()]).unwrap();
        let mut forged = request(&fork, &hub, 9);
        forged.proof = log_of(10).consistency_proof(9, 10).unwrap().path;
        assert_eq!(witness.add_checkpoint(&forged, 4).unwrap_err().status(), 422);
        // Unknown origin, wrong signer, old beyond new.
        let other = SigningKey::from_seed("other.log", [3; 32]).unwrap();
        assert_eq!(witness.add_checkpoint(&request(&log_of(10), &other, 9), 5).unwrap_err().status(), 404);
        let impostor = SigningKey::from_seed("caveat.hub/audit", [4; 32]).unwrap();
        assert_eq!(witness.add_checkpoint(&request(&log_of(10), &impostor, 9), 5).unwrap_err().status(), 403);
        let mut beyond = request(&log_of(10), &hub, 9);
        beyond.old_size = 11;
        assert_eq!(witness.add_checkpoint(&beyond, 5).unwrap_err().status(), 400);
        // State unchanged by the refusals.
        assert_eq!(witness.last("caveat.hub/audit").unwrap(), log_of(9).tree_head());
    }

    #[test]
    fn file_state_survives_a_restart_and_keys_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32]).unwrap();
        let mk = || {
            Witness::new(
                CosignerKey::from_seed("w", [2; 32]).unwrap(),
                vec![hub.verifier_key()],
                FileWitnessStore::open(dir.path()).unwrap(),
            )
        };
        mk().add_checkpoint(&request(&log_of(4), &hub, 0), 1).unwrap();
        let again = mk();
        assert_eq!(again.last("caveat.hub/audit").unwrap().size, 4);
        assert!(matches!(
            again.add_checkpoint(&request(&log_of(6), &hub, 0), 1),
            Err(WitnessError::Conflict { known: 4, .. })
        ));
        let v = again.verifier();
        assert_eq!(v.to_string().parse::<CosignerVerifier>().unwrap(), v);
        assert!(hub.verifier_key().to_string().parse::<CosignerVerifier>().is_err());
    }

    #[test]
    fn malformed_requests_are_named() {
        for (body, what) in [
            ("old 1\n", "blank line"),
            ("new 1\n\nx", "line 1"),
            ("old 01\n\nx", "not a decimal"),
            ("old 1\nnot-a-hash\n\nx", "line 2"),
        ] {
            let e = body.parse::<AddCheckpoint>().unwrap_err();
            assert!(e.to_string().contains(what), "{body:?}: {e}");
            assert_eq!(e.status(), 400);
        }
        let big = format!("old 0\n\n{}", "a".repeat(MAX_ADD_CHECKPOINT_BYTES));
        assert!(big.parse::<AddCheckpoint>().is_err());
    }
}
