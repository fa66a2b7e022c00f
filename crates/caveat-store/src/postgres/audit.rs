//! The audit log's storage on PostgreSQL: caveat-audit computes every hash;
//! this keeps entries and node hashes durably, one transaction per batch.
//!
//! [`LogStorage`] is synchronous (the hub appends from one writer thread), and
//! the driver is async. So the log gets a thread of its own running a
//! single-threaded runtime and one connection; calls travel to it over a
//! channel. It works the same whether the caller is a plain thread or a task
//! on the hub's runtime, and it reconnects when the database comes back.

use std::io;
use std::sync::mpsc;

use caveat_audit::{AppendBatch, Hash, LogStorage, NodeId, StoreItem};
use caveat_core::PartnerId;
use deadpool_postgres::Object;
use tokio_postgres::{Client, NoTls};

use super::{classify, db};
use crate::account::IndexedLog;
use crate::row::{signed, unsigned};
use crate::{Error, Result, audit};

/// A refused index row: the item already has an entry, or the database failed.
fn already_accounted(e: &tokio_postgres::Error) -> Error {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        return Error::Database {
            context: "appending to the audit log",
            message: "a batch or policy event in this append already has an entry in the audit log".into(),
        };
    }
    classify("appending to the audit log", e)
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// [`LogStorage`] over a dedicated connection (the log has one writer).
pub(crate) struct PostgresLog {
    jobs: mpsc::Sender<Job>,
}

/// The connection thread's state.
struct Session {
    runtime: tokio::runtime::Runtime,
    config: tokio_postgres::Config,
    client: Option<Client>,
}

impl Session {
    /// Runs `f` on a live connection, connecting first if there is none.
    fn run<T>(&mut self, f: impl AsyncFnOnce(&mut Client) -> Result<T>) -> io::Result<T> {
        let Session { runtime, config, client } = self;
        runtime
            .block_on(async {
                if client.as_ref().is_none_or(Client::is_closed) {
                    let (c, connection) = config.connect(NoTls).await.map_err(|e| classify("connecting", &e))?;
                    // Runs while this thread is inside `block_on`: every use is.
                    tokio::spawn(connection);
                    *client = Some(c);
                }
                let c = client.as_mut().ok_or(Error::Unavailable { message: "no connection".into() })?;
                f(c).await
            })
            .map_err(to_io)
    }
}

/// Keeps the store's error inside the `io::Error`, with a kind that says
/// whether retrying later may help.
fn to_io(e: Error) -> io::Error {
    let kind = match e {
        Error::Unavailable { .. } => io::ErrorKind::NotConnected,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

impl PostgresLog {
    /// Starts the connection thread; the connection opens on first use.
    pub(crate) fn start(config: tokio_postgres::Config) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Database { context: "starting the audit log's runtime", message: e.to_string() })?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("caveat-audit-pg".into())
            .spawn(move || {
                let mut session = Session { runtime, config, client: None };
                // Ends when the PostgresLog (the only sender) is dropped.
                for job in queue {
                    job(&mut session);
                }
            })
            .map_err(|e| Error::Database { context: "starting the audit log's thread", message: e.to_string() })?;
        Ok(PostgresLog { jobs })
    }

    fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            // The caller waits on `answer` until this sends; it cannot be gone.
            reply.send(job(session)).unwrap_or_default();
        });
        self.jobs.send(job).map_err(|_| io::Error::other("the audit log's connection thread has stopped"))?;
        answer.recv().map_err(|_| io::Error::other("the audit log's connection thread has stopped"))?
    }
}

impl LogStorage for PostgresLog {
    fn size(&self) -> io::Result<u64> {
        self.call(|s| {
            s.run(async |c| {
                let n: i64 = c
                    .query_one("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries", &[])
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(db("reading the audit log size"))?;
                Ok(unsigned(n))
            })
        })
    }

    fn node(&self, id: NodeId) -> io::Result<Hash> {
        let mut hashes = self.nodes(&[id])?;
        hashes.pop().ok_or_else(|| io::Error::other("no node read"))
    }

