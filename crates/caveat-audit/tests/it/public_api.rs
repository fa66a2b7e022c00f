//! The API other crates use: keys, checkpoints, entries.

use caveat_audit::{
    AuditEntry, Checkpoint, FileStorage, LogStorage, MerkleLog, NodeId, SignedCheckpoint, SignedNote, SigningKey,
    TreeHead, VerifierKey, stored_node_count,
};

use crate::fixture::{ORIGIN, entries, hub_key, resume};

#[test]
fn keys_round_trip_through_text() {
    let key = hub_key();
    let skey = key.to_private_key_string();
    assert!(skey.starts_with("PRIVATE+KEY+caveat.example/audit+"));
    let again: SigningKey = skey.parse().unwrap();
    assert_eq!(again.verifier_key(), key.verifier_key());
    let vkey = key.verifier_key().to_string();
    assert_eq!(vkey.parse::<VerifierKey>().unwrap(), key.verifier_key());
    assert!(format!("{key:?}").contains(ORIGIN) && !format!("{key:?}").contains(&skey));
}

#[test]
fn checkpoints_round_trip_and_open() {
    let key = hub_key();
    let cp = Checkpoint::new(ORIGIN, TreeHead { size: 3, root: caveat_audit::leaf_hash(b"x") }).unwrap();
    let signed = SignedCheckpoint::sign(cp.clone(), &key).unwrap();
    let text = signed.to_string();
    assert!(text.starts_with("caveat.example/audit\n3\n"));
    assert!(text.contains("\n\n\u{2014} caveat.example/audit "));
    assert_eq!(text.parse::<SignedNote>().unwrap().to_string(), text);
    assert_eq!(SignedCheckpoint::open(&text, &key.verifier_key()).unwrap().checkpoint(), &cp);
}

#[test]
fn entries_round_trip_through_bytes() {
    for e in entries(10).into_iter().chain([resume(3, "GBR")]) {
        assert_eq!(AuditEntry::from_bytes(&e.to_bytes().unwrap()).unwrap(), e);
    }
}

#[test]
fn file_log_stores_nodes_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
    let head = log.append_entries(&entries(13)).unwrap();
    assert_eq!(std::fs::metadata(dir.path().join("nodes.bin")).unwrap().len(), stored_node_count(13) * 32);
    drop(log);
    // Node (2, 1) covers entries 4..8.
    assert_eq!(NodeId::new(2, 1).leaves(), (4, 8));
    let reopened = MerkleLog::open(FileStorage::open(dir.path()).unwrap()).unwrap();
    assert_eq!(reopened.tree_head(), head);
    assert_eq!(reopened.storage().size().unwrap(), 13);
}

mod entry_properties {
    use caveat_audit::{AuditEntry, Decision};
    use caveat_core::Purpose;
    use proptest::prelude::*;
    use time::OffsetDateTime;

    use crate::fixture::{decision, share};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any time and report count the hub records reads back as the same entry,
        /// from bytes that are the only encoding of it.
        #[test]
        fn entries_round_trip(secs in 0i64..253_402_300_000, nanos in 0u32..1_000_000_000, n in 0usize..40, deny: bool) {
            let d = if deny { Decision::Deny } else { Decision::Permit };
            let mut e = decision(0, "NLD", Purpose::SearchAndRescue, vec![share("GBR", d, n), share("FRA", d, n / 2)]);
            if let AuditEntry::PolicyDecision(p) = &mut e {
                p.at = OffsetDateTime::from_unix_timestamp(secs).unwrap().replace_nanosecond(nanos).unwrap();
            }
            let bytes = e.to_bytes().unwrap();
            prop_assert_eq!(AuditEntry::from_bytes(&bytes).unwrap(), e);
        }
    }
}
