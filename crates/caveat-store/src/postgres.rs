//! The production store: PostgreSQL through `tokio-postgres`, pooled by
//! `deadpool-postgres`. Behaves as [`SqliteStore`](crate::SqliteStore) does:
//! both pass one conformance suite.
//!
//! Schema: the same four versioned migrations as SQLite, recorded in the table
//! `caveat_schema` and applied by [`PostgresStore::connect`], one transaction
//! per step under an advisory lock, so hub processes starting together migrate
//! once. The tables live in the connection's `search_path` schema, so one
//! database can hold several hubs (and every test gets a schema of its own).
//!
//! Spatial index: a GiST index on the expression `point(lon, lat)`, and a
//! B-tree on observation time; the planner combines them (bitmap AND) for a
//! box within a window. PostGIS would also do, but it is an extension a hub's
//! database may not have, and `point <@ box` over a GiST index is in core
//! PostgreSQL: no grid constant to keep in step with the SQLite store, and any
//! box size costs one index scan. Positions are re-checked exactly with
//! `BETWEEN`, because PostgreSQL's geometric operators compare with a small
//! tolerance and a box edge must mean what it means in SQLite.
//!
//! Ordering: `seq` must grow in commit order (it is the readers' cursor), and
//! a PostgreSQL sequence hands out numbers at insert time, not at commit. So a
//! batch takes `LOCK TABLE batches IN EXCLUSIVE MODE`, which serialises batch
//! writers of every hub process on the database and leaves readers alone, and
//! numbers its reports after the highest stored `seq`, as SQLite does. Policy
//! events and audit appends are numbered the same way under their own locks.
//!
//! Durability: every session runs with `synchronous_commit = on` (set at
//! connect, whatever the server's default), so a batch is in the server's
//! flushed WAL before `insert_batch` returns. Connection failures, a server
//! shutting down or refusing connections, and pool timeouts map to
//! [`Error::Unavailable`]; the pool drops broken connections and reconnects
//! when the database returns. TLS is not built in: reach the server over a
//! unix socket, loopback or a TLS-terminating proxy.

mod account;
mod audit;
mod cases;
mod policy_watch;
mod reports;
mod schema;
mod watch_rules;

use std::time::Duration;

use async_trait::async_trait;
use caveat_core::{Case, CaseId, CaseStep, Partner, PartnerId, Report, ReportId, User, UserId};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::{
    AuditStorage, BatchReceipt, BatchSubmission, Error, PolicyEvent, Reconciled, ReportQuery, Result, RuleId, Store,
    StoredBatch, StoredReport, StoredRule, TokenHash,
};

/// Connections kept by one hub process.
const POOL_SIZE: usize = 16;
/// How long a request waits for a connection, and a new connection for the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL-backed [`Store`]. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// For connections outside the pool (the audit log's writer).
    config: tokio_postgres::Config,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        let hosts = self.config.get_hosts().len();
        let db = self.config.get_dbname().unwrap_or("");
        write!(f, "PostgresStore({db} on {hosts} host(s))")
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, or
    /// libpq's `key=value` form) and migrates it.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the server cannot be reached; [`Error::Database`]
    /// for a malformed URL or a refused migration; [`Error::NewerSchema`] if a
    /// newer Caveat migrated the database.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| Error::Database {
            context: "reading the database URL",
            message: e.to_string(),
        })?;
        // Durability does not depend on the server's default (module doc).
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c synchronous_commit=on"),
            _ => "-c synchronous_commit=on".to_owned(),
        };
        config.options(&options);
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("caveat");
        }
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| Error::Database { context: "building the connection pool", message: e.to_string() })?;
        let store = PostgresStore { pool, config };
        let mut client = store.client().await?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// The newest policy version, kept current by PostgreSQL notifications:
    /// it changes as soon as any hub process on this database commits a
    /// policy event (a suspension, say). Replay `policy_events(after)` when
    /// it changes. The watcher holds one connection and reconnects on its own.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the server cannot be reached now.
    pub async fn watch_policy(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        policy_watch::start(self.config.clone()).await
    }

    /// The schema version of this build (the same numbering as SQLite's).
    pub fn schema_version() -> i64 {
        schema::LATEST
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }
}

