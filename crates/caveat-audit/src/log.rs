//! The append-only Merkle log over a [`LogStorage`].

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::entry::AuditEntry;
use crate::hash::{Hash, empty_root, leaf_hash, node_hash};
use crate::note::SigningKey;
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::storage::{AppendBatch, LogStorage};
use crate::tree::{NodeId, Plan, fold_range, range_nodes};

/// A tree's size and root: what a checkpoint signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of entries.
    pub size: u64,
    /// `MTH(D[0:size])` (RFC 9162 §2.1.1).
    pub root: Hash,
}

/// An append-only Merkle log: appends batches, computes roots and builds proofs.
///
/// It keeps the log's right edge (the roots of the complete subtrees that make up the
/// tree, at most 64 hashes) in memory, so an append reads nothing from storage and
/// writes each new node hash exactly once. Proofs read `O(log n)` stored nodes.
///
/// One `MerkleLog` must be the only writer of its storage: it trusts its cached size.
#[derive(Debug)]
pub struct MerkleLog<S> {
    storage: S,
    size: u64,
    /// (level, hash) of the complete subtrees covering `[0, size)`, left to right.
    frontier: Vec<(u8, Hash)>,
}

impl<S: LogStorage> MerkleLog<S> {
    /// Opens the log kept in `storage`, reading its size and right edge.
    pub fn open(storage: S) -> Result<Self, Error> {
        let (size, frontier) = read_edge(&storage)?;
        Ok(MerkleLog { storage, size, frontier })
    }

    /// Re-reads size and right edge from storage: after a write the store rolled back
    /// outside this log's knowledge (e.g. the enclosing transaction failed to commit).
    pub fn reload(&mut self) -> Result<(), Error> {
        let (size, frontier) = read_edge(&self.storage)?;
        self.size = size;
        self.frontier = frontier;
        Ok(())
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.frontier.iter().map(|(_, h)| *h).collect();
        fold_range(&hashes).unwrap_or_else(empty_root)
    }

    /// The current size and root.
    pub fn tree_head(&self) -> TreeHead {
        TreeHead { size: self.size, root: self.root() }
    }

