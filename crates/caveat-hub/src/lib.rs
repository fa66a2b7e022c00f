//! The hub's use-cases, with no HTTP in them.
//!
//! This crate owns what the hub *does*: ingest a batch and audit it, decide
//! and build a view, serve a view's tracks and exports, change policy
//! (upload, suspend, resume), run cases and their citations, and build usage
//! and transparency reports. Each is one function here, called by both the
//! HTTP API (`caveat-server`, a thin adapter: extract, call, map errors,
//! respond) and the command line (`caveat`), so no audit entry is shaped in
//! two places (DESIGN.md: "the CLI and the API perform one action through one
//! function of caveat-hub").
//!
//! Underneath are `caveat-store` (durable state), `caveat-policy` (decisions),
//! `caveat-fusion` (tracks) and `caveat-audit` (the Merkle log); nothing here
//! knows of routes, headers or status codes. Every data path goes through
//! [`Access`] before anything is read, fused or exported (invariant 2), and
//! every decision is in the audit log before the use-case returns (invariant 5).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! let store = caveat_store::SqliteStore::open_in_memory().unwrap();
//! let key = caveat_audit::SigningKey::from_seed("caveat.example/audit", [1; 32]).unwrap();
//! let hub = caveat_hub::Hub::open(Arc::new(store), key).await.unwrap();
//! assert_eq!(hub.open_views(), 0);
//! # });
//! ```
#![warn(missing_docs)]

mod access;
mod alerts;
mod audit;
pub mod audit_schema;
mod cases;
mod change;
pub mod cot;
mod error;
mod events;
pub mod export;
pub mod federation;
mod ingest;
pub mod label;
mod policy;
mod recover;
mod reports;
mod sent;
mod tracks;
mod usage;
mod verify;
mod views;
mod watch_rules;
pub mod witnessing;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use caveat_core::{PartnerId, UserId};
use caveat_store::Store;
use tokio::sync::watch;

pub use access::{Access, Action, decision_entries};
pub use alerts::{AlertBody, AlertList, AlertQuery};
pub use audit::AuditLog;
pub use cases::{CaseDetail, CaseSummary, Citation, NewCase, NewStep, facts_of as case_facts};
pub use change::{resume, suspend, upload_standing};
pub use error::Error;
pub use events::{EventBody, EventKindName, EventList, EventQuery, EventState};
pub use ingest::{Batch, Ingested};
pub use policy::{PolicyView, StandingView, SuspensionView};
pub use recover::{RECOVERY_USER, Recovered};
pub use sent::{AlertsSeen, EventsSeen, Sent};
pub use tracks::{
    Identity, LineageEntry, TrackBody, TrackDetail, TrackPage, TrackPageBody, TrackQuery, TrackState, TrailPoint,
    Uncertainty,
};
pub use usage::{CaseOutcome, MAX_USAGE_ENTRIES, TransparencyCase, TransparencyReport};
pub use verify::{BatchName, MAX_MISMATCHES, StoreMismatch, StoreVerification, verify_store};
pub use views::ADD_INTERVAL;
pub use watch_rules::{
    MAX_LIST, MAX_NAME, MAX_POLYGONS, MAX_RULE_BODY, MAX_RULES_PER_OWNER, MAX_SPEED_KN, OwnerChoice, Recipient,
    RuleArea, RuleList, RuleSpec, SpeedRange, WatchRule, Watchlist, parse_rule, validate_rule,
};

/// Who acts: a partner and the user acting for it (`operator` from the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The partner acted for: the originator of what it submits or changes.
    pub partner: PartnerId,
    /// The user acting.
    pub user: UserId,
}

/// What the hub bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most reports in one submitted batch.
    pub max_batch_reports: usize,
    /// Most tracks on one page.
    pub max_page: usize,
    /// A view no request has asked for in this long is dropped (its memory
    /// freed); the next request for it builds it again.
    pub view_idle: std::time::Duration,
    /// Most views kept open at once; past it the least recently used are dropped.
    pub max_views: usize,
    /// Most bytes the open views may hold together (estimated: pictures,
    /// tracks, decisions); past it the least recently used are dropped. The
    /// view a request asks for is always served, even alone over the budget.
    pub view_memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch_reports: 50_000,
            max_page: 5_000,
            view_idle: std::time::Duration::from_mins(10),
            max_views: 256,
            view_memory_bytes: 1 << 30,
        }
    }
}

/// Counters of what the hub did, for operators (`/metrics`). Hub-wide: never
/// shown to partners (they would learn of each other's activity).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Reports stored.
    pub reports_ingested: AtomicU64,
    /// Batches refused (nothing stored).
    pub batches_rejected: AtomicU64,
    /// Direct reads permitted.
    pub decisions_permit: AtomicU64,
    /// Direct reads denied.
    pub decisions_deny: AtomicU64,
}

