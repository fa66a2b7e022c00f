//! A durable log in append-only files, with one fsync per batch.
//!
//! - `wal.bin`, the write-ahead log and the only file synced per batch. One record per
//!   batch: magic `CAVB`, first index (u64), entry count (u32), node count (u32), each
//!   entry's length (u32), the entries' bytes, the node hashes, and a SHA-256 of all of
//!   the record before it. An acknowledged batch is a complete record here.
//! - `nodes.bin`: every stored node hash, 32 bytes, at its [`NodeId::storage_position`].
//! - `entries.idx`: for each entry, its offset in `wal.bin` and its length (u64 each).
//! - `checkpoint`: the size up to which `nodes.bin` and `entries.idx` are synced, and the
//!   `wal.bin` length at that point (replaced atomically by rename).
//!
//! `nodes.bin` and `entries.idx` are derived: they are written on each append without
//! a sync and synced every [`SYNC_EVERY_BATCHES`] batches. Opening replays the WAL
//! records after the checkpoint into them. Only the last record may be torn (a crash
//! mid-write); it is dropped. A bad record followed by more data is corruption, an
//! error, never silently dropped.
//!
//! A SQL store mirrors this as a `nodes(position, hash)` table and an
//! `entries(index, bytes)` table written in one transaction per batch.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::hash::Hash;
use crate::storage::{AppendBatch, LogStorage};
use crate::tree::{NodeId, stored_node_count};

const HASH_LEN: u64 = 32;
const IDX_LEN: u64 = 16;
const MAGIC: &[u8; 4] = b"CAVB";
const HEADER_LEN: u64 = 4 + 8 + 4 + 4;
/// The derived files are synced, and the checkpoint advanced, every this many batches.
pub const SYNC_EVERY_BATCHES: u32 = 64;
/// Node reads this close together (in hashes) are served by one read.
const COALESCE_GAP: u64 = 128;

/// A [`LogStorage`] in a directory of append-only files; see the module docs for the layout.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    wal: File,
    nodes: File,
    index: File,
    size: u64,
    wal_len: u64,
    unsynced_batches: u32,
}

fn open_file(dir: &Path, name: &str) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join(name))
}

fn storage_err(operation: &'static str, at: u64) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Storage { operation, at, source }
}

fn read_u64(f: &File, offset: u64) -> io::Result<u64> {
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, offset)?;
    Ok(u64::from_le_bytes(b))
}

/// One WAL record's contents, read back during replay.
struct Record {
    first_index: u64,
    /// (offset in the WAL, length) of each entry.
    entries: Vec<(u64, u64)>,
    nodes: Vec<u8>,
    len: u64,
}

/// What reading a record at an offset found.
enum Replay {
    Record(Record),
    /// The file ends inside the record, or its checksum fails: a torn last write,
    /// unless the record claims to end before the file does (`claimed_end`).
    Torn {
        claimed_end: Option<u64>,
    },
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*b.get(at..at + 4)?.first_chunk::<4>()?))
}

