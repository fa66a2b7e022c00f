//! OpenAPI schemas of the audit log's types on the wire (`caveat-audit`'s
//! usage reports, bundles and proofs, which carry no schema of their own).
//!
//! Each struct here describes, field for field, the JSON that its namesake in
//! `caveat_audit` serialises to; the hub never builds them. They deserialise
//! that JSON as strictly as the schema states it (unknown fields refused,
//! every field not marked optional required), and `caveat-server`'s tests
//! read real usage reports, transparency reports and proofs through them and
//! validate the same bodies against the served document: a field added to or
//! dropped from the audit types fails those tests until this follows.

use std::borrow::Cow;

use caveat_core::{CaseId, PartnerId, Purpose};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// A SHA-256 hash, in padded standard base64 (44 characters).
#[derive(Debug, Deserialize)]
pub struct Hash(pub String);

impl utoipa::PartialSchema for Hash {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A SHA-256 hash, in padded standard base64 (44 characters)."))
            .pattern(Some("^[A-Za-z0-9+/]{43}=$"))
            .into()
    }
}

impl ToSchema for Hash {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Hash")
    }
}

/// Uses of an originator's data by one (partner, purpose, case).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageLine {
    /// The consuming (or, for case steps, acting) partner.
    pub partner: PartnerId,
    /// The declared purpose; absent for case steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The case, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
    /// Decisions that released the originator's reports.
    pub permits: u64,
    /// Decisions that withheld them.
    pub denies: u64,
    /// Reports released, summed over the permits.
    pub reports_permitted: u64,
    /// Reports withheld, summed over the denies.
    pub reports_denied: u64,
    /// Case steps that relied on the originator's reports.
    pub case_steps: u64,
}

/// One audit entry with its inclusion path against the bundle's checkpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry's canonical bytes, base64.
    #[schema(content_encoding = "base64")]
    pub data: String,
    /// The inclusion proof's path against the bundle's checkpoint.
    pub path: Vec<Hash>,
}

/// What `caveat audit verify` reads: entries proved against a checkpoint the
/// hub signed, and, when a saved checkpoint's size was given, that the log
/// grew from it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// The signed checkpoint (C2SP signed note text).
    pub checkpoint: String,
    /// From the saved checkpoint to this one; absent when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ConsistencyProof>,
    /// The entries, by ascending index.
    pub entries: Vec<BundleEntry>,
}

/// An originator's usage report (`/v1/usage`): every audit entry touching its
/// data, summarised, with the proofs (verify offline with `caveat audit verify`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The originator reported on.
    pub originator: PartnerId,
    /// The decisions and case steps on its data, by partner, purpose and case.
    pub summary: Vec<UsageLine>,
    /// The entries with inclusion proofs against a signed checkpoint.
    pub bundle: AuditBundle,
    /// The proof that `bundle` lists every entry touching the originator in a
    /// range of the log; absent for entries before tagging began (inclusion only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<Completeness>,
    /// Where the next page starts (ask again with `from` set to it); absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// A usage report's completeness proof: the tag leaves covering `from..to`,
/// each with its inclusion path against the report's checkpoint, and the
/// originator's key to read its column of them (see `docs/audit.md`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// The first entry index the report is complete from.
    pub from: u64,
    /// One past the last entry index it is complete to.
    pub to: u64,
    /// The originator's usage key, 32 bytes base64 (secret to it).
    #[schema(content_encoding = "base64")]
    pub key: String,
    /// The tag leaves, by ascending index.
    pub tags: Vec<BundleEntry>,
}

/// RFC 9162 inclusion proof: the leaf at `leaf_index` is in the tree of `tree_size` leaves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf's 0-based index.
    pub leaf_index: u64,
    /// The size of the tree the proof leads to.
    pub tree_size: u64,
    /// The sibling hashes, from the leaf up.
    pub path: Vec<Hash>,
}

/// RFC 9162 consistency proof: the tree of `old_size` leaves is a prefix of the tree of `new_size`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The earlier tree's size.
    pub old_size: u64,
    /// The later tree's size.
    pub new_size: u64,
    /// The proof's hashes, in the RFC's order.
    pub path: Vec<Hash>,
}
