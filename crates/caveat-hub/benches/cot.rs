//! What a CoT delivery costs per event (issue 21): rendering a track as an
//! event, binding its label (one Ed25519 signature and a JSON encoding), and
//! reading a TAK sighting. Prints microseconds per event; not a test.
//!
//! `cargo bench -p caveat-hub --bench cot [-- EVENTS]`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails loudly")]

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::time::Instant;

use caveat_core::{Marking, Position};
use caveat_hub::cot::{sighting, track_event};
use caveat_hub::label::{Binding, LabelPolicy};
use caveat_hub::{Identity, TrackBody, TrackState, Uncertainty};
use time::OffsetDateTime;

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(5_000);
    let now = OffsetDateTime::now_utc();
    let partners: BTreeSet<caveat_core::PartnerId> = ["GBR", "CAN"].iter().map(|p| p.parse().unwrap()).collect();
    let marking = Marking { releasable_to: partners.clone(), ..Marking::originator_only() };
    let label = LabelPolicy::default().label(partners.iter(), Some(&marking), now);
    let key = caveat_audit::SigningKey::from_seed("bench.example/audit", [3; 32]).unwrap();
    let tracks: Vec<TrackBody<'static>> = (0..n)
        .map(|i| TrackBody {
            id: format!("{i:016x}"),
            status: TrackState::Confirmed,
            position: Position { lat: 18.0 + i as f64 * 1e-4, lon: -66.0 },
            course_deg: Some(90.0),
            speed_kn: 12.0,
            updated_at: now,
            identity: Identity {
                mmsi: Some("235000111".parse().unwrap()),
                imo: None,
                name: Some(Cow::Borrowed("NORTHERN STAR")),
                call_sign: None,
                flag: Some("GB".parse().unwrap()),
                vessel_type: Some(caveat_core::VesselType::Cargo),
                length_m: Some(120.0),
                engines: None,
                persons_on_board: None,
                mmsi_conflict: false,
            },
            originators: Cow::Owned(partners.clone()),
            report_count: 40,
            trail: Vec::new(),
            marking: Some(marking.clone()),
            sources: BTreeSet::new(),
            uncertainty: Some(Uncertainty { semi_major_m: 120.0, semi_minor_m: 60.0, orientation_deg: 30.0 }),
        })
        .collect();

    let t = Instant::now();
    let events: Vec<_> =
        tracks.iter().map(|b| track_event(b, &label, now, time::Duration::minutes(5)).unwrap()).collect();
    let render = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let bytes: usize = events.iter().map(|e| e.xml.len()).sum::<usize>() / n;

    let t = Instant::now();
    let bound: usize = events
        .iter()
        .map(|e| {
            Binding::sign(&key, e.label.clone(), "application/cot+xml", e.xml.as_bytes())
                .unwrap()
                .to_json()
                .unwrap()
                .len()
        })
        .sum::<usize>()
        / n;
    let bind = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    let dropped = br#"<event version="2.0" uid="patrol-1" type="a-u-S" how="h-e" time="2026-11-20T03:14:00Z" start="2026-11-20T03:14:00Z" stale="2026-11-20T03:24:00Z"><point lat="18.5" lon="-66.25" hae="0" ce="75" le="9999999"/><detail><contact callsign="Skiff"/><remarks>two outboards</remarks></detail></event>"#;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(sighting(std::hint::black_box(dropped)).unwrap());
    }
    let parse = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    println!("CoT, {n} events on {} cores:", std::thread::available_parallelism().map_or(1, usize::from));
    println!("  render a track as an event   {render:8.1} µs/event  ({bytes} bytes)");
    println!("  bind its label (sign + JSON) {bind:8.1} µs/event  ({bound} bytes of binding JSON, before base64)");
    println!("  read a TAK sighting          {parse:8.1} µs/event");
    println!(
        "  a full delivery of {n} tracks: about {:.0} ms of one core per client",
        (render + bind) * n as f64 / 1000.0
    );
}
