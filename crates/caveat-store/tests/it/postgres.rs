//! PostgreSQL fixtures, and what only a server can show: it going away and
//! coming back.
//!
//! The tests run against the server named by `CAVEAT_TEST_POSTGRES` (see
//! `scripts/pg-test-cluster`), each in a fresh schema of its own, and are
//! skipped with a notice when it is unset. The outage tests start a private
//! cluster with the same script, so they can stop it without disturbing the
//! other tests.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caveat_core::{Marking, Partner, PartnerId, Report};
use caveat_store::{Error, PostgresStore, ReportQuery, Store, Superseded};
use time::macros::datetime;
use tokio_postgres::NoTls;

const ENV: &str = "CAVEAT_TEST_POSTGRES";

/// Says why a test did nothing, past libtest's output capture (which takes
/// `eprintln!` but not a direct write), so a run without PostgreSQL shows it.
#[expect(clippy::explicit_write, reason = "eprintln! output is captured and hidden for passing tests")]
fn skip_notice(test: &str) {
    writeln!(std::io::stderr(), "note: {test} skipped: set {ENV} to a PostgreSQL URL (scripts/pg-test-cluster start)")
        .unwrap();
}

/// `url` with `search_path` set to `schema`, in either connection-string form.
fn with_schema(url: &str, schema: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{url} options='-csearch_path={schema}'")
    }
}

/// A client for fixture SQL (schemas, tampering), outside the store.
pub(crate) async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// A fresh, empty schema on the test server: one per test, so tests running
/// at once never see one another's rows.
pub(crate) struct TestSchema {
    base: String,
    name: String,
    /// The URL that puts a store in this schema.
    pub(crate) url: String,
}

impl TestSchema {
    /// `None` (after a notice) when no test server is configured.
    pub(crate) async fn create(test: &str) -> Option<TestSchema> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let Ok(base) = std::env::var(ENV) else {
            skip_notice(test);
            return None;
        };
        Some(Self::create_on(&base, NEXT.fetch_add(1, Ordering::Relaxed)).await)
    }

    async fn create_on(base: &str, n: u64) -> TestSchema {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
        let name = format!("caveat_test_{}_{n}_{stamp}", std::process::id());
        sql(base).await.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        TestSchema { base: base.to_owned(), url: with_schema(base, &name), name }
    }

    /// A store on this schema (migrating it on first use).
    pub(crate) async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url).await.unwrap()
    }

    /// Removes the schema; called at the end of a passing test (a failing
    /// one leaves it for inspection).
    pub(crate) async fn drop(self) {
        sql(&self.base).await.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name)).await.unwrap();
    }
}

fn partner(id: &str) -> Partner {
    Partner { id: id.parse().unwrap(), name: id.into(), default_marking: Marking::originator_only(), ais_marking: None }
}

