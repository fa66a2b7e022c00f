//! The hub's side of federation: ask nodes per view key, verify their
//! receipts, and hold what they release only under a live lease.
//!
//! The lease store is in memory, on purpose: released reports are the
//! originator's, lent for minutes; writing them to the hub's disk would
//! outlive the lease (backups, the SQLite WAL, a crash before deletion) and
//! hand the hub operator a copy the originator cannot recall. A hub that
//! restarts simply asks again. Held data is bounded per (node, view key) and
//! in the number of view keys.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use caveat_audit::VerifierKey;
use caveat_core::{IngestContext, Marking, Partner, PartnerId, Report, ReportDraft, ReportId, ReportIdMint, ViewKey};
use caveat_policy::CaseFacts;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::receipt::{Receipt, ReceiptId, Scope};
use super::{MAX_RELEASE_REPORTS, NodeClient, NodeError, ReleaseAction, ReleaseAnswer, ReleaseRequest, all_from};

/// How long the hub waits for each page of one node's answer before its data
/// counts as unavailable for this ask. Per page, not per ask: a full release
/// of many reports comes in several pages, and a bound on all of them together
/// made a node whose full release took longer than it never deliver (every ask
/// timed out and began again, in full). Nodes are asked in parallel.
pub const DEFAULT_NODE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// An ask of one node (all its pages) may take at most this many page
/// timeouts in all, so a node that answers each page just in time cannot hold
/// a view's first request for [`MAX_PAGES`] timeouts.
pub const ASK_TIMEOUTS: u32 = 4;

/// Most often one view key asks the nodes again (what views fold new reports at).
const ASK_INTERVAL: std::time::Duration = crate::views::ADD_INTERVAL;

/// After a failed ask a node is left alone this long, for every view key: a
/// node that is down costs at most one timeout per backoff, not one per request.
const BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);

/// After a failed notice request, the wait before the next one.
const NOTICE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Most release answers (pages) read from one node in one ask.
const MAX_PAGES: usize = 10;

/// Most reports held for one (node, view key); past it the node's data for the
/// key is dropped and reported unavailable (a node cannot grow the hub without bound).
const MAX_HELD_REPORTS: usize = 200_000;

/// Most view keys with held data; past it the least recently asked is dropped.
const MAX_KEYS: usize = 256;

/// How far a receipt's issue time may be from the hub's clock.
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Longest lease the hub accepts (a node granting more is misconfigured).
const MAX_LEASE: Duration = Duration::hours(24);

/// One configured node: its partner, its pinned receipt key, how to reach it.
#[derive(Debug, Clone)]
pub struct NodeLink {
    /// The partner the node is of: every report it releases must be this partner's.
    pub partner: PartnerId,
    /// The node's audit key (`caveat audit key` on the node): receipts must verify with it.
    pub key: VerifierKey,
    /// The transport.
    pub client: Arc<dyn NodeClient>,
}

/// What the hub knows of a node's availability (for operators and, later, the API and COP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// The node's partner.
    pub partner: PartnerId,
    /// Whether its last ask succeeded.
    pub available: bool,
    /// When an ask last succeeded.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_ok: Option<OffsetDateTime>,
    /// Why the last failed ask failed.
    pub last_error: Option<String>,
    /// Whether the hub holds an open revocation-notice request to the node
    /// (without one, a suspension reaches the hub at its next ask, or at worst
    /// when the lease ends).
    pub watching: bool,
    /// Revocation notices received (each dropped everything held from the node).
    pub revocations: u64,
    /// View keys for which the hub holds reports from the node under a live lease.
    pub leases_held: u64,
    /// Reports held from the node, over all view keys.
    pub reports_held: u64,
}

/// What one view key may use from the nodes now: the reports, each with the
/// receipt it is held under. Never changed once published.
#[derive(Debug, Default)]
pub struct Released {
    /// Changes whenever the reports or their receipts do (a view rebuilds then).
    pub generation: u64,
    /// The reports, by id.
    pub reports: Vec<Report>,
    /// The receipt each report is held under (same order).
    pub receipts: Vec<ReceiptId>,
    /// The earliest lease expiry among them.
    pub expires: Option<OffsetDateTime>,
}

