//! Each view's picture: the tracks fused from exactly the reports its view
//! key may use (DESIGN.md invariant 2), kept up to date as reports arrive and
//! policy changes, and recomputed from scratch whenever the permitted set
//! changes in a way an incremental update cannot express.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use caveat_audit::OriginatorUse;
use caveat_core::{Marking, PartnerId, Report, ReportId, SourceKind, User, ViewKey};
use caveat_fusion::{FusionConfig, Picture, Track};
use caveat_policy::{Action, CaseFacts};
use caveat_store::{ReportQuery, Store, Superseded};
use time::{Duration, OffsetDateTime};

use crate::ApiError;
use crate::access::{Access, DecisionGroups, decision_uses, group_decisions, uses_of};

/// Most delay before newly stored reports are folded into an open view.
const ADD_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// How far back a view looks, by observation time.
pub(crate) const DEFAULT_WINDOW: Duration = Duration::hours(24);

/// The reports every view is computed from: the store's recent reports, in memory.
#[derive(Default)]
struct Recent {
    reports: Vec<Report>,
    by_id: HashMap<ReportId, usize>,
    last_seq: u64,
}

/// What a report contributes to a track's description.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) originator: PartnerId,
    pub(crate) kind: SourceKind,
    pub(crate) observed_at: OffsetDateTime,
    pub(crate) marking: Marking,
}

impl Source {
    pub(crate) fn of(r: &Report) -> Self {
        Source {
            originator: r.originator.clone(),
            kind: r.source,
            observed_at: r.observed_at,
            marking: r.marking.clone(),
        }
    }
}

struct Cached {
    policy_version: u64,
    last_seq: u64,
    /// How many of the recent reports have been decided.
    decided: usize,
    groups: DecisionGroups,
    tracks: Arc<Vec<Track>>,
    version: u64,
    built: std::time::Instant,
    case_open: Option<bool>,
    /// Earliest not-after among the markings decided: past it, decisions may change.
    expires: Option<OffsetDateTime>,
    uses: Vec<OriginatorUse>,
    picture: Picture,
}

/// The tracks of one request, and what the audit entry must record.
pub(crate) struct ViewSnapshot {
    /// Changes whenever the tracks do: responses may be cached under it.
    pub(crate) version: u64,
    pub(crate) tracks: Arc<Vec<Track>>,
    pub(crate) uses: Vec<OriginatorUse>,
    pub(crate) sources: Arc<HashMap<ReportId, Source>>,
}

/// (view version, query) of a rendered response.
type ResponseKey = (u64, String);