/// A running hub: its store, policies, audit log and open views. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    store: Arc<dyn Store>,
    access: Arc<Access>,
    audit: AuditLog,
    views: Arc<views::Pictures>,
    limits: Limits,
    /// Bumped whenever any view may have changed (reports stored, policy
    /// changed, a case changed); live streams wake on it.
    changes: Arc<watch::Sender<u64>>,
    /// Whether a follow-up change notice is scheduled.
    follow_up: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    recovered: Recovered,
    /// Behaviour events per view (issue 20).
    events: Arc<events::Events>,
    /// Alerts per view (issue 20 item 5).
    alerts: Arc<alerts::Alerts>,
    /// The witnesses asked to cosign checkpoints (issue 18), once configured.
    witnesses: Arc<std::sync::OnceLock<Arc<witnessing::Witnesses>>>,
    /// How exports are labelled (issue 21), once configured.
    labels: Arc<std::sync::OnceLock<label::LabelPolicy>>,
    /// The audit key again, for export bindings: the audit writer thread owns the other.
    label_key: Arc<caveat_audit::SigningKey>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("access", &self.access).field("audit", &self.audit).finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub over a store: loads its policies, opens its audit log (signed
    /// with `audit_key`), and appends the entries of any batch or policy event
    /// stored but not audited before a crash (see [`Hub::recovered`]).
    ///
    /// # Errors
    /// The store or the audit log cannot be read.
    pub async fn open(store: Arc<dyn Store>, audit_key: caveat_audit::SigningKey) -> Result<Hub, Error> {
        let (changes, _) = watch::channel(0);
        let access = Arc::new(Access::open(store.clone()).await?);
        let label_key = Arc::new(audit_key.duplicate());
        // Every partner gets a column in each tag leaf from the start, so whether
        // a partner has one says nothing about its activity (issue 18).
        let partners = store.partners().await?.into_iter().map(|p| p.id).collect();
        let audit = AuditLog::start(store.audit_storage()?, audit_key, partners)?;
        // Before anything else: what a crash left stored but unaudited gets its entry (issue 16).
        let recovered = recover::reconcile(store.as_ref(), &audit).await?;
        let views = Arc::new(views::Pictures::new(store.clone()));
        views.start_sweeper();
        Ok(Hub {
            store,
            access,
            audit,
            views,
            limits: Limits::default(),
            changes: Arc::new(changes),
            follow_up: Arc::default(),
            metrics: Arc::default(),
            recovered,
            events: Arc::new(events::Events::new()?),
            alerts: Arc::default(),
            witnesses: Arc::default(),
            labels: Arc::default(),
            label_key,
        })
    }

    /// Labels exports under `policy` from now on (the first call counts; an
    /// unconfigured hub labels with [`label::LabelPolicy::default`]).
    pub fn label_with(&self, policy: label::LabelPolicy) {
        let _first_wins = self.labels.set(policy);
    }

    /// How exports are labelled.
    pub fn labels(&self) -> &label::LabelPolicy {
        static UNCONFIGURED: std::sync::OnceLock<label::LabelPolicy> = std::sync::OnceLock::new();
        self.labels.get().unwrap_or_else(|| UNCONFIGURED.get_or_init(label::LabelPolicy::default))
    }

    /// Binds `label` to `data` under the hub's key (a 4778 binding data object).
    ///
    /// # Errors
    /// Encoding fails (an internal error).
    pub fn bind(&self, label: label::Label, media_type: &str, data: &[u8]) -> Result<label::Binding, Error> {
        label::Binding::sign(&self.label_key, label, media_type, data)
    }

    /// What opening this hub recovered: audit entries for batches and policy
    /// events a crash had left stored but unaudited.
    pub fn recovered(&self) -> Recovered {
        self.recovered
    }

    /// Sets the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.views.set_bounds(limits.view_idle, limits.max_views, limits.view_memory_bytes);
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The policies, kept in step with the store.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// How many views are held in memory.
    pub fn open_views(&self) -> usize {
        self.views.open_views()
    }

    /// Estimated bytes the open views hold together (what
    /// [`Limits::view_memory_bytes`] bounds).
    pub fn view_memory_bytes(&self) -> usize {
        self.views.memory()
    }

    /// Runs `f` after views are dropped (idle, or past a bound): the binary
    /// passes a call that makes its allocator return freed pages to the
    /// system, which this crate cannot name.
    #[must_use]
    pub fn on_views_dropped(self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.views.set_on_evict(Arc::new(f));
        self
    }

    /// The deployment's partners, by id.
    ///
    /// # Errors
    /// The store fails.
    pub async fn partners(&self) -> Result<Vec<PartnerId>, Error> {
        Ok(self.store.partners().await?.into_iter().map(|p| p.id).collect())
    }

    /// A receiver that changes whenever any view may have changed.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells live streams that views may have changed, now and once more
    /// when open views next fold new reports in: a client that re-fetched at
    /// once may have been served its view as built just before the change.
    pub fn notify_change(&self) {
        self.changes.send_modify(|v| *v += 1);
        if self.follow_up.swap(true, Ordering::AcqRel) {
            return; // one follow-up already covers this change
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.follow_up.store(false, Ordering::Release);
            return;
        };
        let (changes, follow_up) = (self.changes.clone(), self.follow_up.clone());
        rt.spawn(async move {
            tokio::time::sleep(views::ADD_INTERVAL + std::time::Duration::from_millis(50)).await;
            follow_up.store(false, Ordering::Release);
            changes.send_modify(|v| *v += 1);
        });
    }
}
