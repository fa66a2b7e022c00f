//! The detectors: each kind's definition (docs/events.md) as code.

use std::collections::{BTreeMap, HashMap};

use caveat_core::{Marking, Mmsi, Position, Report, ReportId};
use caveat_fusion::Track;
use time::{Duration, OffsetDateTime};

use crate::config::EventConfig;
use crate::geo::{Shore, distance_m};
use crate::path::{KNOT_M_S, Obs, Path, Sampled, grid_time, of_paths, of_view, runs, sample};
use crate::{Error, Event, EventKind, Subject};

/// One MMSI's run of impossible jumps: first and last instant, where, who, which reports.
type Conflict = (OffsetDateTime, OffsetDateTime, Position, Vec<Subject>, Vec<ReportId>);

/// A validated configuration, ready to detect with.
#[derive(Debug, Clone)]
pub struct Detector {
    config: EventConfig,
    shore: Shore,
    step_s: i64,
}

impl Detector {
    /// Checks `config` ([`EventConfig::validate`]).
    pub fn new(config: EventConfig) -> Result<Detector, Error> {
        config.validate()?;
        let step_s = config.sample.whole_seconds().max(1);
        Ok(Detector { shore: Shore::new(&config.shore), config, step_s })
    }

    /// The configuration.
    pub fn config(&self) -> &EventConfig {
        &self.config
    }

    /// The events of one view: its tracks and the reports it may use (the
    /// caller passes exactly those: events are fused after filtering too).
    /// `now` closes nothing: an event still holding at the newest data is
    /// open, and an AIS silence is a gap once `now` is `min_gap` past it.
    /// Each event's marking combines those of the reports it rests on.
    pub fn detect(&self, tracks: &[&Track], reports: &[&Report], now: OffsetDateTime) -> Vec<Event> {
        let (paths, obs) = of_view(tracks, reports);
        let mut events = self.run(&paths, &obs, now);
        let markings: HashMap<ReportId, &Marking> = reports.iter().map(|r| (r.id, &r.marking)).collect();
        for e in &mut events {
            e.marking = Marking::combine(e.reports.iter().filter_map(|id| markings.get(id).copied()));
        }
        events
    }

    /// Only the area entries and exits and the speed rules of the
    /// configuration, as [`Detector::detect`] finds them: for watch rules
    /// (issue 20), whose own areas and speeds are detected over a view
    /// without running every other detector again.
    pub fn detect_areas(&self, tracks: &[&Track], reports: &[&Report], now: OffsetDateTime) -> Vec<Event> {
        let (paths, _) = of_view(tracks, reports);
        let c = &self.config;
        let half = (c.speed_window.whole_seconds() / self.step_s / 2).max(1);
        let mut events = Vec::new();
        for p in &paths {
            if !c.speed_rules.is_empty()
                && let Some(s) = sample(p, self.step_s, c.max_interpolation.as_seconds_f64(), half)
            {
                self.speed_rules(p, &s, now, &mut events);
            }
            self.areas(p, &mut events);
        }
        events.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        events.dedup_by(|a, b| a.id == b.id);
        events.truncate(c.max_events);
        let markings: HashMap<ReportId, &Marking> = reports.iter().map(|r| (r.id, &r.marking)).collect();
        for e in &mut events {
            e.marking = Marking::combine(e.reports.iter().filter_map(|id| markings.get(id).copied()));
        }
        events
    }

    /// Whether `p` is within the encounter's anchorage distance of a shore
    /// point: "in harbour", for suppressing alerts on moored vessels.
    pub fn near_anchorage(&self, p: Position) -> bool {
        self.shore.within(p, self.config.encounter.min_anchorage_distance_m)
    }

    /// The events of plain paths (scoring against truth): as [`Detector::detect`], with no markings.
    pub fn detect_paths(&self, paths: &[Path], now: OffsetDateTime) -> Vec<Event> {
        self.run(paths, &of_paths(paths), now)
    }