fn read_record(wal: &File, offset: u64, wal_len: u64) -> io::Result<Replay> {
    if wal_len - offset < HEADER_LEN {
        return Ok(Replay::Torn { claimed_end: None });
    }
    let mut header = [0u8; 20];
    wal.read_exact_at(&mut header, offset)?;
    let (Some(count), Some(node_count)) = (u32_at(&header, 12), u32_at(&header, 16)) else {
        return Ok(Replay::Torn { claimed_end: None });
    };
    let first_index = header.get(4..12).and_then(|b| b.first_chunk::<8>()).map_or(0, |b| u64::from_le_bytes(*b));
    // A header that is not one cannot say where its record ends: treat it as torn.
    if header.get(..4) != Some(MAGIC.as_slice()) {
        return Ok(Replay::Torn { claimed_end: None });
    }
    let lens_len = u64::from(count) * 4;
    if wal_len - offset < HEADER_LEN + lens_len {
        return Ok(Replay::Torn { claimed_end: None });
    }
    let mut lens = vec![0u8; usize::try_from(lens_len).map_err(io::Error::other)?];
    wal.read_exact_at(&mut lens, offset + HEADER_LEN)?;
    let lens: Vec<u64> = lens.chunks_exact(4).filter_map(|c| u32_at(c, 0)).map(u64::from).collect();
    let data_len: u64 = lens.iter().sum();
    let body_len = HEADER_LEN + lens_len + data_len + u64::from(node_count) * HASH_LEN;
    let len = body_len + HASH_LEN;
    if wal_len - offset < len {
        return Ok(Replay::Torn { claimed_end: None });
    }
    let mut record = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    wal.read_exact_at(&mut record, offset)?;
    let split = usize::try_from(body_len).map_err(io::Error::other)?;
    let (body, sum) = record.split_at(split);
    if Hash::sha256(body).as_bytes().as_slice() != sum {
        return Ok(Replay::Torn { claimed_end: Some(offset + len) });
    }
    let mut entries = Vec::with_capacity(lens.len());
    let mut at = offset + HEADER_LEN + lens_len;
    for l in lens {
        entries.push((at, l));
        at += l;
    }
    let nodes = body
        .get(split - usize::try_from(u64::from(node_count) * HASH_LEN).map_err(io::Error::other)?..)
        .unwrap_or_default()
        .to_vec();
    Ok(Replay::Record(Record { first_index, entries, nodes, len }))
}

