//! Alerts (issue 20 item 5): a watch rule matched by an event of one view.
//!
//! Alerts are derived data, like the events they come from: derived per view
//! key from exactly the events that view has (so from what it may use), and
//! from the rule's own area entries, exits and speed runs, which are
//! detected over the same snapshot and permitted reports as the view's
//! events (never over more). Each alert carries the lineage and combined
//! marking of its events, and each delivery is audited as a read of the
//! reports it rests on (the events' audit path).
//!
//! Derivation is a pure function of the view's events and the rules, redone
//! on every request: for each rule and vessel (track, or MMSI for an event
//! about one), matching active events in start order form episodes. The first
//! event of an episode fires the alert; later ones join it until it has
//! cleared, that is until every event in it has ended and, for a rule with
//! an area, the vessel left the area (the rule's own area exit). So an alert
//! does not re-fire until cleared. What a view announced is kept per view
//! key: an alert no longer derived (its first event retracted, say) is
//! marked retracted, and one resting on a report the view may no longer use
//! is dropped, as events are.
//!
//! Harbour: unless the rule says `include_harbour`, an event whose vessel is
//! within the encounter detector's anchorage distance of a shore point
//! (`EventConfig::shore`, the same "away from port" data) and reported
//! stopped (every AIS speed of its reports under 0.5 kn, or the track's
//! estimate when none) does not alert: moored or at anchor. Reports carry no
//! AIS navigational status, so the speed stands in for it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use caveat_core::{Marking, PartnerId, Position, Report, ReportId, User, ViewKey};
use caveat_events::{Area, Detector, Event, EventConfig, MAX_AREAS, SpeedRule, Subject};
use caveat_fusion::Track;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::events::{EventKindName, EventQuery, EventState};
use crate::views::DEFAULT_WINDOW;
use crate::watch_rules::ValidRule;
use crate::{Error, Hub};

/// A vessel reported slower than this is taken as moored or at anchor.
const STOPPED_KN: f64 = 0.5;

/// Most alerts (live and retracted) kept per view.
const MAX_ANNOUNCED: usize = 100_000;

/// Most views whose alerts are kept.
const MAX_VIEWS: usize = 1_024;

/// Alerts per response unless the query says.
const DEFAULT_LIMIT: usize = 500;

/// An alert of the caller's view: one rule matched by one vessel's events.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = Alert)]
pub struct AlertBody {
    /// Stable id: the same rule, vessel and first event give the same id.
    pub id: String,
    /// The rule matched (`W-` id).
    pub rule: String,
    /// The rule's name.
    pub rule_name: String,
    /// The kind of the event that fired it.
    pub kind: EventKindName,
    /// Active, or retracted (its first event no longer holds).
    pub state: EventState,
    /// When the first event started.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// When it cleared (every event ended and, for a rule with an area, the
    /// vessel left it); null while it has not: it does not fire again before.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub cleared_at: Option<OffsetDateTime>,
    /// Where the first event was.
    pub position: Position,
    /// The tracks it is about (ids as at `/v1/tracks`).
    pub tracks: Vec<String>,
    /// The MMSIs it is about.
    pub mmsis: Vec<u32>,
    /// The events it rests on, first the one that fired it (ids as at `/v1/events`,
    /// or of the rule's own area and speed detections).
    pub events: Vec<String>,
    /// The reports those events rest on: its lineage.
    pub reports: Vec<ReportId>,
    /// The partners whose reports those are.
    pub originators: std::collections::BTreeSet<PartnerId>,
    /// The combined marking of those reports; null for none.
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

/// The alerts of the caller's view for the rules that alert the caller.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertList {
    /// Earliest start first (active and retracted).
    pub alerts: Vec<AlertBody>,
    /// Whether more matched than `limit`.
    pub truncated: bool,
}

/// Which alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQuery {
    /// Only this rule's (`W-` id).
    pub rule: Option<String>,
    /// Leave out retracted alerts.
    pub active_only: bool,
    /// Most alerts (clamped to 1..=[`crate::Limits::max_page`]).
    pub limit: Option<usize>,
}