    fn run(&self, paths: &[Path], obs: &[Obs], now: OffsetDateTime) -> Vec<Event> {
        let c = &self.config;
        let half = (c.speed_window.whole_seconds() / self.step_s / 2).max(1);
        let sampled: Vec<Option<Sampled>> =
            paths.iter().map(|p| sample(p, self.step_s, c.max_interpolation.as_seconds_f64(), half)).collect();
        let mut by_mmsi: BTreeMap<Mmsi, Vec<&Obs>> = BTreeMap::new();
        for o in obs {
            by_mmsi.entry(o.mmsi).or_default().push(o);
        }
        for v in by_mmsi.values_mut() {
            v.sort_by(|a, b| a.at.cmp(&b.at).then(a.report.cmp(&b.report)));
            v.dedup_by(|a, b| a.at == b.at && a.position == b.position);
        }
        let mut events = Vec::new();
        self.gaps(paths, &by_mmsi, now, &mut events);
        self.identity(paths, &by_mmsi, &mut events);
        self.encounters(paths, &sampled, now, &mut events);
        for (p, s) in paths.iter().zip(&sampled) {
            if let Some(s) = s {
                self.loitering(p, s, now, &mut events);
                self.speed_rules(p, s, now, &mut events);
            }
            self.areas(p, &mut events);
        }
        events.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        events.dedup_by(|a, b| a.id == b.id);
        events.truncate(c.max_events);
        events
    }

    /// Reports of `path` between two instants (exclusive) that are not AIS:
    /// another sensor holding the vessel.
    fn held_by_others(path: Option<&Path>, from: OffsetDateTime, to: OffsetDateTime) -> (usize, Vec<ReportId>) {
        let Some(p) = path else { return (0, Vec::new()) };
        let held: Vec<_> = p.points.iter().filter(|q| !q.ais && q.at > from && q.at < to).collect();
        (held.len(), held.iter().filter_map(|q| q.report).collect())
    }

    fn gaps(&self, paths: &[Path], by_mmsi: &BTreeMap<Mmsi, Vec<&Obs>>, now: OffsetDateTime, out: &mut Vec<Event>) {
        let g = &self.config.gap;
        let path_of = |s: Option<Subject>| s.and_then(|s| paths.iter().find(|p| p.subject == s));
        for (mmsi, seen) in by_mmsi {
            let silences = seen
                .windows(2)
                .filter_map(|w| match w {
                    [a, b] => Some((*a, Some(*b))),
                    _ => None,
                })
                .chain(seen.last().map(|a| (*a, None)));
            for (a, b) in silences {
                let until = b.map_or(now, |b| b.at);
                if until - a.at < g.min_gap || self.shore.within(a.position, g.min_shore_distance_m) {
                    continue;
                }
                let (n, held) = Self::held_by_others(path_of(a.subject), a.at, until);
                let kind = if n >= 2 { EventKind::GoingDark } else { EventKind::AisGap };
                let mut reports: Vec<ReportId> = a.report.into_iter().chain(b.and_then(|b| b.report)).collect();
                reports.extend(held);
                let subjects = a.subject.into_iter().chain(b.and_then(|b| b.subject)).collect();
                out.push(Event::new(kind, a.at, b.map(|b| b.at), a.position, subjects, vec![*mmsi], None, reports));
            }
        }
    }

