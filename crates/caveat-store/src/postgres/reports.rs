//! Partners, report batches and report queries on PostgreSQL.

use std::collections::HashMap;

use caveat_core::{Partner, PartnerId, Report, ReportId};
use deadpool_postgres::Object;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::db;
use crate::batch::{self, MarkingClasses, Stored};
use crate::query::Arg;
use crate::row::{self, DetailsRef, MARKING_COLUMN, Markings, REPORT_COLUMNS, ReportRow, encode, millis, nanos};
use crate::row::{from_millis, signed, unsigned};
use crate::{BatchReceipt, BatchSubmission, Error, Reconciled, ReportQuery, Result, StoredBatch, StoredReport};

pub(crate) async fn put_partner(client: &Object, partner: &Partner) -> Result<()> {
    let body = encode("encoding a partner", partner)?;
    let stmt = client
        .prepare_cached(
            "INSERT INTO partners (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )
        .await
        .map_err(db("storing a partner"))?;
    client.execute(&stmt, &[&partner.id.as_str(), &body]).await.map_err(db("storing a partner"))?;
    Ok(())
}

pub(crate) async fn partners(client: &Object, only: Option<&PartnerId>) -> Result<Vec<Partner>> {
    let stmt = client
        .prepare_cached("SELECT id, body FROM partners WHERE $1::text IS NULL OR id = $1 ORDER BY id")
        .await
        .map_err(db("reading partners"))?;
    let rows = client.query(&stmt, &[&only.map(PartnerId::as_str)]).await.map_err(db("reading partners"))?;
    rows.iter()
        .enumerate()
        .map(|(n, r)| row::partner(i64::try_from(n).unwrap_or(i64::MAX), r.try_get(1).map_err(db("reading partners"))?))
        .collect()
}

pub(crate) async fn insert_batch(
    client: &mut Object,
    submitter: &PartnerId,
    by: &BatchSubmission,
    received_at: OffsetDateTime,
    reports: &[Report],
) -> Result<BatchReceipt> {
    let tx = client.transaction().await.map_err(db("starting a batch"))?;
    // One batch writer at a time, across hub processes: `seq` follows commit
    // order (module doc of postgres.rs). Readers are not blocked.
    tx.batch_execute("LOCK TABLE batches IN EXCLUSIVE MODE").await.map_err(db("locking for a batch"))?;
    let known_partner = tx
        .query_opt("SELECT 1 FROM partners WHERE id = $1", &[&submitter.as_str()])
        .await
        .map_err(db("checking the partner"))?;
    batch::check_submitter(submitter, known_partner.is_some(), reports)?;

    let named = batch::named_ids(reports);
    let named: Vec<&[u8]> = named.iter().map(|id| &id.as_bytes()[..]).collect();
    let stmt = tx
        .prepare_cached(
            "SELECT r.id, r.originator, EXISTS (SELECT 1 FROM reports c WHERE c.supersedes = r.id) \
             FROM reports r WHERE r.id = ANY($1)",
        )
        .await
        .map_err(db("checking report ids"))?;
    let mut stored = HashMap::new();
    for r in tx.query(&stmt, &[&named]).await.map_err(db("checking report ids"))? {
        let get = || db("checking report ids");
        let id = row::blob_id(r.try_get(0).map_err(get())?).ok_or_else(|| Error::Corrupt {
            what: "report id",
            row: 0,
            message: "not 16 bytes".into(),
        })?;
        stored
            .insert(id, Stored { originator: r.try_get(1).map_err(get())?, superseded: r.try_get(2).map_err(get())? });
    }
    batch::check(submitter, reports, stored)?;

    let mut classes = MarkingClasses::of(reports);
    let find = tx
        .prepare_cached("SELECT id FROM markings WHERE md5(body) = md5($1) AND body = $1 ORDER BY id LIMIT 1")
        .await
        .map_err(db("finding a marking"))?;
    let add = tx
        .prepare_cached("INSERT INTO markings (body) VALUES ($1) RETURNING id")
        .await
        .map_err(db("storing a marking"))?;
    for m in classes.distinct.clone() {
        let body = MarkingClasses::body(m)?;
        let id: i64 = match tx.query_opt(&find, &[&body]).await.map_err(db("finding a marking"))? {
            Some(row) => row.try_get(0).map_err(db("finding a marking"))?,
            None => {
                tx.query_one(&add, &[&body]).await.and_then(|row| row.try_get(0)).map_err(db("storing a marking"))?
            }
        };
        classes.set(m, id);
    }

    let next = tx
        .query_one(
            "SELECT coalesce((SELECT max(id) FROM batches), 0) + 1, coalesce((SELECT max(seq) FROM reports), 0) + 1, \
             coalesce((SELECT max(partner_batch) FROM batches WHERE partner = $1), 0) + 1",
            &[&submitter.as_str()],
        )
        .await
        .map_err(db("numbering a batch"))?;
    let batch: i64 = next.try_get(0).map_err(db("numbering a batch"))?;
    let first_seq: i64 = next.try_get(1).map_err(db("numbering a batch"))?;
    let partner_batch: i64 = next.try_get(2).map_err(db("numbering a batch"))?;
    let count = i64::try_from(reports.len()).unwrap_or(i64::MAX);
    let user = by.user.as_ref().map(caveat_core::UserId::as_str);
    let locators = (!by.report_locators.is_empty()).then_some(by.report_locators.as_slice());
    tx.execute(
        "INSERT INTO batches (id, partner, received_at, count, partner_batch, submitted_by, report_locators, first_seq, last_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &batch,
            &submitter.as_str(),
            &millis(received_at),
            &count,
            &partner_batch,
            &user,
            &locators,
            &first_seq,
            &(first_seq + count - 1),
        ],
    )
    .await
    .map_err(db("recording a batch"))?;

    // One statement for the whole batch: columns travel as arrays.
    let mut ids = Vec::with_capacity(reports.len());
    let mut observed = Vec::with_capacity(reports.len());
    let mut lats = Vec::with_capacity(reports.len());
    let mut lons = Vec::with_capacity(reports.len());
    let mut sources = Vec::with_capacity(reports.len());
    let markings = classes.ids(reports);
    let mut supersedes = Vec::with_capacity(reports.len());
    let mut bodies = Vec::with_capacity(reports.len());
    for r in reports {
        ids.push(&r.id.as_bytes()[..]);
        observed.push(nanos(r.observed_at));
        lats.push(r.position.lat);
        lons.push(r.position.lon);
        sources.push(r.source.as_str());
        supersedes.push(r.supersedes.as_ref().map(|s| &s.as_bytes()[..]));
        bodies.push(DetailsRef::encode(r)?);
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO reports (seq, id, batch, originator, observed_at, lat, lon, source, marking, supersedes, body) \
             SELECT $1 + t.n - 1, t.id, $2, $3, t.observed_at, t.lat, t.lon, t.source, t.marking, t.supersedes, t.body \
             FROM unnest($4::bytea[], $5::int8[], $6::float8[], $7::float8[], $8::text[], $9::int8[], $10::bytea[], $11::text[]) \
                 WITH ORDINALITY AS t(id, observed_at, lat, lon, source, marking, supersedes, body, n)",
        )
        .await
        .map_err(db("storing reports"))?;
    let params: [&(dyn ToSql + Sync); 11] = [
        &first_seq,
        &batch,
        &submitter.as_str(),
        &ids,
        &observed,
        &lats,
        &lons,
        &sources,
        &markings,
        &supersedes,
        &bodies,
    ];
    tx.execute(&insert, &params).await.map_err(db("storing reports"))?;
    tx.commit().await.map_err(db("committing a batch"))?;
    Ok(batch::receipt(batch, partner_batch, reports.len(), first_seq, first_seq + count - 1))
}