fn gbr() -> PartnerId {
    "GBR".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_unavailable() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = PostgresStore::connect(&format!("postgres://caveat@127.0.0.1:{port}/caveat")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_url_is_a_database_error_not_an_outage() {
    let err = PostgresStore::connect("postgres://caveat@127.0.0.1:notaport/x").await.unwrap_err();
    assert!(matches!(err, Error::Database { context: "reading the database URL", .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_rows_are_append_only_even_by_sql() {
    let Some(db) = TestSchema::create("stored_rows_are_append_only_even_by_sql").await else { return };
    let store = db.store().await;
    store.put_partner(&partner("GBR")).await.unwrap();
    store.insert_batch(&gbr(), datetime!(2026-11-23 12:00 UTC), vec![Report::builder().build()]).await.unwrap();
    store.append_policy_event(&gbr(), datetime!(2026-11-23 12:00 UTC), "{}".into()).await.unwrap();
    let client = sql(&db.url).await;
    for (statement, message) in [
        ("UPDATE reports SET lat = 1.0", "reports are append-only"),
        ("DELETE FROM reports", "reports are append-only"),
        ("TRUNCATE reports", "reports are append-only"),
        ("UPDATE policy_events SET body = '[]'", "policy events are append-only"),
        ("TRUNCATE policy_events CASCADE", "policy events are append-only"),
    ] {
        let err = client.batch_execute(statement).await.unwrap_err();
        assert_eq!(err.as_db_error().map(tokio_postgres::error::DbError::message), Some(message), "{statement}");
    }
    assert_eq!(store.count_reports(&ReportQuery::default()).await.unwrap(), 1);
    db.drop().await;
}

/// A private cluster (scripts/pg-test-cluster), for tests that stop the server.
struct PrivateCluster {
    dir: PathBuf,
    url: String,
}

impl PrivateCluster {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-cluster")
    }

    fn run(args: &[&str]) -> String {
        let out = Command::new(Self::script()).args(args).output().unwrap();
        assert!(out.status.success(), "pg-test-cluster {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn start() -> PrivateCluster {
        let out = Self::run(&["start"]);
        let value = |key: &str| out.lines().find_map(|l| l.strip_prefix(&format!("export {key}="))).unwrap().to_owned();
        PrivateCluster { dir: PathBuf::from(value("CAVEAT_TEST_POSTGRES_DIR")), url: value(ENV) }
    }

    /// Stops the server, keeping its data: `crash` stops it as a power cut would.
    fn halt(&self, crash: bool) {
        let dir = self.dir.to_str().unwrap();
        Self::run(&if crash { vec!["stop", "--keep", "--crash", dir] } else { vec!["stop", "--keep", dir] });
    }

    fn resume(&self) {
        Self::run(&["start", "--dir", self.dir.to_str().unwrap()]);
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        Self::run(&["stop", self.dir.to_str().unwrap()]);
    }
}

/// Retries `f` until it stops failing with `Unavailable`, for at most 30 s.
async fn until_available<T, F: AsyncFnMut() -> caveat_store::Result<T>>(mut f: F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match f().await {
            Err(Error::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other.unwrap(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_unavailable_and_the_store_recovers() {
    if std::env::var(ENV).is_err() {
        return skip_notice("an_outage_is_unavailable_and_the_store_recovers");
    }
    let cluster = PrivateCluster::start();
    let store = PostgresStore::connect(&cluster.url).await.unwrap();
    store.put_partner(&partner("GBR")).await.unwrap();
    let at = datetime!(2026-11-23 12:00 UTC);
    store.insert_batch(&gbr(), at, vec![Report::builder().build()]).await.unwrap();
    let audit = store.audit_storage().unwrap();
    assert_eq!(caveat_audit::LogStorage::size(&audit).unwrap(), 0);
    let mut policy = store.watch_policy().await.unwrap();

    cluster.halt(false);
    let err = store.insert_batch(&gbr(), at, vec![Report::builder().build()]).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let err = store.count_reports(&ReportQuery::default()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let err = caveat_audit::LogStorage::size(&audit).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotConnected, "{err:?}");

    // Back again: the same store and log work without being rebuilt.
    cluster.resume();
    let retried = vec![Report::builder().build()];
    until_available(async || store.insert_batch(&gbr(), at, retried.clone()).await).await;
    assert_eq!(store.count_reports(&ReportQuery::default()).await.unwrap(), 2);
    assert_eq!(caveat_audit::LogStorage::size(&audit).unwrap(), 0);
    // The policy watcher reconnected by itself and hears the next event.
    let v = store.append_policy_event(&gbr(), at, "{}".into()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), policy.wait_for(|known| *known == v)).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_batch_keeps_all_or_nothing() {
    if std::env::var(ENV).is_err() {
        return skip_notice("a_crash_mid_batch_keeps_all_or_nothing");
    }
    let cluster = PrivateCluster::start();
    let store = PostgresStore::connect(&cluster.url).await.unwrap();
    store.put_partner(&partner("GBR")).await.unwrap();
    let at = datetime!(2026-11-23 12:00 UTC);
    let big: Vec<Report> = (0..20_000).map(|_| Report::builder().build()).collect();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.insert_batch(&gbr(), at, big).await })
    };
    // The server dies as if the power went, while the batch is on its way.
    tokio::task::block_in_place(|| cluster.halt(true));
    let outcome = writer.await.unwrap();
    cluster.resume();
    let all = ReportQuery { superseded: Superseded::Include, ..ReportQuery::default() };
    let stored = until_available(async || store.count_reports(&all).await).await;
    match outcome {
        Ok(receipt) => assert_eq!(stored, receipt.count as u64, "an acknowledged batch is whole"),
        Err(Error::Unavailable { .. }) => assert!(stored == 0 || stored == 20_000, "half a batch: {stored}"),
        Err(other) => panic!("expected success or Unavailable, got {other:?}"),
    }
}

/// Two hub processes on one database: their batches interleave, yet a reader
/// following the `seq` cursor while they write misses nothing, because `seq`
/// follows commit order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_writing_at_once_keep_the_cursor_whole() {
    let Some(db) = TestSchema::create("two_hubs_writing_at_once_keep_the_cursor_whole").await else { return };
    let hubs = [db.store().await, db.store().await];
    hubs[0].put_partner(&partner("GBR")).await.unwrap();
    let at = datetime!(2026-11-23 12:00 UTC);
    let (batches, per_batch) = (12, 40);
    let writers: Vec<_> = hubs
        .iter()
        .cloned()
        .map(|hub| {
            tokio::spawn(async move {
                let mut receipts = Vec::new();
                for _ in 0..batches {
                    let batch = (0..per_batch).map(|_| Report::builder().build()).collect();
                    receipts.push(hub.insert_batch(&gbr(), at, batch).await.unwrap());
                }
                receipts
            })
        })
        .collect();
    let reader = {
        let hub = hubs[1].clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_mins(1);
            let (mut seen, mut cursor) = (Vec::new(), None);
            while seen.len() < 2 * batches * per_batch && Instant::now() < deadline {
                let page = hub.reports(&ReportQuery { after_seq: cursor, ..ReportQuery::default() }).await.unwrap();
                cursor = page.last().map(|s| s.seq).or(cursor);
                seen.extend(page.into_iter().map(|s| s.report.id));
            }
            seen
        })
    };
    let mut receipts = Vec::new();
    for w in writers {
        receipts.extend(w.await.unwrap());
    }
    let seen = reader.await.unwrap();
    let all: Vec<_> =
        hubs[0].reports(&ReportQuery::default()).await.unwrap().into_iter().map(|s| s.report.id).collect();
    assert_eq!(all.len(), 2 * batches * per_batch);
    assert_eq!(seen, all, "the cursor reader saw every report once, in store order");
    // Each batch holds one unbroken run of `seq`.
    receipts.sort_by_key(|r| r.first_seq);
    for pair in receipts.windows(2) {
        assert_eq!(pair[0].last_seq + 1, pair[1].first_seq);
    }
    db.drop().await;
}

/// A policy event committed through one hub reaches another at once, by
/// LISTEN/NOTIFY rather than polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_event_through_one_hub_wakes_the_other() {
    let Some(db) = TestSchema::create("a_policy_event_through_one_hub_wakes_the_other").await else { return };
    let (issuer, watcher) = (db.store().await, db.store().await);
    issuer.put_partner(&partner("GBR")).await.unwrap();
    let at = datetime!(2026-11-23 12:00 UTC);
    let first = issuer.append_policy_event(&gbr(), at, "{}".into()).await.unwrap();
    let mut versions = watcher.watch_policy().await.unwrap();
    assert_eq!(*versions.borrow(), first, "starts at the stored version");
    let suspension = issuer.append_policy_event(&gbr(), at, r#"{"suspend":"CAN"}"#.into()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), versions.wait_for(|v| *v == suspension)).await.unwrap().unwrap();
    let events = watcher.policy_events(first).await.unwrap();
    assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), [suspension]);
    db.drop().await;
}