impl FileStorage {
    /// Opens (creating if needed) the log in `dir`, replaying the WAL after the last
    /// checkpoint and dropping a batch a crash cut short.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(storage_err("create log directory", 0))?;
        let wal = open_file(dir, "wal.bin").map_err(storage_err("open wal.bin", 0))?;
        let nodes = open_file(dir, "nodes.bin").map_err(storage_err("open nodes.bin", 0))?;
        let index = open_file(dir, "entries.idx").map_err(storage_err("open entries.idx", 0))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(storage_err("sync log directory", 0))?;
        let (size, wal_synced) = match std::fs::read(dir.join("checkpoint")) {
            Ok(b) => {
                let word =
                    |i: usize| b.get(i..i + 8).and_then(|s| s.first_chunk::<8>()).map(|w| u64::from_le_bytes(*w));
                match (word(0), word(8)) {
                    (Some(s), Some(w)) if b.len() == 16 => (s, w),
                    _ => return Err(Error::Corrupt { what: "checkpoint file", at: 0 }),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (0, 0),
            Err(e) => return Err(storage_err("read checkpoint", 0)(e)),
        };
        let len = |f: &File, what| f.metadata().map(|m| m.len()).map_err(storage_err(what, size));
        let wal_len = len(&wal, "stat wal.bin")?;
        if wal_len < wal_synced
            || len(&index, "stat entries.idx")? < size * IDX_LEN
            || len(&nodes, "stat nodes.bin")? < stored_node_count(size) * HASH_LEN
        {
            return Err(Error::Corrupt { what: "files shorter than the checkpoint", at: size });
        }
        index.set_len(size * IDX_LEN).map_err(storage_err("truncate entries.idx", size))?;
        nodes.set_len(stored_node_count(size) * HASH_LEN).map_err(storage_err("truncate nodes.bin", size))?;
        let mut storage =
            FileStorage { dir: dir.to_owned(), wal, nodes, index, size, wal_len: wal_synced, unsynced_batches: 0 };
        storage.replay(wal_len)?;
        storage.checkpoint()?;
        Ok(storage)
    }

    fn replay(&mut self, wal_len: u64) -> Result<(), Error> {
        while self.wal_len < wal_len {
            let found =
                read_record(&self.wal, self.wal_len, wal_len).map_err(storage_err("read wal.bin", self.size))?;
            let rec = match found {
                Replay::Record(r) => r,
                Replay::Torn { claimed_end } => {
                    // Only the last record may be torn: one that ends before the file
                    // does was damaged after it was acknowledged.
                    if claimed_end.is_some_and(|end| end < wal_len) {
                        return Err(Error::Corrupt { what: "wal record", at: self.size });
                    }
                    self.wal.set_len(self.wal_len).map_err(storage_err("truncate wal.bin", self.size))?;
                    break;
                }
            };
            let expected_nodes = stored_node_count(self.size + rec.entries.len() as u64) - stored_node_count(self.size);
            if rec.first_index != self.size || rec.nodes.len() as u64 != expected_nodes * HASH_LEN {
                return Err(Error::Corrupt { what: "wal record out of sequence", at: self.size });
            }
            let idx: Vec<u8> =
                rec.entries.iter().flat_map(|(o, l)| o.to_le_bytes().into_iter().chain(l.to_le_bytes())).collect();
            self.write_derived(&idx, &rec.nodes).map_err(storage_err("replay wal.bin", self.size))?;
            self.size += rec.entries.len() as u64;
            self.wal_len += rec.len;
        }
        Ok(())
    }

    fn write_derived(&mut self, idx: &[u8], nodes: &[u8]) -> io::Result<()> {
        self.index.write_all_at(idx, self.size * IDX_LEN)?;
        self.nodes.write_all_at(nodes, stored_node_count(self.size) * HASH_LEN)
    }

    /// Syncs the derived files and records the checkpoint, so reopening replays nothing.
    pub fn checkpoint(&mut self) -> Result<(), Error> {
        let at = self.size;
        self.index.sync_data().map_err(storage_err("sync entries.idx", at))?;
        self.nodes.sync_data().map_err(storage_err("sync nodes.bin", at))?;
        let mut b = Vec::with_capacity(16);
        b.extend_from_slice(&self.size.to_le_bytes());
        b.extend_from_slice(&self.wal_len.to_le_bytes());
        let tmp = self.dir.join("checkpoint.tmp");
        let write = || -> io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&b)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join("checkpoint"))?;
            File::open(&self.dir)?.sync_all()
        };
        write().map_err(storage_err("write checkpoint", at))?;
        self.unsynced_batches = 0;
        Ok(())
    }
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

    /// Sorts the positions and serves nearby ones with one read: a proof's lower
    /// siblings lie in one small subtree, which is contiguous in storage order.
    fn nodes(&self, ids: &[NodeId]) -> io::Result<Vec<Hash>> {
        let limit = stored_node_count(self.size);
        let mut wanted: Vec<(u64, usize)> = ids.iter().map(|id| id.storage_position()).zip(0..).collect();
        wanted.sort_unstable();
        if let Some(&(pos, _)) = wanted.last().filter(|(p, _)| *p >= limit) {
            return Err(out_of_range("node", pos));
        }
        let mut out = vec![Hash::default(); ids.len()];
        let mut buf = Vec::new();
        let mut run_start = 0;
        while let Some(&(first, _)) = wanted.get(run_start) {
            let mut run_end = run_start + 1;
            while let Some(&(p, _)) = wanted.get(run_end) {
                if p - first >= COALESCE_GAP {
                    break;
                }
                run_end += 1;
            }
            let last = wanted.get(run_end - 1).map_or(first, |w| w.0);
            buf.resize(usize::try_from((last - first + 1) * HASH_LEN).map_err(io::Error::other)?, 0);
            self.nodes.read_exact_at(&mut buf, first * HASH_LEN)?;
            for &(p, slot) in wanted.get(run_start..run_end).unwrap_or_default() {
                let at = usize::try_from((p - first) * HASH_LEN).map_err(io::Error::other)?;
                let bytes = buf.get(at..at + 32).and_then(|b| b.first_chunk::<32>()).copied().unwrap_or_default();
                if let Some(o) = out.get_mut(slot) {
                    *o = Hash::from_bytes(bytes);
                }
            }
            run_start = run_end;
        }
        Ok(out)
    }

    fn entry(&self, index: u64) -> io::Result<Vec<u8>> {
        if index >= self.size {
            return Err(out_of_range("entry", index));
        }
        let start = read_u64(&self.index, index * IDX_LEN)?;
        let len = read_u64(&self.index, index * IDX_LEN + 8)?;
        let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
        self.wal.read_exact_at(&mut buf, start)?;
        Ok(buf)
    }

    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()> {
        if batch.first_index() != self.size {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "batch does not start at the end of the log"));
        }
        let entries = batch.entries();
        let count = u32::try_from(entries.len()).map_err(io::Error::other)?;
        let node_count = u32::try_from(batch.nodes().len()).map_err(io::Error::other)?;
        let data_len: usize = entries.iter().map(|e| e.len()).sum();
        let mut rec = Vec::with_capacity(20 + entries.len() * 4 + data_len + batch.nodes().len() * 32 + 32);
        rec.extend_from_slice(MAGIC);
        rec.extend_from_slice(&self.size.to_le_bytes());
        rec.extend_from_slice(&count.to_le_bytes());
        rec.extend_from_slice(&node_count.to_le_bytes());
        for e in entries {
            rec.extend_from_slice(&u32::try_from(e.len()).map_err(io::Error::other)?.to_le_bytes());
        }
        let mut idx = Vec::with_capacity(entries.len() * 16);
        let mut at = self.wal_len + rec.len() as u64;
        for e in entries {
            rec.extend_from_slice(e);
            idx.extend_from_slice(&at.to_le_bytes());
            idx.extend_from_slice(&(e.len() as u64).to_le_bytes());
            at += e.len() as u64;
        }
        let nodes_start = rec.len();
        for (_, h) in batch.nodes() {
            rec.extend_from_slice(h.as_bytes());
        }
        let sum = Hash::sha256(&rec);
        rec.extend_from_slice(sum.as_bytes());
        // The batch is durable once its WAL record is: one sync per batch.
        self.wal.write_all_at(&rec, self.wal_len)?;
        self.wal.sync_data()?;
        let nodes = rec.get(nodes_start..rec.len() - 32).unwrap_or_default();
        self.write_derived(&idx, nodes)?;
        self.size += u64::from(count);
        self.wal_len += rec.len() as u64;
        self.unsynced_batches += 1;
        if self.unsynced_batches >= SYNC_EVERY_BATCHES {
            self.checkpoint().map_err(io::Error::other)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::MerkleLog;

    #[test]
    fn survives_reopen_replay_and_a_torn_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
        log.append_batch(&[b"a".as_slice(), b"bb", b"ccc"]).unwrap();
        let head = log.append_batch(&[b"dddd".as_slice()]).unwrap();
        drop(log);
        // A crash: the derived files lost their unsynced tail, and half a record follows.
        OpenOptions::new().write(true).open(dir.path().join("nodes.bin")).unwrap().set_len(0).unwrap();
        OpenOptions::new().write(true).open(dir.path().join("entries.idx")).unwrap().set_len(0).unwrap();
        let mut f = OpenOptions::new().append(true).open(dir.path().join("wal.bin")).unwrap();
        f.write_all(b"CAVB\x04\0\0\0\0\0\0\0\x05\0\0\0").unwrap();
        let log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
        assert_eq!(log.tree_head(), head);
        assert_eq!(log.entry(1).unwrap(), b"bb");
        assert_eq!(log.entry(3).unwrap(), b"dddd");
        assert!(log.entry(4).is_err());
    }

    #[test]
    fn a_bad_record_before_good_ones_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
        log.append_batch(&[b"first".as_slice()]).unwrap();
        log.append_batch(&[b"second".as_slice()]).unwrap();
        drop(log);
        std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
        let wal = OpenOptions::new().write(true).open(dir.path().join("wal.bin")).unwrap();
        wal.write_all_at(b"X", 24).unwrap();
        assert!(matches!(FileStorage::open(dir.path()), Err(Error::Corrupt { what: "wal record", at: 0 })));
    }

    #[test]
    fn coalesced_reads_match_single_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
        let data: Vec<Vec<u8>> = (0u32..1000).map(|i| i.to_be_bytes().to_vec()).collect();
        log.append_batch(&data).unwrap();
        let s = log.storage();
        let ids = [NodeId::new(0, 999), NodeId::new(3, 5), NodeId::new(0, 3), NodeId::new(9, 0), NodeId::new(0, 2)];
        let one_by_one: Vec<Hash> = ids.iter().map(|&id| s.node(id).unwrap()).collect();
        assert_eq!(s.nodes(&ids).unwrap(), one_by_one);
        assert!(s.nodes(&[NodeId::new(0, 1000)]).is_err());
    }
}
