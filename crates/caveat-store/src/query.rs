//! What callers ask the store for and what it gives back, and the SQL a
//! report query becomes in either backend.

use caveat_core::{BoundingBox, PartnerId, Report, SourceKind, TimeWindow};
use time::OffsetDateTime;

use crate::row::{nanos, signed};

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

/// A value a query binds.
pub(crate) enum Arg {
    Int(i64),
    Real(f64),
    Text(String),
}

/// Binds a value to a statement and returns its placeholder in the SQL.
pub(crate) type Bind<'a> = dyn FnMut(Arg) -> String + 'a;

impl ReportQuery {
    /// How many reports a page of this query holds at most.
    pub(crate) fn page_limit(&self) -> u64 {
        u64::try_from(self.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE)).unwrap_or(u64::MAX)
    }

    /// `SELECT {columns} FROM reports r` and the conditions of this query,
    /// in the SQL both backends speak. Only a box is the backend's own:
    /// `area` gives the condition its spatial index answers, from the box
    /// and the placeholders of its bounds (lat0, lat1, lon0, lon1).
    pub(crate) fn sql(
        &self,
        columns: &str,
        bind: &mut Bind<'_>,
        area: impl FnOnce(&BoundingBox, &[String; 4], &mut Bind<'_>) -> String,
    ) -> String {
        let mut conds: Vec<String> = Vec::new();
        if let Some(b) = self.bbox {
            let bounds = [b.min_lat, b.max_lat, b.min_lon, b.max_lon].map(|v| bind(Arg::Real(v)));
            conds.push(area(&b, &bounds, bind));
            // An index answers a superset (grid cells), or compares with a
            // tolerance (geometric operators): a box edge must mean the same
            // in every store.
            let [lat0, lat1, lon0, lon1] = &bounds;
            conds.push(format!("r.lat BETWEEN {lat0} AND {lat1} AND r.lon BETWEEN {lon0} AND {lon1}"));
        }
        if let Some(from) = self.window.from {
            conds.push(format!("r.observed_at >= {}", bind(Arg::Int(nanos(from)))));
        }
        if let Some(to) = self.window.to {
            conds.push(format!("r.observed_at < {}", bind(Arg::Int(nanos(to)))));
        }
        if let Some(o) = &self.originator {
            conds.push(format!("r.originator = {}", bind(Arg::Text(o.as_str().to_owned()))));
        }
        if let Some(s) = self.source {
            conds.push(format!("r.source = {}", bind(Arg::Text(s.as_str().to_owned()))));
        }
        if self.superseded == Superseded::Hide {
            conds.push("NOT EXISTS (SELECT 1 FROM reports c WHERE c.supersedes = r.id)".into());
        }
        if let Some(after) = self.after_seq {
            conds.push(format!("r.seq > {}", bind(Arg::Int(signed(after)))));
        }
        let mut sql = format!("SELECT {columns} FROM reports r");
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql
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
