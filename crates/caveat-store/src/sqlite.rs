//! The embedded store: SQLite in WAL mode.
//!
//! Durability: `synchronous = FULL`. In WAL mode `NORMAL` survives a killed
//! process but a power cut can lose the last commits, because the WAL is not
//! fsynced at each commit; `FULL` fsyncs it, so a batch is on disk before
//! `insert_batch` returns. The cost is one fsync per batch, which is why
//! writers batch.
//!
//! The audit log lives in a second database file beside the first
//! ([`SqliteStore::audit_path`]). SQLite has one write lock per file and every
//! API request waits for an audit append, so in one file each append queued
//! behind whatever batch of reports was being written (p99 of view queries
//! roughly doubled under ingest, see docs/design-notes.md). Nothing needs a
//! transaction across the two: an ingest's audit entry is appended after its
//! reports are stored, and a crash between the two is repaired on the next
//! start from the `reconciled` mark and the log's index of batches
//! (caveat-hub's recovery; issue 16).

mod account;
mod audit;
mod cases;
mod reports;
mod schema;
mod watch_rules;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use caveat_core::{Case, CaseId, CaseStep, Partner, PartnerId, Report, ReportId, User, UserId};
use rusqlite::{Connection, OpenFlags};
use time::OffsetDateTime;

use crate::batch;
use crate::row::{signed, unsigned};
use crate::{
    AuditStorage, BatchReceipt, BatchSubmission, Error, PolicyEvent, Reconciled, ReportQuery, Result, RuleId, Store,
    StoredBatch, StoredReport, StoredRule, TokenHash,
};

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// SQLite-backed [`Store`]. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// The audit log's own database (see the module doc).
    audit: Target,
    /// Its writer: the log's appends and saved checkpoints take turns on it.
    audit_writer: Mutex<Connection>,
}

enum Target {
    File(PathBuf),
    /// A shared-cache in-memory database, alive while the writer is open.
    Memory(String),
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.target {
            Target::File(p) => write!(f, "SqliteStore({})", p.display()),
            Target::Memory(name) => write!(f, "SqliteStore({name})"),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// # Errors
    /// The file cannot be opened, is not a Caveat database, or is from a newer Caveat.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let target = Target::File(path.as_ref().to_path_buf());
        Self::with_target(target)
    }

