//! What the log needs from storage, and an in-memory implementation for tests.

use std::io;

use crate::hash::Hash;
use crate::tree::{NodeId, stored_node_count};

/// One batch to persist: entries `first_index..first_index + entries.len()` and the
/// node hashes they complete.
///
/// The node hashes are exactly the run of positions
/// `stored_node_count(first_index)..stored_node_count(first_index + entries.len())`
/// in [`NodeId::storage_position`] order, so an append-only store writes them as
/// one contiguous run.
#[derive(Debug)]
pub struct AppendBatch<'a> {
    pub(crate) first_index: u64,
    pub(crate) entries: &'a [&'a [u8]],
    pub(crate) nodes: Vec<(NodeId, Hash)>,
}

impl<'a> AppendBatch<'a> {
    /// The index the first entry gets (the log's size before the batch).
    pub fn first_index(&self) -> u64 {
        self.first_index
    }

    /// The entries' bytes (the leaf data), in order.
    pub fn entries(&self) -> &'a [&'a [u8]] {
        self.entries
    }

    /// Every node hash the batch completes, leaves included, in storage-position order.
    pub fn nodes(&self) -> &[(NodeId, Hash)] {
        &self.nodes
    }

    /// The storage position of the first node in [`AppendBatch::nodes`].
    pub fn first_node_position(&self) -> u64 {
        stored_node_count(self.first_index)
    }
}

/// Durable storage for one Merkle log.
///
/// Implemented by `caveat-store` (SQLite, PostgreSQL), by [`FileStorage`](crate::FileStorage)
/// and by [`MemoryStorage`]. Errors are `std::io::Error`: a backend wraps its own
/// error with `io::Error::other`, which keeps it as the source.
///
/// The contract the proofs rely on: `append` is atomic (after a crash either the whole
/// batch or none of it is visible) and durable when it returns, and `node` returns the
/// hash written for that node by an earlier `append`.
pub trait LogStorage {
    /// How many entries are stored.
    fn size(&self) -> io::Result<u64>;

    /// The hash of a complete subtree written by an earlier append.
    fn node(&self, id: NodeId) -> io::Result<Hash>;

    /// Several nodes at once, in the order asked. A database backend should answer
    /// with one query; the default asks [`LogStorage::node`] for each.
    fn nodes(&self, ids: &[NodeId]) -> io::Result<Vec<Hash>> {
        ids.iter().map(|&id| self.node(id)).collect()
    }

    /// The bytes of entry `index`.
    fn entry(&self, index: u64) -> io::Result<Vec<u8>>;

    /// Persists a batch, durably and atomically, before returning.
    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()>;
}

/// A log kept in memory: for tests and for building proofs over small logs.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    entries: Vec<Vec<u8>>,
    /// Node hashes by storage position.
    nodes: Vec<Hash>,
}

impl MemoryStorage {
    /// An empty log.
    pub fn new() -> Self {
        MemoryStorage::default()
    }
}

fn not_found(what: &str, at: u64) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{what} {at} is not stored"))
}

impl LogStorage for MemoryStorage {
    fn size(&self) -> io::Result<u64> {
        Ok(self.entries.len() as u64)
    }

    fn node(&self, id: NodeId) -> io::Result<Hash> {
        let pos = id.storage_position();
        usize::try_from(pos).ok().and_then(|p| self.nodes.get(p)).copied().ok_or_else(|| not_found("node", pos))
    }

    fn entry(&self, index: u64) -> io::Result<Vec<u8>> {
        usize::try_from(index).ok().and_then(|i| self.entries.get(i)).cloned().ok_or_else(|| not_found("entry", index))
    }

    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()> {
        if batch.first_index != self.entries.len() as u64 || batch.first_node_position() != self.nodes.len() as u64 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "batch does not start at the end of the log"));
        }
        self.entries.extend(batch.entries.iter().map(|e| e.to_vec()));
        self.nodes.extend(batch.nodes.iter().map(|(_, h)| *h));
        Ok(())
    }
}
