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

impl ReportQuery {
    /// How many reports a page of this query holds at most.
    pub(crate) fn page_limit(&self) -> u64 {
        u64::try_from(self.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE)).unwrap_or(u64::MAX)
    }
}

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