#[derive(Debug)]
struct HeldReceipt {
    id: ReceiptId,
    issued: OffsetDateTime,
    lease_expires: OffsetDateTime,
}

/// What one node released for one view key, still under lease.
#[derive(Debug, Default)]
struct Held {
    /// The case facts the releases were asked under.
    facts: Option<CaseFacts>,
    /// The last receipt: the next ask continues from it.
    cursor: Option<ReceiptId>,
    reports: BTreeMap<ReportId, (Report, Arc<HeldReceipt>)>,
}

impl Held {
    /// Whether the next ask must be a full release: nothing continues, the case
    /// facts changed, or a lease is past half its life (renewed before it runs out).
    fn needs_full(&self, facts: Option<&CaseFacts>, now: OffsetDateTime) -> bool {
        self.cursor.is_none()
            || self.facts.as_ref() != facts
            || self.reports.values().any(|(_, r)| now >= r.issued + (r.lease_expires - r.issued) / 2)
    }
}

/// One view key's state.
struct KeyState {
    /// Held while asking the nodes.
    asking: tokio::sync::Mutex<()>,
    asked: Mutex<Option<Instant>>,
    used: Mutex<Instant>,
    /// Per configured node (same order as [`Federation::nodes`]).
    held: Mutex<Vec<Held>>,
    /// Set, under the `held` lock, by whatever changes what is held (a release
    /// with reports or a full one, a revocation, new case facts, a reset);
    /// cleared by the publish that follows. Without it every request re-sorted
    /// and compared all held reports (30,000 in the benchmark: most of a
    /// federated view's cost) to learn that nothing had changed.
    changed: AtomicBool,
    current: RwLock<Arc<Released>>,
}

struct NodeState {
    status: NodeStatus,
    backoff_until: Option<Instant>,
    /// Bumped by each revocation notice: an ask begun before one is not
    /// applied (it may carry reports decided under the revoked policy).
    epoch: u64,
}

/// The hub's federation: configured nodes and the reports they lent.
pub struct Federation {
    nodes: Vec<Arc<NodeLink>>,
    timeout: std::time::Duration,
    states: Mutex<Vec<NodeState>>,
    keys: Mutex<HashMap<ViewKey, Arc<KeyState>>>,
    generations: AtomicU64,
    swept: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let partners: Vec<&PartnerId> = self.nodes.iter().map(|n| &n.partner).collect();
        f.debug_struct("Federation").field("nodes", &partners).finish_non_exhaustive()
    }
}

impl Federation {
    /// A federation over `nodes`, waiting `timeout` (at least 10 ms) for each
    /// page of a node's answer and [`ASK_TIMEOUTS`] of it for a whole ask.
    pub fn new(nodes: Vec<NodeLink>, timeout: std::time::Duration) -> Self {
        let states = nodes
            .iter()
            .map(|n| NodeState {
                status: NodeStatus {
                    partner: n.partner.clone(),
                    available: false,
                    last_ok: None,
                    last_error: None,
                    watching: false,
                    revocations: 0,
                    leases_held: 0,
                    reports_held: 0,
                },
                backoff_until: None,
                epoch: 0,
            })
            .collect();
        Federation {
            nodes: nodes.into_iter().map(Arc::new).collect(),
            timeout: timeout.max(std::time::Duration::from_millis(10)),
            states: Mutex::new(states),
            keys: Mutex::default(),
            generations: AtomicU64::new(1),
            swept: Mutex::default(),
        }
    }

