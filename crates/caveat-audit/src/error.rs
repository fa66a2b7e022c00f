//! The one error type of `caveat-audit`.

use std::io;

/// Why an audit operation failed or a proof, signature or bundle did not verify.
///
/// Verification failures name the entry index or tree sizes concerned, so the
/// offline verifier can say where a log was tampered with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage underneath failed.
    #[error("storage failed to {operation} at {at}")]
    Storage {
        /// What was being done, e.g. `append batch`.
        operation: &'static str,
        /// The entry index, tree size or node position concerned.
        at: u64,
        /// The backend's error.
        #[source]
        source: io::Error,
    },
    /// Storage returned something impossible (wrong number of hashes, inconsistent file lengths).
    #[error("storage is inconsistent: {what} at {at}")]
    Corrupt {
        /// What was inconsistent.
        what: &'static str,
        /// The entry index, size or position concerned.
        at: u64,
    },
    /// An entry index is not below the tree size.
    #[error("entry {index} is not in a tree of {size} entries")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree size beyond what the log holds.
    #[error("tree size {size} is beyond the log's {log_size} entries")]
    SizeBeyondLog {
        /// The size asked for.
        size: u64,
        /// The log's size.
        log_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("cannot prove tree {old_size} is a prefix of the smaller tree {new_size}")]
    SizesOutOfOrder {
        /// The earlier size.
        old_size: u64,
        /// The later size.
        new_size: u64,
    },
    /// An inclusion proof does not lead from the entry to the root.
    #[error("inclusion proof for entry {index} in tree {tree_size} does not verify")]
    InclusionProofInvalid {
        /// The entry's index.
        index: u64,
        /// The tree size the proof claims.
        tree_size: u64,
    },
    /// A consistency proof does not connect the two roots.
    #[error("consistency proof from tree {old_size} to tree {new_size} does not verify")]
    ConsistencyProofInvalid {
        /// The earlier size.
        old_size: u64,
        /// The later size.
        new_size: u64,
    },
    /// Text that should be a hash is not 32 bytes of canonical base64 (or 64 hex digits).
    #[error("not a SHA-256 hash: {value}")]
    BadHash {
        /// The offending text, shortened.
        value: String,
    },
    /// A signed note is malformed (C2SP signed-note).
    #[error("signed note line {line}: {reason}")]
    Note {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A checkpoint body is malformed (C2SP tlog-checkpoint).
    #[error("checkpoint line {line}: {reason} (got {value})")]
    Checkpoint {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
        /// The offending line, shortened.
        value: String,
    },
    /// A key name is empty or holds a space or `+` (C2SP signed-note).
    #[error("key name {name:?}: {reason}")]
    KeyName {
        /// The offending name, shortened.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A verifier or signer key string is malformed.
    #[error("key {value:?}: {reason}")]
    Key {
        /// The offending key text, shortened (for a private key: only its name).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The note carries no signature from the trusted key.
    #[error("no signature from key {name} ({key_id:08x})")]
    NoSignature {
        /// The trusted key's name.
        name: String,
        /// Its key id.
        key_id: u32,
    },
    /// A signature from the trusted key does not verify.
    #[error("signature from key {name} ({key_id:08x}) does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
        /// Its key id.
        key_id: u32,
    },
    /// The bytes are not an audit entry in canonical form.
    #[error("{}audit entry: {reason}", index.map(|i| format!("entry {i}: ")).unwrap_or_default())]
    Entry {
        /// The entry's index in the log, when known.
        index: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// A batch or list is over a limit.
    #[error("{what}: {len} is over the limit of {limit}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A bundle's JSON could not be read.
    #[error("bundle: {message}")]
    BundleJson {
        /// The JSON reader's message.
        message: String,
    },
    /// The new checkpoint is for another log.
    #[error("checkpoint origin {found:?} is not the saved origin {expected:?}")]
    OriginMismatch {
        /// The saved checkpoint's origin.
        expected: String,
        /// The new checkpoint's origin.
        found: String,
    },
    /// The new checkpoint is smaller than the saved one: the log lost entries.
    #[error("the log shrank from {saved_size} to {new_size} entries")]
    LogShrank {
        /// The saved checkpoint's size.
        saved_size: u64,
        /// The new checkpoint's size.
        new_size: u64,
    },
    /// The bundle lacks the consistency proof from the saved checkpoint's size.
    #[error("no consistency proof from the saved tree {old_size} to tree {new_size}")]
    MissingConsistencyProof {
        /// The saved size.
        old_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// An entry in a usage report does not touch the originator it reports for.
    #[error("entry {index} does not touch originator {originator}")]
    NotTouching {
        /// The entry's index.
        index: u64,
        /// The originator.
        originator: String,
    },
    /// A usage report's summary is not what its entries add up to.
    #[error("usage summary does not match its entries")]
    SummaryMismatch,
    /// A usage report's completeness proof does not hold (see `docs/audit.md`,
    /// complete usage reports): the report leaves out, adds or misorders an
    /// entry, or the tag leaves behind it do not cover its range.
    #[error("usage report is not complete: {reason}")]
    Incomplete {
        /// What is wrong, naming the entry or tag leaf index.
        reason: String,
    },
    /// A witness policy is malformed.
    #[error("witness policy line {line}: {reason}")]
    Policy {
        /// 1-based line number (0: the policy as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint lacks the quorum of valid cosignatures the policy asks.
    #[error("checkpoint of size {size} lacks the witness quorum {quorum}: valid cosignatures from [{}]{}", cosigned.join(", "), if invalid.is_empty() { String::new() } else { format!(", cosignatures that do not verify from [{}]", invalid.join(", ")) })]
    NoQuorum {
        /// The checkpoint's size.
        size: u64,
        /// What the quorum asks, e.g. `2 of (gbr, can, nld)`.
        quorum: String,
        /// The witnesses whose cosignatures verified.
        cosigned: Vec<String>,
        /// The policy's witnesses whose cosignature line did not verify.
        invalid: Vec<String>,
    },
    /// Two checkpoints of one log cannot both be honest: a split view.
    #[error("SPLIT VIEW: {what}")]
    SplitView {
        /// Which checkpoints disagree, and how.
        what: String,
    },
}
