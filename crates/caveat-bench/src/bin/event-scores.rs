//! Behaviour events scored against the simulation's truth (issue 20, item 6),
//! and what detection costs next to fusion at scale.
//!
//! `event-scores [minutes]` (default 240) runs `ScenarioConfig::eastern_caribbean`
//! with seeds 1 (the demo's), 2 and 3. Every report is fused (`fuse`, the
//! batch function a view's picture equals), and the events are detected over
//! the tracks and all reports, as a view permitted everything would see them.
//!
//! - **Truth** comes from the same definitions applied to what truly happened:
//!   each vessel's exact trajectory sampled every minute (AIS for cooperative
//!   vessels, none for go-fasts and mother ships) for encounters, dark
//!   rendezvous and loitering; and each cooperative vessel's AIS reports as
//!   they were transmitted (`SimReport::origin`) for gaps, so a gap is a real
//!   silence of the vessel's AIS in the region, whatever other sensors saw.
//! - **Matching**: a detected event matches a truth event of the same class
//!   (gap = AIS gap or going dark; meeting = encounter or dark rendezvous) when
//!   their intervals overlap (each widened by 10 minutes) and they are about the
//!   same vessels: a track is the vessel most of its reports came from; a gap
//!   is its MMSI's vessel. Precision = matched detections / detections; recall =
//!   matched truth events / truth events.
//! - **Delay**: detected start minus truth start, over matched pairs (how far
//!   the detected start lags the truth; not the time until it was visible).
//! - **Scale**: `ScenarioConfig::scale(1, 10_000, 100_000)`: batch fusion time
//!   and detection time over its tracks and reports (tips left out), printed both.
//!
//! Thresholds (printed): Skylight's rendezvous distance (250 m) for 15
//! minutes (Skylight's dark-rendezvous minimum; go-fasts lie alongside for 20-45
//! minutes), AIS gaps from 30 minutes (the 4-hour scenario has none of GFW's
//! 6 h), loitering as GFW; shore points are the simulation's 24 ports
//! (`caveat_sim::ports`), so moored vessels in harbour neither meet nor loiter.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::many_single_char_names,
    reason = "a benchmark binary prints its results"
)]

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use caveat_core::{Position, Report, ReportId, SourceKind};
use caveat_events::{Detector, Event, EventConfig, EventKind, Path, PathPoint, Subject};
use caveat_fusion::{FusionConfig, Track, fuse};
use caveat_sim::{Fleet, Origin, Scenario, ScenarioConfig, VesselId, VesselKind};
use time::{Duration, OffsetDateTime};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    Gap,
    Encounter,
    DarkRendezvous,
    Loitering,
}

fn class(k: EventKind) -> Option<Class> {
    match k {
        EventKind::AisGap | EventKind::GoingDark => Some(Class::Gap),
        EventKind::Encounter => Some(Class::Encounter),
        EventKind::DarkRendezvous => Some(Class::DarkRendezvous),
        EventKind::Loitering => Some(Class::Loitering),
        _ => None,
    }
}

/// An event reduced to what scoring compares.
#[derive(Debug, Clone)]
struct Scored {
    class: Class,
    vessels: BTreeSet<u32>,
    start: OffsetDateTime,
    end: OffsetDateTime,
}

fn config() -> EventConfig {
    let mut c = EventConfig::skylight();
    c.encounter.min_duration = Duration::minutes(15);
    c.gap.min_gap = Duration::minutes(30);
    c.shore = caveat_sim::ports();
    c
}

