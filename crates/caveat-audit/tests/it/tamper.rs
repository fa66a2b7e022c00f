//! Tampering with the stored log is caught by the offline verifier (issue 7).

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt as _;

use caveat_audit::{
    AppendBatch, AuditBundle, BundleEntry, Error, FileStorage, Hash, LogStorage, MemoryStorage, MerkleLog, NodeId,
    SigningKey, verify_bundle,
};

use crate::fixture::{ORIGIN, decision, entries, hub_key, memory_log, share};

/// A store that lies about its entries, as someone with write access to the database would.
enum Lie {
    Edit(u64, Vec<u8>),
    Delete(u64),
    Swap(u64, u64),
}

struct Tampered {
    inner: MemoryStorage,
    lie: Lie,
}

impl LogStorage for Tampered {
    fn size(&self) -> io::Result<u64> {
        let n = self.inner.size()?;
        Ok(if matches!(self.lie, Lie::Delete(_)) { n - 1 } else { n })
    }
    fn node(&self, id: NodeId) -> io::Result<Hash> {
        self.inner.node(id)
    }
    fn entry(&self, index: u64) -> io::Result<Vec<u8>> {
        match &self.lie {
            Lie::Edit(i, bytes) if *i == index => Ok(bytes.clone()),
            Lie::Delete(i) if index >= *i => self.inner.entry(index + 1),
            Lie::Swap(a, b) if index == *a => self.inner.entry(*b),
            Lie::Swap(a, b) if index == *b => self.inner.entry(*a),
            _ => self.inner.entry(index),
        }
    }
    fn append(&mut self, batch: &AppendBatch<'_>) -> io::Result<()> {
        self.inner.append(batch)
    }
}

/// The partner's saved checkpoint at `saved` entries, and a bundle of every entry
/// exported by the hub from `log` now (with a consistency proof from `saved`).
fn export<S: LogStorage>(log: &MerkleLog<S>, saved: u64) -> AuditBundle {
    let now = log.sign_checkpoint(&hub_key()).unwrap();
    let all: Vec<u64> = (0..log.size()).collect();
    AuditBundle::build(log, &now, Some(saved), &all).unwrap()
}

fn lying(lie: Lie) -> MerkleLog<Tampered> {
    MerkleLog::open(Tampered { inner: memory_log(40).into_storage(), lie }).unwrap()
}

fn saved_checkpoint_at(size: usize) -> String {
    memory_log(size).sign_checkpoint(&hub_key()).unwrap().to_string()
}

#[test]
fn honest_export_verifies() {
    let log = memory_log(40);
    let saved = saved_checkpoint_at(25);
    let v = verify_bundle(Some(&saved), &hub_key().verifier_key(), &export(&log, 25)).unwrap();
    assert_eq!(v.entries.len(), 40);
    assert_eq!(v.entries[7].1, entries(40)[7]);
}

#[test]
fn edited_entry_is_caught_at_its_index() {
    let mut edited = entries(40)[17].to_bytes().unwrap();
    let at = edited.len() - 3;
    edited[at] ^= 1;
    let log = lying(Lie::Edit(17, edited));
    let err = verify_bundle(None, &hub_key().verifier_key(), &export(&log, 0)).unwrap_err();
    assert!(matches!(err, Error::InclusionProofInvalid { index: 17, tree_size: 40 }), "{err}");
}

#[test]
fn deleted_entry_is_caught() {
    let log = lying(Lie::Delete(12));
    let key = hub_key().verifier_key();
    // Without a saved checkpoint: the entries after the gap sit at the wrong index.
    let err = verify_bundle(None, &key, &export(&log, 0)).unwrap_err();
    assert!(matches!(err, Error::InclusionProofInvalid { index: 12, .. }), "{err}");
    // With one: the log shrank.
    let saved = saved_checkpoint_at(40);
    let err = verify_bundle(Some(&saved), &key, &export(&log, 0)).unwrap_err();
    assert!(matches!(err, Error::LogShrank { saved_size: 40, new_size: 39 }), "{err}");
}

#[test]
fn swapped_entries_are_caught_at_the_first() {
    let log = lying(Lie::Swap(30, 9));
    let err = verify_bundle(None, &hub_key().verifier_key(), &export(&log, 0)).unwrap_err();
    assert!(matches!(err, Error::InclusionProofInvalid { index: 9, .. }), "{err}");
}

