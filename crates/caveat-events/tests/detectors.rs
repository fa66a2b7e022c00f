//! Each detector against hand-made paths, and properties of all of them.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::cast_possible_truncation, reason = "tests")]

use caveat_core::{Mmsi, Position};
use caveat_events::{Area, Detector, Event, EventConfig, EventKind, Path, PathPoint, Polygon, SpeedRule, Subject};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-23 00:00 UTC);

/// A path from `(minute, lat, lon)` points, AIS with `mmsi` when given.
fn path(n: u64, mmsi: Option<u32>, pts: impl IntoIterator<Item = (i64, f64, f64)>) -> Path {
    Path {
        subject: Subject::Other(n),
        points: pts
            .into_iter()
            .map(|(m, lat, lon)| PathPoint {
                at: T0 + Duration::minutes(m),
                position: Position { lat, lon },
                report: None,
                ais: mmsi.is_some(),
                mmsi: mmsi.map(|m| Mmsi::new(m).unwrap()),
            })
            .collect(),
    }
}

/// Drifting east at `kn` knots from (lat, lon) for `minutes`, a point a minute.
fn drift(n: u64, mmsi: Option<u32>, lat: f64, lon: f64, kn: f64, minutes: i64) -> Path {
    let deg_per_min = kn * 1852.0 / 60.0 / (111_320.0 * lat.to_radians().cos());
    path(n, mmsi, (0..=minutes).map(move |m| (m, lat, lon + deg_per_min * m as f64)))
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    let mut k: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    k.sort();
    k
}

/// Only encounters and dark rendezvous (drifting vessels also loiter).
fn meetings(events: Vec<Event>) -> Vec<Event> {
    events.into_iter().filter(|e| matches!(e.kind, EventKind::Encounter | EventKind::DarkRendezvous)).collect()
}

fn detect(config: EventConfig, paths: &[Path], now_min: i64) -> Vec<Event> {
    Detector::new(config).unwrap().detect_paths(paths, T0 + Duration::minutes(now_min))
}

#[test]
fn gfw_encounter_needs_two_hours_and_skylight_half_an_hour() {
    let long = [drift(1, Some(1), 16.5, -64.0, 0.5, 180), drift(2, Some(2), 16.5027, -64.0, 0.5, 180)];
    let e = meetings(detect(EventConfig::gfw(), &long, 180));
    assert_eq!(kinds(&e), [EventKind::Encounter]);
    assert_eq!(e[0].start, T0, "the true start: the first instant both were together");
    let short = [drift(1, Some(1), 16.5, -64.0, 0.5, 60), drift(2, Some(2), 16.5018, -64.0, 0.5, 60)];
    assert!(meetings(detect(EventConfig::gfw(), &short, 60)).is_empty());
    assert_eq!(kinds(&meetings(detect(EventConfig::skylight(), &short, 60))), [EventKind::Encounter]);
    // 300 m apart: within GFW's 500 m, outside Skylight's 250 m.
    let wide = [drift(1, Some(1), 16.5, -64.0, 0.5, 60), drift(2, Some(2), 16.5027, -64.0, 0.5, 60)];
    assert!(meetings(detect(EventConfig::skylight(), &wide, 60)).is_empty());
}

#[test]
fn a_vessel_without_ais_makes_it_a_dark_rendezvous() {
    let p = [drift(1, None, 16.5, -64.0, 0.5, 60), drift(2, Some(2), 16.5009, -64.0, 0.5, 60)];
    assert_eq!(kinds(&meetings(detect(EventConfig::skylight(), &p, 60))), [EventKind::DarkRendezvous]);
}

#[test]
fn fast_or_near_an_anchorage_is_no_encounter() {
    let fast = [drift(1, Some(1), 16.5, -64.0, 10.0, 180), drift(2, Some(2), 16.5009, -64.0, 10.0, 180)];
    assert!(detect(EventConfig::gfw(), &fast, 180).iter().all(|e| e.kind != EventKind::Encounter));
    let mut c = EventConfig::gfw();
    c.shore = vec![Position { lat: 16.55, lon: -64.0 }];
    let slow = [drift(1, Some(1), 16.5, -64.0, 0.5, 180), drift(2, Some(2), 16.5009, -64.0, 0.5, 180)];
    assert!(detect(c, &slow, 180).iter().all(|e| e.kind != EventKind::Encounter));
}

