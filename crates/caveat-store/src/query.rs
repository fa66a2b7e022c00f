//! What callers ask the store for and what it gives back.

use caveat_core::{BoundingBox, PartnerId, Report, SourceKind, TimeWindow};
use time::OffsetDateTime;

/// Whether corrected reports are returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Superseded {
    /// Only the latest version of each report (the default).
    #[default]
    Hide,
    /// Every stored report, corrected or not.
    Include,
}

/// A filter over stored reports. Results come in store order (`seq`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportQuery {
    /// Observation time window.
    pub window: TimeWindow,
    /// Area; answered from the spatial index.
    pub bbox: Option<BoundingBox>,
    /// Only this originator's reports.
    pub originator: Option<PartnerId>,
    /// Only this source kind.
    pub source: Option<SourceKind>,
    /// Hide or include corrected reports.
    pub superseded: Superseded,
    /// Only reports stored after this sequence number (a cursor).
    pub after_seq: Option<u64>,
    /// At most this many (the store caps it at [`MAX_PAGE`]).
    pub limit: Option<usize>,
}

/// The most reports one query returns.
pub const MAX_PAGE: usize = 100_000;

/// A report as stored, with the store's bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    /// Store order: strictly increasing in commit order. Use as a cursor.
    pub seq: u64,
    /// The batch it arrived in.
    pub batch: u64,
    /// When the hub stored it.
    pub received_at: OffsetDateTime,
    /// The report, exactly as accepted.
    pub report: Report,
}

/// What the store acknowledges for a durable batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchReceipt {
    /// The batch's number in the store (hub-wide: for the operator only).
    pub batch: u64,
    /// The batch's number among its partner's batches (1, 2, ...): what the
    /// partner is told, since the hub-wide number counts other partners' batches.
    pub partner_batch: u64,
    /// Reports stored.
    pub count: usize,
    /// Sequence number of the first report.
    pub first_seq: u64,
    /// Sequence number of the last report.
    pub last_seq: u64,
}

/// What the store keeps with a batch besides its reports, for the audit log
/// (issue 16): who submitted it, so an ingest entry written later (after a
/// crash) can name them, and the audit's per-report locators, so
/// `verify-store` can name the first report that no longer matches the log.
/// The store does not interpret the locators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSubmission {
    /// The user who submitted the batch.
    pub user: Option<caveat_core::UserId>,
    /// Opaque bytes from the audit (caveat-audit's `BatchContent::locators`).
    pub report_locators: Vec<u8>,
}

/// A stored batch, as listed for reconciling the store with the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// Its number in the store (hub-wide).
    pub batch: u64,
    /// The submitting partner (every report's originator).
    pub partner: PartnerId,
    /// Its number among its partner's batches.
    pub partner_batch: u64,
    /// When the hub stored it (to the millisecond).
    pub received_at: OffsetDateTime,
    /// How many reports it holds.
    pub count: u64,
    /// Who submitted it, when recorded (batches stored before schema 7 and
    /// through [`Store::insert_batch`](crate::Store::insert_batch) have none).
    pub user: Option<caveat_core::UserId>,
    /// The sequence numbers of its first and last reports, when recorded (not
    /// for batches stored before schema 7).
    pub seqs: Option<(u64, u64)>,
}

/// How far the store and the audit log have been reconciled: every batch
/// numbered up to `batches` and every policy event up to `policy_events` is
/// accounted for in the log, or was stored before the log recorded store
/// numbers (schema 7), when this mark was set to what the store held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// The hub-wide batch number reconciled up to.
    pub batches: u64,
    /// The policy version reconciled up to.
    pub policy_events: u64,
}
