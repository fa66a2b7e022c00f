//! Shared state of a running hub.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use caveat_core::{PartnerId, Role, UserId};
use caveat_hub::Hub;
use caveat_store::Store;
use serde::Serialize;

use crate::ApiError;

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
    /// Most bytes the open views may hold together (an estimate); past it
    /// the least recently used are dropped.
    pub view_memory_bytes: usize,
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
            view_memory_bytes: caveat_hub::Limits::default().view_memory_bytes,
        }
    }
}

/// A user created by `caveat serve --demo`, listed (with its token) to the demo web page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// Counters of the HTTP side exported at `/metrics` (the hub keeps its own).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) requests: AtomicU64,
    pub(crate) live_clients: AtomicU64,
    /// Open event streams (`/v1/events/stream`).
    pub(crate) event_streams: AtomicU64,
    /// Open alert streams.
    pub(crate) alert_streams: AtomicU64,
}

/// Counts an open stream in one of [`Metrics`]' gauges for as long as it lives.
pub(crate) struct OpenStream {
    metrics: Arc<Metrics>,
    gauge: fn(&Metrics) -> &AtomicU64,
}

impl OpenStream {
    pub(crate) fn new(metrics: Arc<Metrics>, gauge: fn(&Metrics) -> &AtomicU64) -> Self {
        gauge(&metrics).fetch_add(1, Ordering::Relaxed);
        OpenStream { metrics, gauge }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        (self.gauge)(&self.metrics).fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counters kept outside the hub and the HTTP layer (the `caveat` binary's
/// live AIS feeds) that the operator's `/metrics` also writes out.
pub trait MetricsSource: Send + Sync {
    /// Appends this source's metrics, in the Prometheus text format, to `out`.
    fn write_metrics(&self, out: &mut String);
}

/// Everything handlers share: the hub, and what only HTTP needs. Cheap to
/// clone: one reference count, where cloning the fields (a dozen `Arc`s, the
/// audit log's key, a vector) cost a fifth of a small page's throughput,
/// since axum clones the state for every extractor of every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What an [`AppState`] shares.
#[derive(Clone)]
pub struct Shared {
    pub(crate) hub: Hub,
    pub(crate) limits: Limits,
    pub(crate) demo_users: Option<Arc<Vec<DemoUser>>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) metrics_sources: Vec<Arc<dyn MetricsSource>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// State over a store: opens a [`Hub`] on it, its audit log signed with `audit_key`.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn open(store: Arc<dyn Store>, audit_key: caveat_audit::SigningKey) -> Result<Self, ApiError> {
        Ok(Self::over(Hub::open(store, audit_key).await?))
    }

    /// State over a hub already open.
    pub fn over(hub: Hub) -> Self {
        AppState(Arc::new(Shared {
            hub,
            limits: Limits::default(),
            demo_users: None,
            metrics: Arc::default(),
            metrics_sources: Vec::new(),
        }))
    }

    /// The hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Sets the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        // Setting up happens before the state is shared; a clone made before keeps what it had.
        let shared = Arc::make_mut(&mut self.0);
        shared.hub = shared.hub.clone().with_limits(caveat_hub::Limits {
            max_batch_reports: limits.max_batch_reports,
            max_page: limits.max_page,
            view_idle: limits.view_idle,
            max_views: limits.max_views,
            view_memory_bytes: limits.view_memory_bytes,
        });
        shared.limits = limits;
        self
    }

    /// Lists demo users at `/v1/demo/users` (only `caveat serve --demo` does this).
    #[must_use]
    pub fn with_demo_users(mut self, users: Vec<DemoUser>) -> Self {
        Arc::make_mut(&mut self.0).demo_users = Some(Arc::new(users));
        self
    }

    /// Writes `source`'s metrics at the operator's `/metrics` too (states cloned before miss it).
    #[must_use]
    pub fn with_metrics_source(mut self, source: Arc<dyn MetricsSource>) -> Self {
        Arc::make_mut(&mut self.0).metrics_sources.push(source);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.hub.store()
    }
}