    /// Each node's availability, and what the hub holds from it now.
    pub fn status(&self) -> Vec<NodeStatus> {
        let mut out: Vec<NodeStatus> =
            self.states.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|s| s.status.clone()).collect();
        let keys: Vec<Arc<KeyState>> =
            self.keys.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        for k in keys {
            for (h, s) in k.held.lock().unwrap_or_else(PoisonError::into_inner).iter().zip(out.iter_mut()) {
                if !h.reports.is_empty() {
                    s.leases_held += 1;
                    s.reports_held += h.reports.len() as u64;
                }
            }
        }
        out
    }

    /// Every report id held for any view key (what the hub may still describe).
    pub(crate) fn held_ids(&self) -> HashSet<ReportId> {
        let keys: Vec<Arc<KeyState>> =
            self.keys.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        let mut out = HashSet::new();
        for k in keys {
            for h in k.held.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                out.extend(h.reports.keys().copied());
            }
        }
        out
    }

    fn key_state(&self, key: &ViewKey) -> Arc<KeyState> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = keys.get(key) {
            *k.used.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
            return k.clone();
        }
        if keys.len() >= MAX_KEYS {
            let oldest = keys
                .iter()
                .min_by_key(|(_, k)| *k.used.lock().unwrap_or_else(PoisonError::into_inner))
                .map(|(key, _)| key.clone());
            if let Some(o) = oldest {
                keys.remove(&o);
            }
        }
        let state = Arc::new(KeyState {
            asking: tokio::sync::Mutex::new(()),
            asked: Mutex::new(None),
            used: Mutex::new(Instant::now()),
            held: Mutex::new(self.nodes.iter().map(|_| Held::default()).collect()),
            changed: AtomicBool::new(false),
            current: RwLock::default(),
        });
        keys.insert(key.clone(), state.clone());
        state
    }

    /// What `key` may use from the nodes now, asking them first when due.
    ///
    /// The first request for a key waits for the nodes' answers (each bounded
    /// by the timeout, all in parallel), so a new view starts with the
    /// released data; later the one request that finds the key due asks while
    /// the others use what is held. Expired leases are dropped before
    /// anything is returned, and a change of the case's facts drops
    /// everything released under the old ones at once.
    pub(crate) async fn released(
        &self,
        key: &ViewKey,
        facts: Option<&CaseFacts>,
        now: OffsetDateTime,
    ) -> Arc<Released> {
        self.sweep(now);
        let ks = self.key_state(key);
        {
            let mut held = ks.held.lock().unwrap_or_else(PoisonError::into_inner);
            for h in held.iter_mut().filter(|h| h.facts.as_ref() != facts && !h.reports.is_empty()) {
                *h = Held::default();
                ks.changed.store(true, Ordering::Release);
            }
        }
        let never = ks.asked.lock().unwrap_or_else(PoisonError::into_inner).is_none();
        let guard = if never { Some(ks.asking.lock().await) } else { ks.asking.try_lock().ok() };
        if let Some(_asking) = guard {
            let due =
                ks.asked.lock().unwrap_or_else(PoisonError::into_inner).is_none_or(|t| t.elapsed() >= ASK_INTERVAL);
            if due {
                *ks.asked.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                self.ask_all(&ks, key, facts, now).await;
            }
        }
        self.publish(&ks, now);
        ks.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Drops expired leases of every key, at most once a second: data must go
    /// when its lease ends even for keys nobody asks about.
    fn sweep(&self, now: OffsetDateTime) {
        {
            let mut swept = self.swept.lock().unwrap_or_else(PoisonError::into_inner);
            if swept.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
                return;
            }
            *swept = Some(Instant::now());
        }
        let keys: Vec<Arc<KeyState>> =
            self.keys.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        for k in keys {
            self.publish(&k, now);
        }
    }

    async fn ask_all(&self, ks: &KeyState, key: &ViewKey, facts: Option<&CaseFacts>, now: OffsetDateTime) {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, link) in self.nodes.iter().enumerate() {
            {
                let states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
                if states.get(i).and_then(|s| s.backoff_until).is_some_and(|t| Instant::now() < t) {
                    continue;
                }
            }
            let epoch = self.states.lock().unwrap_or_else(PoisonError::into_inner).get(i).map_or(0, |s| s.epoch);
            let cursor = {
                let held = ks.held.lock().unwrap_or_else(PoisonError::into_inner);
                held.get(i).filter(|h| !h.needs_full(facts, now)).and_then(|h| h.cursor.clone())
            };
            let (link, key, facts, timeout) = (link.clone(), key.clone(), facts.cloned(), self.timeout);
            tasks.spawn(async move {
                let asked = ask_node(&link, &key, facts.as_ref(), ReleaseAction::Fuse, cursor, timeout, now).await;
                (i, epoch, asked)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, epoch, result)) = joined else { continue };
            let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(state) = states.get_mut(i) else { continue };
            match result {
                // A revocation arrived while asking: what the node answered may
                // predate it. Nothing of it is held; the next request asks again.
                Ok(_) if state.epoch != epoch => {}
                Ok(releases) => {
                    let mut held = ks.held.lock().unwrap_or_else(PoisonError::into_inner);
                    let Some(h) = held.get_mut(i) else { continue };
                    if apply(h, facts, releases) {
                        ks.changed.store(true, Ordering::Release);
                    }
                    if h.reports.len() > MAX_HELD_REPORTS {
                        *h = Held::default();
                        ks.changed.store(true, Ordering::Release);
                        state.status.available = false;
                        state.status.last_error = Some("node released more reports than the hub holds per view".into());
                        continue;
                    }
                    state.status.available = true;
                    state.status.last_ok = Some(now);
                    state.backoff_until = None;
                }
                Err(e) => {
                    eprintln!("caveat-hub: node {} for {key}: {e}", state.status.partner);
                    state.status.available = false;
                    state.status.last_error = Some(e.to_string());
                    state.backoff_until = Some(Instant::now() + BACKOFF);
                }
            }
        }
    }

    /// A revocation notice from node `i`: drops everything held from it, for
    /// every view key, before anything else is answered, and makes each key's
    /// next request wait for a fresh (full, re-decided) release.
    fn revoke(&self, i: usize, now: OffsetDateTime) {
        {
            let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = states.get_mut(i) {
                s.epoch += 1;
                s.status.revocations += 1;
                s.backoff_until = None;
            }
        }
        let keys: Vec<Arc<KeyState>> =
            self.keys.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        for k in keys {
            if let Some(h) = k.held.lock().unwrap_or_else(PoisonError::into_inner).get_mut(i) {
                *h = Held::default();
                k.changed.store(true, Ordering::Release);
            }
            *k.asked.lock().unwrap_or_else(PoisonError::into_inner) = None;
            self.publish(&k, now);
        }
    }

    fn set_watching(&self, i: usize, watching: bool) {
        if let Some(s) = self.states.lock().unwrap_or_else(PoisonError::into_inner).get_mut(i) {
            s.status.watching = watching;
        }
    }

    /// Keeps one revocation-notice request open to each node, for as long as
    /// the federation lives (each task holds it weakly). Needs a Tokio runtime;
    /// without one nothing is started and suspensions arrive with the next ask.
    pub(crate) fn watch_nodes(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        for i in 0..self.nodes.len() {
            let weak = Arc::downgrade(self);
            runtime.spawn(async move { watch_node(weak, i).await });
        }
    }

    /// Asks every node, in parallel and fresh, for an **export** release for
    /// `key`: the node decides `export` (so its no-export data stays home) and
    /// signs an export receipt. Nothing of it is held: an export is a copy the
    /// receipt permits once, cited by the export's audit entry. A node that
    /// fails contributes nothing (and its status says why).
    pub(crate) async fn export_release(
        &self,
        key: &ViewKey,
        facts: Option<&CaseFacts>,
        now: OffsetDateTime,
    ) -> (Vec<Report>, Vec<ReceiptId>) {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, link) in self.nodes.iter().enumerate() {
            let (link, key, facts, timeout) = (link.clone(), key.clone(), facts.cloned(), self.timeout);
            tasks.spawn(async move {
                (i, ask_node(&link, &key, facts.as_ref(), ReleaseAction::Export, None, timeout, now).await)
            });
        }
        let mut pairs: Vec<(Report, ReceiptId)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, result)) = joined else { continue };
            match result {
                Ok(releases) => {
                    for (receipt, reports) in releases {
                        pairs.extend(reports.into_iter().map(|r| (r, receipt.id.clone())));
                    }
                }
                Err(e) => {
                    let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(state) = states.get_mut(i) {
                        eprintln!("caveat-hub: node {} for an export of {key}: {e}", state.status.partner);
                        state.status.available = false;
                        state.status.last_error = Some(e.to_string());
                    }
                }
            }
        }
        pairs.sort_by_key(|(r, _)| r.id);
        pairs.dedup_by_key(|(r, _)| r.id);
        pairs.into_iter().unzip()
    }

    /// Drops expired leases and publishes a new [`Released`] if anything changed.
    ///
    /// Cheap when nothing did: what is published is rebuilt only after a change
    /// to what is held or once its earliest lease end is reached. That lease
    /// end is a deadline checked here on every call, so a lease that runs out
    /// takes its reports out of the very next answer even when nothing else
    /// happened (no ask, no notice, no sweep).
    fn publish(&self, ks: &KeyState, now: OffsetDateTime) {
        let mut held = ks.held.lock().unwrap_or_else(PoisonError::into_inner);
        let lease_ended = ks.current.read().unwrap_or_else(PoisonError::into_inner).expires.is_some_and(|e| now >= e);
        if !ks.changed.swap(false, Ordering::AcqRel) && !lease_ended {
            return;
        }
        for h in held.iter_mut() {
            h.reports.retain(|_, (_, r)| r.lease_expires > now);
        }
        let mut pairs: Vec<(&Report, &Arc<HeldReceipt>)> =
            held.iter().flat_map(|h| h.reports.values().map(|(r, rc)| (r, rc))).collect();
        pairs.sort_by_key(|(r, _)| r.id);
        let current = ks.current.read().unwrap_or_else(PoisonError::into_inner).clone();
        let same = current.reports.len() == pairs.len()
            && current
                .reports
                .iter()
                .zip(&current.receipts)
                .zip(&pairs)
                .all(|((r, c), (pr, pc))| r.id == pr.id && *c == pc.id);
        if same {
            return;
        }
        let released = Released {
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
            reports: pairs.iter().map(|(r, _)| (*r).clone()).collect(),
            receipts: pairs.iter().map(|(_, c)| c.id.clone()).collect(),
            expires: pairs.iter().map(|(_, c)| c.lease_expires).min(),
        };
        drop(held);
        *ks.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(released);
    }
}