/// A query's WHERE clause and its parameters, numbered from `$1`.
pub(crate) struct Plan {
    pub(crate) sql: String,
    pub(crate) args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Plan {
    fn arg(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.args.push(Box::new(v));
        format!("${}", self.args.len())
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect()
    }
}

/// Builds the query. A box is answered from the GiST index on the position,
/// a window from the time index.
pub(crate) fn plan(q: &ReportQuery, select: &str) -> Plan {
    let mut p = Plan { sql: String::new(), args: Vec::new() };
    let sql = q.sql(
        select,
        &mut |a| match a {
            Arg::Int(v) => p.arg(v),
            Arg::Real(v) => p.arg(v),
            Arg::Text(v) => p.arg(v),
        },
        |_, [lat0, lat1, lon0, lon1], _| {
            format!("point(r.lon, r.lat) <@ box(point({lon0}, {lat0}), point({lon1}, {lat1}))")
        },
    );
    p.sql = sql;
    p
}

/// The marking classes `rows` refer to, each decoded once.
async fn markings_of(client: &Object, rows: &[Row]) -> Result<Markings> {
    let mut ids: Vec<i64> = Vec::new();
    for row in rows {
        ids.push(row.try_get(MARKING_COLUMN).map_err(db("reading a report"))?);
    }
    ids.sort_unstable();
    ids.dedup();
    let mut out = Markings::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let stmt = client
        .prepare_cached("SELECT id, body FROM markings WHERE id = ANY($1)")
        .await
        .map_err(db("reading markings"))?;
    for row in client.query(&stmt, &[&ids]).await.map_err(db("reading markings"))? {
        let get = || db("reading markings");
        out.decode(row.try_get(0).map_err(get())?, row.try_get(1).map_err(get())?, None)?;
    }
    Ok(out)
}

fn read(row: &Row, markings: &Markings) -> Result<StoredReport> {
    let get = || db("reading a report");
    ReportRow {
        seq: row.try_get(0).map_err(get())?,
        batch: row.try_get(1).map_err(get())?,
        received_at: row.try_get(2).map_err(get())?,
        id: row.try_get(3).map_err(get())?,
        originator: row.try_get(4).map_err(get())?,
        observed_at: row.try_get(5).map_err(get())?,
        lat: row.try_get(6).map_err(get())?,
        lon: row.try_get(7).map_err(get())?,
        source: row.try_get(8).map_err(get())?,
        marking: row.try_get(MARKING_COLUMN).map_err(get())?,
        supersedes: row.try_get(10).map_err(get())?,
        body: row.try_get(11).map_err(get())?,
    }
    .decode(markings)
}

pub(crate) async fn query(client: &Object, q: &ReportQuery) -> Result<Vec<StoredReport>> {
    let mut p = plan(q, REPORT_COLUMNS);
    let a = p.arg(signed(q.page_limit()));
    p.sql.push_str(" ORDER BY r.seq LIMIT ");
    p.sql.push_str(&a);
    let stmt = client.prepare_cached(&p.sql).await.map_err(db("querying reports"))?;
    let rows = client.query(&stmt, &p.params()).await.map_err(db("querying reports"))?;
    let markings = markings_of(client, &rows).await?;
    rows.iter().map(|row| read(row, &markings)).collect()
}

pub(crate) async fn count(client: &Object, q: &ReportQuery) -> Result<u64> {
    let p = plan(q, "count(*)");
    let stmt = client.prepare_cached(&p.sql).await.map_err(db("counting reports"))?;
    let n: i64 =
        client.query_one(&stmt, &p.params()).await.and_then(|r| r.try_get(0)).map_err(db("counting reports"))?;
    Ok(unsigned(n))
}

pub(crate) async fn by_id(client: &Object, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS}, (SELECT c.id FROM reports c WHERE c.supersedes = r.id) FROM reports r WHERE r.id = $1"
    );
    let stmt = client.prepare_cached(&sql).await.map_err(db("reading a report"))?;
    let rows = client.query(&stmt, &[&&id.as_bytes()[..]]).await.map_err(db("reading a report"))?;
    let Some(row) = rows.first() else { return Ok(None) };
    let markings = markings_of(client, &rows).await?;
    let stored = read(row, &markings)?;
    let corrected_by = row::corrected_by(&stored, row.try_get(12).map_err(db("reading a report"))?)?;
    Ok(Some((stored, corrected_by)))
}

