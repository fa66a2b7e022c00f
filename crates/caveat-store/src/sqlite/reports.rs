//! Report batches and queries on one SQLite connection (synchronous; the
//! async trait runs these on the blocking pool).

use std::collections::HashMap;

use caveat_core::{BoundingBox, Marking, Partner, PartnerId, Position, Report, ReportId};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::row::{Details, DetailsRef, millis, nanos};
use crate::{
    BatchReceipt, BatchSubmission, Error, MAX_PAGE, Reconciled, ReportQuery, Result, StoredBatch, StoredReport,
    Superseded,
};

pub(crate) fn put_partner(conn: &Connection, partner: &Partner) -> Result<()> {
    let body = serde_json::to_string(partner)
        .map_err(|e| Error::Database { context: "encoding a partner", message: e.to_string() })?;
    conn.execute(
        "INSERT INTO partners (id, body) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
        params![partner.id.as_str(), body],
    )
    .map_err(Error::db("storing a partner"))?;
    Ok(())
}

pub(crate) fn partners(conn: &Connection, only: Option<&PartnerId>) -> Result<Vec<Partner>> {
    let mut stmt = conn
        .prepare_cached("SELECT rowid, body FROM partners WHERE ?1 IS NULL OR id = ?1 ORDER BY id")
        .map_err(Error::db("reading partners"))?;
    let rows = stmt
        .query_map(params![only.map(PartnerId::as_str)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(Error::db("reading partners"))?;
    let mut out = Vec::new();
    for row in rows {
        let (rowid, body) = row.map_err(Error::db("reading partners"))?;
        let p = serde_json::from_str(&body).map_err(|e| Error::Corrupt {
            what: "partner",
            row: rowid,
            message: e.to_string(),
        })?;
        out.push(p);
    }
    Ok(out)
}

fn from_millis(ms: i64, row: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| Error::Corrupt {
        what: "timestamp",
        row,
        message: e.to_string(),
    })
}

fn encode<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Database { context: "encoding a report", message: e.to_string() })
}

