//! The audit log's storage on SQLite: caveat-audit computes every hash; this
//! keeps entries and node hashes durably, one transaction per batch.

use std::io;
use std::sync::{Arc, PoisonError};

use caveat_audit::{AppendBatch, Hash, LogStorage, NodeId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::Inner;
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
            let mut node = tx.prepare_cached("INSERT INTO audit_nodes (pos, hash) VALUES (?1, ?2)").map_err(io_err)?;
            for (p, (_, hash)) in (batch.first_node_position()..).zip(batch.nodes()) {
                node.execute(params![audit::key(p)?, hash.as_bytes().as_slice()]).map_err(io_err)?;
            }
        }
        tx.commit().map_err(io_err)
    }
}
