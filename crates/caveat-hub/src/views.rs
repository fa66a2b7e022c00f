//! Each view's picture: the tracks fused from exactly the reports its view
//! key may use (DESIGN.md invariant 2), kept up to date as reports arrive and
//! policy changes, and recomputed from scratch whenever the permitted set
//! changes in a way an incremental update cannot express.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use caveat_audit::OriginatorUse;
use caveat_core::{Marking, PartnerId, Report, ReportId, SourceKind, User, ViewKey};
use caveat_fusion::{FusionConfig, Insertion, Observed, Picture, Track, TrackMemo};
use caveat_policy::{Action, CaseFacts};
use caveat_store::{ReportQuery, Store, Superseded};
use time::{Duration, OffsetDateTime};

use crate::Error;
use crate::access::{Access, DecisionGroups, decision_uses, group_decisions, uses_of};

mod memory;
use memory::view_bytes;

/// Most delay before newly stored reports are folded into an open view. A
/// fold re-materialises every track of the view, so under a steady stream of
/// reports this sets how much of the hub's CPU goes to keeping views current
/// (a common operating picture that moves once a second is what watch floors use).
pub const ADD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How far back a view looks, by observation time.
pub(crate) const DEFAULT_WINDOW: Duration = Duration::hours(24);

/// How far back a view's picture keeps track histories to replay a late
/// report locally ([`FusionConfig::replay_horizon`]; fusion's default is an
/// hour). Histories were most of a view's bytes (issue 16); feeds are late
/// by seconds to minutes, and a report later than this re-fuses the view's
/// reports, with the same result.
pub(crate) const REPLAY_HORIZON: Duration = Duration::minutes(15);

/// The fusion config of every view.
fn view_config() -> FusionConfig {
    let mut config = FusionConfig::default();
    config.replay_horizon = REPLAY_HORIZON;
    config
}

/// The reports every view is computed from: the store's recent reports, in memory.
#[derive(Default)]
struct Recent {
    reports: Vec<Report>,
    /// Each report converted for fusion once, shared by every view's picture
    /// (`None`: fusion refuses it, and a picture's insert says why).
    observed: Vec<Option<Observed>>,
    by_id: HashMap<ReportId, usize>,
    last_seq: u64,
}

impl Recent {
    /// The shared conversion of the report at `i`, if fusion took it.
    fn observed(&self, i: usize) -> Option<Observed> {
        self.observed.get(i).cloned().flatten()
    }
}

/// Adds a recent report to a view's picture, sharing its converted data with
/// the other views when there is one (a copy per view was most of a view's
/// bytes per report: issue 16).
fn fuse_into(picture: &mut Picture, r: &Report, shared: Option<&Observed>) -> Result<Insertion, caveat_fusion::Error> {
    match shared {
        Some(o) => picture.insert_observed(o),
        None => picture.insert(r),
    }
}

/// What a report contributes to a track's description.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) originator: PartnerId,
    pub(crate) kind: SourceKind,
    pub(crate) observed_at: OffsetDateTime,
    /// Shared with every other source of the same marking (see [`Markings`]).
    pub(crate) marking: Arc<Marking>,
    /// The receiving station, for lineage.
    pub(crate) station: Option<caveat_core::Station>,
}

impl Source {
    pub(crate) fn of(r: &Report, markings: &mut Markings) -> Self {
        Source {
            originator: r.originator.clone(),
            kind: r.source,
            observed_at: r.observed_at,
            marking: markings.intern(&r.marking),
            station: r.station.clone(),
        }
    }

    /// The combined marking of `sources`: each distinct one combined once.
    /// Telling sources apart by their shared marking's address first is what
    /// makes a 5,000-track page's first rendering cheap: a track's hundreds
    /// of reports mostly carry one or two markings, and comparing whole
    /// markings (sets of partners and purposes) per report was most of it.
    pub(crate) fn combined<'a>(sources: impl IntoIterator<Item = &'a Source>) -> Option<Marking> {
        let mut distinct: Vec<&Arc<Marking>> = Vec::new();
        for s in sources {
            if !distinct.iter().any(|d| Arc::ptr_eq(d, &s.marking)) {
                distinct.push(&s.marking);
            }
        }
        Marking::combine(distinct.into_iter().map(|m| &**m))
    }
}

/// Shares one allocation among the sources that carry equal markings (most of
/// a partner's reports carry its default). Bounded: markings that differ per
/// report (a not-after per report) would otherwise grow it without end, so it
/// starts again when full; sharing is an optimisation, never needed for
/// correctness (markings are still compared whole when combined).
#[derive(Debug, Default)]
pub(crate) struct Markings(HashMap<Marking, Arc<Marking>>);

/// Most distinct markings [`Markings`] keeps.
const MAX_INTERNED_MARKINGS: usize = 4_096;

