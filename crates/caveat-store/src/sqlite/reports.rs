//! Report batches and queries on one SQLite connection (synchronous; the
//! async trait runs these on the blocking pool).

use std::collections::HashMap;

use caveat_core::{Partner, PartnerId, Report, ReportId};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::{BatchReceipt, Error, MAX_PAGE, ReportQuery, Result, StoredReport, Superseded};

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

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
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
    tx.execute(
        "INSERT INTO batches (partner, received_at, count) VALUES (?1, ?2, ?3)",
        params![submitter.as_str(), millis(received_at), count],
    )
    .map_err(Error::db("recording a batch"))?;
    let batch = tx.last_insert_rowid();
    let mut first_seq = None;
    let mut last_seq = 0;
    {
        let mut marking_ids: HashMap<String, i64> = HashMap::new();
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
                "INSERT INTO reports (id, batch, originator, observed_at, lat, lon, source, marking, supersedes, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(Error::db("preparing"))?;
        let mut index_row = tx
            .prepare_cached("INSERT INTO reports_rtree VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?4)")
            .map_err(Error::db("preparing"))?;
        for (index, r) in reports.iter().enumerate() {
            let marking_body = encode(&r.marking)?;
            let marking = match marking_ids.get(&marking_body) {
                Some(id) => *id,
                None => {
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
                    marking_ids.insert(marking_body, id);
                    id
                }
            };
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
            let observed = millis(r.observed_at);
            let inserted = insert.execute(params![
                &r.id.as_bytes()[..],
                batch,
                submitter.as_str(),
                observed,
                r.position.lat,
                r.position.lon,
                r.source.as_str(),
                marking,
                r.supersedes.as_ref().map(|s| s.as_bytes().to_vec()),
                encode(r)?,
            ]);
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Err(Error::DuplicateId { index, id: r.id });
                }
                Err(e) => return Err(Error::db("storing a report")(e)),
            }
            let seq = tx.last_insert_rowid();
            index_row
                .execute(params![seq, r.position.lat, r.position.lon, observed / 1000])
                .map_err(Error::db("indexing a report"))?;
            first_seq.get_or_insert(seq);
            last_seq = seq;
        }
    }
    tx.commit().map_err(Error::db("committing a batch"))?;
    let seq = |s: i64| u64::try_from(s).unwrap_or(0);
    Ok(BatchReceipt {
        batch: seq(batch),
        count: reports.len(),
        first_seq: seq(first_seq.unwrap_or(last_seq)),
        last_seq: seq(last_seq),
    })
}

/// Builds the WHERE clause for a query. With a bbox or a time window the
/// R*Tree drives the query (CROSS JOIN pins it as the outer loop), and the
/// exact columns are re-checked because the index stores rounded floats.
fn plan(q: &ReportQuery, select: &str) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let indexed = q.bbox.is_some() || q.window.from.is_some() || q.window.to.is_some();
    let mut sql = if indexed {
        format!("SELECT {select} FROM reports_rtree t CROSS JOIN reports r ON r.seq = t.seq")
    } else {
        format!("SELECT {select} FROM reports r")
    };
    if let Some(b) = q.bbox {
        conds.push("t.max_lat >= ? AND t.min_lat <= ? AND t.max_lon >= ? AND t.min_lon <= ?".into());
        args.extend([b.min_lat, b.max_lat, b.min_lon, b.max_lon].map(Value::Real));
        conds.push("r.lat BETWEEN ? AND ? AND r.lon BETWEEN ? AND ?".into());
        args.extend([b.min_lat, b.max_lat, b.min_lon, b.max_lon].map(Value::Real));
    }
    if let Some(from) = q.window.from {
        conds.push("t.max_t >= ? AND r.observed_at >= ?".into());
        args.push(Value::Integer(from.unix_timestamp() - 1));
        args.push(Value::Integer(millis(from)));
    }
    if let Some(to) = q.window.to {
        conds.push("t.min_t <= ? AND r.observed_at < ?".into());
        args.push(Value::Integer(to.unix_timestamp() + 1));
        args.push(Value::Integer(millis(to)));
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

pub(crate) fn query(conn: &Connection, q: &ReportQuery) -> Result<Vec<StoredReport>> {
    let (mut sql, mut args) =
        plan(q, "r.seq, r.batch, (SELECT received_at FROM batches b WHERE b.id = r.batch), r.body");
    sql.push_str(" ORDER BY r.seq LIMIT ?");
    let limit = q.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare_cached(&sql).map_err(Error::db("querying reports"))?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
        })
        .map_err(Error::db("querying reports"))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, batch, received, body) = row.map_err(Error::db("reading reports"))?;
        out.push(decode(seq, batch, received, &body)?);
    }
    Ok(out)
}

fn decode(seq: i64, batch: i64, received: i64, body: &str) -> Result<StoredReport> {
    let report: Report =
        serde_json::from_str(body).map_err(|e| Error::Corrupt { what: "report", row: seq, message: e.to_string() })?;
    Ok(StoredReport {
        seq: u64::try_from(seq).unwrap_or(0),
        batch: u64::try_from(batch).unwrap_or(0),
        received_at: from_millis(received, seq)?,
        report,
    })
}

pub(crate) fn count(conn: &Connection, q: &ReportQuery) -> Result<u64> {
    let (sql, args) = plan(q, "count(*)");
    let n: i64 = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(rusqlite::params_from_iter(args), |r| r.get(0)))
        .map_err(Error::db("counting reports"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// seq, batch, received_at, body, id of the correction.
type ReportRow = (i64, i64, i64, String, Option<Vec<u8>>);

pub(crate) fn by_id(conn: &Connection, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>> {
    let row: Option<ReportRow> = conn
        .prepare_cached(
            "SELECT r.seq, r.batch, b.received_at, r.body, (SELECT c.id FROM reports c WHERE c.supersedes = r.id) \
             FROM reports r JOIN batches b ON b.id = r.batch WHERE r.id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([&id.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .optional()
        })
        .map_err(Error::db("reading a report"))?;
    let Some((seq, batch, received, body, corrected)) = row else { return Ok(None) };
    let corrected_by = match corrected {
        Some(bytes) => {
            Some(ReportId::from_bytes(<[u8; 16]>::try_from(bytes.as_slice()).map_err(|_| Error::Corrupt {
                what: "report id",
                row: seq,
                message: "not 16 bytes".into(),
            })?))
        }
        None => None,
    };
    Ok(Some((decode(seq, batch, received, &body)?, corrected_by)))
}

#[cfg(test)]
pub(crate) fn explain(conn: &Connection, q: &ReportQuery) -> Vec<String> {
    let (sql, args) = plan(q, "r.seq");
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect()
}
