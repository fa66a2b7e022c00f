//! What an audit entry commits to of the hub's store (issue 16): the content of
//! a batch's reports and the stored body of a policy event, so that a report
//! edited or deleted in the database, or a policy event removed, no longer
//! matches the log.
//!
//! A batch's content is the RFC 9162 Merkle tree root over its reports in
//! batch (store) order, each leaf the report's canonical bytes
//! ([`report_bytes`]). A tree rather than one running hash, so a later proof
//! can show one report belongs to a batch without showing the others.

use caveat_core::{PartnerId, Report};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::Error;
use crate::hash::{Hash, empty_root, leaf_hash, node_hash};

/// The first line of a report's leaf: names the form and keeps it apart from other hashed data.
const REPORT_PREFIX: &[u8] = b"caveat-report/v1\n";
/// Domain separation for digests of stored policy event bodies.
const POLICY_EVENT_PREFIX: &[u8] = b"caveat-policy-event/v1\n";
/// How many bytes of each report's leaf hash the store keeps beside its batch
/// ([`BatchContent::locators`]). Not a security parameter: the root in the
/// entry is what detects a change; these only say *which* report changed, and
/// 64 bits make a wrong answer by chance negligible.
pub const REPORT_LOCATOR_BYTES: usize = 8;

/// A report's canonical bytes: a version line and the compact JSON of the
/// report with every time in UTC and zero written without a sign.
///
/// The JSON is the report's own serde form, which the store returns unchanged
/// except for those two things: it keeps times as UTC nanoseconds and SQLite
/// keeps `-0.0` in a REAL column as `0`. Normalising them makes the bytes
/// hashed at ingest equal the bytes recomputed from what the store returns.
///
/// # Errors
/// The report cannot be encoded (it cannot happen for a validated report).
pub fn report_bytes(report: &Report) -> Result<Vec<u8>, Error> {
    let mut out = REPORT_PREFIX.to_vec();
    let encoded = match normalised(report) {
        Some(r) => serde_json::to_writer(&mut out, &r),
        None => serde_json::to_writer(&mut out, report),
    };
    encoded.map_err(|e| Error::Entry { index: None, reason: format!("encoding report {}: {e}", report.id) })?;
    Ok(out)
}

/// The leaf hash of a report in its batch's content tree.
///
/// # Errors
/// See [`report_bytes`].
pub fn report_leaf(report: &Report) -> Result<Hash, Error> {
    Ok(leaf_hash(&report_bytes(report)?))
}

/// A copy with UTC times and unsigned zeros, or `None` when the report is in that form already (the usual case: no copy).
fn normalised(r: &Report) -> Option<Report> {
    let utc = |t: &OffsetDateTime| t.offset() == UtcOffset::UTC;
    let signed_zero = |x: f64| x == 0.0 && x.is_sign_negative();
    let floats = [
        Some(r.position.lat),
        Some(r.position.lon),
        Some(r.uncertainty_m),
        r.time_uncertainty_s,
        r.course_deg,
        r.speed_kn,
        r.vessel.length_m,
        r.vessel.beam_m,
    ];
    let fine = utc(&r.observed_at)
        && r.marking.not_after.as_ref().is_none_or(utc)
        && !floats.iter().flatten().any(|x| signed_zero(*x));
    if fine {
        return None;
    }
    let to_utc = |t: OffsetDateTime| t.to_offset(UtcOffset::UTC);
    // `x + 0.0` is `x` for every x but -0.0, which it makes +0.0 (IEEE 754).
    let zero = |x: f64| x + 0.0;
    let mut c = r.clone();
    c.observed_at = to_utc(c.observed_at);
    c.marking.not_after = c.marking.not_after.map(to_utc);
    c.position.lat = zero(c.position.lat);
    c.position.lon = zero(c.position.lon);
    c.uncertainty_m = zero(c.uncertainty_m);
    c.time_uncertainty_s = c.time_uncertainty_s.map(zero);
    c.course_deg = c.course_deg.map(zero);
    c.speed_kn = c.speed_kn.map(zero);
    c.vessel.length_m = c.vessel.length_m.map(zero);
    c.vessel.beam_m = c.vessel.beam_m.map(zero);
    Some(c)
}

/// Builds an RFC 9162 tree root one leaf at a time, keeping only the right
/// edge (at most 64 hashes): a batch of millions of reports, or a whole log
/// read back page by page, is folded without holding it.
#[derive(Debug, Clone, Default)]
pub struct TreeBuilder {
    size: u64,
    /// (level, hash) of the complete subtrees covering the leaves so far, left to right.
    frontier: Vec<(u8, Hash)>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        TreeBuilder::default()
    }

    /// Adds a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut level = 0u8;
        let mut index = self.size;
        // Each 1 bit at the bottom of the index closes a subtree with its left sibling.
        while index & 1 == 1 {
            let Some((_, left)) = self.frontier.pop() else { break };
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
        }
        self.frontier.push((level, h));
        self.size += 1;
    }

    /// Adds a leaf by its data.
    pub fn push(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `MTH` of the leaves so far (RFC 9162 §2.1.1); the empty root for none.
    pub fn root(&self) -> Hash {
        let mut iter = self.frontier.iter().rev();
        let Some((_, last)) = iter.next() else { return empty_root() };
        iter.fold(*last, |acc, (_, h)| node_hash(h, &acc))
    }
}