/// The plan PostgreSQL chooses for `q`, with sequential scans priced out, so
/// a test can see that an index answers it even on a small table.
#[cfg(test)]
pub(crate) async fn explain(client: &mut Object, q: &ReportQuery) -> Vec<String> {
    let p = plan(q, "r.seq");
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL enable_seqscan = off").await.unwrap();
    let rows = tx.query(&format!("EXPLAIN {}", p.sql), &p.params()).await.unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

/// Batches numbered above `after`, in order, at most `limit`.
pub(crate) async fn batches(client: &Object, after: u64, limit: usize) -> Result<Vec<StoredBatch>> {
    let stmt = client
        .prepare_cached(
            "SELECT id, partner, partner_batch, received_at, count, submitted_by, first_seq, last_seq \
             FROM batches WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .await
        .map_err(db("listing batches"))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client.query(&stmt, &[&signed(after), &limit]).await.map_err(db("listing batches"))?;
    rows.iter()
        .map(|row| {
            let get = || db("listing batches");
            let id: i64 = row.try_get(0).map_err(get())?;
            let corrupt = |m: String| Error::Corrupt { what: "batch", row: id, message: m };
            let partner: &str = row.try_get(1).map_err(get())?;
            let partner_batch: Option<i64> = row.try_get(2).map_err(get())?;
            let user: Option<&str> = row.try_get(5).map_err(get())?;
            let seqs: (Option<i64>, Option<i64>) = (row.try_get(6).map_err(get())?, row.try_get(7).map_err(get())?);
            Ok(StoredBatch {
                batch: unsigned(id),
                partner: partner.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
                partner_batch: unsigned(partner_batch.unwrap_or(0)),
                received_at: from_millis(row.try_get(3).map_err(get())?, "batch", id)?,
                count: unsigned(row.try_get(4).map_err(get())?),
                user: user.map(str::parse).transpose().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
                seqs: match seqs {
                    (Some(a), Some(b)) => Some((unsigned(a), unsigned(b))),
                    _ => None,
                },
            })
        })
        .collect()
}

pub(crate) async fn batch_report_locators(client: &Object, batch: u64) -> Result<Option<Vec<u8>>> {
    let row = client
        .query_opt("SELECT report_locators FROM batches WHERE id = $1", &[&signed(batch)])
        .await
        .map_err(db("reading a batch"))?;
    Ok(row.map(|r| r.try_get::<_, Option<Vec<u8>>>(0)).transpose().map_err(db("reading a batch"))?.flatten())
}

pub(crate) async fn reconciled(client: &Object) -> Result<Reconciled> {
    let row = client
        .query_opt("SELECT batches, policy_events FROM reconciled WHERE id = 1", &[])
        .await
        .map_err(db("reading the reconciled mark"))?;
    let Some(row) = row else { return Ok(Reconciled::default()) };
    Ok(Reconciled {
        batches: unsigned(row.try_get(0).map_err(db("reading the reconciled mark"))?),
        policy_events: unsigned(row.try_get(1).map_err(db("reading the reconciled mark"))?),
    })
}

pub(crate) async fn set_reconciled(client: &Object, mark: Reconciled) -> Result<()> {
    client
        .execute(
            "INSERT INTO reconciled (id, batches, policy_events) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE \
             SET batches = greatest(reconciled.batches, excluded.batches), \
                 policy_events = greatest(reconciled.policy_events, excluded.policy_events)",
            &[&signed(mark.batches), &signed(mark.policy_events)],
        )
        .await
        .map_err(db("raising the reconciled mark"))?;
    Ok(())
}
