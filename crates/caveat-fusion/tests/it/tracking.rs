//! Tracking behaviour: confirmation, purity, identity, late reports, corrections.

use std::collections::HashMap;

use caveat_core::{Mmsi, Report, SourceKind, VesselDescriptors};
use caveat_fusion::{FusionConfig, Insertion, Picture, TrackStatus, fuse};
use time::Duration;

use crate::scenario::{self, Spec, T0, id};

const M_LAT: f64 = 1.0 / 111_195.0;

/// A vessel going east at `speed` m/s from (18.2, lon0), one report per `every` seconds.
fn straight_line(first_id: u64, lon0: f64, speed: f64, every: i64, n: i64, partner: &str) -> Vec<Report> {
    (0..n)
        .map(|k| {
            let t = every * k;
            let lon = lon0 + speed * t as f64 * M_LAT / 18.2f64.to_radians().cos();
            Report::builder()
                .id(id(first_id + k as u64))
                .originator(partner)
                .at(T0 + Duration::seconds(t))
                .position(18.2, lon)
                .uncertainty_m(30.0)
                .velocity(None, None)
                .build()
        })
        .collect()
}

#[test]
fn one_vessel_seen_by_two_partners_is_one_confirmed_track() {
    let mut reports = straight_line(1, -65.0, 8.0, 10, 12, "GBR");
    reports.extend(straight_line(100, -65.0, 8.0, 10, 12, "CAN").into_iter().map(|mut r| {
        r.observed_at += Duration::seconds(5);
        r.position.lon += 40.0 * M_LAT / 18.2f64.to_radians().cos();
        r
    }));
    let tracks = fuse(&reports, &FusionConfig::default()).unwrap();
    assert_eq!(tracks.len(), 1, "{tracks:#?}");
    let t = &tracks[0];
    assert_eq!(t.status, TrackStatus::Confirmed);
    assert_eq!(t.lineage.len(), 24);
    assert!(reports.iter().all(|r| t.lineage.contains(&r.id)));
    assert_eq!(t.originators.iter().map(|p| p.as_str()).collect::<Vec<_>>(), ["CAN", "GBR"]);
    assert_eq!(t.id.first_report(), id(1));
    assert!((t.speed_kn - 8.0 / (1852.0 / 3600.0)).abs() < 1.5, "speed {}", t.speed_kn);
    let course = t.course_deg.unwrap();
    assert!((course - 90.0).abs() < 5.0, "course {course}");
    assert_eq!(t.trail.len(), 24);
    assert!(t.trail.points().windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn a_single_report_stays_tentative_and_dies_when_stale() {
    let r = straight_line(1, -65.0, 0.0, 10, 1, "GBR");
    let mut p = Picture::new(FusionConfig::default());
    p.insert(&r[0]).unwrap();
    let tracks = p.tracks();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].status, TrackStatus::Tentative);
    assert_eq!(p.tracks_at(T0 + Duration::minutes(4)).len(), 1);
    assert!(p.tracks_at(T0 + Duration::minutes(6)).is_empty(), "tentative coast is 5 minutes");
}

#[test]
fn scenario_tracks_are_pure_and_complete() {
    let spec = Spec { random_markings: false, ..Spec::default() };
    for seed in 0..4 {
        let sc = scenario::generate(seed, &spec);
        let tracks = fuse(&sc.reports, &FusionConfig::default()).unwrap();
        let confirmed: Vec<_> = tracks.iter().filter(|t| t.status == TrackStatus::Confirmed).collect();
        let mut covered = std::collections::BTreeSet::new();
        for t in &confirmed {
            let mut votes: HashMap<Option<usize>, usize> = HashMap::new();
            for r in t.lineage.iter() {
                *votes.entry(sc.truth[r]).or_default() += 1;
            }
            let (best, n) = votes.iter().max_by_key(|(_, n)| **n).map(|(k, n)| (*k, *n)).unwrap();
            let purity = n as f64 / t.lineage.len() as f64;
            assert!(purity >= 0.75, "seed {seed}: track {} purity {purity} votes {votes:?}", t.id);
            covered.insert(best.expect("a confirmed track follows a vessel, not clutter"));
        }
        assert_eq!(covered.len(), spec.vessels, "seed {seed}: every vessel has a confirmed track");
        assert!(
            confirmed.len() <= spec.vessels + spec.vessels / 2,
            "seed {seed}: {} confirmed tracks",
            confirmed.len()
        );
    }
}

#[test]
fn spoofed_mmsi_far_away_never_merges_two_vessels() {
    let mmsi = Mmsi::new(338_123_456).unwrap();
    let ais = |r: Report| Report {
        source: SourceKind::Ais,
        vessel: VesselDescriptors { mmsi: Some(mmsi), ..VesselDescriptors::default() },
        ..r
    };
    let mut reports: Vec<Report> = straight_line(1, -65.0, 6.0, 10, 10, "USA-USCG").into_iter().map(ais).collect();
    // 20 km away, a second vessel transmits the same MMSI.
    let spoofer: Vec<Report> = straight_line(100, -64.81, 6.0, 10, 10, "USA-USCG").into_iter().map(ais).collect();
    reports.extend(spoofer.iter().cloned());
    let tracks = fuse(&reports, &FusionConfig::default()).unwrap();
    assert_eq!(tracks.len(), 2, "{tracks:#?}");
    for t in &tracks {
        assert_eq!(t.identity.mmsi, Some(mmsi));
        assert_eq!(t.lineage.len(), 10);
        let spoofed = spoofer.iter().filter(|r| t.lineage.contains(&r.id)).count();
        assert!(spoofed == 0 || spoofed == 10, "lineages must not mix: {spoofed}");
    }
}

