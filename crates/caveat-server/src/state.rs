//! Shared state of a running hub.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use caveat_core::{PartnerId, Role, UserId};
use caveat_store::Store;
use serde::Serialize;
use tokio::sync::watch;

use crate::ApiError;
use crate::access::Access;
use crate::audit::AuditLog;

/// Limits on what a request may carry.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Most reports in one submitted batch.
    pub max_batch_reports: usize,
    /// Most tracks on one page.
    pub max_page: usize,
    /// Time a request body has, from the end of its headers, to arrive whole (else 408).
    pub body_timeout: std::time::Duration,
    /// A view no request has asked for in this long is dropped (its memory freed);
    /// the next request for it builds it again.
    pub view_idle: std::time::Duration,
    /// Most views kept open at once; past it the least recently used are dropped.
    pub max_views: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_batch_reports: 50_000,
            max_page: 5_000,
            body_timeout: std::time::Duration::from_secs(30),
            view_idle: std::time::Duration::from_mins(10),
            max_views: 256,
        }
    }
}

/// A user created by `caveat serve --demo`, listed (with its token) to the demo web page.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    /// Its id.
    pub user: UserId,
    /// Its partner.
    pub partner: PartnerId,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Its API token (demo only).
    pub token: String,
}

/// Counters exported at `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) requests: AtomicU64,
    pub(crate) reports_ingested: AtomicU64,
    pub(crate) batches_rejected: AtomicU64,
    pub(crate) decisions_permit: AtomicU64,
    pub(crate) decisions_deny: AtomicU64,
    pub(crate) live_clients: AtomicU64,
}

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) access: Arc<Access>,
    pub(crate) audit: AuditLog,
    pub(crate) pictures: Arc<crate::picture::Pictures>,
    pub(crate) limits: Limits,
    pub(crate) demo_users: Option<Arc<Vec<DemoUser>>>,
    /// Bumped whenever any view may have changed (reports stored, policy
    /// changed); live streams wake on it.
    pub(crate) changes: Arc<watch::Sender<u64>>,
    /// Whether a follow-up change notice is scheduled.
    follow_up: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) metrics: Arc<Metrics>,
}

impl AppState {
    /// State over a store: loads its policies and opens its audit log, signed with `audit_key`.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn open(store: Arc<dyn Store>, audit_key: caveat_audit::SigningKey) -> Result<Self, ApiError> {
        let (changes, _) = watch::channel(0);
        let access = Arc::new(Access::open(store.clone()).await?);
        let audit = AuditLog::start(store.audit_storage()?, audit_key)?;
        let pictures = Arc::new(crate::picture::Pictures::new(store.clone()));
        Ok(AppState {
            store,
            access,
            audit,
            pictures,
            limits: Limits::default(),
            demo_users: None,
            changes: Arc::new(changes),
            follow_up: Arc::default(),
            metrics: Arc::new(Metrics::default()),
        })
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Sets the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.pictures.set_bounds(limits.view_idle, limits.max_views);
        self.limits = limits;
        self
    }

    /// Lists demo users at `/v1/demo/users` (only `caveat serve --demo` does this).
    #[must_use]
    pub fn with_demo_users(mut self, users: Vec<DemoUser>) -> Self {
        self.demo_users = Some(Arc::new(users));
        self
    }

    /// Tells live streams that views may have changed, now and once more
    /// when open views next fold new reports in: a client that re-fetched at
    /// once may have been served its view as built just before the change.
    pub fn notify_change(&self) {
        self.changes.send_modify(|v| *v += 1);
        if self.follow_up.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return; // one follow-up already covers this change
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.follow_up.store(false, std::sync::atomic::Ordering::Release);
            return;
        };
        let (changes, follow_up) = (self.changes.clone(), self.follow_up.clone());
        rt.spawn(async move {
            tokio::time::sleep(crate::picture::ADD_INTERVAL + std::time::Duration::from_millis(50)).await;
            follow_up.store(false, std::sync::atomic::Ordering::Release);
            changes.send_modify(|v| *v += 1);
        });
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