    fn nodes(&self, ids: &[NodeId]) -> io::Result<Vec<Hash>> {
        let wanted: Vec<u64> = ids.iter().map(|id| id.storage_position()).collect();
        let keys = wanted.iter().map(|p| audit::key(*p)).collect::<io::Result<Vec<i64>>>()?;
        let rows = self.call(move |s| {
            s.run(async |c| {
                let stmt = c
                    .prepare("SELECT pos, hash FROM audit_nodes WHERE pos = ANY($1)")
                    .await
                    .map_err(db("reading audit nodes"))?;
                let mut found = std::collections::HashMap::new();
                for row in c.query(&stmt, &[&keys]).await.map_err(db("reading audit nodes"))? {
                    let pos: i64 = row.try_get(0).map_err(db("reading audit nodes"))?;
                    let hash: Vec<u8> = row.try_get(1).map_err(db("reading audit nodes"))?;
                    found.insert(unsigned(pos), hash);
                }
                Ok(found)
            })
        })?;
        wanted.iter().map(|at| audit::hash(*at, rows.get(at).map(Vec::as_slice))).collect()
    }

    fn entry(&self, index: u64) -> io::Result<Vec<u8>> {
        let key = audit::key(index)?;
        let found = self.call(move |s| {
            s.run(async |c| {
                let row = c
                    .query_opt("SELECT data FROM audit_entries WHERE idx = $1", &[&key])
                    .await
                    .map_err(db("reading an audit entry"))?;
                row.map(|r| r.try_get::<_, Vec<u8>>(0)).transpose().map_err(db("reading an audit entry"))
            })
        })?;
        audit::entry(index, found)
    }

    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()> {
        let first = audit::key(batch.first_index())?;
        let entries: Vec<Vec<u8>> = batch.entries().iter().map(|e| e.to_vec()).collect();
        let touched = audit::Touched::of(batch)?;
        let first_node = audit::key(batch.first_node_position())?;
        // What each entry accounts for in the store (see migration 6).
        let (mut batch_partners, mut batch_numbers, mut batch_at) = (Vec::new(), Vec::new(), Vec::new());
        let (mut event_versions, mut event_at) = (Vec::new(), Vec::new());
        for (item, index) in &touched.items {
            match item {
                StoreItem::Batch { partner, number } => {
                    batch_partners.push(partner.as_str().to_owned());
                    batch_numbers.push(audit::key(*number)?);
                    batch_at.push(audit::key(*index)?);
                }
                StoreItem::PolicyEvent { version } => {
                    event_versions.push(audit::key(*version)?);
                    event_at.push(audit::key(*index)?);
                }
            }
        }
        let hashes: Vec<Vec<u8>> = batch.nodes().iter().map(|(_, h)| h.as_bytes().to_vec()).collect();
        self.call(move |s| {
            s.run(async |c| {
                let ctx = "appending to the audit log";
                let tx = c.transaction().await.map_err(db(ctx))?;
                // One writer at a time, even across hub processes.
                tx.batch_execute("LOCK TABLE audit_entries IN EXCLUSIVE MODE").await.map_err(db(ctx))?;
                let size: i64 = tx
                    .query_one("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries", &[])
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(db(ctx))?;
                if let Some(message) = audit::misplaced(first, size) {
                    return Err(Error::Database { context: ctx, message });
                }
                tx.execute(
                    "INSERT INTO audit_entries (idx, data) SELECT $1 + t.n - 1, t.data \
                     FROM unnest($2::bytea[]) WITH ORDINALITY AS t(data, n)",
                    &[&first, &entries],
                )
                .await
                .map_err(db(ctx))?;
                tx.execute(
                    "INSERT INTO audit_originators (originator, idx) SELECT * FROM unnest($1::text[], $2::int8[]) \
                     ON CONFLICT DO NOTHING",
                    &[&touched.originators, &touched.indexes],
                )
                .await
                .map_err(db(ctx))?;
                tx.execute(
                    "INSERT INTO audit_nodes (pos, hash) SELECT $1 + t.n - 1, t.hash \
                     FROM unnest($2::bytea[]) WITH ORDINALITY AS t(hash, n)",
                    &[&first_node, &hashes],
                )
                .await
                .map_err(db(ctx))?;
                // No ON CONFLICT: an item already accounted for fails the
                // primary key and the whole append with it.
                if !batch_partners.is_empty() {
                    tx.execute(
                        "INSERT INTO audit_batches (partner, batch, idx) \
                         SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[])",
                        &[&batch_partners, &batch_numbers, &batch_at],
                    )
                    .await
                    .map_err(|e| already_accounted(&e))?;
                }
                if !event_versions.is_empty() {
                    tx.execute(
                        "INSERT INTO audit_policy_events (version, idx) SELECT * FROM unnest($1::int8[], $2::int8[])",
                        &[&event_versions, &event_at],
                    )
                    .await
                    .map_err(|e| already_accounted(&e))?;
                }
                tx.commit().await.map_err(db(ctx))
            })
        })
    }
}

