//! What a picture holds in memory: an estimate from its structures' lengths
//! and capacities, so that a caller keeping many pictures (a hub's views)
//! can bound their total without an allocator's help.
//!
//! The estimate counts heap bytes as the structures ask for them (the
//! allocator's rounding and fragmentation come on top); a test compares it
//! with a counting allocator on a scenario.

use std::collections::{BTreeMap, HashMap};
use std::mem::size_of;

/// Estimated heap bytes of a [`crate::Picture`], by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Memory {
    /// The reports held, as fusion keeps them, and their ids and corrections.
    pub reports: usize,
    /// The per-scan index of reports that a replay looks reports up in.
    pub report_index: usize,
    /// Each track's state after every step back to the replay horizon.
    pub histories: usize,
    /// The tracks' trails and identities (shared by a track's states).
    pub trails: usize,
    /// The per-bucket index of track estimates that a replay looks tracks up in.
    pub track_index: usize,
    /// Live tracks, changes waiting for a replay, buffers.
    pub other: usize,
}

impl Memory {
    /// Every part added up.
    pub fn total(&self) -> usize {
        self.parts().iter().map(|(_, b)| b).sum()
    }

    /// The parts, named.
    pub fn parts(&self) -> [(&'static str, usize); 6] {
        [
            ("reports", self.reports),
            ("report index", self.report_index),
            ("histories", self.histories),
            ("trails and identities", self.trails),
            ("track index", self.track_index),
            ("other", self.other),
        ]
    }
}

/// Heap bytes of a vector's buffer.
pub(crate) fn vec<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}

/// Heap bytes of a hash map's table (hashbrown: a power of two of buckets,
/// at most 7/8 full, each an entry and a control byte, plus a group of
/// control bytes), without what its entries point to.
pub(crate) fn hash_map<K, V, S>(m: &HashMap<K, V, S>) -> usize {
    table::<(K, V)>(m.capacity())
}

/// [`hash_map`] for a table of `capacity` entries of `T`.
pub(crate) fn table<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets =
        if capacity < 8 { (capacity + 1).next_power_of_two() } else { (capacity * 8 / 7).next_power_of_two() };
    buckets * (size_of::<T>() + 1) + 16
}

/// Heap bytes of a B-tree map's nodes, without what its entries point to.
/// Leaves hold up to 11 entries; keys inserted in ascending order (the
/// common case here: observation time, scan, bucket) leave them a little
/// over half full, so this assumes six a leaf.
pub(crate) fn btree_map<K, V>(m: &BTreeMap<K, V>) -> usize {
    btree::<K, V>(m.len())
}

/// [`btree_map`] for `len` entries.
pub(crate) fn btree<K, V>(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    // A leaf: parent pointer, index and length, then 11 keys and 11 values.
    let leaf = 16 + 11 * (size_of::<K>() + size_of::<V>());
    let leaves = len.div_ceil(6);
    // Internal nodes: a leaf plus 12 edges, about one per six nodes below.
    let internal = leaves / 5;
    leaves * leaf + internal * (leaf + 12 * size_of::<usize>())
}

/// Heap bytes of an `Arc<T>`'s allocation (two counts and the value).
pub(crate) const fn arc<T>() -> usize {
    2 * size_of::<usize>() + size_of::<T>()
}