/// What a batch's ingest entry commits to, and what the store keeps to find a changed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchContent {
    /// The Merkle root over the reports' leaves ([`report_leaf`]), in batch order.
    pub root: Hash,
    /// The first [`REPORT_LOCATOR_BYTES`] of each leaf hash, concatenated, in
    /// batch order: kept by the store beside the batch so `verify-store` can
    /// name the first report that no longer matches.
    pub locators: Vec<u8>,
}

impl BatchContent {
    /// The content of `reports`, in their order.
    ///
    /// # Errors
    /// See [`report_bytes`].
    pub fn of(reports: &[Report]) -> Result<BatchContent, Error> {
        let mut tree = TreeBuilder::new();
        let mut locators = Vec::with_capacity(reports.len() * REPORT_LOCATOR_BYTES);
        for r in reports {
            let leaf = report_leaf(r)?;
            locators.extend_from_slice(leaf.as_bytes().get(..REPORT_LOCATOR_BYTES).unwrap_or_default());
            tree.push_leaf_hash(leaf);
        }
        Ok(BatchContent { root: tree.root(), locators })
    }
}

/// The locator of a report's leaf hash (see [`BatchContent::locators`]).
pub fn locator(leaf: &Hash) -> &[u8] {
    leaf.as_bytes().get(..REPORT_LOCATOR_BYTES).unwrap_or_default()
}

/// SHA-256 over a domain prefix and a policy event's body as stored.
pub fn policy_event_digest(body: &str) -> Hash {
    let mut buf = Vec::with_capacity(POLICY_EVENT_PREFIX.len() + body.len());
    buf.extend_from_slice(POLICY_EVENT_PREFIX);
    buf.extend_from_slice(body.as_bytes());
    Hash::sha256(&buf)
}

/// The stored policy event a policy entry records: its version (its place in
/// the store's event log) and [`policy_event_digest`] of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEventRef {
    /// The policy version the event produced.
    pub version: u64,
    /// [`policy_event_digest`] of the stored body.
    pub digest: Hash,
}

/// Something in the hub's store that an audit entry accounts for: one stored
/// batch or one policy event. Each has exactly one ingest entry, or one set
/// of policy entries, in the log; the store's index of the log refuses a second.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StoreItem {
    /// A batch, by its partner and its number among that partner's batches.
    Batch {
        /// The originator.
        partner: PartnerId,
        /// The batch's number among its partner's batches (1, 2, ...).
        number: u64,
    },
    /// A policy event, by the version it produced.
    PolicyEvent {
        /// The version.
        version: u64,
    },
}

impl std::fmt::Display for StoreItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreItem::Batch { partner, number } => write!(f, "batch {number} of {partner}"),
            StoreItem::PolicyEvent { version } => write!(f, "policy event {version}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MerkleLog;
    use crate::storage::MemoryStorage;
    use time::macros::datetime;

    fn report() -> Report {
        Report::builder().at(datetime!(2026-11-20 3:14 UTC)).position(15.5, -64.9).build()
    }

    #[test]
    fn the_builder_agrees_with_the_log() {
        let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
        let mut tree = TreeBuilder::new();
        assert_eq!(tree.root(), empty_root());
        for i in 0u32..41 {
            let data = i.to_be_bytes();
            log.append_batch(&[data]).unwrap();
            tree.push(&data);
            assert_eq!(tree.root(), log.root(), "size {}", i + 1);
        }
    }

    #[test]
    fn offsets_and_signed_zeros_do_not_change_the_bytes() {
        let plain = report();
        let mut odd = plain.clone();
        odd.observed_at = odd.observed_at.to_offset(time::macros::offset!(-4));
        odd.course_deg = Some(-0.0);
        let mut zero = plain.clone();
        zero.course_deg = Some(0.0);
        assert_eq!(report_bytes(&odd).unwrap(), report_bytes(&zero).unwrap());
        assert_ne!(report_bytes(&plain).unwrap(), report_bytes(&zero).unwrap());
        let mut moved = plain.clone();
        moved.position.lat += 1e-9;
        assert_ne!(report_leaf(&plain).unwrap(), report_leaf(&moved).unwrap());
    }

    #[test]
    fn batch_content_is_ordered_and_locates_each_report() {
        let a = report();
        let mut b = report();
        b.position.lon = -64.0;
        let ab = BatchContent::of(&[a.clone(), b.clone()]).unwrap();
        let ba = BatchContent::of(&[b.clone(), a.clone()]).unwrap();
        assert_ne!(ab.root, ba.root);
        assert_eq!(ab.locators.len(), 2 * REPORT_LOCATOR_BYTES);
        assert_eq!(&ab.locators[REPORT_LOCATOR_BYTES..], locator(&report_leaf(&b).unwrap()));
        assert_eq!(BatchContent::of(&[]).unwrap().root, empty_root());
    }
}
