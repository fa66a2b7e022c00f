use caveat_core::Position;
use caveat_sim::{GospaParams, VesselKind, assign_tracks, continuity, gospa, ospa, time_to_first_track, track_purity};
use time::Duration;

use crate::demo;

#[test]
fn gospa_of_truth_against_shifted_truth() {
    let s = demo(1, 10);
    let at = s.truth().start() + Duration::minutes(5);
    let truth: Vec<Position> = s.truth().positions_at(at, None).into_iter().map(|(_, p)| p).collect();
    // Every estimate 0.001 degrees of latitude north: 111.2 m off.
    let est: Vec<Position> = truth.iter().map(|p| Position { lat: p.lat + 0.001, lon: p.lon }).collect();
    let params = GospaParams { c: 1000.0, p: 1.0 };
    let g = gospa(&truth, &est, params).unwrap();
    assert_eq!((g.missed, g.false_estimates), (0, 0));
    let per = g.distance / truth.len() as f64;
    assert!((per - 111.195).abs() < 0.01, "{per}");
    let o = ospa(&truth, &est, params).unwrap();
    assert!((o.distance - per).abs() < 1e-9);
    // Drop half the estimates: each missed truth costs c/2 with p = 1.
    let half = &est[..est.len() / 2];
    let g2 = gospa(&truth, half, params).unwrap();
    assert_eq!(g2.missed, truth.len() - half.len());
    assert!((g2.distance - (g2.localisation + g2.missed_cost + g2.false_cost)).abs() < 1e-6);
    assert!((g2.missed_cost - 500.0 * g2.missed as f64).abs() < 1e-9);
    // Harbours are crowded: a truth may pair with a neighbour's estimate, never further than c.
    assert!(g2.localisation <= 1000.0 * g2.pairs.len() as f64);
}

#[test]
fn identity_metrics_over_a_perfect_tracker() {
    let s = demo(1, 30);
    let params = GospaParams { c: 2000.0, p: 2.0 };
    let mut all = Vec::new();
    for k in 0..=6 {
        let at = s.truth().start() + Duration::minutes(5 * k);
        let truth = s.truth().positions_at(at, None);
        // A perfect tracker: track id = vessel id, at the true position.
        let tracks: Vec<(u32, Position)> = truth.iter().map(|(v, p)| (v.0, *p)).collect();
        all.extend(assign_tracks(at, &truth, &tracks, params).unwrap());
    }
    let p = track_purity(&all);
    assert!((p.overall - 1.0).abs() < 1e-12);
    assert_eq!(continuity(&all).identity_switches, 0);
    let dark: Vec<_> =
        s.truth().vessels().iter().filter(|v| v.kind == VesselKind::Dark).map(|v| (v.id, s.truth().start())).collect();
    let ttf = time_to_first_track(&dark, &all);
    assert!(ttf.iter().all(|(_, d)| *d == Some(Duration::ZERO)));
}