/// One node's notice loop: ask for the node's policy version, then wait for it
/// to change; each change is a revocation. After a failure the last version
/// known is asked after again, so a change made while the node or the link was
/// down is still noticed when it returns.
async fn watch_node(federation: std::sync::Weak<Federation>, i: usize) {
    let mut known: Option<u64> = None;
    loop {
        let Some(link) = federation.upgrade().and_then(|f| f.nodes.get(i).cloned()) else { return };
        let wait = super::MAX_NOTICE_WAIT + std::time::Duration::from_secs(5);
        let answer = tokio::time::timeout(wait, link.client.notice(known)).await;
        drop(link);
        let Some(f) = federation.upgrade() else { return };
        match answer {
            Ok(Ok(version)) => {
                f.set_watching(i, true);
                if known.is_some_and(|k| k != version) {
                    f.revoke(i, OffsetDateTime::now_utc());
                }
                known = Some(version);
            }
            Ok(Err(_)) | Err(_) => {
                f.set_watching(i, false);
                drop(f);
                tokio::time::sleep(NOTICE_RETRY).await;
            }
        }
    }
}

/// Applies verified releases (in order) to what is held from their node, and
/// says whether the held reports or their receipts changed (an incremental
/// release with nothing new only moves the cursor).
fn apply(h: &mut Held, facts: Option<&CaseFacts>, releases: Vec<(Receipt, Vec<Report>)>) -> bool {
    let mut changed = false;
    for (receipt, reports) in releases {
        if receipt.scope == Scope::Full {
            changed |= !h.reports.is_empty() || !reports.is_empty();
            h.reports.clear();
        }
        changed |= !reports.is_empty();
        let held = Arc::new(HeldReceipt {
            id: receipt.id.clone(),
            issued: receipt.issued,
            lease_expires: receipt.lease_expires,
        });
        for r in reports {
            h.reports.insert(r.id, (r, held.clone()));
        }
        h.cursor = Some(receipt.id);
        h.facts = facts.cloned();
    }
    changed
}

