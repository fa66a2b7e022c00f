//! Issue 7's tamper tests on the embedded store: whoever edits the audit
//! database directly (dropping the append-only triggers first) is caught by the proofs.

use caveat_audit::{AuditBundle, AuditEntry, MerkleLog, Resume, SigningKey, verify_bundle};
use caveat_store::{SqliteStore, Store};
use time::macros::datetime;

fn entry(n: u64) -> AuditEntry {
    AuditEntry::Resume(Resume {
        at: datetime!(2026-11-23 12:00 UTC) + time::Duration::seconds(n.cast_signed()),
        originator: "GBR".parse().unwrap(),
        user: "ana@gbr".parse().unwrap(),
        suspension: format!("s-{n}").parse().unwrap(),
        event: None,
        recovered: false,
    })
}

struct Fixture {
    _dir: tempfile::TempDir,
    /// The audit log's database file.
    path: std::path::PathBuf,
    store: SqliteStore,
    key: SigningKey,
    saved: String,
}

/// A log of 20 entries with a checkpoint saved at 10, as a partner would keep it.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("hub.db");
    let store = SqliteStore::open(&main).unwrap();
    let path = SqliteStore::audit_path(&main);
    assert!(path.exists(), "the audit log is kept in {}", path.display());
    let key = SigningKey::from_seed("caveat.test/audit", [8; 32]).unwrap();
    let mut log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    let entries: Vec<AuditEntry> = (0..20).map(entry).collect();
    log.append_entries(&entries[..10]).unwrap();
    let saved = log.sign_checkpoint(&key).unwrap().to_string();
    log.append_entries(&entries[10..]).unwrap();
    Fixture { _dir: dir, path, store, key, saved }
}

fn sql(f: &Fixture, statements: &str) {
    let c = rusqlite::Connection::open(&f.path).unwrap();
    c.execute_batch(
        "DROP TRIGGER IF EXISTS audit_entries_append_only; DROP TRIGGER IF EXISTS audit_entries_no_delete;",
    )
    .unwrap();
    c.execute_batch(statements).unwrap();
}

