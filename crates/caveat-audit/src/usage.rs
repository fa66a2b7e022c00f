//! Usage reports: every use of one originator's data, summarised and provable.

use std::collections::BTreeMap;
use std::ops::Range;

use caveat_core::{CaseId, PartnerId, Purpose};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::bundle::{AuditBundle, VerifiedBundle, verify_bundle};
use crate::checkpoint::SignedCheckpoint;
use crate::entry::{AuditEntry, Decision, OriginatorUse};
use crate::log::MerkleLog;
use crate::note::VerifierKey;
use crate::storage::LogStorage;

/// Uses of an originator's data by one (consumer partner, purpose, case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageLine {
    /// The consuming (or, for case steps, acting) partner.
    pub partner: PartnerId,
    /// The declared purpose; none for case steps.
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

/// Summarises the decisions and case steps among `entries` that used `originator`'s data.
///
/// Ingests, uploads, suspensions and resumes are the originator's own acts: they are
/// listed in a usage report's bundle but not counted here. Lines are sorted by
/// partner, purpose and case.
pub fn summarise(originator: &PartnerId, entries: &[(u64, AuditEntry)]) -> Vec<UsageLine> {
    type Key = (PartnerId, Option<Purpose>, Option<CaseId>);
    let mut lines: BTreeMap<Key, UsageLine> = BTreeMap::new();
    let mine =
        |uses: &[OriginatorUse]| uses.iter().filter(|u| &u.originator == originator).cloned().collect::<Vec<_>>();
    for (_, entry) in entries {
        let (key, uses, is_step) = match entry {
            AuditEntry::PolicyDecision(d) => {
                ((d.partner.clone(), Some(d.purpose), d.case), mine(&d.originators), false)
            }
            AuditEntry::CaseStep(s) => ((s.partner.clone(), None, Some(s.case)), mine(&s.originators), true),
            // Entries that use no reports: ingest, and the originator's own policy changes.
            AuditEntry::IngestBatch(_)
            | AuditEntry::PolicyUpload(_)
            | AuditEntry::Suspension(_)
            | AuditEntry::Resume(_) => continue,
        };
        if uses.is_empty() {
            continue;
        }
        let line = lines.entry(key.clone()).or_insert_with(|| UsageLine {
            partner: key.0,
            purpose: key.1,
            case: key.2,
            permits: 0,
            denies: 0,
            reports_permitted: 0,
            reports_denied: 0,
            case_steps: 0,
        });
        if is_step {
            line.case_steps += 1;
        }
        for u in uses {
            match u.decision {
                Decision::Permit => {
                    line.permits += u64::from(!is_step);
                    line.reports_permitted += u.reports.count();
                }
                Decision::Deny => {
                    line.denies += u64::from(!is_step);
                    line.reports_denied += u.reports.count();
                }
            }
        }
    }
    lines.into_values().collect()
}

/// The indexes in `range` of entries touching `originator`, by reading each entry.
///
/// A linear scan, for small logs and tests; a store keeps an index by originator and
/// passes its indexes to [`UsageReport::build`] instead.
pub fn entries_touching<S: LogStorage>(
    log: &MerkleLog<S>,
    originator: &PartnerId,
    range: Range<u64>,
) -> Result<Vec<u64>, Error> {
    let mut out = Vec::new();
    for index in range.start..range.end.min(log.size()) {
        if decode_at(log, index)?.touches(originator) {
            out.push(index);
        }
    }
    Ok(out)
}

fn decode_at<S: LogStorage>(log: &MerkleLog<S>, index: u64) -> Result<AuditEntry, Error> {
    AuditEntry::from_bytes(&log.entry(index)?).map_err(|e| match e {
        Error::Entry { reason, .. } => Error::Entry { index: Some(index), reason },
        other => other,
    })
}

/// Each entry that touched an originator's data, a summary of them, and the proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The originator reported on.
    pub originator: PartnerId,
    /// [`summarise`] of the entries.
    pub summary: Vec<UsageLine>,
    /// The entries with inclusion proofs against a signed checkpoint.
    pub bundle: AuditBundle,
}

impl UsageReport {
    /// The report for `originator` over the entries at `indexes` (which must all touch
    /// it), proved against `checkpoint`, with a consistency proof from `saved_size`.
    pub fn build<S: LogStorage>(
        log: &MerkleLog<S>,
        originator: &PartnerId,
        checkpoint: &SignedCheckpoint,
        saved_size: Option<u64>,
        indexes: &[u64],
    ) -> Result<Self, Error> {
        let mut entries = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let entry = decode_at(log, index)?;
            if !entry.touches(originator) {
                return Err(Error::NotTouching { index, originator: originator.to_string() });
            }
            entries.push((index, entry));
        }
        entries.sort_by_key(|(i, _)| *i);
        let bundle = AuditBundle::build(log, checkpoint, saved_size, indexes)?;
        Ok(UsageReport { originator: originator.clone(), summary: summarise(originator, &entries), bundle })
    }

    /// Checks the report offline: the bundle (see [`verify_bundle`]), that every entry
    /// touches the originator, and that the summary is what the entries add up to.
    pub fn verify(&self, saved: Option<&str>, key: &VerifierKey) -> Result<VerifiedBundle, Error> {
        let verified = verify_bundle(saved, key, &self.bundle)?;
        if let Some((index, _)) = verified.entries.iter().find(|(_, e)| !e.touches(&self.originator)) {
            return Err(Error::NotTouching { index: *index, originator: self.originator.to_string() });
        }
        if summarise(&self.originator, &verified.entries) != self.summary {
            return Err(Error::SummaryMismatch);
        }
        Ok(verified)
    }
}