pub(crate) async fn entries_touching(
    client: &Object,
    originator: &PartnerId,
    size: u64,
    limit: usize,
) -> Result<Vec<u64>> {
    let stmt = client
        .prepare_cached("SELECT idx FROM audit_originators WHERE originator = $1 AND idx < $2 ORDER BY idx LIMIT $3")
        .await
        .map_err(db("reading the audit index"))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(&stmt, &[&originator.as_str(), &signed(size), &limit])
        .await
        .map_err(db("reading the audit index"))?;
    rows.iter().map(|r| r.try_get::<_, i64>(0).map(unsigned).map_err(db("reading the audit index"))).collect()
}

pub(crate) async fn save_checkpoint(client: &Object, size: u64, note: &str) -> Result<()> {
    client
        .execute(
            "INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2) \
             ON CONFLICT (size) DO UPDATE SET note = excluded.note",
            &[&signed(size), &note],
        )
        .await
        .map_err(db("saving a checkpoint"))?;
    Ok(())
}

pub(crate) async fn latest_checkpoint(client: &Object) -> Result<Option<(u64, String)>> {
    let row = client
        .query_opt("SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1", &[])
        .await
        .map_err(db("reading a checkpoint"))?;
    row.map(|r| {
        Ok((
            unsigned(r.try_get(0).map_err(db("reading a checkpoint"))?),
            r.try_get(1).map_err(db("reading a checkpoint"))?,
        ))
    })
    .transpose()
}

impl IndexedLog for PostgresLog {
    fn accounted(&self, items: &[StoreItem]) -> io::Result<Vec<Option<u64>>> {
        let (mut partners, mut numbers, mut batch_slots) = (Vec::new(), Vec::new(), Vec::new());
        let (mut versions, mut event_slots) = (Vec::new(), Vec::new());
        for (slot, item) in items.iter().enumerate() {
            match item {
                StoreItem::Batch { partner, number } => {
                    partners.push(partner.as_str().to_owned());
                    numbers.push(audit::key(*number)?);
                    batch_slots.push(slot);
                }
                StoreItem::PolicyEvent { version } => {
                    versions.push(audit::key(*version)?);
                    event_slots.push(slot);
                }
            }
        }
        let (batches, events) = self.call(move |s| {
            s.run(async |c| {
                let ctx = "reading the audit index";
                // One row per asked item, in order (ORDINALITY), found or not.
                let batches = c
                    .query(
                        "SELECT a.idx FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS t(partner, batch, n) \
                         LEFT JOIN audit_batches a ON a.partner = t.partner AND a.batch = t.batch ORDER BY t.n",
                        &[&partners, &numbers],
                    )
                    .await
                    .map_err(db(ctx))?;
                let events = c
                    .query(
                        "SELECT a.idx FROM unnest($1::int8[]) WITH ORDINALITY AS t(version, n) \
                         LEFT JOIN audit_policy_events a ON a.version = t.version ORDER BY t.n",
                        &[&versions],
                    )
                    .await
                    .map_err(db(ctx))?;
                let read = |rows: Vec<tokio_postgres::Row>| -> Result<Vec<Option<u64>>> {
                    rows.iter()
                        .map(|r| r.try_get::<_, Option<i64>>(0).map(|v| v.map(unsigned)).map_err(db(ctx)))
                        .collect()
                };
                Ok((read(batches)?, read(events)?))
            })
        })?;
        let mut out = vec![None; items.len()];
        for (slot, found) in batch_slots.into_iter().zip(batches).chain(event_slots.into_iter().zip(events)) {
            if let Some(o) = out.get_mut(slot) {
                *o = found;
            }
        }
        Ok(out)
    }

    fn entries(&self, from: u64, to: u64) -> io::Result<Vec<Vec<u8>>> {
        let (lo, hi) = (audit::key(from)?, audit::key(to)?);
        let rows = self.call(move |s| {
            s.run(async |c| {
                let rows = c
                    .query("SELECT idx, data FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx", &[&lo, &hi])
                    .await
                    .map_err(db("reading audit entries"))?;
                rows.iter()
                    .map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, Vec<u8>>(1)?)))
                    .collect::<std::result::Result<Vec<(i64, Vec<u8>)>, tokio_postgres::Error>>()
                    .map_err(db("reading audit entries"))
            })
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, (idx, data)) in (lo..).zip(rows) {
            // A gap means a deleted row: say which, rather than shift every later entry.
            if idx != expected {
                return Err(io::Error::new(io::ErrorKind::NotFound, format!("entry {expected} is not stored")));
            }
            out.push(data);
        }
        Ok(out)
    }
}