/// What a partner does: ask for a bundle of every entry and verify it offline.
fn verify(f: &Fixture) -> Result<(), String> {
    let log = MerkleLog::open(f.store.audit_storage().unwrap()).map_err(|e| e.to_string())?;
    let now = log.sign_checkpoint(&f.key).map_err(|e| e.to_string())?;
    let all: Vec<u64> = (0..log.size()).collect();
    let bundle = AuditBundle::build(&log, &now, Some(10), &all).map_err(|e| e.to_string())?;
    verify_bundle(Some(&f.saved), &f.key.verifier_key(), &bundle).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn an_untouched_log_verifies() {
    verify(&fixture()).unwrap();
}

#[test]
fn an_edited_entry_is_caught() {
    let f = fixture();
    let forged = entry(99).to_bytes().unwrap();
    let c = rusqlite::Connection::open(&f.path).unwrap();
    c.execute_batch("DROP TRIGGER audit_entries_append_only;").unwrap();
    c.execute("UPDATE audit_entries SET data = ?1 WHERE idx = 7", [forged]).unwrap();
    let err = verify(&f).unwrap_err();
    assert!(err.contains('7'), "the error names index 7: {err}");
}

#[test]
fn a_deleted_entry_is_caught() {
    let f = fixture();
    sql(&f, "DELETE FROM audit_entries WHERE idx = 4;");
    assert!(verify(&f).is_err());
}

#[test]
fn swapped_entries_are_caught() {
    let f = fixture();
    sql(
        &f,
        "UPDATE audit_entries SET idx = -1 WHERE idx = 2; UPDATE audit_entries SET idx = 2 WHERE idx = 3;
         UPDATE audit_entries SET idx = 3 WHERE idx = -1;",
    );
    let err = verify(&f).unwrap_err();
    assert!(err.contains('2') || err.contains('3'), "{err}");
}

#[test]
fn a_truncated_and_regrown_log_fails_consistency_with_the_saved_checkpoint() {
    let f = fixture();
    sql(&f, "DELETE FROM audit_entries WHERE idx >= 5; DELETE FROM audit_nodes; DELETE FROM audit_originators;");
    // Rebuild a log from the first 5 entries and grow it with different ones.
    let c = rusqlite::Connection::open(&f.path).unwrap();
    let kept: Vec<Vec<u8>> = c
        .prepare("SELECT data FROM audit_entries ORDER BY idx")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    c.execute_batch("DELETE FROM audit_entries;").unwrap();
    drop(c);
    let mut log = MerkleLog::open(f.store.audit_storage().unwrap()).unwrap();
    log.append_batch(&kept).unwrap();
    let other: Vec<AuditEntry> = (100..120).map(entry).collect();
    log.append_entries(&other).unwrap();
    drop(log);
    let err = verify(&f).unwrap_err();
    assert!(err.to_lowercase().contains("consisten"), "{err}");
}

/// A database from before the audit log had its own file (schema version 4,
/// log tables in the main file) opens with its log moved, entries intact.
#[test]
fn a_version_4_database_has_its_audit_log_moved_to_its_own_file() {
    let f = fixture();
    let main = f.path.with_file_name("hub.db");
    let root_before = MerkleLog::open(f.store.audit_storage().unwrap()).unwrap().root();
    drop(f.store);
    // Make the layout of version 4: the log's tables in the main file, no audit file.
    let c = rusqlite::Connection::open(&main).unwrap();
    c.execute("ATTACH DATABASE ?1 AS a", [f.path.to_str().unwrap()]).unwrap();
    c.execute_batch(
        "CREATE TABLE main.audit_entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL) STRICT;
         CREATE TABLE main.audit_nodes (pos INTEGER PRIMARY KEY, hash BLOB NOT NULL) STRICT;
         CREATE TABLE main.audit_originators (originator TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (originator, idx)) STRICT, WITHOUT ROWID;
         CREATE TABLE main.audit_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL) STRICT;
         INSERT INTO main.audit_entries SELECT * FROM a.audit_entries;
         INSERT INTO main.audit_nodes SELECT * FROM a.audit_nodes;
         INSERT INTO main.audit_originators SELECT * FROM a.audit_originators;
         DETACH DATABASE a;
         DROP INDEX batches_by_partner;
         ALTER TABLE batches DROP COLUMN partner_batch;
         ALTER TABLE batches DROP COLUMN submitted_by;
         ALTER TABLE batches DROP COLUMN first_seq;
         ALTER TABLE batches DROP COLUMN last_seq;
         ALTER TABLE batches DROP COLUMN report_locators;
         ALTER TABLE policy_events DROP COLUMN submitted_by;
         DROP TABLE reconciled;
         DROP TABLE watch_rules;
         PRAGMA user_version = 4;",
    )
    .unwrap();
    drop(c);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = f.path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }

    let store = SqliteStore::open(&main).unwrap();
    let log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    assert_eq!(log.size(), 20);
    assert_eq!(log.root(), root_before);
    let c = rusqlite::Connection::open(&main).unwrap();
    let left: i64 =
        c.query_row("SELECT count(*) FROM sqlite_master WHERE name LIKE 'audit_%'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the main file keeps no audit table");
    // Opening again changes nothing.
    drop(log);
    drop(store);
    let store = SqliteStore::open(&main).unwrap();
    assert_eq!(MerkleLog::open(store.audit_storage().unwrap()).unwrap().size(), 20);
}

/// Issue 16: a store holding reports whose audit log file is gone is refused
/// at open, never given a new empty log; an empty store may start one.
#[test]
fn regression_16_a_missing_audit_log_beside_reports_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("hub.db");
    let log = SqliteStore::audit_path(&main);
    drop(SqliteStore::open(&main).unwrap());
    std::fs::remove_file(&log).unwrap();
    drop(SqliteStore::open(&main).unwrap());
    assert!(log.exists(), "an empty store starts a new log");

    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let store = SqliteStore::open(&main).unwrap();
    rt.block_on(async {
        use caveat_store::Store;
        let gbr = caveat_core::Partner {
            id: "GBR".parse().unwrap(),
            name: "GBR".into(),
            default_marking: caveat_core::Marking::originator_only(),
            ais_marking: None,
        };
        store.put_partner(&gbr).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        store.insert_batch(&gbr.id, now, vec![caveat_core::Report::builder().build()]).await.unwrap();
    });
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = log.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let err = SqliteStore::open(&main).unwrap_err();
    assert!(matches!(err, caveat_store::Error::AuditLogMissing { .. }), "{err}");
    assert!(err.to_string().contains("restore it from the backup"), "{err}");
    assert!(!log.exists(), "no new log was made");
}