fn truth_events(s: &Scenario, detector: &Detector) -> Vec<Scored> {
    let truth = s.truth();
    let (start, end) = (truth.start(), truth.end());
    let mut paths = Vec::new();
    for v in truth.vessels() {
        let ais = v.kind == VesselKind::Cooperative;
        let mut points = Vec::new();
        let mut t = start;
        while t <= end {
            if let Some(st) = truth.state_at(v.id, t) {
                points.push(PathPoint {
                    at: t,
                    position: Position { lat: st.lat, lon: st.lon },
                    report: None,
                    ais,
                    mmsi: None,
                });
            }
            t += Duration::minutes(1);
        }
        paths.push(Path { subject: Subject::Other(u64::from(v.id.0)), points });
    }
    let mut out: Vec<Scored> = detector
        .detect_paths(&paths, end)
        .iter()
        .filter(|e| matches!(class(e.kind), Some(Class::Encounter | Class::DarkRendezvous | Class::Loitering)))
        .filter_map(|e| scored_truth(e, end))
        .collect();
    // Gaps: each cooperative vessel's AIS as transmitted.
    let mut ais: HashMap<VesselId, Vec<PathPoint>> = HashMap::new();
    for r in s.reports() {
        if r.report.source == SourceKind::Ais
            && let Origin::Vessel(v) = r.origin
            && truth.vessel(v).is_some_and(|tv| tv.kind == VesselKind::Cooperative)
        {
            ais.entry(v).or_default().push(PathPoint {
                at: r.report.observed_at,
                position: r.report.position,
                report: None,
                ais: true,
                mmsi: truth.vessel(v).and_then(|tv| tv.identity.mmsi),
            });
        }
    }
    let gap_paths: Vec<Path> = ais
        .into_iter()
        .map(|(v, mut points)| {
            points.sort_by_key(|p| p.at);
            Path { subject: Subject::Other(u64::from(v.0)), points }
        })
        .collect();
    out.extend(detector.detect_paths(&gap_paths, end).iter().filter(|e| class(e.kind) == Some(Class::Gap)).filter_map(
        |e| {
            let s = scored_truth(e, end)?;
            // Subjects of an MMSI's silence: the vessel of the points around it.
            Some(s)
        },
    ));
    out
}

fn scored_truth(e: &Event, now: OffsetDateTime) -> Option<Scored> {
    let vessels = e
        .subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Other(n) => u32::try_from(*n).ok(),
            Subject::Track(_) => None,
        })
        .collect();
    Some(Scored { class: class(e.kind)?, vessels, start: e.start, end: e.end.unwrap_or(now) })
}

fn detected_events(s: &Scenario, tracks: &[Track], reports: &[Report], detector: &Detector) -> Vec<Scored> {
    let origin: HashMap<ReportId, Origin> = s.reports().iter().map(|r| (r.report.id, r.origin)).collect();
    let vessel_of = |t: &Track| {
        let mut n: HashMap<u32, usize> = HashMap::new();
        for id in t.lineage.iter() {
            if let Some(Origin::Vessel(v)) = origin.get(id) {
                *n.entry(v.0).or_default() += 1;
            }
        }
        n.into_iter().max_by_key(|(v, c)| (*c, std::cmp::Reverse(*v))).map(|(v, _)| v)
    };
    let by_track: HashMap<caveat_fusion::TrackId, Option<u32>> = tracks.iter().map(|t| (t.id, vessel_of(t))).collect();
    let by_mmsi: HashMap<u32, u32> = s
        .truth()
        .vessels()
        .iter()
        .filter(|v| v.kind == VesselKind::Cooperative)
        .filter_map(|v| Some((v.identity.mmsi?.get(), v.id.0)))
        .collect();
    let end = s.truth().end();
    let refs: Vec<&Track> = tracks.iter().collect();
    let rrefs: Vec<&Report> = reports.iter().collect();
    detector
        .detect(&refs, &rrefs, end)
        .iter()
        .filter_map(|e| {
            let class = class(e.kind)?;
            let vessels: BTreeSet<u32> = if class == Class::Gap {
                e.mmsis.iter().filter_map(|m| by_mmsi.get(&m.get()).copied()).collect()
            } else {
                e.subjects
                    .iter()
                    .filter_map(|s| match s {
                        Subject::Track(t) => by_track.get(t).copied().flatten(),
                        Subject::Other(_) => None,
                    })
                    .collect()
            };
            Some(Scored { class, vessels, start: e.start, end: e.end.unwrap_or(end) })
        })
        .collect()
}