pub(crate) fn insert_batch(
    conn: &mut Connection,
    submitter: &PartnerId,
    by: &BatchSubmission,
    received_at: OffsetDateTime,
    reports: &[Report],
) -> Result<BatchReceipt> {
    if reports.is_empty() {
        return Err(Error::EmptyBatch);
    }
    // IMMEDIATE takes the write lock up front, so a busy database fails here,
    // before any work, rather than at commit.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("starting a batch"))?;
    let known: Option<i64> = tx
        .query_row("SELECT 1 FROM partners WHERE id = ?1", [submitter.as_str()], |r| r.get(0))
        .optional()
        .map_err(Error::db("checking the partner"))?;
    if known.is_none() {
        return Err(Error::UnknownPartner { index: 0, partner: submitter.clone() });
    }
    if let Some((index, r)) = reports.iter().enumerate().find(|(_, r)| &r.originator != submitter) {
        return Err(Error::NotSubmitter { index, originator: r.originator.clone(), submitter: submitter.clone() });
    }
    let count = i64::try_from(reports.len()).unwrap_or(i64::MAX);
    let (batch, partner_batch): (i64, i64) = tx
        .query_row(
            "INSERT INTO batches (partner, received_at, count, partner_batch, submitted_by, report_locators) \
             VALUES (?1, ?2, ?3, coalesce((SELECT max(partner_batch) FROM batches WHERE partner = ?1), 0) + 1, ?4, ?5) \
             RETURNING id, partner_batch",
            params![
                submitter.as_str(),
                millis(received_at),
                count,
                by.user.as_ref().map(caveat_core::UserId::as_str),
                (!by.report_locators.is_empty()).then_some(by.report_locators.as_slice())
            ],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(Error::db("recording a batch"))?;
    let mut first_seq = None;
    let mut last_seq = 0;
    {
        let mut marking_ids: HashMap<&Marking, i64> = HashMap::new();
        let mut last_marking: Option<(&Marking, i64)> = None;
        let mut find_marking =
            tx.prepare_cached("SELECT id FROM markings WHERE body = ?1").map_err(Error::db("preparing"))?;
        let mut add_marking =
            tx.prepare_cached("INSERT INTO markings (body) VALUES (?1)").map_err(Error::db("preparing"))?;
        let mut target = tx
            .prepare_cached(
                "SELECT originator, EXISTS (SELECT 1 FROM reports c WHERE c.supersedes = r.id) \
                 FROM reports r WHERE r.id = ?1",
            )
            .map_err(Error::db("preparing"))?;
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO reports (id, batch, originator, observed_at, cell, lat, lon, source, marking, supersedes, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(Error::db("preparing"))?;
        for (index, r) in reports.iter().enumerate() {
            // Consecutive reports usually share a marking: compare before hashing.
            let same_as_last = last_marking.is_some_and(|(m, _)| *m == r.marking);
            let marking = match last_marking
                .filter(|_| same_as_last)
                .map(|(_, id)| id)
                .or_else(|| marking_ids.get(&r.marking).copied())
            {
                Some(id) => id,
                None => {
                    let marking_body = encode(&r.marking)?;
                    let found: Option<i64> = find_marking
                        .query_row([&marking_body], |row| row.get(0))
                        .optional()
                        .map_err(Error::db("finding a marking"))?;
                    let id = match found {
                        Some(id) => id,
                        None => {
                            add_marking.execute([&marking_body]).map_err(Error::db("storing a marking"))?;
                            tx.last_insert_rowid()
                        }
                    };
                    marking_ids.insert(&r.marking, id);
                    id
                }
            };
            last_marking = Some((&r.marking, marking));
            if let Some(t) = r.supersedes {
                let found: Option<(String, bool)> = target
                    .query_row([&t.as_bytes()[..]], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
                    .map_err(Error::db("finding a superseded report"))?;
                match found {
                    Some((orig, _)) if orig != submitter.as_str() => {
                        return Err(Error::SupersedesUnknown { index, target: t, originator: submitter.clone() });
                    }
                    None => {
                        return Err(Error::SupersedesUnknown { index, target: t, originator: submitter.clone() });
                    }
                    Some((_, true)) => return Err(Error::AlreadySuperseded { index, target: t }),
                    Some((_, false)) => {}
                }
            }
            let inserted = insert.execute(params![
                &r.id.as_bytes()[..],
                batch,
                submitter.as_str(),
                nanos(r.observed_at),
                cell(r.position.lat, r.position.lon),
                r.position.lat,
                r.position.lon,
                r.source.as_str(),
                marking,
                r.supersedes.as_ref().map(|s| s.as_bytes().to_vec()),
                encode(&DetailsRef::of(r))?,
            ]);
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Err(Error::DuplicateId { index, id: r.id });
                }
                Err(e) => return Err(Error::db("storing a report")(e)),
            }
            let seq = tx.last_insert_rowid();
            first_seq.get_or_insert(seq);
            last_seq = seq;
        }
    }
    // Where the batch's reports are, for reading it back whole (the audit's recovery).
    tx.execute(
        "UPDATE batches SET first_seq = ?2, last_seq = ?3 WHERE id = ?1",
        params![batch, first_seq.unwrap_or(last_seq), last_seq],
    )
    .map_err(Error::db("recording a batch"))?;
    tx.commit().map_err(Error::db("committing a batch"))?;
    let seq = |s: i64| u64::try_from(s).unwrap_or(0);
    Ok(BatchReceipt {
        batch: seq(batch),
        partner_batch: seq(partner_batch),
        count: reports.len(),
        first_seq: seq(first_seq.unwrap_or(last_seq)),
        last_seq: seq(last_seq),
    })
}

/// Grid cells per degree. 0.1 degree is about 11 km: a patrol area spans tens
/// of cell rows, and a cell holds few enough reports to filter exactly.
const CELLS_PER_DEGREE: f64 = 10.0;
const CELL_COLUMNS: i64 = 3_600;
/// Past this many cell rows a box is scanned as one index range (a superset,
/// filtered exactly) instead of one range per row.
const MAX_CELL_ROWS: i64 = 64;

fn cell_row(lat: f64) -> i64 {
    #[expect(clippy::cast_possible_truncation, reason = "lat is validated to [-90, 90], so the row is 0..=1800")]
    let row = ((lat + 90.0) * CELLS_PER_DEGREE).floor() as i64;
    row.clamp(0, 1_800)
}

fn cell_column(lon: f64) -> i64 {
    #[expect(clippy::cast_possible_truncation, reason = "lon is validated to [-180, 180], so the column is 0..=3600")]
    let col = ((lon + 180.0) * CELLS_PER_DEGREE).floor() as i64;
    col.clamp(0, CELL_COLUMNS - 1)
}

/// The grid cell of a position: row-major, so a row of cells is one key range.
pub(crate) fn cell(lat: f64, lon: f64) -> i64 {
    cell_row(lat) * CELL_COLUMNS + cell_column(lon)
}

/// Index ranges of cells covering `b`.
fn cell_ranges(b: &BoundingBox) -> Vec<(i64, i64)> {
    let (r0, r1) = (cell_row(b.min_lat), cell_row(b.max_lat));
    let (c0, c1) = (cell_column(b.min_lon), cell_column(b.max_lon));
    if r1 - r0 >= MAX_CELL_ROWS {
        return vec![(r0 * CELL_COLUMNS + c0, r1 * CELL_COLUMNS + c1)];
    }
    (r0..=r1).map(|r| (r * CELL_COLUMNS + c0, r * CELL_COLUMNS + c1)).collect()
}

/// Builds the WHERE clause for a query. A bbox is answered from the cell
/// index (one range per row of cells), a time window from the time index;
/// exact columns are re-checked because cells are coarser than the box.
fn plan(q: &ReportQuery, select: &str) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let mut sql = format!("SELECT {select} FROM reports r");
    if let Some(b) = q.bbox {
        let ranges = cell_ranges(&b);
        let ors = vec!["r.cell BETWEEN ? AND ?"; ranges.len()].join(" OR ");
        conds.push(format!("({ors})"));
        for (lo, hi) in ranges {
            args.extend([Value::Integer(lo), Value::Integer(hi)]);
        }
        conds.push("r.lat BETWEEN ? AND ? AND r.lon BETWEEN ? AND ?".into());
        args.extend([b.min_lat, b.max_lat, b.min_lon, b.max_lon].map(Value::Real));
    }
    if let Some(from) = q.window.from {
        conds.push("r.observed_at >= ?".into());
        args.push(Value::Integer(nanos(from)));
    }
    if let Some(to) = q.window.to {
        conds.push("r.observed_at < ?".into());
        args.push(Value::Integer(nanos(to)));
    }
    if let Some(o) = &q.originator {
        conds.push("r.originator = ?".into());
        args.push(Value::Text(o.as_str().to_owned()));
    }
    if let Some(s) = q.source {
        conds.push("r.source = ?".into());
        args.push(Value::Text(s.as_str().to_owned()));
    }
    if q.superseded == Superseded::Hide {
        conds.push("NOT EXISTS (SELECT 1 FROM reports c WHERE c.supersedes = r.id)".into());
    }
    if let Some(after) = q.after_seq {
        conds.push("r.seq > ?".into());
        args.push(Value::Integer(i64::try_from(after).unwrap_or(i64::MAX)));
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    (sql, args)
}

/// Columns a report is read back from, in [`RowReader::read`] order.
const REPORT_COLUMNS: &str = "r.seq, r.batch, (SELECT received_at FROM batches b WHERE b.id = r.batch), r.id, \
     r.originator, r.observed_at, r.lat, r.lon, r.source, r.marking, r.supersedes, r.body";

/// Reads report rows, decoding each marking class once.
struct RowReader<'c> {
    conn: &'c Connection,
    markings: HashMap<i64, Marking>,
}