#[test]
fn entry_edited_in_the_files_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
    log.append_entries(&entries(20)).unwrap();
    // Checkpointed: reopening trusts the derived files and replays nothing.
    log.into_storage().checkpoint().unwrap();
    // Flip one byte of entry 10's bytes in the write-ahead log.
    let f = OpenOptions::new().read(true).write(true).open(dir.path().join("wal.bin")).unwrap();
    let log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
    let entry = log.entry(10).unwrap();
    drop(log);
    let wal = std::fs::read(dir.path().join("wal.bin")).unwrap();
    let at = wal.windows(entry.len()).position(|w| w == entry.as_slice()).unwrap() + entry.len() / 2;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at as u64).unwrap();
    b[0] ^= 0x20;
    f.write_all_at(&b, at as u64).unwrap();
    let log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
    let err = verify_bundle(None, &hub_key().verifier_key(), &export(&log, 0)).unwrap_err();
    assert!(matches!(err, Error::InclusionProofInvalid { index: 10, .. }), "{err}");
}

#[test]
fn truncated_and_regrown_log_is_caught_by_consistency() {
    // The partner saved the checkpoint at 30 entries.
    let saved = memory_log(30).sign_checkpoint(&hub_key()).unwrap().to_string();
    // Someone cuts the log back to 18 entries and appends different ones, beyond 30.
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    log.append_entries(&entries(18)).unwrap();
    let other: Vec<_> = (0..20)
        .map(|i| {
            decision(
                100 + i,
                "NLD",
                caveat_core::Purpose::Monitoring,
                vec![share("GBR", caveat_audit::Decision::Deny, 1)],
            )
        })
        .collect();
    log.append_entries(&other).unwrap();
    assert_eq!(log.size(), 38);
    // Every entry's inclusion in the new tree is fine; only consistency catches the rewrite.
    let bundle = export(&log, 30);
    let key = hub_key().verifier_key();
    verify_bundle(None, &key, &bundle).unwrap();
    let err = verify_bundle(Some(&saved), &key, &bundle).unwrap_err();
    assert!(matches!(err, Error::ConsistencyProofInvalid { old_size: 30, new_size: 38 }), "{err}");
    // Leaving the consistency proof out does not help.
    let mut without = bundle.clone();
    without.consistency = None;
    let err = verify_bundle(Some(&saved), &key, &without).unwrap_err();
    assert!(matches!(err, Error::MissingConsistencyProof { old_size: 30, new_size: 38 }), "{err}");
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    let log = memory_log(10);
    let impostor = SigningKey::from_seed(ORIGIN, [13; 32]).unwrap();
    let forged = log.sign_checkpoint(&impostor).unwrap();
    let bundle = AuditBundle::build(&log, &forged, None, &[1, 2]).unwrap();
    let err = verify_bundle(None, &hub_key().verifier_key(), &bundle).unwrap_err();
    assert!(matches!(err, Error::NoSignature { .. }), "{err}");
    // A saved checkpoint from another key is refused too.
    let honest = export(&log, 0);
    let err = verify_bundle(Some(&forged.to_string()), &hub_key().verifier_key(), &honest).unwrap_err();
    assert!(matches!(err, Error::NoSignature { .. }), "{err}");
}

#[test]
fn proof_for_an_entry_not_in_the_log_fails() {
    let log = memory_log(10);
    let now = log.sign_checkpoint(&hub_key()).unwrap();
    let mut bundle = AuditBundle::build(&log, &now, None, &[3]).unwrap();
    let absent =
        decision(999, "FRA", caveat_core::Purpose::Prosecution, vec![share("GBR", caveat_audit::Decision::Permit, 9)]);
    bundle.entries.push(BundleEntry {
        index: 4,
        data: absent.to_bytes().unwrap(),
        path: log.inclusion_proof(4, 10).unwrap().path,
    });
    // The absent entry claims index 3's proof too.
    bundle.entries.push(BundleEntry {
        index: 3,
        data: absent.to_bytes().unwrap(),
        path: bundle.entries[0].path.clone(),
    });
    let err = verify_bundle(None, &hub_key().verifier_key(), &bundle).unwrap_err();
    assert!(matches!(err, Error::InclusionProofInvalid { index: 3, .. }), "{err}");
    // Nor does it verify at an index past the tree.
    let mut beyond = AuditBundle::build(&log, &now, None, &[]).unwrap();
    beyond.entries.push(BundleEntry { index: 10, data: absent.to_bytes().unwrap(), path: vec![] });
    let err = verify_bundle(None, &hub_key().verifier_key(), &beyond).unwrap_err();
    assert!(matches!(err, Error::InclusionProofInvalid { index: 10, .. }), "{err}");
}

#[test]
fn bundle_json_round_trips() {
    let log = memory_log(12);
    let bundle = export(&log, 5);
    let json = bundle.to_json().unwrap();
    assert_eq!(AuditBundle::from_json(&json).unwrap(), bundle);
    assert!(matches!(AuditBundle::from_json("{\"checkpoint\":1}"), Err(Error::BundleJson { .. })));
}