#[test]
fn loitering_far_from_shore_for_over_an_hour() {
    let mut c = EventConfig::gfw();
    c.shore = vec![Position { lat: 18.0, lon: -64.0 }];
    let far = [drift(1, None, 16.5, -64.0, 1.0, 90)];
    let e = detect(c.clone(), &far, 90);
    assert_eq!(kinds(&e), [EventKind::Loitering]);
    assert_eq!(e[0].end, None, "still loitering at the newest data");
    let near = [drift(1, None, 18.1, -64.0, 1.0, 90)];
    assert!(detect(c.clone(), &near, 90).is_empty());
    assert!(detect(c, &[drift(1, None, 16.5, -64.0, 1.0, 50)], 50).is_empty());
}

#[test]
fn ais_gap_at_sea_and_going_dark_when_radar_holds_it() {
    let mut c = EventConfig::gfw();
    c.gap.min_gap = Duration::minutes(30);
    // AIS at minutes 0-10 and 60-70.
    let silent = path(1, Some(7), (0..=10).chain(60..=70).map(|m| (m, 16.5, -64.0 + 0.001 * m as f64)));
    let e = detect(c.clone(), std::slice::from_ref(&silent), 70);
    assert_eq!(kinds(&e), [EventKind::AisGap]);
    assert_eq!((e[0].start, e[0].end), (T0 + Duration::minutes(10), Some(T0 + Duration::minutes(60))));
    assert_eq!(e[0].mmsis, [Mmsi::new(7).unwrap()]);
    // The same, with radar points in the silence on the same path.
    let mut held = silent.clone();
    held.points.extend((15..=55).step_by(5).map(|m| PathPoint {
        at: T0 + Duration::minutes(m),
        position: Position { lat: 16.5, lon: -64.0 + 0.001 * m as f64 },
        report: None,
        ais: false,
        mmsi: None,
    }));
    held.points.sort_by_key(|p| p.at);
    assert_eq!(kinds(&detect(c.clone(), &[held], 70)), [EventKind::GoingDark]);
    // Still silent: an open gap once `now` is far enough past.
    let open = path(1, Some(7), (0..=10).map(|m| (m, 16.5, -64.0)));
    assert!(detect(c.clone(), std::slice::from_ref(&open), 30).is_empty());
    let e = detect(c.clone(), &[open], 45);
    assert_eq!((kinds(&e), e[0].end), (vec![EventKind::AisGap], None));
    // In harbour: no gap.
    c.shore = vec![Position { lat: 16.5, lon: -64.01 }];
    assert!(detect(c, &[silent], 70).is_empty());
}

#[test]
fn area_entry_exit_and_speed_in_area() {
    let mut c = EventConfig::gfw();
    let sq = |lat: f64, lon: f64| Position { lat, lon };
    c.areas = vec![Area {
        name: "box".into(),
        polygon: Polygon::new(vec![sq(16.0, -64.2), sq(16.0, -63.9), sq(17.0, -63.9), sq(17.0, -64.2)]).unwrap(),
    }];
    c.speed_rules = vec![SpeedRule {
        name: "go-fast".into(),
        area: Some("box".into()),
        min_kn: 25.0,
        max_kn: 60.0,
        min_duration: Duration::minutes(5),
    }];
    // Westward at 30 kn from outside the box, through it, and out.
    let p = drift(1, None, 16.5, -63.8, -30.0, 60);
    let e = detect(c, &[p], 60);
    assert_eq!(kinds(&e), [EventKind::AreaEntry, EventKind::AreaExit, EventKind::SpeedInArea]);
    assert!(e.iter().all(|e| e.rule.as_deref().is_some()));
}

#[test]
fn one_mmsi_in_two_places_and_a_track_changing_mmsi() {
    let a = drift(1, Some(9), 16.5, -64.0, 10.0, 30);
    let b = drift(2, Some(9), 17.5, -64.0, 10.0, 30);
    assert!(kinds(&detect(EventConfig::gfw(), &[a, b], 30)).contains(&EventKind::MmsiInTwoPlaces));
    let mut p = drift(1, Some(9), 16.5, -64.0, 10.0, 30);
    for q in p.points.iter_mut().skip(20) {
        q.mmsi = Some(Mmsi::new(10).unwrap());
    }
    let e = detect(EventConfig::gfw(), &[p], 30);
    assert_eq!(kinds(&e), [EventKind::MmsiChange]);
    assert_eq!(e[0].start, T0 + Duration::minutes(20));
}