impl Markings {
    pub(crate) fn intern(&mut self, m: &Marking) -> Arc<Marking> {
        if let Some(shared) = self.0.get(m) {
            return shared.clone();
        }
        if self.0.len() >= MAX_INTERNED_MARKINGS {
            self.0.clear();
        }
        let shared = Arc::new(m.clone());
        self.0.insert(m.clone(), shared.clone());
        shared
    }
}

/// The rules a view was built under: when any differs, data may have been
/// taken away, so the view is rebuilt before anyone is answered. Together with
/// the view key and the time (bounded by [`Built::expires`]) they are
/// everything a decision may depend on: uploaded policies may not name users
/// (caveat-policy refuses them), so every user of a partner shares its views.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rules {
    policy_version: u64,
    /// The case's facts as decided on (open, lead, participants).
    case: Option<CaseFacts>,
    /// The generation of what nodes released to the view key (0 without federation).
    released: u64,
}

/// A view as last built: what its readers are served. Never changed once published.
struct Built {
    rules: Rules,
    /// The version of the rebuild this build descends from by additions only:
    /// every build of one epoch holds all the reports of the ones before it.
    epoch: u64,
    /// The first instant after the build at which a decision it made may
    /// change with time alone: the earliest future not-after among the
    /// permitted reports' markings, or an instant a standing policy's time
    /// condition names. Past it the view is rebuilt before anyone is answered.
    expires: Option<OffsetDateTime>,
    /// Counts the changes of the view's tracks (what a live stream tells its
    /// client): per view, so it says nothing of other views' activity.
    content: u64,
    last_seq: u64,
    version: u64,
    tracks: Tracks,
    uses: Arc<[OriginatorUse]>,
}

/// A view's tracks, each shared with later builds while it does not change.
pub(crate) type Tracks = Arc<Vec<Arc<Track>>>;

/// What only the request building a view touches.
struct Builder {
    /// How many of the recent reports have been decided.
    decided: usize,
    groups: DecisionGroups,
    picture: Picture,
    memo: TrackMemo,
}

/// Who asks for a view, under which rules: what building it decides with.
struct Asking<'a> {
    access: &'a Access,
    user: &'a User,
    key: &'a ViewKey,
    case: Option<CaseFacts>,
    now: OffsetDateTime,
    rules: Rules,
    /// [`caveat_policy::Policies::next_change_after`] `now`.
    policy_change: Option<OffsetDateTime>,
    /// What nodes released to the view key, under lease (empty without federation).
    released: Arc<crate::federation::Released>,
}

impl Asking<'_> {
    async fn decide(&self, reports: &[Report]) -> Result<caveat_policy::Decisions, Error> {
        self.access.decide(self.user, self.key, Action::Fuse, self.case.clone(), reports, self.now).await
    }

    /// The earlier of `expires` and `marking`'s not-after, if that is still to
    /// come: a not-after already past changes nothing more (a report it
    /// governed and that is still permitted, such as the caller's own, stays so).
    fn expiring(&self, expires: Option<OffsetDateTime>, marking: &Marking) -> Option<OffsetDateTime> {
        earliest(expires, future_not_after(marking, self.now))
    }
}

/// One open view.
#[derive(Default)]
struct Slot {
    current: std::sync::RwLock<Option<Arc<Built>>>,
    /// When the view last looked for new reports.
    looked: Mutex<Option<std::time::Instant>>,
    /// When a request last asked for it.
    used: Mutex<Option<std::time::Instant>>,
    builder: tokio::sync::Mutex<Option<Builder>>,
    /// Estimated bytes it holds ([`view_bytes`]), as of its last build.
    bytes: std::sync::atomic::AtomicUsize,
}

impl Slot {
    fn current(&self) -> Option<Arc<Built>> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Publishes a build, and records what the view now holds.
    fn publish(&self, built: Arc<Built>, builder: &Builder) {
        self.bytes.store(view_bytes(&built, builder), std::sync::atomic::Ordering::Relaxed);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(built);
    }

    /// Whether it is time to look for new reports.
    fn due(&self) -> bool {
        self.looked.lock().unwrap_or_else(PoisonError::into_inner).is_none_or(|t| t.elapsed() >= ADD_INTERVAL)
    }

    fn looked_now(&self) {
        *self.looked.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::time::Instant::now());
    }
}

/// What each report id held by any view contributes to a track's description.
/// Only grows (as `Recent` does), so a snapshot can share it with later ones.
pub(crate) type Sources = Arc<std::sync::RwLock<HashMap<ReportId, Source>>>;

/// The tracks of one request, and what the audit entry must record.
pub(crate) struct ViewSnapshot {
    /// Changes whenever the tracks do: responses may be cached under it.
    pub(crate) version: u64,
    /// Changes whenever something may have been taken away (see [`Built`]).
    pub(crate) epoch: u64,
    /// Changes only when the tracks do.
    pub(crate) content: u64,
    pub(crate) tracks: Tracks,
    pub(crate) uses: Vec<OriginatorUse>,
    pub(crate) sources: Sources,
}