/// One ask of one node: up to [`MAX_PAGES`] releases, each verified, each
/// within `page_timeout`, all within [`ASK_TIMEOUTS`] of it.
async fn ask_node(
    link: &NodeLink,
    key: &ViewKey,
    facts: Option<&CaseFacts>,
    action: ReleaseAction,
    cursor: Option<ReceiptId>,
    page_timeout: std::time::Duration,
    now: OffsetDateTime,
) -> Result<Vec<(Receipt, Vec<Report>)>, NodeError> {
    let cap = page_timeout.saturating_mul(ASK_TIMEOUTS);
    tokio::time::timeout(cap, ask_pages(link, key, facts, action, cursor, page_timeout, now))
        .await
        .unwrap_or(Err(NodeError::Timeout(cap)))
}

async fn ask_pages(
    link: &NodeLink,
    key: &ViewKey,
    facts: Option<&CaseFacts>,
    action: ReleaseAction,
    mut cursor: Option<ReceiptId>,
    page_timeout: std::time::Duration,
    now: OffsetDateTime,
) -> Result<Vec<(Receipt, Vec<Report>)>, NodeError> {
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let req = ReleaseRequest {
            recipient: key.partner.clone(),
            purpose: key.purpose,
            case: facts.cloned(),
            action,
            bbox: None,
            window: caveat_core::TimeWindow::default(),
            cursor: cursor.as_ref().map(ToString::to_string),
            limit: Some(MAX_RELEASE_REPORTS),
        };
        let answer = tokio::time::timeout(page_timeout, link.client.release(&req))
            .await
            .unwrap_or(Err(NodeError::Timeout(page_timeout)))?;
        let more = answer.more;
        let receipt = verify(link, &req, &answer, now).map_err(NodeError::Bad)?;
        cursor = Some(receipt.id.clone());
        out.push((receipt, answer.reports));
        if !more {
            break;
        }
    }
    Ok(out)
}

