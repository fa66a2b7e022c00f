//! The audit log's storage on SQLite: caveat-audit computes every hash; this
//! keeps entries and node hashes durably, one transaction per batch.

use std::io;
use std::sync::{Arc, PoisonError};

use caveat_audit::{AppendBatch, Hash, LogStorage, NodeId, StoreItem};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::Inner;
use crate::account::IndexedLog;
use crate::audit;
use crate::row::unsigned;

/// [`LogStorage`] over a dedicated SQLite connection (the log has one writer).
pub(crate) struct SqliteLog {
    conn: Connection,
    /// The store this log lives in: its appends take turns with the store's
    /// writes, see [`LogStorage::append`] below.
    store: Arc<Inner>,
}

impl SqliteLog {
    pub(crate) fn new(conn: Connection, store: Arc<Inner>) -> Self {
        SqliteLog { conn, store }
    }
}

fn io_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(e)
}

/// A refused index row: the item already has an entry (`AlreadyExists`), or the database failed.
fn already_accounted(item: &StoreItem, e: rusqlite::Error) -> io::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            io::Error::new(io::ErrorKind::AlreadyExists, format!("{item} already has an entry in the audit log"))
        }
        other => io_err(other),
    }
}

fn pos(v: u64) -> io::Result<i64> {
    i64::try_from(v).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "index out of range"))
}

impl LogStorage for SqliteLog {
    fn size(&self) -> io::Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries", [], |r| r.get(0))
            .map_err(io_err)?;
        Ok(unsigned(n))
    }

    fn node(&self, id: NodeId) -> io::Result<Hash> {
        let at = id.storage_position();
        let key = audit::key(at)?;
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hash FROM audit_nodes WHERE pos = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(io_err)?;
        audit::hash(at, bytes.as_deref())
    }

    fn entry(&self, index: u64) -> io::Result<Vec<u8>> {
        let key = audit::key(index)?;
        let data = self
            .conn
            .prepare_cached("SELECT data FROM audit_entries WHERE idx = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(io_err)?;
        audit::entry(index, data)
    }

    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()> {
        // Decoded before the turn is taken, so the lock is held for writing only.
        let touched = audit::Touched::of(batch)?;
        // SQLite has one write lock per database, and a connection that finds
        // it taken sleeps in steps of up to 100 ms before trying again. Every
        // API request waits for an append, so within this process appends
        // queue on the audit database's other writer instead and start the
        // moment it is free; the busy timeout still covers other processes.
        let _turn = self.store.audit_writer.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(io_err)?;
        let size: i64 =
            tx.query_row("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries", [], |r| r.get(0)).map_err(io_err)?;
        let first = audit::key(batch.first_index())?;
        if let Some(message) = audit::misplaced(first, size) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        {
            let mut entry =
                tx.prepare_cached("INSERT INTO audit_entries (idx, data) VALUES (?1, ?2)").map_err(io_err)?;
            for (index, data) in (first..).zip(batch.entries()) {
                entry.execute(params![index, data]).map_err(io_err)?;
            }
            let mut touch = tx
                .prepare_cached("INSERT OR IGNORE INTO audit_originators (originator, idx) VALUES (?1, ?2)")
                .map_err(io_err)?;
            for (o, index) in touched.originators.iter().zip(&touched.indexes) {
                touch.execute(params![o, index]).map_err(io_err)?;
            }
            // What each entry accounts for in the store. A plain INSERT: a
            // batch or event already accounted for fails the primary key, and
            // the whole append with it (see `AUDIT_ITEMS` in schema.rs).
            let mut batch_item = tx
                .prepare_cached("INSERT INTO audit_batches (partner, batch, idx) VALUES (?1, ?2, ?3)")
                .map_err(io_err)?;
            let mut event_item =
                tx.prepare_cached("INSERT INTO audit_policy_events (version, idx) VALUES (?1, ?2)").map_err(io_err)?;
            for (item, index) in &touched.items {
                let done = match item {
                    StoreItem::Batch { partner, number } => {
                        batch_item.execute(params![partner.as_str(), pos(*number)?, pos(*index)?])
                    }
                    StoreItem::PolicyEvent { version } => event_item.execute(params![pos(*version)?, pos(*index)?]),
                };
                done.map_err(|e| already_accounted(item, e))?;
            }
            let mut node = tx.prepare_cached("INSERT INTO audit_nodes (pos, hash) VALUES (?1, ?2)").map_err(io_err)?;
            for (p, (_, hash)) in (batch.first_node_position()..).zip(batch.nodes()) {
                node.execute(params![audit::key(p)?, hash.as_bytes().as_slice()]).map_err(io_err)?;
            }
        }
        tx.commit().map_err(io_err)
    }
}

impl IndexedLog for SqliteLog {
    fn accounted(&self, items: &[StoreItem]) -> io::Result<Vec<Option<u64>>> {
        let mut batch = self
            .conn
            .prepare_cached("SELECT idx FROM audit_batches WHERE partner = ?1 AND batch = ?2")
            .map_err(io_err)?;
        let mut event =
            self.conn.prepare_cached("SELECT idx FROM audit_policy_events WHERE version = ?1").map_err(io_err)?;
        items
            .iter()
            .map(|item| {
                let found: Option<i64> = match item {
                    StoreItem::Batch { partner, number } => {
                        batch.query_row(params![partner.as_str(), pos(*number)?], |r| r.get(0)).optional()
                    }
                    StoreItem::PolicyEvent { version } => event.query_row([pos(*version)?], |r| r.get(0)).optional(),
                }
                .map_err(io_err)?;
                Ok(found.and_then(|i| u64::try_from(i).ok()))
            })
            .collect()
    }

    fn entries(&self, from: u64, to: u64) -> io::Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT idx, data FROM audit_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
            .map_err(io_err)?;
        let rows = stmt
            .query_map(params![pos(from)?, pos(to)?], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(io_err)?;
        let mut out = Vec::new();
        for (expected, row) in (from..).zip(rows) {
            let (idx, data) = row.map_err(io_err)?;
            // A gap means a deleted row: say which, rather than shift every later entry.
            if u64::try_from(idx).ok() != Some(expected) {
                return Err(io::Error::new(io::ErrorKind::NotFound, format!("entry {expected} is not stored")));
            }
            out.push(data);
        }
        Ok(out)
    }
}
