//! Report batches and queries on one SQLite connection (synchronous; the
//! async trait runs these on the blocking pool).

use std::collections::HashMap;

use caveat_core::{BoundingBox, Partner, PartnerId, Report, ReportId};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::batch::{self, MarkingClasses, Stored};
use crate::query::Arg;
use crate::row::{self, DetailsRef, MARKING_COLUMN, Markings, REPORT_COLUMNS, ReportRow, encode, millis, nanos};
use crate::row::{signed, unsigned};
use crate::{BatchReceipt, BatchSubmission, Error, Reconciled, ReportQuery, Result, StoredBatch, StoredReport};

pub(crate) fn put_partner(conn: &Connection, partner: &Partner) -> Result<()> {
    let body = encode("encoding a partner", partner)?;
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
        out.push(row::partner(rowid, &body)?);
    }
    Ok(out)
}

pub(crate) fn insert_batch(
    conn: &mut Connection,
    submitter: &PartnerId,
    by: &BatchSubmission,
    received_at: OffsetDateTime,
    reports: &[Report],
) -> Result<BatchReceipt> {
    // IMMEDIATE takes the write lock up front, so a busy database fails here,
    // before any work, rather than at commit.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("starting a batch"))?;
    let registered: Option<i64> = tx
        .query_row("SELECT 1 FROM partners WHERE id = ?1", [submitter.as_str()], |r| r.get(0))
        .optional()
        .map_err(Error::db("checking the partner"))?;
    batch::check_submitter(submitter, registered.is_some(), reports)?;
    // Only the reports corrected are looked up: the unique index on `id`
    // finds an id already stored as each report is inserted, and looking up
    // every id as well cost a tenth more work per report ingested.
    let mut stored = HashMap::new();
    {
        let mut lookup = tx
            .prepare_cached(
                "SELECT originator, EXISTS (SELECT 1 FROM reports c WHERE c.supersedes = r.id) \
                 FROM reports r WHERE r.id = ?1",
            )
            .map_err(Error::db("preparing"))?;
        for id in batch::targets(reports) {
            let found = lookup
                .query_row([&id.as_bytes()[..]], |row| Ok(Stored { originator: row.get(0)?, superseded: row.get(1)? }))
                .optional()
                .map_err(Error::db("finding a superseded report"))?;
            stored.extend(found.map(|s| (id, s)));
        }
    }
    let mut check = batch::Check::new(submitter, stored, reports.len());

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
        let mut classes = MarkingClasses::of(reports);
        let mut find_marking =
            tx.prepare_cached("SELECT id FROM markings WHERE body = ?1").map_err(Error::db("preparing"))?;
        let mut add_marking =
            tx.prepare_cached("INSERT INTO markings (body) VALUES (?1)").map_err(Error::db("preparing"))?;
        for m in classes.distinct.clone() {
            let body = MarkingClasses::body(m)?;
            let found: Option<i64> =
                find_marking.query_row([&body], |row| row.get(0)).optional().map_err(Error::db("finding a marking"))?;
            let id = match found {
                Some(id) => id,
                None => {
                    add_marking.execute([&body]).map_err(Error::db("storing a marking"))?;
                    tx.last_insert_rowid()
                }
            };
            classes.set(m, id);
        }
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO reports (id, batch, originator, observed_at, cell, lat, lon, source, marking, supersedes, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(Error::db("preparing"))?;
        for ((index, r), marking) in reports.iter().enumerate().zip(classes.ids(reports)) {
            check.report(index, r)?;
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
                r.supersedes.as_ref().map(|s| &s.as_bytes()[..]),
                DetailsRef::encode(r)?,
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
    Ok(batch::receipt(batch, partner_batch, reports.len(), first_seq.unwrap_or(last_seq), last_seq))
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

/// The query's SQL and arguments. A bbox is answered from the cell index
/// (one range per row of cells), a time window from the time index.
fn plan(q: &ReportQuery, select: &str) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut bind = |a: Arg| {
        args.push(match a {
            Arg::Int(v) => Value::Integer(v),
            Arg::Real(v) => Value::Real(v),
            Arg::Text(v) => Value::Text(v),
        });
        format!("?{}", args.len())
    };
    let sql = q.sql(select, &mut bind, |b, _, bind| {
        let ranges: Vec<String> = cell_ranges(b)
            .into_iter()
            .map(|(lo, hi)| format!("r.cell BETWEEN {} AND {}", bind(Arg::Int(lo)), bind(Arg::Int(hi))))
            .collect();
        format!("({})", ranges.join(" OR "))
    });
    (sql, args)
}

/// Reads report rows, fetching each marking class once.
struct RowReader<'c> {
    conn: &'c Connection,
    markings: Markings,
}

impl<'c> RowReader<'c> {
    fn new(conn: &'c Connection) -> Self {
        RowReader { conn, markings: Markings::default() }
    }

    fn read(&mut self, row: &rusqlite::Row<'_>) -> Result<StoredReport> {
        let get = |e: rusqlite::Error| Error::Database { context: "reading a report", message: e.to_string() };
        let seq: i64 = row.get(0).map_err(get)?;
        let marking: i64 = row.get(MARKING_COLUMN).map_err(get)?;
        if !self.markings.contains(marking) {
            let body: String = self
                .conn
                .prepare_cached("SELECT body FROM markings WHERE id = ?1")
                .and_then(|mut s| s.query_row([marking], |r| r.get(0)))
                .map_err(Error::db("reading a marking"))?;
            self.markings.decode(marking, &body, Some(seq))?;
        }
        let id: Vec<u8> = row.get(3).map_err(get)?;
        let originator: String = row.get(4).map_err(get)?;
        let source: String = row.get(8).map_err(get)?;
        let supersedes: Option<Vec<u8>> = row.get(10).map_err(get)?;
        let body: String = row.get(11).map_err(get)?;
        ReportRow {
            seq,
            batch: row.get(1).map_err(get)?,
            received_at: row.get(2).map_err(get)?,
            id: &id,
            originator: &originator,
            observed_at: row.get(5).map_err(get)?,
            lat: row.get(6).map_err(get)?,
            lon: row.get(7).map_err(get)?,
            source: &source,
            marking,
            supersedes: supersedes.as_deref(),
            body: &body,
        }
        .decode(&self.markings)
    }
}

pub(crate) fn query(conn: &Connection, q: &ReportQuery) -> Result<Vec<StoredReport>> {
    let (sql, mut args) = plan(q, REPORT_COLUMNS);
    args.push(Value::Integer(signed(q.page_limit())));
    let sql = format!("{sql} ORDER BY r.seq LIMIT ?{}", args.len());
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
    Ok(unsigned(n))
}

pub(crate) fn by_id(conn: &Connection, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS}, (SELECT c.id FROM reports c WHERE c.supersedes = r.id) FROM reports r WHERE r.id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(Error::db("reading a report"))?;
    let mut rows = stmt.query([&id.as_bytes()[..]]).map_err(Error::db("reading a report"))?;
    let Some(row) = rows.next().map_err(Error::db("reading a report"))? else { return Ok(None) };
    let stored = RowReader::new(conn).read(row)?;
    let corrected_by: Option<Vec<u8>> = row.get(12).map_err(Error::db("reading a report"))?;
    let corrected_by = row::corrected_by(&stored, corrected_by.as_deref())?;
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
            received_at: row::from_millis(row.get(3).map_err(get)?, "timestamp", id)?,
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
