//! A view's behaviour events (issue 20): detected by `caveat-events` from
//! exactly the snapshot the view serves (its tracks, and the reports its
//! decisions permitted), kept per view key so that an event announced once
//! and no longer found is retracted rather than forgotten, and delivered with
//! its lineage and combined marking, audited like any read.
//!
//! Retraction never outlives permission: an announced event resting on a
//! report the view may no longer use (a suspension, a policy change, an
//! expired marking) is dropped, not retracted, because a retracted event
//! still shows where and when it was.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use caveat_core::{Marking, PartnerId, Position, Report, ReportId, User, ViewKey};
use caveat_events::{Detector, Event, EventConfig, EventId, EventKind};
use caveat_fusion::Track;
use caveat_policy::Action;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::access::decision_uses;
use crate::views::DEFAULT_WINDOW;
use crate::{Error, Hub};

/// Events of one view recomputed at least this often even when its tracks
/// did not change: an AIS silence becomes a gap with time alone.
const RECHECK: Duration = Duration::seconds(60);

/// Most events (live and retracted) kept per view.
const MAX_ANNOUNCED: usize = 100_000;

/// Most views whose announced events are kept (least recently asked dropped first).
const MAX_VIEWS: usize = 1_024;

/// Events per response unless the query says.
const DEFAULT_LIMIT: usize = 500;

/// What a view has announced.
#[derive(Debug, Clone)]
struct Announced {
    event: Event,
    raised_at: OffsetDateTime,
    retracted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
struct ViewEvents {
    /// The snapshot version, detector generation and rules generation last detected over, and when.
    detected: Option<(u64, u64, u64, OffsetDateTime)>,
    /// The view partner's watch rules' own area and speed detections (issue 20
    /// item 5), made in the same pass over the same permitted reports, and
    /// the reports they rest on; alerts only, never listed as the view's events.
    own: Vec<Event>,
    own_reports: Vec<Report>,
    announced: BTreeMap<EventId, Announced>,
    /// The reports the announced events rest on, for the audit of each delivery.
    reports: Vec<Report>,
    used: Option<std::time::Instant>,
}

/// The hub's events: the detector, and per view what it has announced.
pub(crate) struct Events {
    detector: Mutex<(u64, Arc<Detector>)>,
    /// Bumped at every watch rule change: views detect their rules' areas again.
    rules_generation: std::sync::atomic::AtomicU64,
    views: Mutex<HashMap<ViewKey, Arc<tokio::sync::Mutex<ViewEvents>>>>,
}

impl Events {
    /// Events detected with the default definitions (GFW's).
    pub(crate) fn new() -> Result<Events, Error> {
        let detector =
            Detector::new(EventConfig::default()).map_err(|e| Error::internal("checking event defaults", &e))?;
        Ok(Events {
            detector: Mutex::new((0, Arc::new(detector))),
            rules_generation: std::sync::atomic::AtomicU64::new(0),
            views: Mutex::default(),
        })
    }

    /// A watch rule changed: every view detects its rules' areas again on its next request.
    pub(crate) fn rules_changed(&self) {
        self.rules_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The detector now (its generation, and it).
    pub(crate) fn detector(&self) -> (u64, Arc<Detector>) {
        self.detector.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn view(&self, key: &ViewKey) -> Arc<tokio::sync::Mutex<ViewEvents>> {
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        if views.len() >= MAX_VIEWS && !views.contains_key(key) {
            // Drop the least recently asked (a view whose lock is held counts as in use).
            let oldest =
                views.iter().filter_map(|(k, v)| v.try_lock().ok().map(|v| (v.used, k.clone()))).min().map(|(_, k)| k);
            if let Some(k) = oldest {
                views.remove(&k);
            }
        }
        views.entry(key.clone()).or_default().clone()
    }
}

/// The kind of an event, by its published name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EventKindName {
    /// AIS silent at sea for the gap threshold, no other sensor holding the vessel.
    AisGap,
    /// AIS silent at sea while another sensor still holds the vessel.
    GoingDark,
    /// Two AIS vessels close, slow and away from anchorages for the threshold time.
    Encounter,
    /// As an encounter, with at least one of the two without AIS.
    DarkRendezvous,
    /// One vessel slow and far from shore for the threshold time.
    Loitering,
    /// Entered a configured area.
    AreaEntry,
    /// Left a configured area.
    AreaExit,
    /// Held a configured speed range in an area.
    SpeedInArea,
    /// One MMSI at two places no vessel could join in the time between.
    MmsiInTwoPlaces,
    /// A track's reports changed MMSI.
    MmsiChange,
}

impl From<EventKind> for EventKindName {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::AisGap => EventKindName::AisGap,
            EventKind::GoingDark => EventKindName::GoingDark,
            EventKind::Encounter => EventKindName::Encounter,
            EventKind::DarkRendezvous => EventKindName::DarkRendezvous,
            EventKind::Loitering => EventKindName::Loitering,
            EventKind::AreaEntry => EventKindName::AreaEntry,
            EventKind::AreaExit => EventKindName::AreaExit,
            EventKind::SpeedInArea => EventKindName::SpeedInArea,
            EventKind::MmsiInTwoPlaces => EventKindName::MmsiInTwoPlaces,
            // `EventKind` is exhaustive here by design: a new kind must get a name.
            EventKind::MmsiChange => EventKindName::MmsiChange,
        }
    }
}