fn overlaps(a: &Scored, b: &Scored) -> bool {
    let w = Duration::minutes(10);
    a.class == b.class && a.vessels == b.vessels && a.start - w <= b.end && b.start - w <= a.end
}

fn main() -> Result<()> {
    let minutes: i64 = std::env::args().nth(1).map_or(Ok(240), |a| a.parse())?;
    let detector = Detector::new(config())?;
    let fleet = Fleet::eastern_caribbean()?;
    println!("event-scores: {minutes} min per seed; meeting 250 m for 15 min, < 2 kn; gaps from 30 min; loitering GFW");
    println!("seed  class            truth  detected  precision  recall  mean delay (s)");
    for seed in [1u64, 2, 3] {
        let mut c = ScenarioConfig::eastern_caribbean(seed);
        c.duration = Duration::minutes(minutes);
        let s = Scenario::generate(c, &fleet)?;
        let reports: Vec<Report> = s.reports().iter().map(|r| r.report.clone()).collect();
        let tracks = fuse(&reports, &FusionConfig::default())?;
        let truth = truth_events(&s, &detector);
        let found = detected_events(&s, &tracks, &reports, &detector);
        for cl in [Class::Gap, Class::Encounter, Class::DarkRendezvous, Class::Loitering] {
            let t: Vec<&Scored> = truth.iter().filter(|e| e.class == cl).collect();
            let d: Vec<&Scored> = found.iter().filter(|e| e.class == cl).collect();
            let tp_d = d.iter().filter(|x| t.iter().any(|y| overlaps(x, y))).count();
            let mut delays = Vec::new();
            let tp_t = t
                .iter()
                .filter(|y| {
                    let m = d.iter().filter(|x| overlaps(x, y)).map(|x| (x.start - y.start).whole_seconds()).min();
                    if let Some(m) = m {
                        delays.push(m);
                    }
                    m.is_some()
                })
                .count();
            let ratio =
                |a: usize, b: usize| if b == 0 { "n/a".to_owned() } else { format!("{:.2}", a as f64 / b as f64) };
            let delay = if delays.is_empty() {
                "n/a".to_owned()
            } else {
                format!("{:.0}", delays.iter().sum::<i64>() as f64 / delays.len() as f64)
            };
            println!(
                "{seed:<5} {:<16} {:>5}  {:>8}  {:>9}  {:>6}  {delay:>14}",
                format!("{cl:?}"),
                t.len(),
                d.len(),
                ratio(tp_d, d.len()),
                ratio(tp_t, t.len())
            );
        }
    }
    // Scale: the time detection adds to fusion.
    let s = Scenario::generate(ScenarioConfig::scale(1, 10_000, 100_000), &fleet)?;
    // Without tips: one observed an hour after the run would leave every other track stale at its end.
    let reports: Vec<Report> =
        s.reports().iter().filter(|r| r.report.source != SourceKind::Tip).map(|r| r.report.clone()).collect();
    let t0 = Instant::now();
    let tracks = fuse(&reports, &FusionConfig::default())?;
    let fusion = t0.elapsed();
    let refs: Vec<&Track> = tracks.iter().collect();
    let rrefs: Vec<&Report> = reports.iter().collect();
    let t1 = Instant::now();
    let events = Detector::new(EventConfig::default())?.detect(&refs, &rrefs, s.truth().end());
    let detection = t1.elapsed();
    println!(
        "scale: {} reports, {} tracks: fusion {:.2} s, event detection {:.2} s ({:.1}% of fusion), {} events",
        reports.len(),
        tracks.len(),
        fusion.as_secs_f64(),
        detection.as_secs_f64(),
        100.0 * detection.as_secs_f64() / fusion.as_secs_f64().max(1e-9),
        events.len()
    );
    Ok(())
}
