//! What the hub exports for offline checking, and the verifier that checks it.

use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::AuditEntry;
use crate::hash::{Hash, leaf_hash};
use crate::log::MerkleLog;
use crate::note::VerifierKey;
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::storage::LogStorage;

/// The most entries one bundle may carry.
pub const MAX_BUNDLE_ENTRIES: usize = 1_000_000;

/// One exported entry: its index, its exact leaf bytes and its audit path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// The leaf bytes, base64 (the canonical bytes of an [`AuditEntry`]).
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
    /// The inclusion proof's path against the bundle's checkpoint.
    pub path: Vec<Hash>,
}

/// What `caveat audit export` writes and `caveat audit verify` reads (JSON).
///
/// Everything needed to check, without the store, that the entries are in the log the
/// hub signed now, and that this log extends the one the partner saved earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// The signed checkpoint note the hub issued for this export.
    pub checkpoint: String,
    /// From the partner's saved checkpoint to this one, when the partner had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ConsistencyProof>,
    /// The entries, by ascending index.
    pub entries: Vec<BundleEntry>,
}

impl AuditBundle {
    /// Builds a bundle of `indexes` from `log`, proved against `checkpoint`, with a
    /// consistency proof from `saved_size` when the partner saved a checkpoint.
    pub fn build<S: LogStorage>(
        log: &MerkleLog<S>,
        checkpoint: &SignedCheckpoint,
        saved_size: Option<u64>,
        indexes: &[u64],
    ) -> Result<Self, Error> {
        let size = checkpoint.checkpoint().size();
        let consistency = saved_size.map(|old| log.consistency_proof(old, size)).transpose()?;
        let mut sorted = indexes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let entries = sorted
            .into_iter()
            .map(|index| {
                let path = log.inclusion_proof(index, size)?.path;
                Ok(BundleEntry { index, data: log.entry(index)?, path })
            })
            .collect::<Result<_, Error>>()?;
        Ok(AuditBundle { checkpoint: checkpoint.to_string(), consistency, entries })
    }

    /// Reads a bundle from its JSON.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let bundle: AuditBundle =
            serde_json::from_str(json).map_err(|e| Error::BundleJson { message: e.to_string() })?;
        if bundle.entries.len() > MAX_BUNDLE_ENTRIES {
            return Err(Error::TooLarge {
                what: "bundle entries",
                len: bundle.entries.len(),
                limit: MAX_BUNDLE_ENTRIES,
            });
        }
        Ok(bundle)
    }

    /// The bundle as JSON.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| Error::BundleJson { message: e.to_string() })
    }
}

/// What a bundle proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The checkpoint the hub signed for the export; save it for next time.
    pub checkpoint: Checkpoint,
    /// The entries, by index, each proved to be in that checkpoint's tree.
    pub entries: Vec<(u64, AuditEntry)>,
}

/// Checks a bundle offline: the checkpoint's signature, consistency with the
/// partner's saved checkpoint (if any), and each entry's inclusion.
///
/// `saved` is the signed checkpoint note the partner kept from an earlier export.
/// Entries are checked in index order and the first failure is returned, naming the
/// entry index ([`Error::InclusionProofInvalid`], [`Error::Entry`]) or the tree sizes
/// ([`Error::ConsistencyProofInvalid`], [`Error::LogShrank`]).
pub fn verify_bundle(saved: Option<&str>, key: &VerifierKey, bundle: &AuditBundle) -> Result<VerifiedBundle, Error> {
    let now = SignedCheckpoint::open(&bundle.checkpoint, key)?;
    let now = now.checkpoint();
    if let Some(saved) = saved {
        let saved = SignedCheckpoint::open(saved, key)?;
        check_extends(saved.checkpoint(), now, bundle.consistency.as_ref())?;
    }
    let mut entries: Vec<&BundleEntry> = bundle.entries.iter().collect();
    entries.sort_by_key(|e| e.index);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let proof = InclusionProof { leaf_index: e.index, tree_size: now.size(), path: e.path.clone() };
        proof.verify(&leaf_hash(&e.data), &now.root())?;
        let entry = AuditEntry::from_bytes(&e.data).map_err(|err| match err {
            Error::Entry { reason, .. } => Error::Entry { index: Some(e.index), reason },
            other => other,
        })?;
        out.push((e.index, entry));
    }
    Ok(VerifiedBundle { checkpoint: now.clone(), entries: out })
}

/// The log of `now` extends the log of `saved`: same origin, not smaller, and the
/// consistency proof connects the roots (RFC 9162 §2.1.4.2).
fn check_extends(saved: &Checkpoint, now: &Checkpoint, proof: Option<&ConsistencyProof>) -> Result<(), Error> {
    if saved.origin() != now.origin() {
        return Err(Error::OriginMismatch { expected: saved.origin().to_owned(), found: now.origin().to_owned() });
    }
    if saved.size() > now.size() {
        return Err(Error::LogShrank { saved_size: saved.size(), new_size: now.size() });
    }
    let missing = || Error::MissingConsistencyProof { old_size: saved.size(), new_size: now.size() };
    let proof = match proof {
        Some(p) if p.old_size == saved.size() && p.new_size == now.size() => p.clone(),
        // Equal sizes or an empty saved log need no hashes.
        None if saved.size() == now.size() || saved.size() == 0 => {
            ConsistencyProof { old_size: saved.size(), new_size: now.size(), path: Vec::new() }
        }
        _ => return Err(missing()),
    };
    proof.verify(&saved.root(), &now.root())
}

pub(crate) mod base64_bytes {
    use super::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}