/// Whether an announced event still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// Its criteria hold on the view's data.
    Active,
    /// Announced earlier; late or corrected data no longer support it.
    Retracted,
}

/// An event of the caller's view, derived only from what its view key may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventBody {
    /// Stable id: the same event detected again has the same id.
    pub id: String,
    /// What happened.
    pub kind: EventKindName,
    /// Active or retracted.
    pub state: EventState,
    /// When the criteria first held (the true start, however late the data came).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// When they stopped holding; null while they still hold.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub end: Option<OffsetDateTime>,
    /// Where, at the start.
    pub position: Position,
    /// The tracks it is about (ids as at `/v1/tracks`).
    pub tracks: Vec<String>,
    /// The MMSIs it is about (gaps, identity anomalies).
    pub mmsis: Vec<u32>,
    /// The area or speed rule it names.
    #[schema(required)]
    pub rule: Option<String>,
    /// The reports it rests on: its lineage.
    pub reports: Vec<ReportId>,
    /// The partners whose reports those are.
    pub originators: BTreeSet<PartnerId>,
    /// The combined marking of those reports (never wider than any of them); null for none.
    #[schema(required)]
    pub marking: Option<Marking>,
    /// When this view first announced it.
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    /// When this view retracted it; null while active.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub retracted_at: Option<OffsetDateTime>,
}

/// The events of the caller's view, by start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventList {
    /// The events, earliest start first (active and retracted).
    pub events: Vec<EventBody>,
    /// Whether more matched than `limit`.
    pub truncated: bool,
}

/// Which events of a view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only these kinds (all when empty).
    pub kinds: Vec<EventKindName>,
    /// Leave out retracted events.
    pub active_only: bool,
    /// Most events (clamped to 1..=[`crate::Limits::max_page`]).
    pub limit: Option<usize>,
}

/// What [`Hub::detect_events`] returns.
pub(crate) struct DetectedEvents {
    /// The events `q` chose, earliest start first.
    pub(crate) events: Vec<EventBody>,
    /// The reports they rest on.
    pub(crate) reports: Vec<Report>,
    /// The view's case.
    pub(crate) case: Option<caveat_policy::CaseFacts>,
    /// The time they were detected for.
    pub(crate) now: OffsetDateTime,
    /// The snapshot detected over.
    pub(crate) snap: crate::views::ViewSnapshot,
    /// The partner's rules' own area and speed detections over the same data.
    pub(crate) own: Vec<Event>,
    /// The reports those rest on.
    pub(crate) own_reports: Vec<Report>,
}

/// Folds a new detection into what a view announced (see the module doc).
fn reconcile(view: &mut ViewEvents, detected: Vec<Event>, permitted: &HashSet<ReportId>, now: OffsetDateTime) {
    view.announced.retain(|_, a| a.event.reports.iter().all(|r| permitted.contains(r)));
    let found: HashSet<EventId> = detected.iter().map(|e| e.id).collect();
    for e in detected {
        match view.announced.get_mut(&e.id) {
            Some(a) => {
                if a.retracted_at.take().is_some() {
                    a.raised_at = now;
                }
                a.event = e;
            }
            None => {
                view.announced.insert(e.id, Announced { event: e, raised_at: now, retracted_at: None });
            }
        }
    }
    for a in view.announced.values_mut() {
        if a.retracted_at.is_none() && !found.contains(&a.event.id) {
            a.retracted_at = Some(now);
        }
    }
    // Retracted events are history for the view's window, and bounded.
    view.announced.retain(|_, a| a.retracted_at.is_none_or(|t| now - t < DEFAULT_WINDOW));
    if view.announced.len() > MAX_ANNOUNCED {
        let mut retracted: Vec<(OffsetDateTime, EventId)> =
            view.announced.values().filter_map(|a| a.retracted_at.map(|t| (t, a.event.id))).collect();
        retracted.sort();
        let excess = view.announced.len() - MAX_ANNOUNCED;
        for (_, id) in retracted.into_iter().take(excess) {
            view.announced.remove(&id);
        }
    }
}

