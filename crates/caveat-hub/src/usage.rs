//! What an originator may check about the use of its data: signed
//! checkpoints and proofs, its usage report, and its transparency report.

use std::collections::BTreeSet;

use caveat_audit::{
    AuditBundle, AuditEntry, ConsistencyProof, InclusionProof, SignedCheckpoint, UsageLine, UsageReport,
};
use caveat_core::{CaseId, CaseStatus, PartnerId, StepAction};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Error, Hub};

/// Most entries one page of a usage report lists; ask for the next page from
/// the report's `next` (each page is proved complete over its range, issue 18).
pub const MAX_USAGE_ENTRIES: usize = 10_000;

/// A saved checkpoint's size must be one the log has had (the log's size is
/// no secret: every auditor's checkpoint shows it).
fn check_saved(saved: Option<u64>, size: u64) -> Result<(), Error> {
    match saved {
        Some(n) if n > size => Err(Error::BadRequest(format!(
            "query `saved_size`: {n} is beyond the log's size {size}; give the size of a checkpoint you saved"
        ))),
        _ => Ok(()),
    }
}

impl Hub {
    /// A checkpoint of the log as it is now, signed, in signed-note text, with
    /// the cosignatures of the witnesses that gave one (see
    /// [`Hub::cosigned_checkpoint`]); kept in the store too (so the hub can
    /// later prove consistency with it).
    ///
    /// # Errors
    /// The store or the audit log fails.
    pub async fn checkpoint(&self) -> Result<String, Error> {
        Ok(self.cosigned_checkpoint().await?.note)
    }

    /// An inclusion proof of entry `index` in the tree of `size`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] when there is no such proof (index or size beyond the log).
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, Error> {
        self.audit
            .inclusion(index, size)
            .await
            .map_err(|_| Error::BadRequest(format!("query: no inclusion proof for index {index} in a tree of {size}")))
    }