    /// Appends entries (their canonical bytes) as one durable batch and returns the new head.
    ///
    /// Computes each leaf hash and every subtree the batch completes, then hands them
    /// to [`LogStorage::append`] in one call. If storage fails, the log is unchanged.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<TreeHead, Error> {
        if entries.is_empty() {
            return Ok(self.tree_head());
        }
        let slices: Vec<&[u8]> = entries.iter().map(AsRef::as_ref).collect();
        let mut frontier = self.frontier.clone();
        let mut nodes = Vec::with_capacity(slices.len() * 2 + 64);
        for (index, data) in (self.size..).zip(&slices) {
            let mut h = leaf_hash(data);
            let mut id = NodeId::new(0, index);
            nodes.push((id, h));
            // Each 1 bit at the bottom of the index closes a subtree with the
            // frontier's last (left) sibling at the same level.
            while id.index & 1 == 1 {
                let Some((_, left)) = frontier.pop() else { break };
                h = node_hash(&left, &h);
                id = NodeId::new(id.level + 1, id.index >> 1);
                nodes.push((id, h));
            }
            frontier.push((id.level, h));
        }
        let batch = AppendBatch { first_index: self.size, entries: &slices, nodes };
        self.storage.append(&batch).map_err(|source| Error::Storage {
            operation: "append batch",
            at: self.size,
            source,
        })?;
        self.size += slices.len() as u64;
        self.frontier = frontier;
        Ok(self.tree_head())
    }

    /// Appends audit entries as one durable batch (their canonical bytes are the leaves).
    pub fn append_entries(&mut self, entries: &[AuditEntry]) -> Result<TreeHead, Error> {
        let bytes = entries.iter().map(AuditEntry::to_bytes).collect::<Result<Vec<_>, _>>()?;
        self.append_batch(&bytes)
    }

    /// Signs a checkpoint of the current tree, with the key's name as origin
    /// (c2sp.org/tlog-checkpoint: the key name should match the origin).
    pub fn sign_checkpoint(&self, key: &SigningKey) -> Result<SignedCheckpoint, Error> {
        SignedCheckpoint::sign(Checkpoint::new(key.name(), self.tree_head())?, key)
    }

    /// The root of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, Error> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        if size == self.size {
            return Ok(self.root());
        }
        let mut out = self.run(&Plan::root(size))?;
        out.pop().ok_or(Error::Corrupt { what: "node read", at: size })
    }

    /// Proves entry `index` is in the tree of `tree_size` entries.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<InclusionProof, Error> {
        self.check_size(tree_size)?;
        if index >= tree_size {
            return Err(Error::IndexOutOfRange { index, size: tree_size });
        }
        let path = self.run(&Plan::inclusion(index, tree_size))?;
        Ok(InclusionProof { leaf_index: index, tree_size, path })
    }

    /// Proves the tree of `old_size` entries is a prefix of the tree of `new_size` entries.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, Error> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(Error::SizesOutOfOrder { old_size, new_size });
        }
        let path = if old_size == 0 || old_size == new_size {
            Vec::new()
        } else {
            self.run(&Plan::consistency(old_size, new_size))?
        };
        Ok(ConsistencyProof { old_size, new_size, path })
    }

    /// The stored bytes of entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        if index >= self.size {
            return Err(Error::IndexOutOfRange { index, size: self.size });
        }
        self.storage.entry(index).map_err(|source| Error::Storage { operation: "read entry", at: index, source })
    }

    /// The storage underneath.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Gives the storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }

    fn check_size(&self, size: u64) -> Result<(), Error> {
        if size > self.size { Err(Error::SizeBeyondLog { size, log_size: self.size }) } else { Ok(()) }
    }

    fn run(&self, plan: &Plan) -> Result<Vec<Hash>, Error> {
        let hashes = read_nodes(&self.storage, &plan.nodes)?;
        plan.assemble(&hashes).ok_or(Error::Corrupt { what: "node read", at: self.size })
    }
}

/// The size and the right edge (see [`MerkleLog`]) of the log in `storage`.
fn read_edge<S: LogStorage>(storage: &S) -> Result<(u64, Vec<(u8, Hash)>), Error> {
    let size = storage.size().map_err(|source| Error::Storage { operation: "read size", at: 0, source })?;
    let mut ids = Vec::new();
    range_nodes(0, size, &mut ids);
    let hashes = read_nodes(storage, &ids)?;
    Ok((size, ids.iter().map(|id| id.level).zip(hashes).collect()))
}

fn read_nodes<S: LogStorage>(storage: &S, ids: &[NodeId]) -> Result<Vec<Hash>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let first = ids.first().map_or(0, |id| id.storage_position());
    let hashes = storage.nodes(ids).map_err(|source| Error::Storage { operation: "read nodes", at: first, source })?;
    if hashes.len() == ids.len() { Ok(hashes) } else { Err(Error::Corrupt { what: "node count", at: first }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    /// MTH straight from RFC 9162 §2.1.1, as the model.
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = usize::try_from(crate::tree::split_point(n as u64)).unwrap();
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_recursive_definition() {
        let leaves: Vec<Vec<u8>> = (0u32..70).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
        // Uneven batches exercise the frontier across batch boundaries.
        for chunk in leaves.chunks(7) {
            log.append_batch(chunk).unwrap();
        }
        for n in 0..=leaves.len() {
            assert_eq!(log.root_at(n as u64).unwrap(), mth(&leaves[..n]), "size {n}");
        }
        let head = log.tree_head();
        log.reload().unwrap();
        assert_eq!(log.tree_head(), head);
        // Reopening reads the same right edge back.
        let reopened = MerkleLog::open(log.into_storage()).unwrap();
        assert_eq!(reopened.root(), mth(&leaves));
    }
}