impl<'c> RowReader<'c> {
    fn new(conn: &'c Connection) -> Self {
        RowReader { conn, markings: HashMap::new() }
    }

    fn marking(&mut self, id: i64, seq: i64) -> Result<Marking> {
        if let Some(m) = self.markings.get(&id) {
            return Ok(m.clone());
        }
        let body: String = self
            .conn
            .prepare_cached("SELECT body FROM markings WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)))
            .map_err(Error::db("reading a marking"))?;
        let m: Marking = serde_json::from_str(&body).map_err(|e| Error::Corrupt {
            what: "marking",
            row: id,
            message: format!("{e} (report row {seq})"),
        })?;
        self.markings.insert(id, m.clone());
        Ok(m)
    }

    fn read(&mut self, row: &rusqlite::Row<'_>) -> Result<StoredReport> {
        let get = |e: rusqlite::Error| Error::Database { context: "reading a report", message: e.to_string() };
        let seq: i64 = row.get(0).map_err(get)?;
        let corrupt = |what: &'static str, message: String| Error::Corrupt { what, row: seq, message };
        let batch: i64 = row.get(1).map_err(get)?;
        let received: i64 = row.get(2).map_err(get)?;
        let id = blob_id(&row.get::<_, Vec<u8>>(3).map_err(get)?)
            .ok_or_else(|| corrupt("report id", "not 16 bytes".into()))?;
        let originator: String = row.get(4).map_err(get)?;
        let observed: i64 = row.get(5).map_err(get)?;
        let lat: f64 = row.get(6).map_err(get)?;
        let lon: f64 = row.get(7).map_err(get)?;
        let source: String = row.get(8).map_err(get)?;
        let marking: i64 = row.get(9).map_err(get)?;
        let supersedes = match row.get::<_, Option<Vec<u8>>>(10).map_err(get)? {
            Some(b) => Some(blob_id(&b).ok_or_else(|| corrupt("supersedes", "not 16 bytes".into()))?),
            None => None,
        };
        let body: String = row.get(11).map_err(get)?;
        let details: Details = serde_json::from_str(&body).map_err(|e| corrupt("report", e.to_string()))?;
        let report = Report {
            id,
            originator: originator.parse().map_err(|e: caveat_core::Error| corrupt("originator", e.to_string()))?,
            observed_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(observed))
                .map_err(|e| corrupt("observed_at", e.to_string()))?,
            time_uncertainty_s: details.time_uncertainty_s,
            position: Position { lat, lon },
            uncertainty_m: details.uncertainty_m,
            course_deg: details.course_deg,
            speed_kn: details.speed_kn,
            source: source.parse().map_err(|e: caveat_core::Error| corrupt("source", e.to_string()))?,
            vessel: details.vessel,
            remarks: details.remarks,
            marking: self.marking(marking, seq)?,
            supersedes,
        };
        Ok(StoredReport {
            seq: u64::try_from(seq).unwrap_or(0),
            batch: u64::try_from(batch).unwrap_or(0),
            received_at: from_millis(received, seq)?,
            report,
        })
    }
}