/// A response rendered once per (view version, query), shared by every request for it.
pub(crate) type Rendered = Arc<tokio::sync::OnceCell<Bytes>>;

/// Renders a response.
pub(crate) type Render = Box<dyn FnOnce() -> Result<Bytes, Error> + Send>;

/// A rendering of one view version for one query, with the decisions it shows.
#[derive(Clone)]
struct Rendering {
    version: u64,
    epoch: u64,
    uses: Arc<[OriginatorUse]>,
    cell: Rendered,
}

/// What a request for a query is served.
pub(crate) enum Serve {
    /// The response for its own snapshot: rendered by whichever request gets
    /// to the cell first with its `render`, awaited by the others.
    Now(Rendered, Render),
    /// While its snapshot renders, the last one rendered of the same epoch
    /// (so it holds nothing the snapshot may not), with that snapshot's decisions.
    Earlier(Vec<OriginatorUse>, Bytes),
}

/// All open views.
pub(crate) struct Pictures {
    store: Arc<dyn Store>,
    window: Duration,
    config: FusionConfig,
    recent: tokio::sync::RwLock<Recent>,
    sources: Sources,
    views: Mutex<HashMap<ViewKey, Arc<Slot>>>,
    versions: std::sync::atomic::AtomicU64,
    /// Rendered responses by query, for the view version they were rendered
    /// from: the bytes are the same for every request that sees that version.
    responses: Mutex<HashMap<String, Vec<Rendering>>>,
    /// Idle time (ms) after which a view is dropped, and most views kept.
    view_idle_ms: std::sync::atomic::AtomicU64,
    max_views: std::sync::atomic::AtomicUsize,
    /// Most estimated bytes the open views may hold together.
    view_memory: std::sync::atomic::AtomicUsize,
    /// Called after views are dropped: the binary hands its allocator the
    /// freed memory back to the system ([`crate::Hub::on_views_dropped`]).
    on_evict: Mutex<Arc<dyn Fn() + Send + Sync>>,
    /// When idle views were last looked for.
    swept: Mutex<Option<std::time::Instant>>,
    /// Bytes of the responses rendered into `responses` (approximately: a
    /// rendering finished after its entry was dropped is still counted until
    /// the next clear).
    response_bytes: Arc<std::sync::atomic::AtomicUsize>,
    /// The nodes asked for every view, when the hub is federated.
    federation: std::sync::OnceLock<Arc<crate::federation::Federation>>,
    /// Ids of released reports described in `sources`: removed once no lease holds them.
    released_sources: Mutex<HashSet<ReportId>>,
    /// The markings `sources` share; locked only while `sources` is written.
    markings: Mutex<Markings>,
}

/// Most distinct queries whose responses are kept.
const MAX_RESPONSE_QUERIES: usize = 1_024;

/// Most bytes of kept responses before they are all dropped.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

impl std::fmt::Debug for Pictures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pictures")
    }
}