/// An event as alerts see it: one of the view's, or of a rule's own areas.
#[derive(Debug, Clone)]
struct Cand {
    id: String,
    kind: EventKindName,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
    position: Position,
    tracks: Vec<String>,
    mmsis: Vec<u32>,
    /// For a rule's own detection, the rule's id.
    own: Option<String>,
    reports: Vec<ReportId>,
}

/// One alert as derived (before the view's bookkeeping).
#[derive(Debug, Clone)]
struct Derived {
    id: String,
    rule: String,
    rule_name: String,
    kind: EventKindName,
    start: OffsetDateTime,
    cleared_at: Option<OffsetDateTime>,
    position: Position,
    tracks: Vec<String>,
    mmsis: Vec<u32>,
    events: Vec<String>,
    reports: Vec<ReportId>,
}

#[derive(Debug, Clone)]
struct Announced {
    alert: Derived,
    raised_at: OffsetDateTime,
    retracted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
struct ViewAlerts {
    announced: BTreeMap<String, Announced>,
    used: Option<std::time::Instant>,
}

/// The hub's alerts, per view.
#[derive(Default)]
pub(crate) struct Alerts {
    views: Mutex<HashMap<ViewKey, Arc<tokio::sync::Mutex<ViewAlerts>>>>,
}

impl Alerts {
    fn view(&self, key: &ViewKey) -> Arc<tokio::sync::Mutex<ViewAlerts>> {
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        if views.len() >= MAX_VIEWS && !views.contains_key(key) {
            let oldest =
                views.iter().filter_map(|(k, v)| v.try_lock().ok().map(|v| (v.used, k.clone()))).min().map(|(_, k)| k);
            if let Some(k) = oldest {
                views.remove(&k);
            }
        }
        views.entry(key.clone()).or_default().clone()
    }
}

fn own_kind(k: EventKindName) -> bool {
    matches!(k, EventKindName::AreaEntry | EventKindName::AreaExit | EventKindName::SpeedInArea)
}

/// The rules' own areas and speed ranges, as detector configurations of at
/// most [`MAX_AREAS`] areas and speed rules each. Names are `<rule id>#<polygon>`.
pub(crate) fn rule_configs(rules: &[ValidRule]) -> Vec<EventConfig> {
    let mut items: Vec<(Vec<Area>, Vec<SpeedRule>)> = Vec::new();
    for r in rules {
        let names: Vec<String> = (0..r.polygons.len()).map(|k| format!("{}#{k}", r.id())).collect();
        let areas: Vec<Area> =
            r.polygons.iter().zip(&names).map(|(p, n)| Area { name: n.clone(), polygon: p.clone() }).collect();
        let speeds: Vec<SpeedRule> = match (r.rule.speed, r.rule.kinds.contains(&EventKindName::SpeedInArea)) {
            (Some(s), true) => {
                let rule = |name: String, area: Option<String>| SpeedRule {
                    name,
                    area,
                    min_kn: s.min_kn,
                    max_kn: s.max_kn,
                    min_duration: Duration::seconds(i64::try_from(s.min_duration_s).unwrap_or(0).max(1)),
                };
                if names.is_empty() {
                    vec![rule(r.id().to_owned(), None)]
                } else {
                    names.iter().map(|n| rule(n.clone(), Some(n.clone()))).collect()
                }
            }
            _ => Vec::new(),
        };
        items.push((areas, speeds));
    }
    let mut out: Vec<EventConfig> = Vec::new();
    let mut cur = EventConfig { areas: Vec::new(), speed_rules: Vec::new(), ..EventConfig::default() };
    for (areas, speeds) in items {
        if cur.areas.len() + cur.speed_rules.len() + areas.len() + speeds.len() > MAX_AREAS {
            out.push(std::mem::replace(
                &mut cur,
                EventConfig { areas: Vec::new(), speed_rules: Vec::new(), ..EventConfig::default() },
            ));
        }
        cur.areas.extend(areas);
        cur.speed_rules.extend(speeds);
    }
    if !cur.areas.is_empty() || !cur.speed_rules.is_empty() {
        out.push(cur);
    }
    out
}

fn cand_of_event(e: &Event) -> Cand {
    Cand {
        id: e.id.to_string(),
        kind: e.kind.into(),
        start: e.start,
        end: e.end,
        position: e.position,
        tracks: e.subjects.iter().map(ToString::to_string).collect(),
        mmsis: e.mmsis.iter().map(|m| m.get()).collect(),
        own: e.rule.as_deref().map(|n| n.split('#').next().unwrap_or(n).to_owned()),
        reports: e.reports.clone(),
    }
}

/// Whether `c` is about a vessel on `rule`'s watchlist (any, without one).
fn on_watchlist(rule: &ValidRule, c: &Cand, tracks: &HashMap<String, &Track>) -> bool {
    let Some(w) = &rule.rule.watchlist else { return true };
    if c.mmsis.iter().any(|m| w.mmsis.contains(m)) || c.tracks.iter().any(|t| w.tracks.contains(t)) {
        return true;
    }
    let names: HashSet<String> = w.names.iter().map(|n| n.trim().to_lowercase()).collect();
    c.tracks.iter().filter_map(|t| tracks.get(t)).any(|t| {
        let id = &t.identity;
        id.mmsi.is_some_and(|m| w.mmsis.contains(&m.get()))
            || id.mmsis.iter().any(|(m, _)| w.mmsis.contains(&m.get()))
            || id.imo.is_some_and(|i| w.imos.contains(&i.get()))
            || id.name.as_ref().is_some_and(|n| names.contains(&n.trim().to_lowercase()))
    })
}

/// Whether the vessel of `c` is moored or at anchor in harbour (module doc).
fn in_harbour(
    c: &Cand,
    detector: &Detector,
    reports: &HashMap<ReportId, &Report>,
    tracks: &HashMap<String, &Track>,
) -> bool {
    if !detector.near_anchorage(c.position) {
        return false;
    }
    let speeds: Vec<f64> = c.reports.iter().filter_map(|r| reports.get(r).and_then(|r| r.speed_kn)).collect();
    if speeds.is_empty() {
        c.tracks.iter().filter_map(|t| tracks.get(t)).all(|t| t.speed_kn < STOPPED_KN) && !c.tracks.is_empty()
    } else {
        speeds.iter().all(|s| *s < STOPPED_KN)
    }
}

fn alert_id(rule: &str, subject: &str, first: &str) -> String {
    let mut h = Sha256::new();
    for part in ["caveat-alert/v1", rule, subject, first] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    let d = h.finalize();
    format!("A-{}", hex::encode(d.get(..16).unwrap_or_default()))
}

/// The alerts of one rule over `cands` (see the module doc). `suppressed`
/// says which events are of vessels moored in harbour.
fn derive(
    rule: &ValidRule,
    cands: &[Cand],
    tracks: &HashMap<String, &Track>,
    suppressed: &dyn Fn(&Cand) -> bool,
) -> Vec<Derived> {
    let r = &rule.rule;
    let mine = |c: &Cand| c.own.as_deref() == Some(r.id.as_str());
    let matching: Vec<&Cand> = cands
        .iter()
        .filter(|c| r.kinds.is_empty() || r.kinds.contains(&c.kind))
        .filter(|c| if own_kind(c.kind) { mine(c) } else { c.own.is_none() && rule.covers(c.position) })
        .filter(|c| on_watchlist(rule, c, tracks))
        .filter(|c| r.include_harbour || !suppressed(c))
        .collect();
    let subject = |c: &Cand| {
        if c.tracks.is_empty() {
            format!("mmsi:{}", c.mmsis.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
        } else {
            c.tracks.join(",")
        }
    };
    let mut by_subject: BTreeMap<String, Vec<&Cand>> = BTreeMap::new();
    for c in matching {
        by_subject.entry(subject(c)).or_default().push(c);
    }
    // The rule's own exits of its area, per track: where a vessel left the criteria.
    let mut exits: HashMap<&str, Vec<OffsetDateTime>> = HashMap::new();
    if r.area.is_some() {
        for c in cands.iter().filter(|c| mine(c) && c.kind == EventKindName::AreaExit) {
            for t in &c.tracks {
                exits.entry(t.as_str()).or_default().push(c.start);
            }
        }
    }
    let mut out = Vec::new();
    for (key, mut list) in by_subject {
        list.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        let mut episode: Vec<&Cand> = Vec::new();
        let cleared = |ep: &[&Cand]| -> Option<OffsetDateTime> {
            let ends: Option<Vec<OffsetDateTime>> = ep.iter().map(|c| c.end).collect();
            let ended = ends?.into_iter().max()?;
            if r.area.is_none() {
                return Some(ended);
            }
            let last = ep.iter().map(|c| c.start).max()?;
            let tracks: Vec<&String> = ep.iter().flat_map(|c| c.tracks.iter()).collect();
            let left = tracks
                .iter()
                .filter_map(|t| exits.get(t.as_str()))
                .flat_map(|v| v.iter().copied())
                .filter(|x| *x >= last)
                .min()?;
            Some(left.max(ended))
        };
        let close = |ep: &mut Vec<&Cand>, out: &mut Vec<Derived>, cleared_at: Option<OffsetDateTime>| {
            let Some(first) = ep.first() else { return };
            let mut reports: Vec<ReportId> = ep.iter().flat_map(|c| c.reports.iter().copied()).collect();
            reports.sort_unstable();
            reports.dedup();
            let mut tracks: Vec<String> = ep.iter().flat_map(|c| c.tracks.iter().cloned()).collect();
            tracks.sort_unstable();
            tracks.dedup();
            let mut mmsis: Vec<u32> = ep.iter().flat_map(|c| c.mmsis.iter().copied()).collect();
            mmsis.sort_unstable();
            mmsis.dedup();
            out.push(Derived {
                id: alert_id(&r.id, &key, &first.id),
                rule: r.id.clone(),
                rule_name: r.name.clone(),
                kind: first.kind,
                start: first.start,
                cleared_at,
                position: first.position,
                tracks,
                mmsis,
                events: ep.iter().map(|c| c.id.clone()).collect(),
                reports,
            });
            ep.clear();
        };
        for c in list {
            if !episode.is_empty() {
                match cleared(&episode) {
                    Some(at) if c.start > at => close(&mut episode, &mut out, Some(at)),
                    _ => {}
                }
            }
            episode.push(c);
        }
        let at = cleared(&episode);
        close(&mut episode, &mut out, at);
    }
    out
}

/// Folds what was derived into what the view announced (as events' `reconcile`).
fn reconcile(view: &mut ViewAlerts, derived: Vec<Derived>, permitted: &HashSet<ReportId>, now: OffsetDateTime) {
    view.announced.retain(|_, a| a.alert.reports.iter().all(|r| permitted.contains(r)));
    let found: HashSet<String> = derived.iter().map(|d| d.id.clone()).collect();
    for d in derived {
        match view.announced.get_mut(&d.id) {
            Some(a) => {
                if a.retracted_at.take().is_some() {
                    a.raised_at = now;
                }
                a.alert = d;
            }
            None => {
                view.announced.insert(d.id.clone(), Announced { alert: d, raised_at: now, retracted_at: None });
            }
        }
    }
    for a in view.announced.values_mut() {
        if a.retracted_at.is_none() && !found.contains(&a.alert.id) {
            a.retracted_at = Some(now);
        }
    }
    view.announced.retain(|_, a| a.retracted_at.is_none_or(|t| now - t < DEFAULT_WINDOW));
    if view.announced.len() > MAX_ANNOUNCED {
        let mut retracted: Vec<(OffsetDateTime, String)> =
            view.announced.values().filter_map(|a| a.retracted_at.map(|t| (t, a.alert.id.clone()))).collect();
        retracted.sort();
        let excess = view.announced.len() - MAX_ANNOUNCED;
        for (_, id) in retracted.into_iter().take(excess) {
            view.announced.remove(&id);
        }
    }
}

type DerivedAlerts = (Vec<AlertBody>, Vec<Report>, Option<caveat_policy::CaseFacts>, OffsetDateTime);

impl Hub {
    /// The alerts of `key`'s view for the rules of its partner that alert
    /// `user`, derived from the view's events now (see the module doc). The
    /// decisions behind the reports the delivered alerts rest on are audited
    /// before they are returned.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store or the audit log fails.
    pub async fn alerts(&self, user: &User, key: &ViewKey, q: AlertQuery) -> Result<AlertList, Error> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, self.limits.max_page);
        let (mut alerts, reports, case, now) = self.derive_alerts(user, key, &q).await?;
        let truncated = alerts.len() > limit;
        alerts.truncate(limit);
        let used: HashSet<ReportId> = alerts.iter().flat_map(|a| a.reports.iter().copied()).collect();
        self.audit_reads(user, key, &used, &reports, case, now).await?;
        Ok(AlertList { alerts, truncated })
    }