impl Hub {
    /// Replaces the event definitions (thresholds, areas, speed rules, shore
    /// points) for every view; views detect again on their next request.
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the field of `config` out of range.
    pub fn set_event_config(&self, config: EventConfig) -> Result<(), Error> {
        let d = Detector::new(config).map_err(|e| Error::BadRequest(e.to_string()))?;
        let mut cur = self.events.detector.lock().unwrap_or_else(PoisonError::into_inner);
        *cur = (cur.0 + 1, Arc::new(d));
        Ok(())
    }

    /// The events of `key`'s view: detected from exactly the snapshot the
    /// view serves now, with those it announced before and no longer finds
    /// marked retracted. The decisions behind the reports the delivered events
    /// rest on are audited before they are returned.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store or the audit log fails.
    pub async fn events(&self, user: &User, key: &ViewKey, q: EventQuery) -> Result<EventList, Error> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, self.limits.max_page);
        let DetectedEvents { mut events, reports: delivered, case, now, .. } =
            self.detect_events(user, key, &q).await?;
        let truncated = events.len() > limit;
        events.truncate(limit);
        self.audit_events(user, key, &events, &delivered, case, now).await?;
        Ok(EventList { events, truncated })
    }

    /// What changed in `key`'s view's events since the stream that `seen`
    /// belongs to last sent: events newly raised, and those whose state or
    /// end changed (a retraction, an event ending), earliest start first, at
    /// most `limit`. Only what is returned is audited, as a read of the
    /// reports it rests on; an event the view may no longer use at all (a
    /// suspension) is not announced, it is gone, and `seen` forgets it.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store or the audit log fails.
    pub async fn event_changes(
        &self,
        user: &User,
        key: &ViewKey,
        q: &EventQuery,
        seen: &mut crate::sent::EventsSeen,
    ) -> Result<Vec<EventBody>, Error> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, self.limits.max_page);
        let DetectedEvents { events, reports: delivered, case, now, .. } = self.detect_events(user, key, q).await?;
        let changed = seen.changes(events, limit);
        if changed.is_empty() {
            return Ok(changed);
        }
        self.audit_events(user, key, &changed, &delivered, case, now).await?;
        seen.mark_sent(&changed);
        Ok(changed)
    }

    /// Detects (or reuses) `key`'s view's events and renders those `q`
    /// chooses, earliest start first, with the reports they may rest on and
    /// the snapshot they were detected over.
    pub(crate) async fn detect_events(
        &self,
        user: &User,
        key: &ViewKey,
        q: &EventQuery,
    ) -> Result<DetectedEvents, Error> {
        let (snap, case, now) = self.current_with_case(user, key).await?;
        let (generation, detector) = self.events.detector.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let slot = self.events.view(key);
        let mut view = slot.lock().await;
        view.used = Some(std::time::Instant::now());
        let rules_generation = self.events.rules_generation.load(std::sync::atomic::Ordering::Relaxed);
        let fresh = view.detected.is_some_and(|(v, g, r, at)| {
            v == snap.version && g == generation && r == rules_generation && now - at < RECHECK
        });
        if !fresh {
            let rules = self.rules_of_partner(&key.partner).await?;
            // Decided for this view key before anything is detected: events are fused after filtering too.
            let since = now - DEFAULT_WINDOW;
            let (reports, _) = self.views.permitted(&self.access, user, key, Action::Fuse, case.clone(), now).await?;
            let reports: Vec<Report> = reports.into_iter().filter(|r| r.observed_at >= since).collect();
            let allowed: HashSet<ReportId> = reports.iter().map(|r| r.id).collect();
            let tracks: Vec<&Track> = snap.tracks.iter().map(|t| &**t).collect();
            let refs: Vec<&Report> = reports.iter().collect();
            let detected = detector.detect(&tracks, &refs, now);
            reconcile(&mut view, detected, &allowed, now);
            let needed: HashSet<ReportId> =
                view.announced.values().flat_map(|a| a.event.reports.iter().copied()).collect();
            let mut own = Vec::new();
            for config in crate::alerts::rule_configs(&rules) {
                let d = Detector::new(config).map_err(|e| Error::internal("checking rule areas", &e))?;
                own.extend(d.detect_areas(&tracks, &refs, now));
            }
            let own_needed: HashSet<ReportId> = own.iter().flat_map(|e| e.reports.iter().copied()).collect();
            view.own_reports = reports.iter().filter(|r| own_needed.contains(&r.id)).cloned().collect();
            view.own = own;
            view.reports = reports.into_iter().filter(|r| needed.contains(&r.id)).collect();
            view.detected = Some((snap.version, generation, rules_generation, now));
        }
        let mut chosen: Vec<&Announced> = view
            .announced
            .values()
            .filter(|a| q.kinds.is_empty() || q.kinds.contains(&a.event.kind.into()))
            .filter(|a| !q.active_only || a.retracted_at.is_none())
            .collect();
        chosen.sort_by(|a, b| a.event.start.cmp(&b.event.start).then(a.event.id.cmp(&b.event.id)));
        let body: Vec<EventBody> = {
            let sources = snap.sources.read().unwrap_or_else(PoisonError::into_inner);
            chosen
                .iter()
                .map(|a| {
                    let e = &a.event;
                    let found: Vec<&crate::views::Source> = e.reports.iter().filter_map(|r| sources.get(r)).collect();
                    EventBody {
                        id: e.id.to_string(),
                        kind: e.kind.into(),
                        state: if a.retracted_at.is_some() { EventState::Retracted } else { EventState::Active },
                        start: e.start,
                        end: e.end,
                        position: e.position,
                        tracks: e.subjects.iter().map(ToString::to_string).collect(),
                        mmsis: e.mmsis.iter().map(|m| m.get()).collect(),
                        rule: e.rule.clone(),
                        reports: e.reports.clone(),
                        originators: found.iter().map(|s| s.originator.clone()).collect(),
                        // Every report's marking, as the view holds it (released ones included).
                        marking: crate::views::Source::combined(found.iter().copied()),
                        raised_at: a.raised_at,
                        retracted_at: a.retracted_at,
                    }
                })
                .collect()
        };
        let used: HashSet<ReportId> = chosen.iter().flat_map(|a| a.event.reports.iter().copied()).collect();
        let reports: Vec<Report> = view.reports.iter().filter(|r| used.contains(&r.id)).cloned().collect();
        let (own, own_reports) = (view.own.clone(), view.own_reports.clone());
        drop(view);
        Ok(DetectedEvents { events: body, reports, case, now, snap, own, own_reports })
    }

    /// Audits the delivery of `events`: the decisions behind exactly the
    /// reports (of `reports`) they rest on.
    async fn audit_events(
        &self,
        user: &User,
        key: &ViewKey,
        events: &[EventBody],
        reports: &[Report],
        case: Option<caveat_policy::CaseFacts>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let used: HashSet<ReportId> = events.iter().flat_map(|e| e.reports.iter().copied()).collect();
        self.audit_reads(user, key, &used, reports, case, now).await
    }

    /// Audits a delivery of derived data (events, alerts) resting on `used`:
    /// the decisions behind exactly those of `reports`.
    pub(crate) async fn audit_reads(
        &self,
        user: &User,
        key: &ViewKey,
        used: &HashSet<ReportId>,
        reports: &[Report],
        case: Option<caveat_policy::CaseFacts>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let delivered: Vec<Report> = reports.iter().filter(|r| used.contains(&r.id)).cloned().collect();
        let decisions = self.access.decide(user, key, Action::Fuse, case, &delivered, now).await?;
        let uses = decision_uses(&delivered, &decisions);
        self.audit.append(self.access.entries(user, key, Action::Fuse, uses, now).await?).await?;
        Ok(())
    }
}

impl crate::sent::Announced for EventBody {
    fn sent(&self) -> (&str, crate::sent::SentState) {
        (self.id.as_str(), (self.state, self.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_validates() {
        assert!(Detector::new(EventConfig::default()).is_ok());
        assert!(Detector::new(EventConfig::skylight()).is_ok());
    }
}