#[test]
fn bad_configs_are_refused_naming_the_field() {
    let mut c = EventConfig::gfw();
    c.encounter.max_distance_m = f64::NAN;
    let err = Detector::new(c).unwrap_err().to_string();
    assert!(err.contains("encounter.max_distance_m"), "{err}");
    let mut c = EventConfig::gfw();
    c.speed_rules = vec![SpeedRule {
        name: "x".into(),
        area: Some("nowhere".into()),
        min_kn: 1.0,
        max_kn: 2.0,
        min_duration: Duration::minutes(1),
    }];
    assert!(Detector::new(c).unwrap_err().to_string().contains("speed_rules[0].area"));
}

/// A small random fleet: drifting pairs and lone vessels.
fn fleet() -> impl Strategy<Value = Vec<Path>> {
    prop::collection::vec((0.0f64..0.01, 0.0f64..3.0, 60i64..200, any::<bool>()), 2..6).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (dlat, kn, minutes, ais))| {
                let n = i as u64;
                drift(n, ais.then_some(100 + i as u32), 16.5 + dlat, -64.0, kn, minutes)
            })
            .collect()
    })
}

fn summary(e: &[Event]) -> Vec<(EventKind, Vec<Subject>, i64, Option<i64>)> {
    let mut s: Vec<_> = e
        .iter()
        .map(|e| (e.kind, e.subjects.clone(), e.start.unix_timestamp(), e.end.map(OffsetDateTime::unix_timestamp)))
        .collect();
    s.sort();
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The order paths come in changes nothing, ids included.
    #[test]
    fn order_does_not_matter(paths in fleet()) {
        let mut rev = paths.clone();
        rev.reverse();
        let (a, b) = (detect(EventConfig::skylight(), &paths, 200), detect(EventConfig::skylight(), &rev, 200));
        prop_assert_eq!(a, b);
    }

    /// Moving everything a little in space and by whole samples in time moves the events with it.
    #[test]
    fn translation_moves_events(paths in fleet(), shift_min in 0i64..600, dlon in -0.5f64..0.5) {
        let moved: Vec<Path> = paths.iter().map(|p| Path {
            subject: p.subject,
            points: p.points.iter().map(|q| PathPoint {
                at: q.at + Duration::minutes(shift_min),
                position: Position { lat: q.position.lat, lon: q.position.lon + dlon },
                ..*q
            }).collect(),
        }).collect();
        let a = summary(&detect(EventConfig::skylight(), &paths, 200));
        let b: Vec<_> = summary(&detect(EventConfig::skylight(), &moved, 200 + shift_min))
            .into_iter()
            .map(|(k, s, st, en)| (k, s, st - 60 * shift_min, en.map(|x| x - 60 * shift_min)))
            .collect();
        prop_assert_eq!(a, b);
    }

    /// A wider distance finds every encounter pair a narrower one does; a
    /// longer minimum duration keeps only some of them.
    #[test]
    fn thresholds_are_monotone(paths in fleet(), d in 50.0f64..600.0, m in 10i64..90) {
        let pairs = |dist: f64, min: i64| {
            let mut c = EventConfig::skylight();
            c.encounter.max_distance_m = dist;
            c.encounter.min_duration = Duration::minutes(min);
            let mut s: Vec<Vec<Subject>> = detect(c, &paths, 200)
                .into_iter()
                .filter(|e| matches!(e.kind, EventKind::Encounter | EventKind::DarkRendezvous))
                .map(|e| e.subjects)
                .collect();
            s.sort();
            s.dedup();
            s
        };
        let (narrow, wide) = (pairs(d, m), pairs(d * 1.5, m));
        prop_assert!(narrow.iter().all(|p| wide.contains(p)));
        let longer = pairs(d, m + 30);
        prop_assert!(longer.iter().all(|p| narrow.contains(p)));
    }
}