    /// What changed in `key`'s view's alerts since the stream that `seen`
    /// belongs to last sent (as [`Hub::event_changes`]): alerts newly raised,
    /// and those whose state or clearing changed. Only what is returned is
    /// audited; an alert resting on data the view may no longer use is gone.
    ///
    /// # Errors
    /// As [`Hub::alerts`].
    pub async fn alert_changes(
        &self,
        user: &User,
        key: &ViewKey,
        q: &AlertQuery,
        seen: &mut crate::sent::AlertsSeen,
    ) -> Result<Vec<AlertBody>, Error> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, self.limits.max_page);
        let (alerts, reports, case, now) = self.derive_alerts(user, key, q).await?;
        let changed = seen.changes(alerts, limit);
        if changed.is_empty() {
            return Ok(changed);
        }
        let used: HashSet<ReportId> = changed.iter().flat_map(|a| a.reports.iter().copied()).collect();
        self.audit_reads(user, key, &used, &reports, case, now).await?;
        seen.mark_sent(&changed);
        Ok(changed)
    }

    async fn derive_alerts(&self, user: &User, key: &ViewKey, q: &AlertQuery) -> Result<DerivedAlerts, Error> {
        let rules = self.rules_of_partner(&key.partner).await?;
        let crate::events::DetectedEvents { events, reports: event_reports, case, now, snap, own, own_reports } =
            self.detect_events(user, key, &EventQuery::default()).await?;
        let (_, detector) = self.events.detector();
        let slot = self.alerts.view(key);
        let mut view = slot.lock().await;
        view.used = Some(std::time::Instant::now());
        let tracks: Vec<&Track> = snap.tracks.iter().map(|t| &**t).collect();
        let mut cands: Vec<Cand> = events
            .iter()
            .filter(|e| e.state == EventState::Active)
            .map(|e| Cand {
                id: e.id.clone(),
                kind: e.kind,
                start: e.start,
                end: e.end,
                position: e.position,
                tracks: e.tracks.clone(),
                mmsis: e.mmsis.clone(),
                own: None,
                reports: e.reports.clone(),
            })
            .collect();
        // Only the rules known now: a rule changed since detection is detected again on the next request.
        let known: HashSet<&str> = rules.iter().map(ValidRule::id).collect();
        cands.extend(own.iter().map(cand_of_event).filter(|c| c.own.as_deref().is_some_and(|r| known.contains(r))));
        let by_track: HashMap<String, &Track> = tracks.iter().map(|t| (Subject::Track(t.id).to_string(), *t)).collect();
        let by_id: HashMap<ReportId, &Report> =
            event_reports.iter().chain(own_reports.iter()).map(|r| (r.id, r)).collect();
        let suppressed = |c: &Cand| in_harbour(c, &detector, &by_id, &by_track);
        let derived: Vec<Derived> = rules.iter().flat_map(|r| derive(r, &cands, &by_track, &suppressed)).collect();
        let permitted: HashSet<ReportId> = by_id.keys().copied().collect();
        reconcile(&mut view, derived, &permitted, now);

        let mine: HashSet<&str> = rules.iter().filter(|r| r.alerts(user)).map(ValidRule::id).collect();
        let mut chosen: Vec<&Announced> = view
            .announced
            .values()
            .filter(|a| mine.contains(a.alert.rule.as_str()))
            .filter(|a| q.rule.as_ref().is_none_or(|r| r == &a.alert.rule))
            .filter(|a| !q.active_only || a.retracted_at.is_none())
            .collect();
        chosen.sort_by(|a, b| a.alert.start.cmp(&b.alert.start).then(a.alert.id.cmp(&b.alert.id)));
        let sources = snap.sources.read().unwrap_or_else(PoisonError::into_inner);
        let body: Vec<AlertBody> = chosen
            .iter()
            .map(|a| {
                let d = &a.alert;
                let found: Vec<&crate::views::Source> = d.reports.iter().filter_map(|r| sources.get(r)).collect();
                AlertBody {
                    id: d.id.clone(),
                    rule: d.rule.clone(),
                    rule_name: d.rule_name.clone(),
                    kind: d.kind,
                    state: if a.retracted_at.is_some() { EventState::Retracted } else { EventState::Active },
                    start: d.start,
                    cleared_at: d.cleared_at,
                    position: d.position,
                    tracks: d.tracks.clone(),
                    mmsis: d.mmsis.clone(),
                    events: d.events.clone(),
                    reports: d.reports.clone(),
                    originators: found.iter().map(|s| s.originator.clone()).collect(),
                    marking: crate::views::Source::combined(found.iter().copied()),
                    raised_at: a.raised_at,
                    retracted_at: a.retracted_at,
                }
            })
            .collect();
        drop(sources);
        let used: HashSet<ReportId> = body.iter().flat_map(|a| a.reports.iter().copied()).collect();
        // A report both an event and a rule's own detection rest on is decided once.
        let reports: BTreeMap<ReportId, Report> = event_reports
            .iter()
            .chain(own_reports.iter())
            .filter(|r| used.contains(&r.id))
            .map(|r| (r.id, r.clone()))
            .collect();
        Ok((body, reports.into_values().collect(), case, now))
    }
}

