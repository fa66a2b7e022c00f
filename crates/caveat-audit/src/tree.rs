//! Tree math: which stored nodes a root, an inclusion proof or a consistency
//! proof needs (RFC 9162 §2.1), and where each node sits in storage.
//!
//! Only complete subtrees are ever stored. A node `(level, index)` is the root of
//! the perfect subtree over leaves `[index * 2^level, (index + 1) * 2^level)`, so it
//! never changes once its last leaf is appended. Every hash the RFC's recursive
//! definitions need is either such a node or the fold of at most `log2(n)` of them
//! (the right edge of a tree whose size is not a power of two). Proofs therefore cost
//! `O(log n)` node reads and never a leaf rescan.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, node_hash};

/// A complete subtree: level 0 is a leaf hash, level `l` covers `2^l` leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node `(level, index)`.
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// The position of this node in the append order of all stored hashes.
    ///
    /// When leaf `j` is appended, its leaf hash is written, then the hash of each
    /// subtree it completes, lowest first. Before leaf `j`'s hash,
    /// `2j - popcount(j)` hashes have been written (each leaf adds one hash plus one
    /// per trailing one bit of its index). Node `(l, i)` is completed by leaf
    /// `j = (i + 1) * 2^l - 1` and written `l` places after it. Stores can key nodes
    /// by this single integer and append them as one contiguous run per batch.
    pub const fn storage_position(self) -> u64 {
        let last_leaf = ((self.index + 1) << self.level) - 1;
        stored_node_count(last_leaf) + self.level as u64
    }

    /// The leaves `[first, end)` this node covers.
    pub const fn leaves(self) -> (u64, u64) {
        (self.index << self.level, (self.index + 1) << self.level)
    }
}

/// How many node hashes a log of `size` leaves stores: `2 * size - popcount(size)`.
pub const fn stored_node_count(size: u64) -> u64 {
    2 * size - size.count_ones() as u64
}

/// The largest power of two strictly below `n` (`n >= 2`), the RFC's `k`.
pub(crate) const fn split_point(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// The complete subtrees whose concatenation is leaves `[lo, hi)`, left to right.
///
/// `lo` must be a multiple of the largest power of two not above `hi - lo`; every
/// range the RFC 9162 recursions visit has this alignment.
pub(crate) fn range_nodes(lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    let mut start = lo;
    let mut rest = hi - lo;
    while rest > 0 {
        let level = rest.ilog2();
        let width = 1u64 << level;
        #[expect(clippy::cast_possible_truncation, reason = "level < 64")]
        out.push(NodeId::new(level as u8, start >> level));
        start += width;
        rest -= width;
    }
}

/// Folds the hashes of [`range_nodes`] into the subtree root, right to left.
pub(crate) fn fold_range(hashes: &[Hash]) -> Option<Hash> {
    let mut iter = hashes.iter().rev();
    let mut acc = *iter.next()?;
    for h in iter {
        acc = node_hash(h, &acc);
    }
    Some(acc)
}

/// A hash a proof or a root needs: the fold of a run of stored nodes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fold {
    /// Offset of the run in the plan's node list.
    pub(crate) start: usize,
    /// Length of the run.
    pub(crate) len: usize,
}

/// The nodes to read, and how to fold them into the hashes wanted, in order.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) nodes: Vec<NodeId>,
    pub(crate) folds: Vec<Fold>,
}

impl Plan {
    fn push_range(&mut self, lo: u64, hi: u64) {
        let start = self.nodes.len();
        range_nodes(lo, hi, &mut self.nodes);
        self.folds.push(Fold { start, len: self.nodes.len() - start });
    }

    /// Applies the plan to the hashes read for `self.nodes`, in the same order.
    pub(crate) fn assemble(&self, hashes: &[Hash]) -> Option<Vec<Hash>> {
        self.folds.iter().map(|f| fold_range(hashes.get(f.start..f.start + f.len)?)).collect()
    }

    /// `MTH(D[0:size])` (RFC 9162 §2.1.1), for `size >= 1`.
    pub(crate) fn root(size: u64) -> Plan {
        let mut p = Plan::default();
        p.push_range(0, size);
        p
    }

    /// `PATH(m, D[0:n])` (RFC 9162 §2.1.3.1) for `m < n`, deepest sibling first.
    pub(crate) fn inclusion(m: u64, n: u64) -> Plan {
        // Walk down from the root, recording each sibling subtree; the RFC lists
        // them leaf-first, so the list is reversed at the end.
        let mut siblings = Vec::with_capacity(64);
        let (mut lo, mut hi) = (0u64, n);
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if m < lo + k {
                siblings.push((lo + k, hi));
                hi = lo + k;
            } else {
                siblings.push((lo, lo + k));
                lo += k;
            }
        }
        let mut p = Plan::default();
        for &(a, b) in siblings.iter().rev() {
            p.push_range(a, b);
        }
        p
    }

    /// `PROOF(m, D[0:n])` = `SUBPROOF(m, D[0:n], true)` (RFC 9162 §2.1.4.1), `0 < m < n`.
    pub(crate) fn consistency(m: u64, n: u64) -> Plan {
        let mut suffix = Vec::with_capacity(64);
        let (mut lo, mut hi) = (0u64, n);
        let mut m = m;
        let mut whole_tree = true;
        let base = loop {
            let size = hi - lo;
            if m == size {
                // SUBPROOF(m, D[m], b): empty when b is true, else MTH(D[m]).
                break if whole_tree { None } else { Some((lo, hi)) };
            }
            let k = split_point(size);
            if m <= k {
                suffix.push((lo + k, hi));
                hi = lo + k;
            } else {
                suffix.push((lo, lo + k));
                lo += k;
                m -= k;
                whole_tree = false;
            }
        };
        let mut p = Plan::default();
        if let Some((a, b)) = base {
            p.push_range(a, b);
        }
        for &(a, b) in suffix.iter().rev() {
            p.push_range(a, b);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_positions_follow_append_order() {
        // Simulate appends: leaf j, then each subtree it completes.
        let mut order = Vec::new();
        for j in 0u64..64 {
            order.push(NodeId::new(0, j));
            let mut level = 0u8;
            let mut idx = j;
            while idx & 1 == 1 {
                level += 1;
                idx >>= 1;
                order.push(NodeId::new(level, idx));
            }
        }
        for (pos, id) in order.iter().enumerate() {
            assert_eq!(id.storage_position(), pos as u64, "{id:?}");
        }
        assert_eq!(stored_node_count(64), order.len() as u64);
    }

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
    }

    #[test]
    fn range_decomposition() {
        let mut v = Vec::new();
        range_nodes(8, 15, &mut v);
        assert_eq!(v, vec![NodeId::new(2, 2), NodeId::new(1, 6), NodeId::new(0, 14)]);
    }
}