    /// A consistency proof from size `from` to size `to`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] when there is no such proof.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof, Error> {
        self.audit
            .consistency(from, to)
            .await
            .map_err(|_| Error::BadRequest(format!("query: no consistency proof from {from} to {to}")))
    }

    /// The first page of `me`'s usage report (see [`Hub::usage_page`]).
    ///
    /// # Errors
    /// As [`Hub::usage_page`].
    pub async fn usage_report(&self, me: PartnerId, saved_size: Option<u64>) -> Result<UsageReport, Error> {
        self.usage_page(me, saved_size, 0, MAX_USAGE_ENTRIES).await
    }

    /// A page of `me`'s usage report: the entries touching its data from log
    /// index `from`, at most `limit` (at most [`MAX_USAGE_ENTRIES`]), oldest
    /// first, with proofs against a fresh signed checkpoint and, when given,
    /// from a saved size, and with the tag leaves proving that no other entry in
    /// the page's range touches it (verify offline with `caveat audit verify`).
    /// The report's `next` is where the following page starts, if there is one.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a saved size beyond the log or a limit of 0 or
    /// over [`MAX_USAGE_ENTRIES`]; the store or the audit log fails.
    pub async fn usage_page(
        &self,
        me: PartnerId,
        saved_size: Option<u64>,
        from: u64,
        limit: usize,
    ) -> Result<UsageReport, Error> {
        self.usage_page_signed(me, saved_size, from, limit, Signed::Cosigned).await
    }

    /// As [`Hub::usage_page`], proved against the hub's own signed checkpoint,
    /// never waiting for cosignatures: what a partner node's witness reads
    /// while it decides whether to cosign (issue 18 item 2). Through
    /// [`Hub::usage_page`] it would wait for the very cosignature it is deciding.
    ///
    /// # Errors
    /// As [`Hub::usage_page`].
    pub async fn usage_page_for_witness(
        &self,
        me: PartnerId,
        saved_size: Option<u64>,
        from: u64,
        limit: usize,
    ) -> Result<UsageReport, Error> {
        self.usage_page_signed(me, saved_size, from, limit, Signed::HubOnly).await
    }

    async fn usage_page_signed(
        &self,
        me: PartnerId,
        saved_size: Option<u64>,
        from: u64,
        limit: usize,
        signed: Signed,
    ) -> Result<UsageReport, Error> {
        if !(1..=MAX_USAGE_ENTRIES).contains(&limit) {
            return Err(Error::BadRequest(format!("query `limit`: {limit} is not between 1 and {MAX_USAGE_ENTRIES}")));
        }
        // Tag every entry so far first, so the checkpoint below covers them.
        self.audit.flush_tags().await?;
        // With witnesses, the report is proved against the cosigned checkpoint,
        // so a quorum policy can accept it (`caveat audit verify --policy`).
        let checkpoint = match self.witnesses.get().filter(|_| signed == Signed::Cosigned) {
            Some(w) => {
                let c = w.cosign(&self.audit).await?;
                let cp = SignedCheckpoint::open(&c.note, self.audit.verifier_key())
                    .map_err(|e| Error::internal("reading the cosigned checkpoint", &e))?;
                Some(cp)
            }
            None => None,
        };
        let size = match &checkpoint {
            Some(cp) => cp.checkpoint().size(),
            None => self.audit.tree_size().await?,
        };
        check_saved(saved_size, size)?;
        let mut indexes = self.store.audit_entries_touching(&me, size, usize::MAX).await?;
        indexes.retain(|&i| i >= from);
        indexes.sort_unstable();
        self.audit.usage(me, indexes, saved_size, checkpoint, from, limit).await
    }

    /// An originator's transparency report (the API's `/v1/transparency`, the
    /// CLI's `caveat report transparency`): accesses to its data by partner and
    /// purpose, denied attempts, the cases its data supported with their
    /// outcomes, and the bundle that proves each line against a signed checkpoint.
    ///
    /// # Errors
    /// As [`Hub::usage_report`].
    pub async fn transparency_report(
        &self,
        me: PartnerId,
        saved_size: Option<u64>,
    ) -> Result<TransparencyReport, Error> {
        let report = self.usage_report(me, saved_size).await?;
        let mut case_ids = BTreeSet::new();
        for e in &report.bundle.entries {
            if let Ok(AuditEntry::CaseStep(step)) = AuditEntry::from_bytes(&e.data) {
                case_ids.insert(step.case);
            }
        }
        let mut cases = Vec::new();
        for id in case_ids {
            let Some(case) = self.store.case(id).await? else { continue };
            let outcomes = case
                .steps
                .iter()
                .filter(|s| s.action.is_outcome())
                .map(|s| CaseOutcome { step: s.action.name(), at: s.at, detail: s.action.clone() })
                .collect();
            cases.push(TransparencyCase {
                case: id,
                lead: case.lead,
                status: case.status,
                steps: case.steps.iter().map(|s| s.action.name()).collect(),
                outcomes,
            });
        }
        let denied = report.summary.iter().filter(|l| l.denies > 0).cloned().collect();
        Ok(TransparencyReport {
            originator: report.originator,
            accesses: report.summary,
            denied,
            cases,
            proof: report.bundle,
        })
    }
}

/// An originator's transparency report (`/v1/transparency`, `caveat report
/// transparency`): the uses of its data, the attempts refused, the cases it
/// supported and their outcomes, and the bundle proving each line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransparencyReport {
    /// The originator reported on.
    pub originator: PartnerId,
    /// Decisions and case steps on its data, by partner, purpose and case.
    #[schema(value_type = Vec<crate::audit_schema::UsageLine>)]
    pub accesses: Vec<UsageLine>,
    /// The lines of `accesses` with at least one denial.
    #[schema(value_type = Vec<crate::audit_schema::UsageLine>)]
    pub denied: Vec<UsageLine>,
    /// The cases whose steps cited its reports.
    pub cases: Vec<TransparencyCase>,
    /// The audit entries behind every line, proved against a signed checkpoint.
    #[schema(value_type = crate::audit_schema::AuditBundle)]
    pub proof: AuditBundle,
}

/// A case an originator's data supported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransparencyCase {
    /// The case.
    pub case: CaseId,
    /// The partner leading it.
    pub lead: PartnerId,
    /// Open or closed.
    pub status: CaseStatus,
    /// Every step's name, in order: `detect`, `monitor`, ...
    pub steps: Vec<&'static str>,
    /// Its outcome steps (seize, detain, hand-over, release, close), in order.
    pub outcomes: Vec<CaseOutcome>,
}

/// An outcome step of a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseOutcome {
    /// The step's name.
    pub step: &'static str,
    /// When it was done.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The step as recorded.
    pub detail: StepAction,
}

/// Which checkpoint a usage page is proved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signed {
    /// The cosigned one, when witnesses are configured.
    Cosigned,
    /// The hub's own.
    HubOnly,
}