/// Checks a release against the request and the node's pinned key: the
/// receipt verifies, names this node, recipient, purpose, case facts and
/// action, covers exactly the reports sent, and grants a sane lease; every
/// report is the node partner's and valid as a posted report would be.
pub(crate) fn verify(
    link: &NodeLink,
    req: &ReleaseRequest,
    answer: &ReleaseAnswer,
    now: OffsetDateTime,
) -> Result<Receipt, String> {
    let r = Receipt::open(&answer.receipt, &link.key).map_err(|e| e.to_string())?;
    let matches = r.node == link.partner
        && r.recipient == req.recipient
        && r.purpose == req.purpose
        && r.case == req.case
        && r.action == req.action;
    if !matches {
        return Err("receipt is for another node, recipient, purpose, case or action".into());
    }
    let scope_ok = match (&r.scope, &req.cursor) {
        (Scope::Full, _) => true,
        (Scope::Since(since), Some(c)) => since.as_str() == c,
        (Scope::Since(_), None) => false,
    };
    if !scope_ok {
        return Err("receipt continues a release the hub did not name".into());
    }
    if (r.issued - now).abs() > MAX_CLOCK_SKEW {
        return Err("receipt issued more than 5 minutes from the hub's clock".into());
    }
    if r.lease_expires < r.issued || r.lease_expires - r.issued > MAX_LEASE {
        return Err("receipt lease is negative or longer than 24 hours".into());
    }
    if answer.reports.len() > req.limit.unwrap_or(MAX_RELEASE_REPORTS) {
        return Err("more reports than asked for".into());
    }
    if !all_from(&answer.reports, &link.partner) {
        return Err("a released report is not the node partner's".into());
    }
    if !r.covers(&answer.reports) {
        return Err("reports do not match the receipt's count or digests".into());
    }
    let partner = Partner {
        id: link.partner.clone(),
        name: "node".into(),
        default_marking: Marking::originator_only(),
        ais_marking: None,
    };
    for report in &answer.reports {
        valid_report(report, &partner, now).map_err(|e| format!("released report {}: {e}", report.id))?;
    }
    Ok(r)
}

