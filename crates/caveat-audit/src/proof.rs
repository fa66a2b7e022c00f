//! Inclusion and consistency proofs and their verification (RFC 9162 §2.1.3.2, §2.1.4.2).

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::hash::{Hash, node_hash};

/// The most hashes a proof may hold: a tree of at most 2^64 leaves has 64 levels,
/// and a consistency proof adds one hash for the old tree's root.
pub const MAX_PROOF_HASHES: usize = 65;

/// Proves that the leaf at `leaf_index` is in the tree of `tree_size` leaves
/// (RFC 9162 §2.1.3): the audit path, deepest sibling first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf's 0-based index.
    pub leaf_index: u64,
    /// The size of the tree the proof leads to.
    pub tree_size: u64,
    /// The sibling hashes, from the leaf up.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// The root the path leads to from `leaf_hash`, per RFC 9162 §2.1.3.2.
    ///
    /// Fails when the index is not below the size or the path has the wrong length
    /// for this index and size.
    pub fn root_from(&self, leaf_hash: &Hash) -> Result<Hash, Error> {
        let bad = || Error::InclusionProofInvalid { index: self.leaf_index, tree_size: self.tree_size };
        if self.leaf_index >= self.tree_size || self.path.len() > MAX_PROOF_HASHES {
            return Err(bad());
        }
        let mut fn_ = self.leaf_index;
        let mut sn = self.tree_size - 1;
        let mut r = *leaf_hash;
        for p in &self.path {
            if sn == 0 {
                return Err(bad());
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        if sn == 0 { Ok(r) } else { Err(bad()) }
    }

    /// Checks that the leaf with hash `leaf_hash` is at `leaf_index` in the tree whose root is `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), Error> {
        if self.root_from(leaf_hash)? == *root {
            Ok(())
        } else {
            Err(Error::InclusionProofInvalid { index: self.leaf_index, tree_size: self.tree_size })
        }
    }
}

/// Proves that the tree of `old_size` leaves is a prefix of the tree of
/// `new_size` leaves (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The earlier tree's size.
    pub old_size: u64,
    /// The later tree's size.
    pub new_size: u64,
    /// The proof's hashes, in the RFC's order.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks the proof against both roots, per RFC 9162 §2.1.4.2.
    ///
    /// Equal sizes need an empty path and equal roots; an empty old tree is a
    /// prefix of every tree (its root must be the empty root, checked by the caller
    /// who holds it) and needs an empty path.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), Error> {
        let bad = || Error::ConsistencyProofInvalid { old_size: self.old_size, new_size: self.new_size };
        let (first, second) = (self.old_size, self.new_size);
        if first > second || self.path.len() > MAX_PROOF_HASHES {
            return Err(bad());
        }
        if first == second {
            return if self.path.is_empty() && old_root == new_root { Ok(()) } else { Err(bad()) };
        }
        if first == 0 {
            return if self.path.is_empty() { Ok(()) } else { Err(bad()) };
        }
        // Step 1: an empty path cannot prove anything between two different sizes.
        let mut iter = self.path.iter();
        // Step 2: a power-of-two old tree is itself a node of the new tree; its root
        // is the implicit first element.
        let first_elem = if first.is_power_of_two() { *old_root } else { *iter.next().ok_or_else(bad)? };
        // Step 3, 4.
        let mut fn_ = first - 1;
        let mut sn = second - 1;
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
        // Step 5.
        let mut fr = first_elem;
        let mut sr = first_elem;
        // Step 6.
        for c in iter {
            if sn == 0 {
                return Err(bad());
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        // Step 7.
        if fr == *old_root && sr == *new_root && sn == 0 { Ok(()) } else { Err(bad()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn single_leaf_tree() {
        let h = leaf_hash(b"data");
        let p = InclusionProof { leaf_index: 0, tree_size: 1, path: vec![] };
        p.verify(&h, &h).unwrap();
        assert!(p.verify(&h, &leaf_hash(b"other")).is_err());
        assert!(InclusionProof { leaf_index: 1, tree_size: 1, path: vec![] }.verify(&h, &h).is_err());
        assert!(InclusionProof { leaf_index: 0, tree_size: 0, path: vec![] }.verify(&h, &h).is_err());
    }

    #[test]
    fn trivial_consistency() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        ConsistencyProof { old_size: 0, new_size: 5, path: vec![] }.verify(&a, &b).unwrap();
        ConsistencyProof { old_size: 3, new_size: 3, path: vec![] }.verify(&a, &a).unwrap();
        assert!(ConsistencyProof { old_size: 3, new_size: 3, path: vec![] }.verify(&a, &b).is_err());
        assert!(ConsistencyProof { old_size: 3, new_size: 3, path: vec![a] }.verify(&a, &a).is_err());
        assert!(ConsistencyProof { old_size: 4, new_size: 3, path: vec![] }.verify(&a, &a).is_err());
        assert!(ConsistencyProof { old_size: 1, new_size: 2, path: vec![] }.verify(&a, &b).is_err());
    }
}
