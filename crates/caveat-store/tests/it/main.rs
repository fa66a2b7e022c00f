//! Integration tests of caveat-store through its public API only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies"
)]

mod conformance;
mod postgres;
mod tamper;

use caveat_store::SqliteStore;

/// Every backend runs the same suite (tessera's storage drivers; STYLE.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_conforms() {
    conformance::run_all(&SqliteStore::open_in_memory().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_conforms_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caveat.db");
    let stored = {
        let store = SqliteStore::open(&path).unwrap();
        conformance::run_all(&store).await;
        conformance::snapshot(&store).await
    };
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(conformance::snapshot(&reopened).await, stored);
}

/// The same suite on PostgreSQL (skipped with a notice without `CAVEAT_TEST_POSTGRES`);
/// a second connection to the same schema sees the same reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms_and_survives_reconnect() {
    let Some(db) = postgres::TestSchema::create("postgres_conforms_and_survives_reconnect").await else { return };
    let stored = {
        let store = db.store().await;
        conformance::run_all(&store).await;
        conformance::snapshot(&store).await
    };
    assert_eq!(conformance::snapshot(&db.store().await).await, stored);
    db.drop().await;
}
