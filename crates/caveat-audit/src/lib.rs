//! Caveat's audit log: an append-only RFC 9162 Merkle log of every ingest, policy
//! decision, policy upload, suspension, resume and case step, with signed
//! checkpoints, inclusion and consistency proofs, usage reports and an offline verifier.
//!
//! This crate reads no clock and draws no randomness: times arrive inside entries and
//! the signing key is made from 32 bytes the caller supplies. It owns the layout of
//! the log and computes every hash, but durable storage for the hub is `caveat-store`,
//! which implements [`LogStorage`]; [`FileStorage`] (append-only files) and
//! [`MemoryStorage`] are provided for benchmarks and tests. The `caveat audit`
//! commands that call [`verify_bundle`] live in the `caveat` binary.
//!
//! The main types:
//! - [`MerkleLog`]: appends batches over a [`LogStorage`], computes roots, builds
//!   [`InclusionProof`]s and [`ConsistencyProof`]s from `O(log n)` stored nodes ([`NodeId`]).
//! - [`AuditEntry`]: what one leaf records, with a canonical byte encoding.
//! - [`SigningKey`], [`VerifierKey`], [`SignedNote`]: Ed25519 keys and C2SP signed notes.
//! - [`Checkpoint`], [`SignedCheckpoint`]: C2SP tlog checkpoints.
//! - [`AuditBundle`] and [`verify_bundle`]: what the hub exports and the offline check.
//! - [`UsageReport`]: each use of one originator's data, summarised, with proofs,
//!   and with a [`Completeness`] proof that it leaves none out ([`Tagger`] writes
//!   the [`UsageTags`] leaves that proof rests on).
//!
//! ```
//! use caveat_audit::{AuditBundle, AuditEntry, MemoryStorage, MerkleLog, Resume, SigningKey, verify_bundle};
//! use time::macros::datetime;
//!
//! let key = SigningKey::from_seed("caveat.example/audit", [7; 32])?; // use real randomness
//! let mut log = MerkleLog::open(MemoryStorage::new())?;
//! let entry = AuditEntry::Resume(Resume {
//!     at: datetime!(2026-11-23 12:00 UTC),
//!     originator: "GBR".parse()?,
//!     user: "ana@gbr".parse()?,
//!     suspension: "susp-1".parse()?,
//!     event: None,
//!     recovered: false,
//! });
//! log.append_entries(&[entry.clone()])?;
//! let saved = log.sign_checkpoint(&key)?.to_string(); // a partner keeps this
//!
//! log.append_entries(&[entry])?;
//! let now = log.sign_checkpoint(&key)?;
//! let bundle = AuditBundle::build(&log, &now, Some(1), &[0, 1])?;
//! let verified = verify_bundle(Some(&saved), &key.verifier_key(), &bundle)?;
//! assert_eq!(verified.checkpoint.size(), 2);
//! assert_eq!(verified.entries.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod bundle;
mod checkpoint;
mod completeness;
mod content;
mod entry;
mod error;
mod file;
mod hash;
mod log;
mod note;
mod proof;
mod quorum;
mod storage;
mod tree;
mod usage;
mod witness;

pub use bundle::{AuditBundle, BundleEntry, MAX_BUNDLE_ENTRIES, VerifiedBundle, verify_bundle};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use completeness::{
    Completeness, MAX_TAG_LEAVES, MAX_TAG_SLOTS, MAX_TAG_SPAN, RESUME_SCAN, Tagger, UsageKey, UsageSlot, UsageTags,
    tag_chain,
};
pub use content::{
    BatchContent, PolicyEventRef, REPORT_LOCATOR_BYTES, StoreItem, TreeBuilder, locator, policy_event_digest,
    report_bytes, report_leaf,
};
pub use entry::{
    Action, AuditEntry, CaseStep, CaseStepKind, Decision, INLINE_REPORT_IDS, IngestBatch, MAX_REFUSAL_REASON,
    OriginatorUse, PolicyDecision, PolicyId, PolicyUpload, ReportSet, Resume, RuleChange, RuleChangeKind, Suspension,
    WitnessRefusal, report_ids_digest,
};
pub use error::Error;
pub use file::{FileStorage, SYNC_EVERY_BATCHES};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use log::{MerkleLog, TreeHead};
pub use note::{MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES, NoteSignature, SignedNote, SigningKey, VerifierKey};
pub use proof::{ConsistencyProof, InclusionProof, MAX_PROOF_HASHES};
pub use quorum::{QuorumCheckpoint, WitnessPolicy, compare_checkpoints, verify_bundle_quorum};
pub use storage::{AppendBatch, LogStorage, MemoryStorage};
pub use tree::{NodeId, stored_node_count};
pub use usage::{PageRun, UsageLine, UsagePage, UsageReport, VerifiedPages, entries_touching, summarise, verify_pages};
pub use witness::{
    ALG_COSIGNATURE_V1, AddCheckpoint, CosignerKey, CosignerVerifier, FileWitnessStore, MAX_ADD_CHECKPOINT_BYTES,
    MAX_ADD_CHECKPOINT_PROOF, MemoryWitnessStore, Statement, Witness, WitnessError, WitnessStore,
};
