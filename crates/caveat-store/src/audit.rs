//! What both backends' audit log storage does alike: the positions rows are
//! keyed by, the checks on what is read back and appended, and the index of
//! which originators each entry touches (a usage report reads only those
//! entries). caveat-audit computes every hash; the backends keep the rows.

use std::io;

use caveat_audit::{AppendBatch, AuditEntry, Hash, StoreItem};

/// An index or node position as an integer key.
pub(crate) fn key(v: u64) -> io::Result<i64> {
    i64::try_from(v).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "index out of range"))
}

/// The hash stored for node position `at`.
pub(crate) fn hash(at: u64, bytes: Option<&[u8]>) -> io::Result<Hash> {
    let bytes = bytes.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("node {at} is not stored")))?;
    <[u8; 32]>::try_from(bytes)
        .map(Hash::from_bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("node {at} is not 32 bytes")))
}

/// The entry stored at `index`.
pub(crate) fn entry(index: u64, data: Option<Vec<u8>>) -> io::Result<Vec<u8>> {
    data.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("entry {index} is not stored")))
}

/// Why a batch starting at index `first` may not be appended to a log of
/// `size` entries, if it may not: it must start where the log ends.
pub(crate) fn misplaced(first: i64, size: i64) -> Option<String> {
    (first != size).then(|| format!("batch starts at {first} but the log holds {size} entries"))
}

/// Rows of the originator index for `batch`: originator and entry index,
/// in entry order, and what each entry accounts for in the store (a batch or
/// a policy event, with the index of the first entry naming it). An entry
/// that does not decode touches no one and accounts for nothing.
pub(crate) struct Touched {
    pub(crate) originators: Vec<String>,
    pub(crate) indexes: Vec<i64>,
    pub(crate) items: Vec<(StoreItem, u64)>,
}

impl Touched {
    pub(crate) fn of(batch: &AppendBatch<'_>) -> io::Result<Self> {
        let mut touched = Touched { originators: Vec::new(), indexes: Vec::new(), items: Vec::new() };
        for (index, data) in (batch.first_index()..).zip(batch.entries()) {
            if let Ok(decoded) = AuditEntry::from_bytes(data) {
                for o in decoded.originators() {
                    touched.originators.push(o.as_str().to_owned());
                    touched.indexes.push(key(index)?);
                }
                crate::account::note_item(&mut touched.items, &decoded, index);
            }
        }
        Ok(touched)
    }
}