    /// A private in-memory database, for tests and throwaway demos.
    pub fn open_in_memory() -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("file:caveat-mem-{}-{n}?mode=memory&cache=shared", std::process::id());
        Self::with_target(Target::Memory(name))
    }

    fn with_target(target: Target) -> Result<Self> {
        let audit = target.audit();
        let mut writer = connect(&target)?;
        if let Target::File(log) = &audit
            && !log.exists()
            && holds_reports_without_log_inside(&writer)?
        {
            // Refused rather than replaced by a new empty log (issue 16): the
            // log is what lets originators check every use of their data.
            return Err(Error::AuditLogMissing { path: log.clone() });
        }
        let mut audit_writer = connect_audit(&audit)?;
        schema::migrate_audit(&mut audit_writer)?;
        schema::migrate(&mut writer, &audit)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                target,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                audit,
                audit_writer: Mutex::new(audit_writer),
            }),
        })
    }

    /// Where the audit log of the database at `path` is kept: a second file
    /// beside it (`caveat.db` -> `caveat.db.audit`). Back up both.
    pub fn audit_path(path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(".audit");
        path.with_file_name(name)
    }

    /// The schema version of this build.
    pub fn schema_version() -> i64 {
        schema::LATEST
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` on a reader connection on the blocking pool. WAL lets readers
    /// proceed while a batch is being written.
    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let conn = match inner.idle_reader() {
                Some(c) => c,
                None => connect(&inner.target)?,
            };
            let out = f(&conn);
            inner.keep_reader(conn);
            out
        })
        .await
    }

    /// Runs `f` on the audit database's writer, on the blocking pool (audit
    /// reads outside the log itself are rare: usage reports, checkpoints).
    async fn audit<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        run_blocking(move || {
            let conn = inner.audit_writer.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await
    }

    /// Runs a point lookup (an indexed read of a row or two) right here on
    /// the calling thread when an idle reader connection is at hand. It takes
    /// microseconds, less than handing it to the blocking pool and back, and
    /// every API request makes one or two (its token, the policy log's edge).
    /// Without an idle connection it goes to the pool like any read.
    async fn read_point<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(conn) = self.inner.idle_reader() else { return self.read(f).await };
        let out = f(&conn);
        self.inner.keep_reader(conn);
        out
    }
}

impl Inner {
    fn idle_reader(&self) -> Option<Connection> {
        self.readers.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// Returns a reader to the pool, which keeps at most [`MAX_IDLE_READERS`].
    fn keep_reader(&self, conn: Connection) {
        let mut idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Database { context: "running a database task", message: e.to_string() })?
}

impl Target {
    fn audit(&self) -> Target {
        match self {
            Target::File(p) => Target::File(SqliteStore::audit_path(p)),
            Target::Memory(uri) => Target::Memory(uri.replacen('?', "-audit?", 1)),
        }
    }
}

/// A connection to the audit database. Small pages (4 KiB, not 16): every
/// append rewrites the last page of each of its tables, and each API request
/// waits for one, so the bytes written (and fsynced) per commit set its latency.
fn connect_audit(target: &Target) -> Result<Connection> {
    let conn = open_file(target)?;
    conn.execute_batch(
        "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;",
    )
    .map_err(Error::db("configuring the audit connection"))?;
    Ok(conn)
}

fn open_file(target: &Target) -> Result<Connection> {
    let conn = match target {
        Target::File(p) => Connection::open(p),
        Target::Memory(uri) => Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI,
        ),
    }
    .map_err(|e| Error::Unavailable { message: e.to_string() })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(Error::db("setting the busy timeout"))?;
    Ok(conn)
}

/// Whether a database whose log lives in its own file (schema 5 on) holds
/// reports: then that file must exist.
fn holds_reports_without_log_inside(conn: &Connection) -> Result<bool> {
    let version: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(Error::db("reading the schema version"))?;
    if version < 5 {
        return Ok(false);
    }
    conn.query_row("SELECT EXISTS (SELECT 1 FROM reports)", [], |r| r.get(0)).map_err(Error::db("counting reports"))
}

fn connect(target: &Target) -> Result<Connection> {
    let conn = open_file(target)?;
    // See the module doc for why FULL.
    conn.execute_batch(
        "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 16384; PRAGMA mmap_size = 1073741824; -- reads map pages instead of copying them",
    )
    .map_err(Error::db("configuring the connection"))?;
    Ok(conn)
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_partner(&self, partner: &Partner) -> Result<()> {
        let partner = partner.clone();
        self.write(move |c| reports::put_partner(c, &partner)).await
    }

    async fn partner(&self, id: &PartnerId) -> Result<Option<Partner>> {
        let id = id.clone();
        self.read(move |c| Ok(reports::partners(c, Some(&id))?.into_iter().next())).await
    }

    async fn partners(&self) -> Result<Vec<Partner>> {
        self.read(|c| reports::partners(c, None)).await
    }

    async fn insert_batch_by(
        &self,
        submitter: &PartnerId,
        by: &BatchSubmission,
        received_at: OffsetDateTime,
        reports: Vec<Report>,
    ) -> Result<BatchReceipt> {
        batch::check_not_empty(&reports)?;
        let (submitter, by) = (submitter.clone(), by.clone());
        self.write(move |c| reports::insert_batch(c, &submitter, &by, received_at, &reports)).await
    }

    async fn batches(&self, after: u64, limit: usize) -> Result<Vec<StoredBatch>> {
        self.read(move |c| reports::batches(c, after, limit)).await
    }

    async fn batch_report_locators(&self, batch: u64) -> Result<Option<Vec<u8>>> {
        self.read(move |c| reports::batch_report_locators(c, batch)).await
    }

    async fn reconciled(&self) -> Result<Reconciled> {
        self.read(reports::reconciled).await
    }

    async fn set_reconciled(&self, mark: Reconciled) -> Result<()> {
        self.write(move |c| reports::set_reconciled(c, mark)).await
    }

    async fn report(&self, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>> {
        self.read(move |c| reports::by_id(c, id)).await
    }

    async fn reports(&self, query: &ReportQuery) -> Result<Vec<StoredReport>> {
        let q = query.clone();
        self.read(move |c| reports::query(c, &q)).await
    }

    async fn count_reports(&self, query: &ReportQuery) -> Result<u64> {
        let q = query.clone();
        self.read(move |c| reports::count(c, &q)).await
    }

    async fn put_user(&self, user: &User) -> Result<()> {
        let user = user.clone();
        self.write(move |c| account::put_user(c, &user)).await
    }

    async fn users(&self, partner: Option<&PartnerId>) -> Result<Vec<User>> {
        let partner = partner.cloned();
        self.read(move |c| account::users(c, partner.as_ref())).await
    }

    async fn add_token(&self, user: &UserId, hash: TokenHash, at: OffsetDateTime) -> Result<()> {
        let user = user.clone();
        self.write(move |c| account::add_token(c, &user, &hash, at)).await
    }

    async fn user_by_token(&self, hash: TokenHash) -> Result<Option<User>> {
        self.read_point(move |c| account::user_by_token(c, &hash)).await
    }

    async fn revoke_tokens(&self, user: &UserId, at: OffsetDateTime) -> Result<u64> {
        let user = user.clone();
        self.write(move |c| account::revoke_tokens(c, &user, at)).await
    }

    async fn append_policy_event_by(
        &self,
        originator: &PartnerId,
        user: Option<&UserId>,
        at: OffsetDateTime,
        body: String,
    ) -> Result<u64> {
        let (originator, user) = (originator.clone(), user.cloned());
        self.write(move |c| account::append_policy_event(c, &originator, user.as_ref(), at, &body)).await
    }

    async fn policy_events(&self, after: u64) -> Result<Vec<PolicyEvent>> {
        self.read_point(move |c| account::policy_events(c, after)).await
    }

    async fn create_case(&self, case: &Case) -> Result<()> {
        let case = case.clone();
        self.write(move |c| cases::create(c, &case)).await
    }

    async fn case(&self, id: CaseId) -> Result<Option<Case>> {
        self.read(move |c| cases::get(c, id)).await
    }

    async fn cases_of(&self, partner: &PartnerId) -> Result<Vec<Case>> {
        let partner = partner.clone();
        self.read(move |c| cases::list(c, &partner)).await
    }

    async fn append_case_step(&self, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()> {
        let step = step.clone();
        self.write(move |c| cases::append_step(c, id, expected_steps, &step)).await
    }

    async fn create_rule(&self, rule: &StoredRule, max_per_owner: usize) -> Result<()> {
        let rule = rule.clone();
        self.write(move |c| watch_rules::create(c, &rule, max_per_owner)).await
    }

    async fn rule(&self, id: RuleId) -> Result<Option<StoredRule>> {
        self.read(move |c| watch_rules::get(c, id)).await
    }

    async fn rules_of(&self, partner: &PartnerId) -> Result<Vec<StoredRule>> {
        let partner = partner.clone();
        self.read(move |c| watch_rules::list(c, &partner)).await
    }

    async fn update_rule(&self, rule: &StoredRule) -> Result<()> {
        let rule = rule.clone();
        self.write(move |c| watch_rules::update(c, &rule)).await
    }

    async fn delete_rule(&self, id: RuleId, version: u64) -> Result<()> {
        self.write(move |c| watch_rules::delete(c, id, version)).await
    }

    fn audit_storage(&self) -> Result<AuditStorage> {
        Ok(AuditStorage(Box::new(audit::SqliteLog::new(connect_audit(&self.inner.audit)?, self.inner.clone()))))
    }

    async fn audit_entries_touching(&self, originator: &PartnerId, size: u64, limit: usize) -> Result<Vec<u64>> {
        let originator = originator.clone();
        self.audit(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT idx FROM audit_originators WHERE originator = ?1 AND idx < ?2 ORDER BY idx LIMIT ?3",
                )
                .map_err(Error::db("reading the audit index"))?;
            let rows = stmt
                .query_map(
                    rusqlite::params![originator.as_str(), signed(size), i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(Error::db("reading the audit index"))?;
            let mut out = Vec::new();
            for r in rows {
                out.push(unsigned(r.map_err(Error::db("reading the audit index"))?));
            }
            Ok(out)
        })
        .await
    }

    async fn save_checkpoint(&self, size: u64, note: String) -> Result<()> {
        self.audit(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO audit_checkpoints (size, note) VALUES (?1, ?2)",
                rusqlite::params![signed(size), note],
            )
            .map_err(Error::db("saving a checkpoint"))?;
            Ok(())
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
        self.audit(|c| {
            use rusqlite::OptionalExtension as _;
            let row: Option<(i64, String)> = c
                .query_row("SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(Error::db("reading a checkpoint"))?;
            Ok(row.map(|(s, n)| (unsigned(s), n)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caveat_core::BoundingBox;

    #[test]
    fn spatial_and_time_queries_use_an_index() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.inner.writer.lock().unwrap();
        let q =
            ReportQuery { bbox: Some(BoundingBox::new(17.0, -68.0, 19.0, -60.0).unwrap()), ..ReportQuery::default() };
        let plan = reports::explain(&conn, &q).join(" | ");
        assert!(plan.contains("USING INDEX reports_cell"), "{plan}");
        assert!(!plan.contains("SCAN r"), "{plan}");
        let q = ReportQuery {
            window: caveat_core::TimeWindow { from: Some(OffsetDateTime::UNIX_EPOCH), to: None },
            ..ReportQuery::default()
        };
        let plan = reports::explain(&conn, &q).join(" | ");
        assert!(plan.contains("USING INDEX reports_time"), "{plan}");
        assert!(!plan.contains("SCAN r"), "{plan}");
    }

    #[test]
    fn reports_cannot_be_updated_or_deleted_even_by_sql() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.inner.writer.lock().unwrap();
        conn.execute_batch(
            "INSERT INTO partners VALUES ('GBR', '{}'); INSERT INTO markings VALUES (1, '{}');
             INSERT INTO batches (id, partner, received_at, count, partner_batch) VALUES (1, 'GBR', 0, 1, 1);
             INSERT INTO reports VALUES (1, x'00', 1, 'GBR', 0, 0, 0.0, 0.0, 'ais', 1, NULL, '{}');",
        )
        .unwrap();
        let update = conn.execute("UPDATE reports SET lat = 1.0", []).unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = conn.execute("DELETE FROM reports", []).unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
    }

    #[test]
    fn durability_pragmas_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("c.db")).unwrap();
        let conn = store.inner.writer.lock().unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2), "WAL with synchronous = FULL (2)");
    }
}
