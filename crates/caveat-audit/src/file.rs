//! A durable log in three append-only files, fsynced at the end of each batch.
//!
//! - `nodes.bin`: every stored node hash, 32 bytes each, at its
//!   [`NodeId::storage_position`]. A batch appends one contiguous run.
//! - `entries.bin`: the entries' bytes, concatenated.
//! - `entries.idx`: for each entry, the little-endian `u64` end offset of its bytes in
//!   `entries.bin`. It is written last: an entry exists once its index record is
//!   durable, so the index file is the commit record.
//!
//! On open, anything past the last committed entry (a batch cut short by a crash) is
//! truncated away. A SQL store mirrors the layout as a `nodes(position, hash)` table
//! and an `entries(index, bytes)` table written in one transaction.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::Error;
use crate::hash::Hash;
use crate::storage::{AppendBatch, LogStorage};
use crate::tree::{NodeId, stored_node_count};

const HASH_LEN: u64 = 32;

/// A [`LogStorage`] in a directory of append-only files; see the module docs for the layout.
#[derive(Debug)]
pub struct FileStorage {
    nodes: File,
    data: File,
    index: File,
    size: u64,
    data_len: u64,
}

fn open_append(dir: &Path, name: &str) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).create(true).open(dir.join(name))
}

fn storage_err(operation: &'static str, at: u64) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Storage { operation, at, source }
}

impl FileStorage {
    /// Opens (creating if needed) the log in `dir`, discarding a batch a crash cut short.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(storage_err("create log directory", 0))?;
        let nodes = open_append(dir, "nodes.bin").map_err(storage_err("open nodes.bin", 0))?;
        let data = open_append(dir, "entries.bin").map_err(storage_err("open entries.bin", 0))?;
        let index = open_append(dir, "entries.idx").map_err(storage_err("open entries.idx", 0))?;
        // The new files' names must be durable too.
        File::open(dir).and_then(|d| d.sync_all()).map_err(storage_err("sync log directory", 0))?;

        let len = |f: &File, what| f.metadata().map(|m| m.len()).map_err(storage_err(what, 0));
        let size = len(&index, "stat entries.idx")? / 8;
        let data_len = if size == 0 {
            0
        } else {
            read_u64(&index, (size - 1) * 8).map_err(storage_err("read entries.idx", size))?
        };
        let nodes_len = stored_node_count(size) * HASH_LEN;
        if len(&data, "stat entries.bin")? < data_len {
            return Err(Error::Corrupt { what: "entries.bin shorter than its index", at: size });
        }
        if len(&nodes, "stat nodes.bin")? < nodes_len {
            return Err(Error::Corrupt { what: "nodes.bin shorter than the entries need", at: size });
        }
        index.set_len(size * 8).map_err(storage_err("truncate entries.idx", size))?;
        data.set_len(data_len).map_err(storage_err("truncate entries.bin", size))?;
        nodes.set_len(nodes_len).map_err(storage_err("truncate nodes.bin", size))?;
        Ok(FileStorage { nodes, data, index, size, data_len })
    }
}

fn read_u64(f: &File, offset: u64) -> io::Result<u64> {
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, offset)?;
    Ok(u64::from_le_bytes(b))
}

fn out_of_range(what: &str, at: u64) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{what} {at} is not stored"))
}

impl LogStorage for FileStorage {
    fn size(&self) -> io::Result<u64> {
        Ok(self.size)
    }

    fn node(&self, id: NodeId) -> io::Result<Hash> {
        let pos = id.storage_position();
        if pos >= stored_node_count(self.size) {
            return Err(out_of_range("node", pos));
        }
        let mut b = [0u8; 32];
        self.nodes.read_exact_at(&mut b, pos * HASH_LEN)?;
        Ok(Hash::from_bytes(b))
    }

    fn entry(&self, index: u64) -> io::Result<Vec<u8>> {
        if index >= self.size {
            return Err(out_of_range("entry", index));
        }
        let start = if index == 0 { 0 } else { read_u64(&self.index, (index - 1) * 8)? };
        let end = read_u64(&self.index, index * 8)?;
        let len = end
            .checked_sub(start)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("entry {index}: offsets decrease")))?;
        let mut buf = vec![0u8; len];
        self.data.read_exact_at(&mut buf, start)?;
        Ok(buf)
    }

    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()> {
        if batch.first_index() != self.size {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "batch does not start at the end of the log"));
        }
        let entries = batch.entries();
        let mut data = Vec::with_capacity(entries.iter().map(|e| e.len()).sum());
        let mut index = Vec::with_capacity(entries.len() * 8);
        let mut end = self.data_len;
        for e in entries {
            data.extend_from_slice(e);
            end += e.len() as u64;
            index.extend_from_slice(&end.to_le_bytes());
        }
        let mut nodes = Vec::with_capacity(batch.nodes().len() * 32);
        for (_, h) in batch.nodes() {
            nodes.extend_from_slice(h.as_bytes());
        }
        // Entries and nodes first, then the index that commits them (see module docs).
        self.data.write_all(&data)?;
        self.nodes.write_all(&nodes)?;
        self.data.sync_data()?;
        self.nodes.sync_data()?;
        self.index.write_all(&index)?;
        self.index.sync_data()?;
        self.size += entries.len() as u64;
        self.data_len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::MerkleLog;

    #[test]
    fn survives_reopen_and_a_torn_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
        log.append_batch(&[b"a".as_slice(), b"bb", b"ccc"]).unwrap();
        let head = log.append_batch(&[b"dddd".as_slice()]).unwrap();
        drop(log);
        // A crash mid-batch: entries and nodes written, index record not.
        let mut f = OpenOptions::new().append(true).open(dir.path().join("entries.bin")).unwrap();
        f.write_all(b"torn").unwrap();
        let mut f = OpenOptions::new().append(true).open(dir.path().join("nodes.bin")).unwrap();
        f.write_all(&[7; 40]).unwrap();
        let log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
        assert_eq!(log.tree_head(), head);
        assert_eq!(log.entry(1).unwrap(), b"bb");
        assert_eq!(log.entry(3).unwrap(), b"dddd");
        assert!(log.entry(4).is_err());
    }
}
