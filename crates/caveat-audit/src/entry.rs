//! Audit entries: what each leaf of the log records, and its canonical bytes.

use std::fmt;
use std::str::FromStr;

use caveat_core::{CaseId, PartnerId, Purpose, ReportId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;
use crate::completeness::UsageTags;
use crate::content::{PolicyEventRef, StoreItem};
use crate::hash::{Hash, shorten};

/// The first line of every entry's bytes: names the format and its version, and
/// keeps Caveat's leaves apart from any other JSON that might be hashed.
const ENTRY_PREFIX: &[u8] = b"caveat-audit-entry/v1\n";
/// Domain separation for digests of report id sets.
const REPORT_IDS_PREFIX: &[u8] = b"caveat-report-ids/v1\n";
/// Sets of at most this many report ids are written out in full, not only digested.
pub const INLINE_REPORT_IDS: usize = 16;

/// The id of a policy (a Cedar policy id, a suspension's id): 1-128 printable
/// characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PolicyId(String);

impl PolicyId {
    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PolicyId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if (1..=128).contains(&s.chars().count()) && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Ok(PolicyId(s.to_owned()))
        } else {
            Err(Error::Entry {
                index: None,
                reason: format!("policy id {:?} must be 1-128 characters without spaces", shorten(s)),
            })
        }
    }
}

impl TryFrom<String> for PolicyId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<PolicyId> for String {
    fn from(p: PolicyId) -> String {
        p.0
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome of a policy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The reports were released to the request.
    Permit,
    /// They were withheld.
    Deny,
}

/// What a request did with the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read reports or tracks fused from them.
    Read,
    /// Exported them out of the hub.
    Export,
    /// Cited them in a case.
    Cite,
}

/// A step of an interdiction case (DESIGN.md, "case").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStepKind {
    /// The vessel was first detected.
    Detect,
    /// It was watched.
    Monitor,
    /// A unit moved to intercept it.
    Intercept,
    /// It was boarded.
    Board,
    /// It was searched.
    Search,
    /// Cargo was seized.
    Seize,
    /// Persons were detained.
    Detain,
    /// The case was handed to another partner.
    HandOver,
    /// Vessel or persons were released.
    Release,
    /// The case was closed.
    Close,
}

/// A set of report ids: its size and digest always, the ids themselves when few.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSet {
    count: u64,
    digest: Hash,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ids: Vec<ReportId>,
}

impl ReportSet {
    /// The set of `ids` (order and duplicates do not matter).
    pub fn new(ids: &[ReportId]) -> Self {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let digest = report_ids_digest(&sorted);
        let count = sorted.len() as u64;
        if sorted.len() > INLINE_REPORT_IDS {
            // Not `clear`: that keeps the buffer, and a view's decisions hold
            // a set per originator for as long as the view (16 bytes a report).
            sorted = Vec::new();
        }
        ReportSet { count, digest, ids: sorted }
    }

    /// How many distinct reports.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// [`report_ids_digest`] of the set.
    pub fn digest(&self) -> Hash {
        self.digest
    }

    /// The ids, sorted, when at most [`INLINE_REPORT_IDS`]; empty otherwise.
    pub fn ids(&self) -> &[ReportId] {
        &self.ids
    }

    /// Whether this is the set of `ids`: an originator checks its own list against it.
    pub fn matches(&self, ids: &[ReportId]) -> bool {
        ReportSet::new(ids) == *self
    }
}

/// SHA-256 over a domain prefix and the sorted, distinct ids' 16 bytes each.
pub fn report_ids_digest(ids: &[ReportId]) -> Hash {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut buf = Vec::with_capacity(REPORT_IDS_PREFIX.len() + 16 * sorted.len());
    buf.extend_from_slice(REPORT_IDS_PREFIX);
    for id in &sorted {
        buf.extend_from_slice(id.as_bytes());
    }
    Hash::sha256(&buf)
}

/// One originator's share of a decision or case step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginatorUse {
    /// The partner whose reports these are.
    pub originator: PartnerId,
    /// Which reports.
    pub reports: ReportSet,
    /// Whether they were released.
    pub decision: Decision,
    /// The policies that determined the decision (Cedar's reason set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub determining_policies: Vec<PolicyId>,
}