/// Whether `report` passes the checks a report posted to the hub passes
/// (positions, uncertainties, speeds, descriptors, remarks, marking limits).
fn valid_report(report: &Report, partner: &Partner, now: OffsetDateTime) -> Result<(), String> {
    let json = serde_json::to_value(report).map_err(|e| e.to_string())?;
    let mut draft: ReportDraft = serde_json::from_value(json).map_err(|e| e.to_string())?;
    // Without an id, validation mints one instead of scoping it: the node's
    // id is kept and compared apart.
    draft.id = None;
    let mut ctx = IngestContext {
        submitter: partner,
        now,
        max_future_skew: caveat_core::DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(0, [0; 10]),
    };
    let checked = draft.validate(&mut ctx).map_err(|e| e.to_string())?;
    if (Report { id: report.id, ..checked }) != *report {
        return Err("does not survive validation unchanged".into());
    }
    Ok(())
}

impl crate::Hub {
    /// Makes this hub (and every clone of it) ask `federation`'s nodes for
    /// every view it builds. Once: a second federation is ignored.
    ///
    /// Also keeps a revocation-notice request open to each node (when called
    /// inside a Tokio runtime), so a suspension at a node drops what the hub
    /// holds from it before the hub's next answer.
    pub fn federate(&self, federation: Federation) {
        let federation = Arc::new(federation);
        if self.views.set_federation(federation.clone()) {
            federation.watch_nodes();
        }
    }

    /// The configured nodes' availability (empty without federation).
    pub fn federation_status(&self) -> Vec<NodeStatus> {
        self.views.federation().map(|f| f.status()).unwrap_or_default()
    }
}

/// The released reports a view decides: those not also posted to the hub
/// (a posted copy is decided as posted), with the receipt each is held under.
pub(crate) fn usable(released: &Released, posted: impl Fn(&ReportId) -> bool) -> (Vec<Report>, Vec<ReceiptId>) {
    released
        .reports
        .iter()
        .zip(&released.receipts)
        .filter(|(r, _)| !posted(&r.id))
        .map(|(r, c)| (r.clone(), c.clone()))
        .unzip()
}

/// Adds the hub's decisions on released reports to a view's audit groups: a
/// permitted report's use cites the receipt it is held under among its
/// determining policies (`release/<receipt id>`), so the entry says which
/// release the use relied on (no change to the entry format).
pub(crate) fn group_released(
    groups: &mut crate::access::DecisionGroups,
    reports: &[Report],
    receipts: &[ReceiptId],
    decisions: &caveat_policy::Decisions,
) {
    for ((r, receipt), d) in reports.iter().zip(receipts).zip(decisions.iter()) {
        let mut determining: Vec<String> = d.determining.iter().map(|p| p.as_str().to_owned()).collect();
        if d.is_permit() {
            determining.push(format!("release/{receipt}"));
        }
        groups.entry((r.originator.clone(), d.effect, determining)).or_default().push(r.id);
    }
}

impl crate::Hub {
    /// The reports among `ids` that nodes released to `key` and the hub holds
    /// under a live lease now (asking the nodes first when due, as a view
    /// would), each with the receipt it is held under. What a case citation
    /// or a direct read of a report not posted to the hub may use: nothing
    /// released to another key, nothing past its lease or a revocation.
    pub(crate) async fn released_among(
        &self,
        key: &ViewKey,
        facts: Option<&CaseFacts>,
        ids: &[ReportId],
        now: OffsetDateTime,
    ) -> (Vec<Report>, Vec<ReceiptId>) {
        let Some(federation) = self.views.federation() else { return (Vec::new(), Vec::new()) };
        if ids.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let released = federation.released(key, facts, now).await;
        let wanted: HashSet<&ReportId> = ids.iter().collect();
        released
            .reports
            .iter()
            .zip(&released.receipts)
            .filter(|(r, _)| wanted.contains(&r.id))
            .map(|(r, c)| (r.clone(), c.clone()))
            .unzip()
    }
}