impl crate::sent::Announced for AlertBody {
    fn sent(&self) -> (&str, crate::sent::SentState) {
        (self.id.as_str(), (self.state, self.cleared_at))
    }
}

#[cfg(test)]
mod tests {
    use caveat_store::{RuleId, RuleOwner, StoredRule};
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-23 00:00 UTC);

    fn rule(body: &str) -> ValidRule {
        crate::watch_rules::decode(&StoredRule {
            id: RuleId::from_bytes([7; 16]),
            partner: "GBR".parse().unwrap(),
            owner: RuleOwner::User("ana@gbr".parse().unwrap()),
            version: 1,
            created_at: T0,
            updated_at: T0,
            body: body.to_owned(),
        })
        .unwrap()
    }

    const BASE: &str = r#""watchlist":null,"speed":null,"recipients":[{"user":"ana@gbr"}],"include_harbour":false"#;

    fn cand(id: &str, kind: EventKindName, start_min: i64, end_min: Option<i64>, own: bool) -> Cand {
        Cand {
            id: id.into(),
            kind,
            start: T0 + Duration::minutes(start_min),
            end: end_min.map(|m| T0 + Duration::minutes(m)),
            position: Position { lat: 17.5, lon: -64.5 },
            tracks: vec!["T-1".into()],
            mmsis: Vec::new(),
            own: own.then(|| RuleId::from_bytes([7; 16]).to_string()),
            reports: Vec::new(),
        }
    }

    fn fired(r: &ValidRule, cands: &[Cand], suppressed: bool) -> Vec<Vec<String>> {
        derive(r, cands, &HashMap::new(), &|_| suppressed).into_iter().map(|d| d.events).collect()
    }

    #[test]
    fn an_alert_does_not_fire_again_until_it_has_cleared() {
        let r = rule(&format!(r#"{{"name":"l","area":null,"kinds":["loitering"],{BASE}}}"#));
        let l = EventKindName::Loitering;
        // L2 starts before L1 ended: the same alert. L3 starts after both ended: a new one.
        let cands =
            [cand("L1", l, 0, Some(60), false), cand("L2", l, 30, Some(90), false), cand("L3", l, 120, None, false)];
        assert_eq!(fired(&r, &cands, false), vec![vec!["L1", "L2"], vec!["L3"]]);
        // An open event never clears: everything after joins it.
        let open = [cand("L1", l, 0, None, false), cand("L3", l, 120, Some(130), false)];
        assert_eq!(fired(&r, &open, false), vec![vec!["L1", "L3"]]);
    }

    #[test]
    fn an_area_alert_clears_when_the_vessel_leaves_the_area() {
        let area = r#"{"type":"Polygon","coordinates":[[[-65,17],[-64,17],[-64,18],[-65,18],[-65,17]]]}"#;
        let r = rule(&format!(r#"{{"name":"a","area":{area},"kinds":["area-entry"],{BASE}}}"#));
        let (entry, exit) = (EventKindName::AreaEntry, EventKindName::AreaExit);
        let cands = [
            cand("E1", entry, 0, Some(0), true),
            // An entry without an exit between (a track flickering on the boundary) does not fire again.
            cand("E2", entry, 10, Some(10), true),
            cand("X1", exit, 20, Some(20), true),
            cand("E3", entry, 40, Some(40), true),
            // Another rule's or the deployment's areas are not this rule's.
            cand("E9", entry, 50, Some(50), false),
        ];
        let alerts = derive(&r, &cands, &HashMap::new(), &|_| false);
        let events: Vec<Vec<String>> = alerts.iter().map(|d| d.events.clone()).collect();
        assert_eq!(events, vec![vec!["E1", "E2"], vec!["E3"]]);
        assert_eq!(alerts.first().unwrap().cleared_at, Some(T0 + Duration::minutes(20)));
        assert_eq!(alerts.get(1).unwrap().cleared_at, None);
    }

    #[test]
    fn moored_vessels_in_harbour_alert_only_when_asked() {
        let l = EventKindName::Loitering;
        let quiet = rule(&format!(r#"{{"name":"l","area":null,"kinds":["loitering"],{BASE}}}"#));
        assert!(fired(&quiet, &[cand("L1", l, 0, None, false)], true).is_empty());
        let asked = rule(
            r#"{"name":"l","area":null,"kinds":["loitering"],"watchlist":null,"speed":null,"recipients":[],"include_harbour":true}"#,
        );
        assert_eq!(fired(&asked, &[cand("L1", l, 0, None, false)], true), vec![vec!["L1"]]);
    }

    #[test]
    fn a_rule_outside_the_event_or_off_the_watchlist_does_not_fire() {
        let far = r#"{"type":"Polygon","coordinates":[[[10,10],[11,10],[11,11],[10,11],[10,10]]]}"#;
        let r = rule(&format!(r#"{{"name":"f","area":{far},"kinds":[],{BASE}}}"#));
        assert!(fired(&r, &[cand("L1", EventKindName::Loitering, 0, None, false)], false).is_empty());
        let listed = rule(
            r#"{"name":"w","area":null,"kinds":[],"watchlist":{"mmsis":[],"imos":[],"names":[],"tracks":["T-2"]},"speed":null,"recipients":[],"include_harbour":false}"#,
        );
        assert!(fired(&listed, &[cand("L1", EventKindName::Loitering, 0, None, false)], false).is_empty());
        let mut c = cand("L2", EventKindName::Loitering, 0, None, false);
        c.tracks = vec!["T-2".into()];
        assert_eq!(fired(&listed, &[c], false), vec![vec!["L2"]]);
    }
}