fn pool_error(e: PoolError) -> Error {
    match e {
        PoolError::Backend(e) => classify("connecting", &e),
        PoolError::Timeout(_) | PoolError::Closed => Error::Unavailable { message: e.to_string() },
        other => Error::Database { context: "taking a connection", message: other.to_string() },
    }
}

/// Maps a driver error to the store's: the server being away is
/// [`Error::Unavailable`] (the hub answers 503 and retries), anything else is
/// [`Error::Database`] with the server's message.
pub(crate) fn classify(context: &'static str, e: &tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        // Class 08: connection exception; 57P01-03: the server is shutting
        // down, crashed or starting; 53300: too many connections.
        let away = code.code().starts_with("08")
            || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(code)
            || *code == SqlState::TOO_MANY_CONNECTIONS;
        if away {
            return Error::Unavailable { message: db.message().to_owned() };
        }
        return Error::Database { context, message: db.message().to_owned() };
    }
    let io = std::error::Error::source(e).is_some_and(<dyn std::error::Error + 'static>::is::<std::io::Error>);
    // The driver's kinds are private; a closed connection, an I/O failure and a
    // connect timeout are the ones that mean "not reachable now".
    if e.is_closed() || io || e.to_string().starts_with("timeout") {
        return Error::Unavailable { message: e.to_string() };
    }
    Error::Database { context, message: e.to_string() }
}

/// `classify` as a closure for `map_err`.
pub(crate) fn db(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
    move |e| classify(context, &e)
}

#[async_trait]
impl Store for PostgresStore {
    async fn put_partner(&self, partner: &Partner) -> Result<()> {
        reports::put_partner(&self.client().await?, partner).await
    }

    async fn partner(&self, id: &PartnerId) -> Result<Option<Partner>> {
        Ok(reports::partners(&self.client().await?, Some(id)).await?.into_iter().next())
    }

    async fn partners(&self) -> Result<Vec<Partner>> {
        reports::partners(&self.client().await?, None).await
    }

    async fn insert_batch_by(
        &self,
        submitter: &PartnerId,
        by: &BatchSubmission,
        received_at: OffsetDateTime,
        reports: Vec<Report>,
    ) -> Result<BatchReceipt> {
        crate::batch::check_not_empty(&reports)?;
        reports::insert_batch(&mut self.client().await?, submitter, by, received_at, &reports).await
    }

    async fn batches(&self, after: u64, limit: usize) -> Result<Vec<StoredBatch>> {
        reports::batches(&self.client().await?, after, limit).await
    }

    async fn batch_report_locators(&self, batch: u64) -> Result<Option<Vec<u8>>> {
        reports::batch_report_locators(&self.client().await?, batch).await
    }

    async fn reconciled(&self) -> Result<Reconciled> {
        reports::reconciled(&self.client().await?).await
    }

    async fn set_reconciled(&self, mark: Reconciled) -> Result<()> {
        reports::set_reconciled(&self.client().await?, mark).await
    }