#[test]
fn changing_mmsi_mid_track_keeps_the_track_and_flags_it() {
    let mut reports = straight_line(1, -65.0, 6.0, 10, 10, "USA-USCG");
    for (k, r) in reports.iter_mut().enumerate() {
        r.source = SourceKind::Ais;
        let m = if k < 5 { 338_000_001 } else { 338_000_002 };
        r.vessel.mmsi = Some(Mmsi::new(m).unwrap());
    }
    let tracks = fuse(&reports, &FusionConfig::default()).unwrap();
    assert_eq!(tracks.len(), 1);
    assert!(tracks[0].identity.has_mmsi_conflict());
}

#[test]
fn late_report_refilters_to_the_batch_result() {
    let sc = scenario::generate(7, &Spec { random_markings: false, ..Spec::default() });
    let mut sorted = sc.reports.clone();
    sorted.sort_by_key(|r| (r.observed_at, r.id));
    let batch = fuse(&sorted, &FusionConfig::default()).unwrap();
    let mut p = Picture::new(FusionConfig::default());
    let mut late = 0;
    for (k, r) in sc.reports.iter().enumerate() {
        if p.insert(r).unwrap() == Insertion::Late {
            late += 1;
        }
        if k % 97 == 0 {
            p.tracks();
        }
    }
    assert!(late > 100, "the shuffled arrival has many late reports: {late}");
    assert_eq!(p.tracks(), batch);
    assert_eq!(p.insert(&sc.reports[0]).unwrap(), Insertion::Duplicate);
}

#[test]
fn a_tip_with_time_uncertainty_joins_the_track_it_fits() {
    let mut reports = straight_line(1, -65.0, 10.0, 10, 30, "GBR");
    let mut tip = reports[15].clone();
    tip.id = id(500);
    tip.originator = "NLD".parse().unwrap();
    tip.source = SourceKind::Tip;
    tip.uncertainty_m = 2_000.0;
    tip.time_uncertainty_s = Some(600.0);
    tip.observed_at += Duration::seconds(300);
    reports.push(tip);
    let tracks = fuse(&reports, &FusionConfig::default()).unwrap();
    let confirmed: Vec<_> = tracks.iter().filter(|t| t.status == TrackStatus::Confirmed).collect();
    assert_eq!(confirmed.len(), 1);
    assert!(confirmed[0].lineage.contains(&id(500)), "{tracks:#?}");
}

#[test]
fn a_correction_replaces_the_report_it_supersedes() {
    let reports = straight_line(1, -65.0, 8.0, 10, 8, "GBR");
    let mut wrong = reports.clone();
    wrong[4].position.lat += 0.5; // 55 km off: starts a stray track
    let mut fixed = reports[4].clone();
    fixed.id = id(99);
    fixed.supersedes = Some(id(5));
    let mut p = Picture::new(FusionConfig::default());
    for r in &wrong {
        p.insert(r).unwrap();
    }
    assert_eq!(p.tracks().len(), 2);
    p.insert(&fixed).unwrap();
    let tracks = p.tracks();
    assert_eq!(tracks.len(), 1);
    assert!(tracks[0].lineage.contains(&id(99)) && !tracks[0].lineage.contains(&id(5)));
    // A "correction" by another originator hides nothing.
    let mut foreign = fixed.clone();
    foreign.id = id(98);
    foreign.originator = "CAN".parse().unwrap();
    let mut all = wrong.clone();
    all.push(foreign);
    assert!(fuse(&all, &FusionConfig::default()).unwrap().iter().any(|t| t.lineage.contains(&id(5))));
}

#[test]
fn the_gating_grid_changes_no_result() {
    let sc = scenario::generate(11, &Spec { vessels: 12, random_markings: false, ..Spec::default() });
    let mut fine = FusionConfig::default();
    fine.grid_cell_m = 1_000.0;
    let mut everything = FusionConfig::default();
    everything.grid_cell_m = 1e7;
    assert_eq!(fuse(&sc.reports, &fine).unwrap(), fuse(&sc.reports, &everything).unwrap());
}

#[test]
fn invalid_reports_are_refused_with_their_field() {
    let mut r = straight_line(1, -65.0, 8.0, 10, 1, "GBR").remove(0);
    r.uncertainty_m = f64::NAN;
    let mut p = Picture::new(FusionConfig::default());
    let err = p.insert(&r).unwrap_err();
    assert!(err.to_string().contains("uncertainty_m"), "{err}");
    assert!(p.is_empty());
}