    fn identity(&self, paths: &[Path], by_mmsi: &BTreeMap<Mmsi, Vec<&Obs>>, out: &mut Vec<Event>) {
        let id = &self.config.identity;
        for (mmsi, seen) in by_mmsi {
            let mut conflict: Option<Conflict> = None;
            for w in seen.windows(2) {
                let [a, b] = w else { continue };
                let dt = (b.at - a.at).as_seconds_f64();
                if dt > id.max_interval.as_seconds_f64() {
                    continue;
                }
                let d = distance_m(a.position, b.position);
                if d < id.min_separation_m || d / dt.max(1.0) / KNOT_M_S <= id.max_plausible_speed_kn {
                    continue;
                }
                let c = conflict.get_or_insert_with(|| (a.at, b.at, a.position, Vec::new(), Vec::new()));
                c.1 = b.at;
                c.3.extend(a.subject.into_iter().chain(b.subject));
                c.4.extend(a.report.into_iter().chain(b.report));
            }
            if let Some((start, end, position, subjects, reports)) = conflict {
                out.push(Event::new(
                    EventKind::MmsiInTwoPlaces,
                    start,
                    Some(end),
                    position,
                    subjects,
                    vec![*mmsi],
                    None,
                    reports,
                ));
            }
        }
        for p in paths {
            let mut counts: BTreeMap<Mmsi, usize> = BTreeMap::new();
            for q in p.points.iter().filter(|q| q.ais) {
                if let Some(m) = q.mmsi {
                    *counts.entry(m).or_default() += 1;
                }
            }
            counts.retain(|_, n| *n >= id.min_reports_per_mmsi);
            if counts.len() < 2 {
                continue;
            }
            let mut firsts = p.points.iter().filter(|q| q.ais && q.mmsi.is_some_and(|m| counts.contains_key(&m)));
            let Some(first) = firsts.next() else { continue };
            let Some(change) = firsts.find(|q| q.mmsi != first.mmsi) else { continue };
            let reports = p
                .points
                .iter()
                .filter(|q| q.ais && q.mmsi.is_some_and(|m| counts.contains_key(&m)))
                .filter_map(|q| q.report)
                .collect();
            out.push(Event::new(
                EventKind::MmsiChange,
                change.at,
                None,
                change.position,
                vec![p.subject],
                counts.keys().copied().collect(),
                None,
                reports,
            ));
        }
    }

    /// Whether a run ending at grid index `k` still holds: the data it rests on reach its end.
    fn end_of(&self, k: i64, last_at: OffsetDateTime) -> Option<OffsetDateTime> {
        let t = grid_time(k, self.step_s);
        if last_at - t < self.config.sample + self.config.sample { None } else { Some(t) }
    }