/// A partner's batch of reports was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestBatch {
    /// When (the caller's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The contributing partner (the originator).
    pub partner: PartnerId,
    /// Who submitted it.
    pub user: UserId,
    /// The reports stored.
    pub reports: ReportSet,
    /// The batch's number among its partner's batches (the store's
    /// `partner_batch`, what the partner's receipt says; the hub-wide number
    /// would tell an originator how many batches others sent). Absent in
    /// entries written before issue 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    /// [`BatchContent::root`](crate::BatchContent) of the reports as stored,
    /// in batch order. Absent in entries written before issue 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Hash>,
    /// Written on a later start, from the stored batch, because the process
    /// that stored it stopped before its own entry was durable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// A request's policy decision, permit or deny, per originator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who asked.
    pub user: UserId,
    /// The consumer partner of the view key.
    pub partner: PartnerId,
    /// The declared purpose.
    pub purpose: Purpose,
    /// The case, if the request acted in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
    /// What the request did.
    pub action: Action,
    /// Each originator whose reports the request touched.
    pub originators: Vec<OriginatorUse>,
}

/// An originator uploaded standing policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyUpload {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The originator.
    pub partner: PartnerId,
    /// Who uploaded.
    pub user: UserId,
    /// SHA-256 of the uploaded policy text.
    pub policy_digest: Hash,
    /// The ids of the policies it holds.
    pub policies: Vec<PolicyId>,
    /// The stored policy event this records. Absent in entries written before issue 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<PolicyEventRef>,
    /// Written on a later start, from the stored event (see [`IngestBatch::recovered`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// An originator suspended sharing (a standing forbid that takes effect at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The originator.
    pub originator: PartnerId,
    /// Who suspended.
    pub user: UserId,
    /// The suspension's id, named again by its resume.
    pub suspension: PolicyId,
    /// Only towards this consumer, or everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<PartnerId>,
    /// Only for this purpose, or every purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The stored policy event this records. Absent in entries written before issue 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<PolicyEventRef>,
    /// Written on a later start, from the stored event (see [`IngestBatch::recovered`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// An originator lifted a suspension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The originator.
    pub originator: PartnerId,
    /// Who resumed.
    pub user: UserId,
    /// The suspension lifted.
    pub suspension: PolicyId,
    /// The stored policy event this records. Absent in entries written before issue 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<PolicyEventRef>,
    /// Written on a later start, from the stored event (see [`IngestBatch::recovered`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

/// A step of a case, with the reports it relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStep {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The case.
    pub case: CaseId,
    /// The partner acting.
    pub partner: PartnerId,
    /// Who recorded the step.
    pub user: UserId,
    /// Which step.
    pub step: CaseStepKind,
    /// The reports relied on, per originator.
    pub originators: Vec<OriginatorUse>,
}

/// What a watch rule change did (issue 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleChangeKind {
    /// The rule was created.
    Created,
    /// The rule was replaced by a new version.
    Updated,
    /// The rule was deleted.
    Deleted,
}

/// A watch rule was created, updated or deleted: a policy-like action of its
/// partner (who is told what it watches for, and who may be alerted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChange {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The partner the rule belongs to.
    pub partner: PartnerId,
    /// Who changed it.
    pub user: UserId,
    /// The rule's id (`W-` and hex).
    pub rule: String,
    /// What was done.
    pub change: RuleChangeKind,
    /// The rule's version after the change (the version deleted, for a delete).
    pub version: u64,
    /// SHA-256 of the rule as stored after the change (its JSON); absent for a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Hash>,
}

/// Most characters of a [`WitnessRefusal`]'s reason (the witness's own
/// message names at most a few uses; a longer one is cut).
pub const MAX_REFUSAL_REASON: usize = 2000;

/// A partner's node, as a witness of a hub's log, refused to cosign one of its
/// checkpoints (issue 18 item 2): its own record, in its own log, of what it
/// found (a use of its partner's data no receipt of its node covers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessRefusal {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node's partner, whose data the refused checkpoint's uses touch.
    pub partner: PartnerId,
    /// The origin of the hub's log.
    pub origin: String,
    /// The size of the checkpoint refused.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The size of the last checkpoint the witness cosigned (the check covered `cosigned..size`).
    pub cosigned: u64,
    /// Why, at most [`MAX_REFUSAL_REASON`] characters.
    pub reason: String,
}