/// All open views.
pub(crate) struct Pictures {
    store: Arc<dyn Store>,
    window: Duration,
    config: FusionConfig,
    recent: tokio::sync::RwLock<Recent>,
    sources: Mutex<Arc<HashMap<ReportId, Source>>>,
    views: Mutex<HashMap<ViewKey, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    versions: std::sync::atomic::AtomicU64,
    /// Rendered responses by (view version, query): a snapshot's bytes are the
    /// same for every request that sees that snapshot.
    responses: Mutex<HashMap<ResponseKey, Arc<[u8]>>>,
}

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
            config: FusionConfig::default(),
            recent: tokio::sync::RwLock::new(Recent::default()),
            sources: Mutex::new(Arc::new(HashMap::new())),
            views: Mutex::new(HashMap::new()),
            versions: std::sync::atomic::AtomicU64::new(1),
            responses: Mutex::new(HashMap::new()),
        }
    }

    fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A response rendered earlier for the same view version and query.
    pub(crate) fn cached_response(&self, version: u64, query: &str) -> Option<Arc<[u8]>> {
        self.responses.lock().unwrap_or_else(PoisonError::into_inner).get(&(version, query.to_owned())).cloned()
    }

    /// Keeps a rendered response (a bounded cache: cleared when full).
    pub(crate) fn keep_response(&self, version: u64, query: String, body: Arc<[u8]>) {
        let mut r = self.responses.lock().unwrap_or_else(PoisonError::into_inner);
        if r.len() >= 4_096 {
            r.clear();
        }
        r.insert((version, query), body);
    }

    /// Pulls reports stored since the last look (by any hub process).
    async fn refresh_recent(&self, now: OffsetDateTime) -> Result<u64, ApiError> {
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
        let mut sources = (**self.sources.lock().unwrap_or_else(PoisonError::into_inner)).clone();
        for s in fresh {
            recent.last_seq = recent.last_seq.max(s.seq);
            let r = s.report;
            if r.observed_at < oldest {
                continue;
            }
            sources.insert(r.id, Source::of(&r));
            let at = recent.reports.len();
            recent.by_id.insert(r.id, at);
            recent.reports.push(r);
        }
        *self.sources.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(sources);
        Ok(recent.last_seq)
    }

    /// The tracks of `key` now, fused from exactly the reports policy permits
    /// it (action `fuse`), and the decisions to audit.
    pub(crate) async fn view(
        &self,
        access: &Access,
        user: &User,
        key: &ViewKey,
        case: Option<CaseFacts>,
        now: OffsetDateTime,
    ) -> Result<ViewSnapshot, ApiError> {
        let policy_version = access.policies().await?.version().get();
        let last_seq = self.refresh_recent(now).await?;
        let case_open = case.as_ref().map(|c| c.open);
        let slot = {
            let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
            views.entry(key.clone()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        let same_rules = |c: &Cached| {
            c.policy_version == policy_version && c.case_open == case_open && c.expires.is_none_or(|e| now < e)
        };
        let fresh = slot.as_ref().is_some_and(|c| same_rules(c) && c.last_seq == last_seq);
        // New reports only add to a view: they are folded in at most every
        // ADD_INTERVAL (a bounded delay for additions). Anything that can take
        // data away (a policy change, a case closing, a marking expiring)
        // recomputes the view before this request is answered.
        let addable = slot.as_ref().is_some_and(|c| same_rules(c) && c.last_seq != last_seq);
        let too_soon = slot.as_ref().is_some_and(|c| c.built.elapsed() < ADD_INTERVAL);
        if addable && !too_soon {
            let recent = self.recent.read().await;
            let cached = slot.as_mut().ok_or(ApiError::Internal)?;
            let new = recent.reports.get(cached.decided..).unwrap_or_default();
            let decisions = access.decide(user, key, Action::Fuse, case.clone(), new, now).await?;
            group_decisions(&mut cached.groups, new, &decisions);
            let mut added: Vec<&Report> =
                new.iter().zip(decisions.iter()).filter(|(_, d)| d.is_permit()).map(|(r, _)| r).collect();
            added.sort_by_key(|r| (r.observed_at, r.id));
            for r in added {
                if let Some(t) = r.marking.not_after {
                    cached.expires = Some(cached.expires.map_or(t, |e| e.min(t)));
                }
                cached.picture.insert(r).map_err(|e| ApiError::internal("fusing a report", &e))?;
            }
            cached.decided = recent.reports.len();
            cached.last_seq = last_seq;
            cached.uses = uses_of(&cached.groups);
            cached.tracks = Arc::new(cached.picture.tracks());
            cached.version = self.next_version();
            cached.built = std::time::Instant::now();
        } else if !fresh && !addable {
            let recent = self.recent.read().await;
            let decisions = access.decide(user, key, Action::Fuse, case, &recent.reports, now).await?;
            let mut permitted = HashSet::new();
            let mut expires: Option<OffsetDateTime> = None;
            for (r, d) in recent.reports.iter().zip(decisions.iter()) {
                if d.is_permit() {
                    if let Some(t) = r.marking.not_after {
                        expires = Some(expires.map_or(t, |e| e.min(t)));
                    }
                    permitted.insert(r.id);
                }
            }
            let mut groups = DecisionGroups::new();
            group_decisions(&mut groups, &recent.reports, &decisions);
            let uses = uses_of(&groups);
            let previous = slot.take();
            let held: HashSet<ReportId> =
                previous.as_ref().map(|c| c.picture.report_ids().collect()).unwrap_or_default();
            let removed = held.iter().any(|id| !permitted.contains(id));
            let mut added: Vec<&Report> = permitted
                .iter()
                .filter(|id| !held.contains(id))
                .filter_map(|id| recent.by_id.get(id).and_then(|i| recent.reports.get(*i)))
                .collect();
            // The picture must end up holding exactly `permitted`; fusion then
            // guarantees it equals batch fusion of that set. Removing reports
            // (a suspension) or adding many re-filters from the earliest change,
            // so then the picture is rebuilt in observation order, which is cheapest.
            let rebuild = removed || previous.is_none() || added.len() > 1_000;
            let mut picture = match previous {
                Some(c) if !rebuild => c.picture,
                _ => {
                    added = permitted
                        .iter()
                        .filter_map(|id| recent.by_id.get(id).and_then(|i| recent.reports.get(*i)))
                        .collect();
                    Picture::new(self.config.clone())
                }
            };
            added.sort_by_key(|r| (r.observed_at, r.id));
            for r in added {
                picture.insert(r).map_err(|e| ApiError::internal("fusing a report", &e))?;
            }
            let tracks = Arc::new(picture.tracks());
            *slot = Some(Cached {
                policy_version,
                last_seq,
                decided: recent.reports.len(),
                groups,
                tracks,
                version: self.next_version(),
                built: std::time::Instant::now(),
                case_open,
                expires,
                uses,
                picture,
            });
        }
        let cached = slot.as_mut().ok_or(ApiError::Internal)?;
        let tracks = cached.tracks.clone();
        let version = cached.version;
        let sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(ViewSnapshot { version, tracks, uses: cached.uses.clone(), sources })
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
    ) -> Result<(Vec<Report>, Vec<OriginatorUse>), ApiError> {
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

/// The combined marking of a set of sources: what an export of them carries.
/// Releasable to whom all release to, for purposes all grant, until the
/// earliest not-after; requires a case or forbids export if any does.
pub(crate) fn combined_marking<'a>(markings: impl IntoIterator<Item = &'a Marking>) -> Option<Marking> {
    let mut out: Option<Marking> = None;
    for m in markings {
        out = Some(match out {
            None => m.clone(),
            Some(acc) => Marking {
                releasable_to: acc.releasable_to.intersection(&m.releasable_to).cloned().collect(),
                purposes: acc.purposes.intersection(&m.purposes).copied().collect(),
                not_after: match (acc.not_after, m.not_after) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                requires_case: acc.requires_case || m.requires_case,
                no_export: acc.no_export || m.no_export,
            },
        });
    }
    out
}

/// Track lineage grouped by originator, for the side panel.
pub(crate) fn lineage_by_originator(
    track: &Track,
    sources: &HashMap<ReportId, Source>,
) -> BTreeMap<PartnerId, Vec<ReportId>> {
    let mut out: BTreeMap<PartnerId, Vec<ReportId>> = BTreeMap::new();
    for id in track.lineage.iter() {
        if let Some(s) = sources.get(id) {
            out.entry(s.originator.clone()).or_default().push(*id);
        }
    }
    out
}