    fn reports_between(p: &Path, from: OffsetDateTime, to: OffsetDateTime) -> impl Iterator<Item = ReportId> + '_ {
        // The points bracketing the run as well: interpolation used them.
        let lo = p.points.iter().rposition(|q| q.at <= from).unwrap_or(0);
        let hi = p.points.iter().position(|q| q.at >= to).unwrap_or(p.points.len().saturating_sub(1));
        p.points.iter().enumerate().filter(move |(i, _)| *i >= lo && *i <= hi).filter_map(|(_, q)| q.report)
    }

    #[expect(clippy::many_single_char_names, reason = "pair members are a and b, their samples sa and sb")]
    fn encounters(&self, paths: &[Path], sampled: &[Option<Sampled>], now: OffsetDateTime, out: &mut Vec<Event>) {
        let e = &self.config.encounter;
        let slow = |s: &crate::path::Sample| {
            s.speed_kn.is_some_and(|v| v < e.max_speed_kn) && !self.shore.within(s.position, e.min_anchorage_distance_m)
        };
        // Grid cells a little wider than the distance, so near pairs share or neighbour a cell.
        let cell_deg = (e.max_distance_m / 100_000.0).max(1e-4);
        #[expect(clippy::cast_possible_truncation, reason = "degrees over a cell size fit in i64")]
        let cell = |p: Position| ((p.lat / cell_deg).floor() as i64, (p.lon / cell_deg).floor() as i64);
        let (lo, hi) =
            sampled.iter().flatten().fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s.first), hi.max(s.end())));
        let mut together: BTreeMap<(usize, usize), Vec<i64>> = BTreeMap::new();
        let mut grid: HashMap<(i64, i64), Vec<(usize, Position)>> = HashMap::new();
        for k in lo..hi {
            grid.clear();
            for (i, s) in sampled.iter().enumerate() {
                if let Some(s) = s.as_ref().and_then(|s| s.get(k))
                    && slow(&s)
                {
                    grid.entry(cell(s.position)).or_default().push((i, s.position));
                }
            }
            for ((ci, cj), members) in &grid {
                for (i, p) in members {
                    for di in -1..=1 {
                        for dj in -1..=1 {
                            let Some(others) = grid.get(&(ci + di, cj + dj)) else { continue };
                            for (j, q) in others {
                                if i < j && distance_m(*p, *q) <= e.max_distance_m {
                                    together.entry((*i, *j)).or_default().push(k);
                                }
                            }
                        }
                    }
                }
            }
        }
        let min = e.min_duration.whole_seconds() / self.step_s;
        for ((i, j), mut ks) in together {
            ks.sort_unstable();
            ks.dedup();
            let (Some(a), Some(b), Some(Some(sa)), Some(Some(sb))) =
                (paths.get(i), paths.get(j), sampled.get(i), sampled.get(j))
            else {
                continue;
            };
            let kind = if a.has_ais() && b.has_ais() { EventKind::Encounter } else { EventKind::DarkRendezvous };
            for (k0, k1) in runs(ks) {
                if k1 - k0 < min {
                    continue;
                }
                let (start, end) = (grid_time(k0, self.step_s), self.end_of(k1, sa.last_at.min(sb.last_at).min(now)));
                let to = end.unwrap_or(now);
                let reports = Self::reports_between(a, start, to).chain(Self::reports_between(b, start, to)).collect();
                // The midpoint, so the order the two come in does not matter.
                let position = match (sa.get(k0), sb.get(k0)) {
                    (Some(x), Some(y)) => Position {
                        lat: 0.5 * (x.position.lat + y.position.lat),
                        lon: 0.5 * (x.position.lon + y.position.lon),
                    },
                    _ => Position { lat: 0.0, lon: 0.0 },
                };
                out.push(Event::new(kind, start, end, position, vec![a.subject, b.subject], Vec::new(), None, reports));
            }
        }
    }

    fn loitering(&self, p: &Path, s: &Sampled, now: OffsetDateTime, out: &mut Vec<Event>) {
        let l = &self.config.loitering;
        let ks = (s.first..s.end()).filter(|k| {
            s.get(*k).is_some_and(|x| {
                x.speed_kn.is_some_and(|v| v < l.max_speed_kn) && !self.shore.within(x.position, l.min_shore_distance_m)
            })
        });
        self.emit_runs(p, s, ks, l.min_duration, EventKind::Loitering, None, now, out);
    }

    fn speed_rules(&self, p: &Path, s: &Sampled, now: OffsetDateTime, out: &mut Vec<Event>) {
        for r in &self.config.speed_rules {
            let area = r.area.as_ref().and_then(|n| self.config.areas.iter().find(|a| &a.name == n));
            let ks = (s.first..s.end()).filter(|k| {
                s.get(*k).is_some_and(|x| {
                    x.speed_kn.is_some_and(|v| v >= r.min_kn && v <= r.max_kn)
                        && area.is_none_or(|a| a.polygon.contains(x.position))
                })
            });
            self.emit_runs(p, s, ks, r.min_duration, EventKind::SpeedInArea, Some(&r.name), now, out);
        }
    }

    #[expect(clippy::too_many_arguments, reason = "a helper of the per-path detectors")]
    fn emit_runs(
        &self,
        p: &Path,
        s: &Sampled,
        ks: impl Iterator<Item = i64>,
        min: Duration,
        kind: EventKind,
        rule: Option<&str>,
        now: OffsetDateTime,
        out: &mut Vec<Event>,
    ) {
        let min = min.whole_seconds() / self.step_s;
        for (k0, k1) in runs(ks) {
            if k1 - k0 < min {
                continue;
            }
            let start = grid_time(k0, self.step_s);
            let end = self.end_of(k1, s.last_at.min(now));
            let reports = Self::reports_between(p, start, end.unwrap_or(now)).collect();
            let position = s.get(k0).map_or(Position { lat: 0.0, lon: 0.0 }, |x| x.position);
            out.push(Event::new(
                kind,
                start,
                end,
                position,
                vec![p.subject],
                Vec::new(),
                rule.map(str::to_owned),
                reports,
            ));
        }
    }

    fn areas(&self, p: &Path, out: &mut Vec<Event>) {
        for a in &self.config.areas {
            for w in p.points.windows(2) {
                let [x, y] = w else { continue };
                let (was, is) = (a.polygon.contains(x.position), a.polygon.contains(y.position));
                if was == is {
                    continue;
                }
                let kind = if is { EventKind::AreaEntry } else { EventKind::AreaExit };
                let reports = x.report.into_iter().chain(y.report).collect();
                out.push(Event::new(
                    kind,
                    y.at,
                    Some(y.at),
                    y.position,
                    vec![p.subject],
                    Vec::new(),
                    Some(a.name.clone()),
                    reports,
                ));
            }
        }
    }
}