    async fn report(&self, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>> {
        reports::by_id(&self.client().await?, id).await
    }

    async fn reports(&self, query: &ReportQuery) -> Result<Vec<StoredReport>> {
        reports::query(&self.client().await?, query).await
    }

    async fn count_reports(&self, query: &ReportQuery) -> Result<u64> {
        reports::count(&self.client().await?, query).await
    }

    async fn put_user(&self, user: &User) -> Result<()> {
        account::put_user(&self.client().await?, user).await
    }

    async fn users(&self, partner: Option<&PartnerId>) -> Result<Vec<User>> {
        account::users(&self.client().await?, partner).await
    }

    async fn add_token(&self, user: &UserId, hash: TokenHash, at: OffsetDateTime) -> Result<()> {
        account::add_token(&self.client().await?, user, &hash, at).await
    }

    async fn user_by_token(&self, hash: TokenHash) -> Result<Option<User>> {
        account::user_by_token(&self.client().await?, &hash).await
    }

    async fn revoke_tokens(&self, user: &UserId, at: OffsetDateTime) -> Result<u64> {
        account::revoke_tokens(&self.client().await?, user, at).await
    }

    async fn append_policy_event_by(
        &self,
        originator: &PartnerId,
        user: Option<&UserId>,
        at: OffsetDateTime,
        body: String,
    ) -> Result<u64> {
        account::append_policy_event(&mut self.client().await?, originator, user, at, &body).await
    }

    async fn policy_events(&self, after: u64) -> Result<Vec<PolicyEvent>> {
        account::policy_events(&self.client().await?, after).await
    }

    async fn create_case(&self, case: &Case) -> Result<()> {
        cases::create(&mut self.client().await?, case).await
    }

    async fn case(&self, id: CaseId) -> Result<Option<Case>> {
        cases::get(&self.client().await?, id).await
    }

    async fn cases_of(&self, partner: &PartnerId) -> Result<Vec<Case>> {
        cases::list(&mut self.client().await?, partner).await
    }

    async fn create_rule(&self, rule: &StoredRule, max_per_owner: usize) -> Result<()> {
        watch_rules::create(&mut self.client().await?, rule, max_per_owner).await
    }

    async fn rule(&self, id: RuleId) -> Result<Option<StoredRule>> {
        watch_rules::get(&self.client().await?, id).await
    }

    async fn rules_of(&self, partner: &PartnerId) -> Result<Vec<StoredRule>> {
        watch_rules::list(&self.client().await?, partner).await
    }

    async fn update_rule(&self, rule: &StoredRule) -> Result<()> {
        watch_rules::update(&mut self.client().await?, rule).await
    }

    async fn delete_rule(&self, id: RuleId, version: u64) -> Result<()> {
        watch_rules::delete(&mut self.client().await?, id, version).await
    }

    async fn append_case_step(&self, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()> {
        cases::append_step(&mut self.client().await?, id, expected_steps, step).await
    }

    fn audit_storage(&self) -> Result<AuditStorage> {
        Ok(AuditStorage(Box::new(audit::PostgresLog::start(self.config.clone())?)))
    }

    async fn audit_entries_touching(&self, originator: &PartnerId, size: u64, limit: usize) -> Result<Vec<u64>> {
        audit::entries_touching(&self.client().await?, originator, size, limit).await
    }

    async fn save_checkpoint(&self, size: u64, note: String) -> Result<()> {
        audit::save_checkpoint(&self.client().await?, size, &note).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
        audit::latest_checkpoint(&self.client().await?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caveat_core::{BoundingBox, TimeWindow};

    /// A store in a fresh schema of the test server, or `None` without one
    /// (the integration tests print the notice; see tests/it/postgres.rs).
    async fn fresh(url_suffix: &str) -> Option<PostgresStore> {
        let base = std::env::var("CAVEAT_TEST_POSTGRES").ok()?;
        let (client, connection) = tokio_postgres::connect(&base, NoTls).await.unwrap();
        tokio::spawn(connection);
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let schema = format!("caveat_unit_{}_{stamp}", std::process::id());
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(PostgresStore::connect(&format!("{base}{sep}options=-csearch_path%3D{schema}{url_suffix}")).await.unwrap())
    }

    #[tokio::test]
    async fn spatial_and_time_queries_use_an_index() {
        let Some(store) = fresh("").await else { return };
        let mut client = store.client().await.unwrap();
        let q =
            ReportQuery { bbox: Some(BoundingBox::new(17.0, -68.0, 19.0, -60.0).unwrap()), ..ReportQuery::default() };
        let plan = reports::explain(&mut client, &q).await.join(" | ");
        assert!(plan.contains("reports_position"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
        let q = ReportQuery {
            window: TimeWindow { from: Some(OffsetDateTime::UNIX_EPOCH), to: None },
            ..ReportQuery::default()
        };
        let plan = reports::explain(&mut client, &q).await.join(" | ");
        assert!(plan.contains("reports_time"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }

    #[tokio::test]
    async fn sessions_commit_synchronously_even_if_the_url_says_otherwise() {
        let Some(store) = fresh("%20-csynchronous_commit%3Doff").await else { return };
        let client = store.client().await.unwrap();
        let setting: String = client.query_one("SHOW synchronous_commit", &[]).await.unwrap().get(0);
        assert_eq!(setting, "on");
        let version: i64 = client.query_one("SELECT max(version) FROM caveat_schema", &[]).await.unwrap().get(0);
        assert_eq!(version, PostgresStore::schema_version());
    }
}