impl Pictures {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Pictures {
            store,
            window: DEFAULT_WINDOW,
            config: view_config(),
            recent: tokio::sync::RwLock::new(Recent::default()),
            sources: Arc::default(),
            views: Mutex::new(HashMap::new()),
            versions: std::sync::atomic::AtomicU64::new(1),
            responses: Mutex::new(HashMap::new()),
            view_idle_ms: std::sync::atomic::AtomicU64::new(600_000),
            max_views: std::sync::atomic::AtomicUsize::new(256),
            view_memory: std::sync::atomic::AtomicUsize::new(usize::MAX),
            on_evict: Mutex::new(Arc::new(|| {})),
            swept: Mutex::new(None),
            response_bytes: Arc::default(),
            federation: std::sync::OnceLock::new(),
            released_sources: Mutex::default(),
            markings: Mutex::default(),
        }
    }

    /// Makes every view ask `federation`'s nodes (once; a second call is ignored).
    pub(crate) fn set_federation(&self, federation: Arc<crate::federation::Federation>) -> bool {
        self.federation.set(federation).is_ok()
    }

    /// The federation, if configured.
    pub(crate) fn federation(&self) -> Option<&Arc<crate::federation::Federation>> {
        self.federation.get()
    }

    /// Describes the released reports a view uses in `sources` (lineage,
    /// trail originators, track markings), and forgets those no lease holds
    /// any more. A report id already described as another partner's is not
    /// taken (a node cannot relabel a posted report); its id is returned.
    fn describe_released(&self, reports: &[Report]) -> HashSet<ReportId> {
        let mut refused = HashSet::new();
        let Some(fed) = self.federation.get() else { return refused };
        let held = fed.held_ids();
        let mut mine = self.released_sources.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sources = self.sources.write().unwrap_or_else(PoisonError::into_inner);
        let mut markings = self.markings.lock().unwrap_or_else(PoisonError::into_inner);
        mine.retain(|id| {
            let keep = held.contains(id);
            if !keep {
                sources.remove(id);
            }
            keep
        });
        for r in reports {
            match sources.get(&r.id) {
                Some(s) if s.originator != r.originator => {
                    refused.insert(r.id);
                }
                Some(_) => {}
                None => {
                    sources.insert(r.id, Source::of(r, &mut markings));
                    mine.insert(r.id);
                }
            }
        }
        refused
    }

    /// Sets how long an unused view is kept, how many views at most, and
    /// how many bytes they may hold together.
    pub(crate) fn set_bounds(&self, idle: std::time::Duration, max_views: usize, memory: usize) {
        let ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        self.view_idle_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
        self.max_views.store(max_views.max(1), std::sync::atomic::Ordering::Relaxed);
        self.view_memory.store(memory, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets what runs after views are dropped.
    pub(crate) fn set_on_evict(&self, f: Arc<dyn Fn() + Send + Sync>) {
        *self.on_evict.lock().unwrap_or_else(PoisonError::into_inner) = f;
    }

    /// How many views are open.
    pub(crate) fn open_views(&self) -> usize {
        self.views.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Drops views no request asked for within the idle time, then the least
    /// recently used past the most views kept and past the memory budget
    /// (never `keep`, the one being asked for). A view holds its picture
    /// (every permitted report's track state and history), so views must not
    /// outlive their use: a partner trying many purposes and cases would
    /// otherwise grow the hub without bound. Idle views are looked for at
    /// most once a second (by requests, and by [`Pictures::start_sweeper`]
    /// when none come), the bounds on every request; under the views' lock.
    fn sweep(&self, keep: Option<&ViewKey>) {
        let now = std::time::Instant::now();
        let due = {
            let mut swept = self.swept.lock().unwrap_or_else(PoisonError::into_inner);
            let due = swept.is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_secs(1));
            if due {
                *swept = Some(now);
            }
            due
        };
        let idle = std::time::Duration::from_millis(self.view_idle_ms.load(std::sync::atomic::Ordering::Relaxed));
        let max = self.max_views.load(std::sync::atomic::Ordering::Relaxed);
        let budget = self.view_memory.load(std::sync::atomic::Ordering::Relaxed);
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        let used = |s: &Slot| *s.used.lock().unwrap_or_else(PoisonError::into_inner);
        let mut gone: Vec<Arc<Slot>> = Vec::new();
        if due {
            let idle_keys: Vec<ViewKey> = views
                .iter()
                .filter(|(k, s)| Some(*k) != keep && used(s).is_none_or(|t| now.duration_since(t) >= idle))
                .map(|(k, _)| k.clone())
                .collect();
            gone.extend(idle_keys.iter().filter_map(|k| views.remove(k)));
        }
        // The bound is kept on every request: one more view than allowed
        // drops the least recently used.
        if let Some(keep) = keep
            && views.len() >= max
            && !views.contains_key(keep)
        {
            let mut by_use: Vec<(Option<std::time::Instant>, ViewKey)> =
                views.iter().filter(|(k, _)| *k != keep).map(|(k, s)| (used(s), k.clone())).collect();
            by_use.sort();
            let excess = views.len() + 1 - max;
            gone.extend(by_use.into_iter().take(excess).filter_map(|(_, k)| views.remove(&k)));
        }
        // Summed first: this runs on every request, and naming the views to
        // drop (a copy of every key, a sort) is needed only over the budget.
        let total: usize = views.values().map(|s| s.bytes.load(std::sync::atomic::Ordering::Relaxed)).sum();
        if total > budget {
            let held = views
                .iter()
                .map(|(k, s)| memory::Held {
                    key: k.clone(),
                    used: used(s),
                    bytes: s.bytes.load(std::sync::atomic::Ordering::Relaxed),
                })
                .collect();
            for k in memory::over_budget(held, budget, keep) {
                gone.extend(views.remove(&k));
            }
        }
        drop(views);
        if !gone.is_empty() {
            self.forget_renderings(&gone);
            (self.on_evict.lock().unwrap_or_else(PoisonError::into_inner))();
        }
    }

    /// Drops the renderings of dropped views: their bytes (up to the
    /// responses' bound) would otherwise stay until that bound clears them.
    fn forget_renderings(&self, gone: &[Arc<Slot>]) {
        let epochs: HashSet<u64> = gone.iter().filter_map(|s| s.current().map(|b| b.epoch)).collect();
        let mut r = self.responses.lock().unwrap_or_else(PoisonError::into_inner);
        let mut freed = 0;
        r.retain(|_, kept| {
            kept.retain(|k| {
                let drop = epochs.contains(&k.epoch);
                if drop {
                    freed += k.cell.get().map_or(0, Bytes::len);
                }
                !drop
            });
            !kept.is_empty()
        });
        let _ = self.response_bytes.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |b| Some(b.saturating_sub(freed)),
        );
    }

    /// Sweeps idle views every second while the pictures exist, so a hub
    /// that stops being asked still gives their memory back.
    pub(crate) fn start_sweeper(self: &Arc<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let weak = Arc::downgrade(self);
        rt.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(pictures) = weak.upgrade() else { break };
                pictures.sweep(None);
            }
        });
    }

    /// Estimated bytes held by the open views.
    pub(crate) fn memory(&self) -> usize {
        let views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        views.values().map(|s| s.bytes.load(std::sync::atomic::Ordering::Relaxed)).sum()
    }

    fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// How to answer `query` (which names the view key) for `snap`: its own
    /// rendering if one exists or is under way, otherwise (once something of
    /// its epoch has been rendered) that earlier rendering while `render`
    /// makes this one in the background. A fold publishes a new version about
    /// every second and rendering a large page takes tens of milliseconds, so
    /// this keeps requests from queueing behind each new version.
    pub(crate) fn serve(&self, snap: &ViewSnapshot, query: String, render: Render) -> Serve {
        let mut r = self.responses.lock().unwrap_or_else(PoisonError::into_inner);
        // Bounded in queries and in bytes: a client can ask for many distinct
        // pages (bounding boxes, cursors, trail lengths), each up to megabytes.
        if r.len() >= MAX_RESPONSE_QUERIES
            || self.response_bytes.load(std::sync::atomic::Ordering::Relaxed) > MAX_RESPONSE_BYTES
        {
            r.clear();
            self.response_bytes.store(0, std::sync::atomic::Ordering::Relaxed);
        }
        let kept = r.entry(query).or_default();
        let own = kept.iter().find(|k| k.version == snap.version).map(|k| k.cell.clone());
        if let Some(cell) = &own
            && cell.initialized()
        {
            // The common case: rendered already, `render` will not run.
            return Serve::Now(cell.clone(), render);
        }
        let earlier = kept
            .iter()
            .filter(|k| k.epoch == snap.epoch && k.version < snap.version)
            .find_map(|k| k.cell.get().map(|b| (k.uses.to_vec(), b.clone())));
        let counted = self.response_bytes.clone();
        let render: Render = Box::new(move || {
            let bytes = render()?;
            counted.fetch_add(bytes.len(), std::sync::atomic::Ordering::Relaxed);
            Ok(bytes)
        });
        if let Some(cell) = own {
            return match earlier {
                // Its rendering is under way in the background.
                Some((uses, bytes)) => Serve::Earlier(uses, bytes),
                None => Serve::Now(cell, render),
            };
        }
        let cell = Rendered::default();
        kept.push(Rendering {
            version: snap.version,
            epoch: snap.epoch,
            uses: snap.uses.clone().into(),
            cell: cell.clone(),
        });
        kept.sort_by_key(|k| std::cmp::Reverse(k.version));
        // The newest rendered one stays until a newer one is rendered.
        let newest_ready = kept.iter().position(|k| k.cell.initialized()).unwrap_or(kept.len());
        for gone in kept.drain((newest_ready + 1).max(2).min(kept.len())..) {
            let freed = gone.cell.get().map_or(0, Bytes::len);
            let _ = self.response_bytes.fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |b| Some(b.saturating_sub(freed)),
            );
        }
        drop(r);
        match earlier {
            Some((uses, bytes)) => {
                // Rendering a large page takes a core for tens of milliseconds:
                // on the blocking pool, not on a thread that answers requests.
                tokio::task::spawn_blocking(move || {
                    if let Ok(bytes) = render() {
                        let _first = cell.set(bytes).is_ok();
                    }
                });
                Serve::Earlier(uses, bytes)
            }
            // Nothing to show meanwhile: this request renders, others wait on the cell.
            None => Serve::Now(cell, render),
        }
    }

    /// Pulls reports stored since the last look (by any hub process).
    async fn refresh_recent(&self, now: OffsetDateTime) -> Result<u64, Error> {
        let last = self.recent.read().await.last_seq;
        let mut fresh = Vec::new();
        let mut cursor = last;
        loop {
            let q = ReportQuery {
                after_seq: Some(cursor),
                superseded: Superseded::Include,
                limit: Some(caveat_store::MAX_PAGE),
                ..ReportQuery::default()
            };
            let page = self.store.reports(&q).await?;
            let Some(tail) = page.last() else { break };
            cursor = tail.seq;
            let full = page.len() == caveat_store::MAX_PAGE;
            fresh.extend(page);
            if !full {
                break;
            }
        }
        if fresh.is_empty() {
            return Ok(last);
        }
        let mut recent = self.recent.write().await;
        if recent.last_seq != last {
            return Ok(recent.last_seq); // another request got there first
        }
        let oldest = now - self.window;
        let mut sources = self.sources.write().unwrap_or_else(PoisonError::into_inner);
        let mut markings = self.markings.lock().unwrap_or_else(PoisonError::into_inner);
        for s in fresh {
            recent.last_seq = recent.last_seq.max(s.seq);
            let r = s.report;
            if r.observed_at < oldest {
                continue;
            }
            sources.insert(r.id, Source::of(&r, &mut markings));
            let at = recent.reports.len();
            recent.by_id.insert(r.id, at);
            recent.observed.push(Observed::new(&r).ok());
            recent.reports.push(r);
        }
        Ok(recent.last_seq)
    }

    /// The tracks of `key` now, fused from exactly the reports policy permits
    /// it (action `fuse`), and the decisions to audit.
    ///
    /// Readers never wait for additions: new reports are folded in at most
    /// every [`ADD_INTERVAL`] by the one request that finds the view due (it
    /// waits for the fold, so a client that submits and then reads sees its
    /// reports), while concurrent requests are served the view as last built.
    /// Anything that can take data away (a policy change, a case closing, a
    /// marking expiring) makes every request wait for a rebuild under the new
    /// rules before it is answered.
    pub(crate) async fn view(
        &self,
        access: &Access,
        user: &User,
        key: &ViewKey,
        case: Option<CaseFacts>,
        now: OffsetDateTime,
    ) -> Result<ViewSnapshot, Error> {
        let policies = access.policies().await?;
        let released = match self.federation.get() {
            Some(f) => f.released(key, case.as_ref(), now).await,
            None => Arc::default(),
        };
        let rules =
            Rules { policy_version: policies.version().get(), case: case.clone(), released: released.generation };
        let policy_change = policies.next_change_after(now);
        drop(policies);
        self.sweep(Some(key));
        let slot = {
            let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = views.entry(key.clone()).or_default().clone();
            // Under the views' lock, so the background sweep never finds it unused.
            *slot.used.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::time::Instant::now());
            slot
        };
        let valid = |b: &Built| b.rules == rules && b.expires.is_none_or(|e| now < e);
        let ask = |case| Asking {
            access,
            user,
            key,
            case,
            now,
            rules: rules.clone(),
            policy_change,
            released: released.clone(),
        };
        if let Some(built) = slot.current().filter(|b| valid(b)) {
            if !slot.due() {
                return Ok(self.snapshot(&built));
            }
            let Ok(mut builder) = slot.builder.try_lock() else {
                // Another request is folding new reports in: serve what is built.
                return Ok(self.snapshot(&built));
            };
            slot.looked_now();
            let last_seq = self.refresh_recent(now).await?;
            if last_seq == built.last_seq {
                return Ok(self.snapshot(&built));
            }
            let next = match builder.take() {
                Some(b) => self.add(&ask(case), &built, b).await?,
                None => self.rebuild(&ask(case), None, None).await?,
            };
            let (built, b) = next;
            slot.publish(built.clone(), &b);
            *builder = Some(b);
            return Ok(self.snapshot(&built));
        }
        let mut builder = slot.builder.lock().await;
        if let Some(built) = slot.current().filter(|b| valid(b)) {
            // Rebuilt under these rules while this request waited.
            return Ok(self.snapshot(&built));
        }
        slot.looked_now();
        let (built, b) = self.rebuild(&ask(case), builder.take(), slot.current()).await?;
        slot.publish(built.clone(), &b);
        *builder = Some(b);
        Ok(self.snapshot(&built))
    }

    fn snapshot(&self, built: &Arc<Built>) -> ViewSnapshot {
        ViewSnapshot {
            version: built.version,
            epoch: built.epoch,
            content: built.content,
            tracks: built.tracks.clone(),
            uses: built.uses.to_vec(),
            sources: self.sources.clone(),
        }
    }

    /// Folds the reports stored since `built` into the view.
    async fn add(&self, ask: &Asking<'_>, built: &Built, mut b: Builder) -> Result<(Arc<Built>, Builder), Error> {
        let rules = ask.rules.clone();
        let recent = self.recent.read().await;
        let new = recent.reports.get(b.decided..).unwrap_or_default();
        let decisions = ask.decide(new).await?;
        group_decisions(&mut b.groups, new, &decisions);
        let mut added: Vec<(Report, Option<Observed>)> = new
            .iter()
            .zip(decisions.iter())
            .enumerate()
            .filter(|(_, (_, d))| d.is_permit())
            .map(|(j, (r, _))| (r.clone(), recent.observed(b.decided + j)))
            .collect();
        b.decided = recent.reports.len();
        let last_seq = recent.last_seq;
        drop(recent);
        let mut expires = built.expires;
        for (r, _) in &added {
            expires = ask.expiring(expires, &r.marking);
        }
        let uses: Arc<[OriginatorUse]> = uses_of(&b.groups).into();
        if added.is_empty() {
            // Only reports this view may not use arrived: nothing it shows
            // changes, not even its version (a live client is not told).
            let built = Built { rules, expires, last_seq, uses, tracks: built.tracks.clone(), ..*built };
            return Ok((Arc::new(built), b));
        }
        let version = self.next_version();
        let previous = built.tracks.clone();
        // Fusing and re-materialising the tracks is CPU work of tens of
        // milliseconds: off the request threads, so other views' readers are not held up.
        let folded = tokio::task::spawn_blocking(move || {
            added.sort_by_key(|(r, _)| (r.observed_at, r.id));
            for (r, shared) in &added {
                fuse_into(&mut b.picture, r, shared.as_ref())?;
            }
            let tracks = Arc::new(b.picture.tracks_shared(&mut b.memo));
            let same = same_tracks(&previous, &tracks);
            Ok::<_, caveat_fusion::Error>((b, tracks, same))
        })
        .await
        .map_err(|e| Error::internal("folding reports into a view", &e))?;
        let (b, tracks, same) = folded.map_err(|e| Error::internal("fusing a report", &e))?;
        let content = if same { built.content } else { built.content + 1 };
        let built = Built { rules, epoch: built.epoch, expires, content, last_seq, version, tracks, uses };
        Ok((Arc::new(built), b))
    }

    /// Decides every recent report afresh and makes the picture hold exactly
    /// the permitted ones.
    async fn rebuild(
        &self,
        ask: &Asking<'_>,
        previous: Option<Builder>,
        last: Option<Arc<Built>>,
    ) -> Result<(Arc<Built>, Builder), Error> {
        let rules = ask.rules.clone();
        self.refresh_recent(ask.now).await?;
        let recent = self.recent.read().await;
        let decisions = ask.decide(&recent.reports).await?;
        let mut permitted = HashSet::new();
        let mut expires: Option<OffsetDateTime> = ask.policy_change;
        for (r, d) in recent.reports.iter().zip(decisions.iter()) {
            if d.is_permit() {
                expires = ask.expiring(expires, &r.marking);
                permitted.insert(r.id);
            }
        }
        // Released reports (federation): decided again by the hub's own policy
        // (anyone's forbid wins), for this view key only.
        let (fed, fed_receipts) = crate::federation::usable(&ask.released, |id| recent.by_id.contains_key(id));
        let refused = self.describe_released(&fed);
        let (fed, fed_receipts): (Vec<Report>, Vec<_>) =
            fed.into_iter().zip(fed_receipts).filter(|(r, _)| !refused.contains(&r.id)).unzip();
        let fed_decisions = if fed.is_empty() { caveat_policy::Decisions::default() } else { ask.decide(&fed).await? };
        for (r, d) in fed.iter().zip(fed_decisions.iter()) {
            if d.is_permit() {
                expires = ask.expiring(expires, &r.marking);
                permitted.insert(r.id);
            }
        }
        expires = earliest(expires, ask.released.expires);
        let fed_by_id: HashMap<ReportId, &Report> = fed.iter().map(|r| (r.id, r)).collect();
        let find = |id: &ReportId| {
            recent.by_id.get(id).and_then(|i| recent.reports.get(*i)).or_else(|| fed_by_id.get(id).copied())
        };
        let mut groups = DecisionGroups::new();
        group_decisions(&mut groups, &recent.reports, &decisions);
        crate::federation::group_released(&mut groups, &fed, &fed_receipts, &fed_decisions);
        let held: HashSet<ReportId> = previous.as_ref().map(|b| b.picture.report_ids().collect()).unwrap_or_default();
        let removed = held.iter().any(|id| !permitted.contains(id));
        let mut added: Vec<&Report> = permitted.iter().filter(|id| !held.contains(id)).filter_map(&find).collect();
        // The picture must end up holding exactly `permitted`; fusion then
        // guarantees it equals batch fusion of that set. Removing reports
        // (a suspension) or adding many re-filters from the earliest change,
        // so then the picture is rebuilt in observation order, which is cheapest.
        let rebuild = removed || previous.is_none() || added.len() > 1_000;
        let (mut picture, mut memo) = match previous {
            Some(b) if !rebuild => (b.picture, b.memo),
            _ => {
                added = permitted.iter().filter_map(&find).collect();
                (Picture::new(self.config.clone()), TrackMemo::default())
            }
        };
        added.sort_by_key(|r| (r.observed_at, r.id));
        for r in added {
            let shared = recent.by_id.get(&r.id).and_then(|&i| recent.observed(i));
            fuse_into(&mut picture, r, shared.as_ref()).map_err(|e| Error::internal("fusing a report", &e))?;
        }
        let version = self.next_version();
        let tracks = Arc::new(picture.tracks_shared(&mut memo));
        // A rebuild follows anyone's policy change: a live client learns of it
        // only if its own tracks came out different.
        let content = match &last {
            Some(l) if same_tracks(&l.tracks, &tracks) => l.content,
            Some(l) => l.content + 1,
            None => 1,
        };
        let built = Built {
            rules,
            epoch: version,
            expires,
            content,
            last_seq: recent.last_seq,
            version,
            tracks,
            uses: uses_of(&groups).into(),
        };
        Ok((Arc::new(built), Builder { decided: recent.reports.len(), groups, picture, memo }))
    }

    /// The reports `key` may use for `action`, with the decisions to audit
    /// (exports decide `export`, so no-export data is withheld).
    pub(crate) async fn permitted(
        &self,
        access: &Access,
        user: &User,
        key: &ViewKey,
        action: Action,
        case: Option<CaseFacts>,
        now: OffsetDateTime,
    ) -> Result<(Vec<Report>, Vec<OriginatorUse>), Error> {
        self.refresh_recent(now).await?;
        let recent = self.recent.read().await;
        let decisions = access.decide(user, key, action, case, &recent.reports, now).await?;
        let uses = decision_uses(&recent.reports, &decisions);
        let out = recent
            .reports
            .iter()
            .zip(decisions.iter())
            .filter(|(_, d)| d.is_permit())
            .map(|(r, _)| r.clone())
            .collect();
        Ok((out, uses))
    }
}