fn blob_id(bytes: &[u8]) -> Option<ReportId> {
    <[u8; 16]>::try_from(bytes).ok().map(ReportId::from_bytes)
}

pub(crate) fn query(conn: &Connection, q: &ReportQuery) -> Result<Vec<StoredReport>> {
    let (mut sql, mut args) = plan(q, REPORT_COLUMNS);
    sql.push_str(" ORDER BY r.seq LIMIT ?");
    let limit = q.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare_cached(&sql).map_err(Error::db("querying reports"))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args)).map_err(Error::db("querying reports"))?;
    let mut reader = RowReader::new(conn);
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(Error::db("reading reports"))? {
        out.push(reader.read(row)?);
    }
    Ok(out)
}

pub(crate) fn count(conn: &Connection, q: &ReportQuery) -> Result<u64> {
    let (sql, args) = plan(q, "count(*)");
    let n: i64 = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(rusqlite::params_from_iter(args), |r| r.get(0)))
        .map_err(Error::db("counting reports"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn by_id(conn: &Connection, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS}, (SELECT c.id FROM reports c WHERE c.supersedes = r.id) FROM reports r WHERE r.id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(Error::db("reading a report"))?;
    let mut rows = stmt.query([&id.as_bytes()[..]]).map_err(Error::db("reading a report"))?;
    let Some(row) = rows.next().map_err(Error::db("reading a report"))? else { return Ok(None) };
    let stored = RowReader::new(conn).read(row)?;
    let corrected_by = match row.get::<_, Option<Vec<u8>>>(12).map_err(Error::db("reading a report"))? {
        Some(b) => Some(blob_id(&b).ok_or_else(|| Error::Corrupt {
            what: "report id",
            row: i64::try_from(stored.seq).unwrap_or(0),
            message: "not 16 bytes".into(),
        })?),
        None => None,
    };
    Ok(Some((stored, corrected_by)))
}

#[cfg(test)]
pub(crate) fn explain(conn: &Connection, q: &ReportQuery) -> Vec<String> {
    let (sql, args) = plan(q, "r.seq");
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect()
}

/// Batches numbered above `after`, in order, at most `limit`.
pub(crate) fn batches(conn: &Connection, after: u64, limit: usize) -> Result<Vec<StoredBatch>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, partner, partner_batch, received_at, count, submitted_by, first_seq, last_seq \
             FROM batches WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(Error::db("listing batches"))?;
    let mut rows = stmt
        .query(params![i64::try_from(after).unwrap_or(i64::MAX), i64::try_from(limit).unwrap_or(i64::MAX)])
        .map_err(Error::db("listing batches"))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(Error::db("listing batches"))? {
        let get = |e: rusqlite::Error| Error::Database { context: "listing batches", message: e.to_string() };
        let id: i64 = row.get(0).map_err(get)?;
        let corrupt = |m: String| Error::Corrupt { what: "batch", row: id, message: m };
        let partner: String = row.get(1).map_err(get)?;
        let partner_batch: Option<i64> = row.get(2).map_err(get)?;
        let user: Option<String> = row.get(5).map_err(get)?;
        let seqs: (Option<i64>, Option<i64>) = (row.get(6).map_err(get)?, row.get(7).map_err(get)?);
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        out.push(StoredBatch {
            batch: unsigned(id),
            partner: partner.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
            partner_batch: unsigned(partner_batch.unwrap_or(0)),
            received_at: from_millis(row.get(3).map_err(get)?, id)?,
            count: unsigned(row.get(4).map_err(get)?),
            user: user.map(|u| u.parse()).transpose().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
            seqs: match seqs {
                (Some(a), Some(b)) => Some((unsigned(a), unsigned(b))),
                _ => None,
            },
        });
    }
    Ok(out)
}