/// One leaf of the audit log.
///
/// Its bytes ([`AuditEntry::to_bytes`]) are a version line and compact JSON; reading
/// ([`AuditEntry::from_bytes`]) accepts only bytes that encode back identically, so
/// each entry has exactly one leaf hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuditEntry {
    /// A batch of reports was ingested.
    IngestBatch(IngestBatch),
    /// A policy decision (permit or deny).
    PolicyDecision(PolicyDecision),
    /// Standing policy was uploaded.
    PolicyUpload(PolicyUpload),
    /// Sharing was suspended.
    Suspension(Suspension),
    /// A suspension was lifted.
    Resume(Resume),
    /// A case step.
    CaseStep(CaseStep),
    /// Tags of the entries since the previous tag leaf, one column per partner
    /// (complete usage reports, issue 18; see [`UsageTags`]). Touches no one.
    UsageTags(UsageTags),
    /// A watch rule was created, updated or deleted (issue 20).
    RuleChange(RuleChange),
    /// The node's witness refused to cosign a hub checkpoint (issue 18 item 2).
    WitnessRefusal(WitnessRefusal),
}

impl AuditEntry {
    /// The canonical bytes: the leaf data.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = ENTRY_PREFIX.to_vec();
        serde_json::to_writer(&mut out, self).map_err(|e| Error::Entry { index: None, reason: e.to_string() })?;
        Ok(out)
    }

    /// Reads canonical bytes back; anything else is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let json = bytes
            .strip_prefix(ENTRY_PREFIX)
            .ok_or_else(|| Error::Entry { index: None, reason: "missing the caveat-audit-entry/v1 line".to_owned() })?;
        let entry: AuditEntry =
            serde_json::from_slice(json).map_err(|e| Error::Entry { index: None, reason: e.to_string() })?;
        if entry.to_bytes()? != bytes {
            return Err(Error::Entry { index: None, reason: "not in canonical form".to_owned() });
        }
        if let AuditEntry::UsageTags(t) = &entry {
            t.check().map_err(|reason| Error::Entry { index: None, reason: format!("tag leaf {reason}") })?;
        }
        Ok(entry)
    }

    /// When it happened (the caller's clock when it was recorded).
    pub fn at(&self) -> OffsetDateTime {
        match self {
            AuditEntry::IngestBatch(e) => e.at,
            AuditEntry::PolicyDecision(e) => e.at,
            AuditEntry::PolicyUpload(e) => e.at,
            AuditEntry::Suspension(e) => e.at,
            AuditEntry::Resume(e) => e.at,
            AuditEntry::CaseStep(e) => e.at,
            AuditEntry::UsageTags(e) => e.at,
            AuditEntry::RuleChange(e) => e.at,
            AuditEntry::WitnessRefusal(e) => e.at,
        }
    }

    /// The originators whose data or policy this entry touches, sorted, distinct.
    pub fn originators(&self) -> Vec<&PartnerId> {
        let mut out: Vec<&PartnerId> = match self {
            AuditEntry::IngestBatch(e) => vec![&e.partner],
            AuditEntry::PolicyDecision(PolicyDecision { originators, .. })
            | AuditEntry::CaseStep(CaseStep { originators, .. }) => originators.iter().map(|u| &u.originator).collect(),
            AuditEntry::PolicyUpload(e) => vec![&e.partner],
            AuditEntry::Suspension(e) => vec![&e.originator],
            AuditEntry::Resume(e) => vec![&e.originator],
            AuditEntry::UsageTags(_) => Vec::new(),
            AuditEntry::RuleChange(e) => vec![&e.partner],
            AuditEntry::WitnessRefusal(e) => vec![&e.partner],
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// What in the store this entry accounts for: the batch an ingest entry
    /// names, the policy event a policy entry records. `None` for decisions,
    /// case steps and entries written before issue 16.
    pub fn store_item(&self) -> Option<StoreItem> {
        match self {
            AuditEntry::IngestBatch(e) => e.batch.map(|number| StoreItem::Batch { partner: e.partner.clone(), number }),
            AuditEntry::PolicyUpload(PolicyUpload { event, .. })
            | AuditEntry::Suspension(Suspension { event, .. })
            | AuditEntry::Resume(Resume { event, .. }) => event.map(|e| StoreItem::PolicyEvent { version: e.version }),
            AuditEntry::PolicyDecision(_)
            | AuditEntry::CaseStep(_)
            | AuditEntry::UsageTags(_)
            | AuditEntry::RuleChange(_)
            | AuditEntry::WitnessRefusal(_) => None,
        }
    }

    /// Whether it touches `originator`'s data or policy.
    pub fn touches(&self, originator: &PartnerId) -> bool {
        self.originators().contains(&originator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caveat_core::ReportIdMint;
    use time::macros::datetime;

    fn ids(n: usize) -> Vec<ReportId> {
        let mut mint = ReportIdMint::new(1_795_000_000_000, [1; 10]);
        (0..n).map(|_| mint.next_id()).collect()
    }

    #[test]
    fn report_sets_inline_few_ids_and_ignore_order() {
        let few = ids(3);
        let mut rev = few.clone();
        rev.reverse();
        let set = ReportSet::new(&rev);
        assert_eq!(set.ids(), few.as_slice());
        assert!(set.matches(&few));
        assert!(!set.matches(&few[..2]));
        let many = ReportSet::new(&ids(17));
        assert_eq!(many.count(), 17);
        assert!(many.ids().is_empty());
    }

    #[test]
    fn bytes_are_canonical() {
        let e = AuditEntry::Resume(Resume {
            at: datetime!(2026-11-23 12:00 UTC),
            originator: "GBR".parse().unwrap(),
            user: "ana@gbr".parse().unwrap(),
            suspension: "susp-1".parse().unwrap(),
            event: None,
            recovered: false,
        });
        let b = e.to_bytes().unwrap();
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            "caveat-audit-entry/v1\n{\"kind\":\"resume\",\"at\":\"2026-11-23T12:00:00Z\",\"originator\":\"GBR\",\"user\":\"ana@gbr\",\"suspension\":\"susp-1\"}"
        );
        assert_eq!(AuditEntry::from_bytes(&b).unwrap(), e);
        let spaced = String::from_utf8(b).unwrap().replace(",\"user\"", ", \"user\"");
        assert!(AuditEntry::from_bytes(spaced.as_bytes()).is_err());
        assert!(AuditEntry::from_bytes(b"{}").is_err());
    }

    /// Entries written before issue 16 lack the store fields; they still read
    /// back, byte for byte, and name nothing in the store.
    #[test]
    fn a_witness_refusal_round_trips_touches_its_partner_only_and_accounts_for_nothing_stored() {
        let e = AuditEntry::WitnessRefusal(WitnessRefusal {
            at: datetime!(2026-12-02 02:00 UTC),
            partner: "GBR".parse().unwrap(),
            origin: "caveat.hub/audit".into(),
            size: 21,
            root: Hash::sha256(b"root"),
            cosigned: 14,
            reason: "1 use(s) of GBR's data not covered by a receipt of its node: entry 15: cites no receipt".into(),
        });
        let bytes = e.to_bytes().unwrap();
        assert!(std::str::from_utf8(&bytes).unwrap().contains("\"kind\":\"witness-refusal\""));
        assert_eq!(AuditEntry::from_bytes(&bytes).unwrap(), e);
        assert!(e.touches(&"GBR".parse().unwrap()) && !e.touches(&"CAN".parse().unwrap()));
        assert_eq!(e.store_item(), None);
    }

    #[test]
    fn old_entries_still_decode_and_new_ones_name_their_batch() {
        let old = "caveat-audit-entry/v1\n{\"kind\":\"ingest-batch\",\"at\":\"2026-11-23T12:00:00Z\",\"partner\":\"GBR\",\"user\":\"operator\",\"reports\":{\"count\":0,\"digest\":\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"}}";
        let e = AuditEntry::from_bytes(old.as_bytes()).unwrap();
        assert_eq!(e.store_item(), None);
        assert_eq!(e.to_bytes().unwrap(), old.as_bytes());
        let AuditEntry::IngestBatch(mut i) = e else { panic!("an ingest entry") };
        i.batch = Some(3);
        i.content = Some(Hash::sha256(b"x"));
        i.recovered = true;
        let new = AuditEntry::IngestBatch(i);
        let text = String::from_utf8(new.to_bytes().unwrap()).unwrap();
        assert!(
            text.ends_with(
                ",\"batch\":3,\"content\":\"LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=\",\"recovered\":true}"
            ),
            "{text}"
        );
        assert_eq!(AuditEntry::from_bytes(text.as_bytes()).unwrap(), new);
        assert_eq!(new.store_item(), Some(StoreItem::Batch { partner: "GBR".parse().unwrap(), number: 3 }));
        // `recovered: false` is written by leaving it out; spelt out, it is not canonical.
        let spelt = text.replace("\"recovered\":true", "\"recovered\":false");
        assert!(AuditEntry::from_bytes(spelt.as_bytes()).is_err());
    }
}