/// The marking's not-after if it is still to come at `now`.
fn future_not_after(marking: &Marking, now: OffsetDateTime) -> Option<OffsetDateTime> {
    marking.not_after.filter(|t| *t > now)
}

/// The earlier of two instants, either of which may be absent.
fn earliest(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether two builds show the same tracks (shared ones compare by pointer).
fn same_tracks(a: &[Arc<Track>], b: &[Arc<Track>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y) || x == y)
}

/// Track lineage grouped by originator, for the side panel.
pub(crate) fn lineage_by_originator(
    track: &Track,
    sources: &HashMap<ReportId, Source>,
) -> BTreeMap<PartnerId, Vec<ReportId>> {
    let mut out: BTreeMap<PartnerId, Vec<ReportId>> = BTreeMap::new();
    for id in track.lineage.sorted() {
        if let Some(s) = sources.get(&id) {
            out.entry(s.originator.clone()).or_default().push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Sources share equal markings, and their combination is the same as
    /// combining the reports' own markings, shared or not (issue 16 item 4:
    /// sharing is only a shortcut). The interner stays bounded when every
    /// report carries its own marking.
    #[test]
    fn shared_markings_combine_as_the_reports_own() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let gbr: PartnerId = "GBR".parse().unwrap_or_else(|_| unreachable!());
        let can: PartnerId = "CAN".parse().unwrap_or_else(|_| unreachable!());
        let wide = Marking {
            releasable_to: [gbr.clone(), can.clone()].into(),
            purposes: [caveat_core::Purpose::Interdiction, caveat_core::Purpose::SearchAndRescue].into(),
            ..Marking::originator_only()
        };
        let narrow = Marking { releasable_to: [can].into(), not_after: Some(now), ..wide.clone() };
        let mut markings = Markings::default();
        let a = markings.intern(&wide);
        let b = markings.intern(&wide.clone());
        assert!(Arc::ptr_eq(&a, &b), "equal markings share one allocation");
        let source = |m: &Marking, markings: &mut Markings| Source {
            originator: gbr.clone(),
            kind: SourceKind::CoastalRadar,
            observed_at: now,
            marking: markings.intern(m),
            station: None,
        };
        let all = [&wide, &narrow, &wide, &narrow, &wide];
        let sources: Vec<Source> = all.iter().map(|m| source(m, &mut markings)).collect();
        assert_eq!(Source::combined(&sources), Marking::combine(all));
        // Equal markings interned apart (after the interner started again) still combine as equal.
        let apart = Source { marking: Arc::new(wide.clone()), ..source(&wide, &mut markings) };
        assert_eq!(Source::combined([&sources[0], &apart]), Some(wide.clone()));
        for minute in 0..(i64::try_from(MAX_INTERNED_MARKINGS).unwrap_or(i64::MAX) + 10) {
            markings.intern(&Marking { not_after: Some(now + Duration::minutes(minute)), ..wide.clone() });
        }
        assert!(markings.0.len() <= MAX_INTERNED_MARKINGS);
    }

    /// Issue 14: a partner's own reports past their not-after stay permitted to
    /// it, so they must not make its views expire at once (they were rebuilt on
    /// every request); a not-after still to come bounds the view.
    #[test]
    fn regression_14_past_not_afters_do_not_expire_a_view() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let past = Marking { not_after: Some(now - Duration::minutes(5)), ..Marking::originator_only() };
        let future = Marking { not_after: Some(now + Duration::minutes(5)), ..Marking::originator_only() };
        assert_eq!(future_not_after(&past, now), None);
        assert_eq!(future_not_after(&future, now), future.not_after);
        assert_eq!(future_not_after(&Marking { not_after: Some(now), ..past.clone() }, now), None);
        assert_eq!(earliest(None, future_not_after(&past, now)), None);
        assert_eq!(earliest(Some(now + Duration::hours(1)), future.not_after), future.not_after);
    }
}
