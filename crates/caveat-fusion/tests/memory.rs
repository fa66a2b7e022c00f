//! `Picture::memory` against a counting allocator: the estimate a hub bounds
//! its views' total with must not drift far from what is really held.
//! A test binary of its own, so the allocator counts nothing else.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::cast_possible_wrap, reason = "test")]

use std::alloc::System;

use caveat_core::{Report, ReportIdMint};
use caveat_fusion::{FusionConfig, Picture, TrackMemo};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use time::format_description::well_known::Rfc3339;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes live now (a reallocation is counted in both totals already).
fn live() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

/// 200 vessels with AIS (MMSI and name) every 30 s for two hours, and one
/// report in fifty at a random position (tentative tracks that die).
fn reports() -> Vec<Report> {
    let mut mint = ReportIdMint::new(1_795_000_000_000, [1; 10]);
    let t0 = time::macros::datetime!(2026-11-23 10:00 UTC);
    let mut out = Vec::new();
    let mut state = 7u64;
    for k in 0..240i64 {
        for v in 0..200i64 {
            let secs = k * 30 + v % 30;
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let stray = state >> 58 == 0;
            let (lat, lon) = if stray {
                (15.0 + (state >> 40) as f64 / (1u64 << 24) as f64 * 5.0, -68.0 + (state & 0xff_ffff) as f64 / 2e6)
            } else {
                (15.0 + 0.02 * v as f64, -65.0 + 0.000_09 * secs as f64)
            };
            let vessel = if stray {
                String::new()
            } else {
                format!(r#","course_deg":90,"speed_kn":10,"vessel":{{"mmsi":"{}","name":"SHIP {v}"}}"#, 338_000_000 + v)
            };
            let json = format!(
                r#"{{"id":"{}","originator":"GBR","observed_at":"{}","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":30,"source":"ais"{vessel},"marking":{{}}}}"#,
                mint.next_id(),
                (t0 + time::Duration::seconds(secs)).format(&Rfc3339).unwrap(),
            );
            out.push(serde_json::from_str::<Report>(&json).unwrap());
        }
    }
    out
}

#[test]
fn the_estimate_is_within_a_fifth_of_what_is_held() {
    let mut reports = reports();
    reports.sort_by_key(|r| (r.observed_at, r.id));
    let before = live();
    let mut picture = Picture::new(FusionConfig::default());
    for r in &reports {
        picture.insert(r).unwrap();
    }
    picture.refresh();
    let held = live() - before;
    let estimate = picture.memory().total();
    let ratio = estimate as f64 / held as f64;
    assert!((0.8..1.2).contains(&ratio), "estimate {estimate} bytes, held {held} ({ratio:.2}): {:?}", picture.memory());

    // Tracks read out: their own heap bytes, and the memo's.
    let before = live();
    let mut memo = TrackMemo::default();
    let tracks = picture.tracks_shared(&mut memo);
    let held = live() - before;
    let estimate: usize = tracks.iter().map(|t| size_of::<caveat_fusion::Track>() + 16 + t.heap_bytes()).sum::<usize>()
        + memo.memory()
        + tracks.capacity() * size_of::<usize>();
    let ratio = estimate as f64 / held as f64;
    assert!((0.8..1.2).contains(&ratio), "tracks: estimate {estimate} bytes, held {held} ({ratio:.2})");
}
