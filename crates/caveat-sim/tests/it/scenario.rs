use std::collections::{BTreeMap, BTreeSet};

use caveat_core::{IngestContext, ReportIdMint, SourceKind, parse_batch};
use caveat_sim::{Fleet, Origin, ScenarioConfig, ScenarioPlan, VesselKind};
use time::Duration;

use crate::demo;

#[expect(clippy::unwrap_used, reason = "test fixture: a failure here is a failed test")]
fn json_lines(s: &caveat_sim::Scenario) -> Vec<String> {
    s.reports().iter().map(|r| serde_json::to_string(&r.report).unwrap()).collect()
}

#[test]
fn same_seed_same_scenario_other_seed_other_scenario() {
    let a = demo(11, 30);
    let b = demo(11, 30);
    assert_eq!(json_lines(&a), json_lines(&b));
    assert_eq!(a.truth(), b.truth());
    let c = demo(12, 30);
    assert_ne!(json_lines(&a), json_lines(&c));
}

#[test]
fn the_live_stream_can_move_to_a_server_task() {
    fn send_static<T: Send + 'static>(_: &T) {}
    let s = demo(3, 5);
    let stream = s.plan().stream();
    send_static(&stream);
    let first = std::thread::spawn(move || stream.take(3).count()).join().unwrap();
    assert_eq!(first, 3);
}

#[test]
fn stream_equals_generated_reports() {
    let s = demo(3, 20);
    let streamed: Vec<_> = s.plan().stream().collect();
    assert_eq!(streamed.as_slice(), s.reports());
}

#[test]
fn reports_arrive_in_order_after_observation_and_some_late() {
    let s = demo(5, 240);
    let r = s.reports();
    assert!(r.len() > 10_000, "{}", r.len());
    assert!(r.windows(2).all(|w| w[0].arrival <= w[1].arrival));
    assert!(r.windows(2).all(|w| w[0].report.id < w[1].report.id), "ids sort by arrival");
    assert!(r.iter().all(|x| x.arrival > x.report.observed_at));
    let out_of_order = r.windows(2).filter(|w| w[1].report.observed_at < w[0].report.observed_at).count();
    assert!(out_of_order > 100, "{out_of_order}");
    let tips: Vec<_> = r.iter().filter(|x| x.report.source == SourceKind::Tip).collect();
    assert!(!tips.is_empty());
    for t in tips {
        assert!(t.arrival - t.report.observed_at >= Duration::seconds(60));
        assert!(t.report.time_uncertainty_s.unwrap() >= 3600.0);
        assert!(t.report.uncertainty_m >= 2000.0);
    }
    assert!(r.iter().any(|x| x.arrival - x.report.observed_at > Duration::hours(1)), "hours-late reports exist");
}

#[test]
fn every_report_is_valid_hub_input_with_its_partners_default_marking() {
    let s = demo(7, 60);
    let partners: BTreeMap<_, _> = s.partners().iter().map(|p| (p.id.clone(), p)).collect();
    for (n, r) in s.reports().iter().enumerate() {
        let partner = partners[&r.report.originator];
        assert_eq!(&r.report.marking, partner.marking_for(r.report.source), "report {n}");
        let line = serde_json::to_string(&r.report).unwrap();
        let mut ctx = IngestContext {
            submitter: partner,
            now: r.arrival,
            max_future_skew: Duration::minutes(5),
            mint: ReportIdMint::new(0, [0; 10]),
        };
        let parsed = parse_batch(line.as_bytes(), 10, &mut ctx).unwrap_or_else(|e| panic!("report {n}: {e}: {line}"));
        // The hub stores a partner-supplied id scoped to that partner (issue 14).
        let stored = caveat_core::Report { id: r.report.id.scoped_to(&partner.id), ..r.report.clone() };
        assert_eq!(parsed, vec![stored], "report {n}");
    }
}

#[test]
fn every_partner_contributes_and_sources_match_sensors() {
    let s = demo(2, 240);
    let by: BTreeSet<(String, SourceKind)> =
        s.reports().iter().map(|r| (r.report.originator.to_string(), r.report.source)).collect();
    for expected in [
        ("GBR", SourceKind::CoastalRadar),
        ("NLD", SourceKind::CoastalRadar),
        ("FRA", SourceKind::CoastalRadar),
        ("USA-USCG", SourceKind::Ais),
        ("USA-USCG", SourceKind::MpaRadar),
        ("USA-USCG", SourceKind::Vessel),
        ("CAN", SourceKind::MpaRadar),
        ("JIATFS", SourceKind::Tip),
    ] {
        assert!(by.contains(&(expected.0.to_owned(), expected.1)), "missing {expected:?}");
    }
    assert!(s.reports().iter().any(|r| r.origin == Origin::Clutter));
    // Dark vessels never transmit under their own identity.
    let dark: BTreeSet<_> = s.truth().vessels().iter().filter(|v| v.kind == VesselKind::Dark).map(|v| v.id).collect();
    for r in s.reports().iter().filter(|r| r.report.source == SourceKind::Ais) {
        if let Some(v) = r.origin.vessel()
            && dark.contains(&v)
        {
            let spoofed = s.truth().vessel(v).unwrap().spoofed_mmsi;
            assert!(spoofed.is_some() && r.report.vessel.mmsi == spoofed);
        }
    }
}