pub(crate) fn batch_report_locators(conn: &Connection, batch: u64) -> Result<Option<Vec<u8>>> {
    let found: Option<Option<Vec<u8>>> = conn
        .prepare_cached("SELECT report_locators FROM batches WHERE id = ?1")
        .and_then(|mut s| s.query_row([i64::try_from(batch).unwrap_or(i64::MAX)], |r| r.get(0)).optional())
        .map_err(Error::db("reading a batch"))?;
    Ok(found.flatten())
}

pub(crate) fn reconciled(conn: &Connection) -> Result<Reconciled> {
    let (b, e): (i64, i64) = conn
        .query_row("SELECT batches, policy_events FROM reconciled WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(Error::db("reading the reconciled mark"))?
        .unwrap_or((0, 0));
    Ok(Reconciled { batches: u64::try_from(b).unwrap_or(0), policy_events: u64::try_from(e).unwrap_or(0) })
}

pub(crate) fn set_reconciled(conn: &Connection, mark: Reconciled) -> Result<()> {
    conn.execute(
        "INSERT INTO reconciled (id, batches, policy_events) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE \
         SET batches = max(batches, excluded.batches), policy_events = max(policy_events, excluded.policy_events)",
        params![i64::try_from(mark.batches).unwrap_or(i64::MAX), i64::try_from(mark.policy_events).unwrap_or(i64::MAX)],
    )
    .map_err(Error::db("raising the reconciled mark"))?;
    Ok(())
}
