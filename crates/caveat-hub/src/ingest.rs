//! Ingest: a batch of reports stored all or nothing, then its audit entry,
//! which names the batch and commits to the content of its reports.
//!
//! The API (`POST /v1/reports`), the CLI (`caveat ingest`) and the demo feed
//! all store through [`Hub::ingest`], so a batch is checked, stored, audited
//! and announced to open views in one place, and its refusals read alike.

use std::sync::atomic::Ordering;

use caveat_audit::{AuditEntry, BatchContent, Hash, IngestBatch, ReportSet};
use caveat_core::{IngestContext, Report, ReportId, parse_batch};
use caveat_store::{BatchReceipt, BatchSubmission};
use time::OffsetDateTime;

use crate::{Actor, Error, Hub};

/// Reports to store as one batch, each with the line it came from (what refusals name).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The reports, validated.
    pub reports: Vec<Report>,
    /// `lines[i]` is the 1-based line report `i` came from.
    pub lines: Vec<u64>,
}

impl Batch {
    /// Reports numbered 1, 2, ... (a feed with no lines of its own).
    pub fn numbered(reports: Vec<Report>) -> Batch {
        let lines = (1..=reports.len() as u64).collect();
        Batch { reports, lines }
    }

    /// Parses and validates an NDJSON body, all or nothing.
    ///
    /// # Errors
    /// [`Error::InvalidReport`] naming the first bad line and field.
    pub fn parse_ndjson(bytes: &[u8], max_reports: usize, ctx: &mut IngestContext<'_>) -> Result<Batch, Error> {
        let reports = parse_batch(bytes, max_reports, ctx)
            .map_err(|e| Error::InvalidReport(format!("{e}; nothing was stored")))?;
        let lines = non_blank_lines(bytes);
        Ok(Batch { reports, lines })
    }

    fn line(&self, index: usize) -> u64 {
        self.lines.get(index).copied().unwrap_or(0)
    }
}

/// 1-based line numbers of the non-blank lines, in order: report `i` of a batch is on line `result[i]`.
fn non_blank_lines(bytes: &[u8]) -> Vec<u64> {
    (1u64..)
        .zip(bytes.split(|b| *b == b'\n'))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(n, _)| n)
        .collect()
}

/// A stored, audited batch.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The store's receipt (numbers, sequence range).
    pub receipt: BatchReceipt,
    /// The stored reports' ids, in batch order.
    pub ids: Vec<ReportId>,
}

impl Hub {
    /// Stores `batch` as `who` (whose partner must be every report's
    /// originator), then appends its ingest entry, then tells open views.
    ///
    /// # Errors
    /// [`Error::InvalidReport`] or [`Error::Conflict`] naming the line and
    /// field at fault (a release to an unknown partner, an id already
    /// stored, a correction of a report that is not the submitter's or is
    /// already corrected): nothing is stored. A store or audit failure.
    pub async fn ingest(&self, who: &Actor, received_at: OffsetDateTime, batch: Batch) -> Result<Ingested, Error> {
        let refused = |e: Error| {
            self.metrics.batches_rejected.fetch_add(1, Ordering::Relaxed);
            e
        };
        let known =
            self.access.partners_covering(batch.reports.iter().flat_map(|r| r.marking.releasable_to.iter())).await?;
        if let Some((index, unknown)) = caveat_core::first_unknown_release(&batch.reports, &known) {
            return Err(refused(Error::InvalidReport(format!(
                "line {}: field `marking.releasable_to`: unknown partner {unknown}; nothing was stored",
                batch.line(index)
            ))));
        }
        let Batch { reports, lines } = batch;
        let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
        let count = ids.len();
        let line = |i: usize| lines.get(i).copied().unwrap_or(0);
        // What the entry commits to; hashing a large batch takes a while, so off the request threads.
        let (reports, content) = tokio::task::spawn_blocking(move || {
            let content = BatchContent::of(&reports);
            (reports, content)
        })
        .await
        .map_err(|e| Error::internal("hashing a batch", &e))?;
        let content = content.map_err(|e| Error::internal("hashing a batch", &e))?;
        let by = BatchSubmission { user: Some(who.user.clone()), report_locators: content.locators };
        let receipt = self.store.insert_batch_by(&who.partner, &by, received_at, reports).await.map_err(|e| {
            refused(match e {
                // Only the caller's own ids can collide with what the caller
                // could learn: ids are per-report random, and a collision with
                // another partner's id is as unlikely as guessing it.
                caveat_store::Error::DuplicateId { index, id } => Error::Conflict(format!(
                    "line {}: field `id`: already stored (as {id}); nothing was stored",
                    line(index)
                )),
                caveat_store::Error::SupersedesUnknown { index, target, .. } => Error::InvalidReport(format!(
                    "line {}: field `supersedes`: {target} is not one of your stored reports; nothing was stored",
                    line(index)
                )),
                caveat_store::Error::AlreadySuperseded { index, target } => Error::Conflict(format!(
                    "line {}: field `supersedes`: {target} is already corrected; nothing was stored",
                    line(index)
                )),
                other => other.into(),
            })
        })?;
        // Stored first, then audited: an entry never names a batch that is not
        // stored. A crash between the two leaves a batch no entry names; the
        // next start recovers its entry from the store (`recover.rs`).
        self.audit
            .append(vec![ingest_entry(
                who,
                received_at,
                receipt.partner_batch,
                ReportSet::new(&ids),
                content.root,
                false,
            )])
            .await?;
        self.metrics.reports_ingested.fetch_add(count as u64, Ordering::Relaxed);
        self.notify_change();
        Ok(Ingested { receipt, ids })
    }
}

/// The ingest entry of a stored batch: at ingest, and when recovered after a crash.
pub(crate) fn ingest_entry(
    who: &Actor,
    at: OffsetDateTime,
    partner_batch: u64,
    reports: ReportSet,
    content: Hash,
    recovered: bool,
) -> AuditEntry {
    AuditEntry::IngestBatch(IngestBatch {
        at,
        partner: who.partner.clone(),
        user: who.user.clone(),
        reports,
        batch: Some(partner_batch),
        content: Some(content),
        recovered,
    })
}