#[test]
fn a_mother_ship_borrows_a_real_vessels_mmsi() {
    let found = (0..20).find_map(|seed| {
        let s = demo(seed, 30);
        let spoofer = s.truth().vessels().iter().find(|v| v.spoofed_mmsi.is_some())?;
        let mmsi = spoofer.spoofed_mmsi?;
        let owners: BTreeSet<_> = s
            .reports()
            .iter()
            .filter(|r| r.report.vessel.mmsi == Some(mmsi))
            .filter_map(|r| r.origin.vessel())
            .collect();
        (owners.len() >= 2).then_some(owners)
    });
    assert!(found.is_some(), "some seed has one MMSI transmitted by two vessels");
}

#[test]
fn real_vessels_pass_through_their_real_fixes() {
    let fleet = Fleet::eastern_caribbean().unwrap();
    let plan = ScenarioPlan::new(ScenarioConfig::eastern_caribbean(1), &fleet).unwrap();
    // Every cooperative vessel starts at a real MMSI of the fleet, in order.
    let mmsis: Vec<_> = fleet.tracks().iter().map(|t| Some(t.mmsi)).collect();
    let coop: Vec<_> = plan.truth().vessels().iter().filter(|v| v.kind == VesselKind::Cooperative).collect();
    assert_eq!(coop.len(), fleet.len());
    assert_eq!(coop.iter().map(|v| v.identity.mmsi).collect::<Vec<_>>(), mmsis);
    // A moving vessel's truth at its first real fix is that fix.
    let moving = fleet.tracks().iter().zip(&coop).find(|(t, _)| t.fix_count() > 4).unwrap();
    let first = moving.0.first_position().unwrap();
    let truth = plan.truth().positions_at(plan.truth().start(), None);
    assert!(truth.iter().any(|(id, _)| *id == moving.1.id));
    let samples = plan.truth().samples(Duration::minutes(60));
    assert!(samples.iter().all(|s| s.position.lat.is_finite()));
    assert!(first.lat > 15.0);
}

#[test]
fn scale_config_reaches_its_rate() {
    let fleet = Fleet::eastern_caribbean().unwrap();
    let mut c = ScenarioConfig::scale(1, 600, 6_000);
    c.duration = Duration::minutes(2);
    let plan = ScenarioPlan::new(c, &fleet).unwrap();
    let coop = plan.truth().vessels().iter().filter(|v| v.kind == VesselKind::Cooperative).count();
    assert_eq!(coop, 600);
    let mmsis: BTreeSet<_> = plan.truth().vessels().iter().filter_map(|v| v.identity.mmsi).collect();
    assert_eq!(mmsis.len(), 600, "clones get their own MMSIs");
    let ais = plan.stream().filter(|r| r.report.source == SourceKind::Ais).count();
    // 600 vessels every 6 s for 2 minutes, less those that leave the region: about 12,000.
    assert!((10_000..=13_000).contains(&ais), "{ais}");
}

#[test]
fn bad_config_names_its_field() {
    let fleet = Fleet::eastern_caribbean().unwrap();
    let mut c = ScenarioConfig::eastern_caribbean(1);
    c.duration = Duration::ZERO;
    let err = ScenarioPlan::new(c, &fleet).unwrap_err();
    assert!(matches!(err, caveat_sim::Error::Config { field: "duration", .. }), "{err}");
    let mut c = ScenarioConfig::eastern_caribbean(1);
    c.partners.retain(|p| p.id.as_str() != "JIATFS");
    let err = ScenarioPlan::new(c, &fleet).unwrap_err();
    assert!(err.to_string().contains("JIATFS"), "{err}");
}

#[test]
fn writes_a_directory_per_partner() {
    let s = demo(4, 20);
    let dir = tempfile::tempdir().unwrap();
    s.write_to_dir(dir.path()).unwrap();
    for p in s.partners() {
        let text = std::fs::read_to_string(dir.path().join("reports").join(format!("{}.ndjson", p.id))).unwrap();
        assert_eq!(text.lines().count(), s.reports_of(&p.id).count(), "{}", p.id);
    }
    for f in ["partners.json", "truth.ndjson", "vessels.ndjson", "origins.ndjson", "scenario.json"] {
        assert!(dir.path().join(f).metadata().unwrap().len() > 0, "{f}");
    }
    let origins = std::fs::read_to_string(dir.path().join("origins.ndjson")).unwrap();
    assert_eq!(origins.lines().count(), s.reports().len());
    let truth = std::fs::read_to_string(dir.path().join("truth.ndjson")).unwrap();
    let first: caveat_sim::TruthSample = serde_json::from_str(truth.lines().next().unwrap()).unwrap();
    assert_eq!(first.at, s.truth().start());
}
