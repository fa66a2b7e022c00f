//! Load on a live hub: 10,000 vessels' tracks, 200 concurrent clients querying
//! their view (wrk against loopback), while reports are ingested over HTTP at
//! 5,000 reports/s. Prints query throughput and latency percentiles, and the
//! ingest rate achieved with its errors.
//!
//! `cargo bench -p caveat-server --bench load [-- SECONDS [QUERY...]]` (needs `wrk`:
//! `apt-get install wrk`). Input: caveat-sim's scale scenario, seed 1,
//! generated in memory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    reason = "benchmark binary"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caveat_core::{Report, Role, User};
use caveat_server::{AppState, app, new_token};
use caveat_sim::{Fleet, Scenario, ScenarioConfig};
use caveat_store::{SqliteStore, Store};
use time::OffsetDateTime;

/// Reports per second ingested during the run (`CAVEAT_BENCH_RATE` overrides, 0 for none).
const RATE: usize = 5_000;

// As the `caveat` binary that runs the hub.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
const TICK_MS: u64 = 100;
const IN_FLIGHT: u64 = 8;

fn post(port: u16, token: &str, body: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return 0 };
    let req = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: l\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn main() {
    let rate: usize = std::env::var("CAVEAT_BENCH_RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(RATE);
    let secs: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20);
    let mut queries: Vec<String> = std::env::args().skip(1).filter(|a| a.starts_with("/v1/")).collect();
    if queries.is_empty() {
        // A watch officer's map of the Puerto Rico approaches (about 1,000 of
        // the view's tracks): positions only, a page with short trails, and
        // the web COP's own request (pages of 500 with 30-point trails).
        queries = [
            "/v1/tracks?bbox=-66,17.5,-64.5,18.8&limit=500&trail=0",
            "/v1/tracks?bbox=-66,17.5,-64.5,18.8&limit=100",
            "/v1/tracks?bbox=-66,17.5,-64.5,18.8&limit=500",
        ]
        .map(str::to_owned)
        .to_vec();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();

    // The scale scenario: 10,000 vessels, 100,000 reports per scenario minute, moved to end now + replay.
    let fleet = Fleet::eastern_caribbean().unwrap();
    let mut config = ScenarioConfig::scale(1, 10_000, 100_000);
    // Two minutes of history, then enough to ingest at RATE through every run.
    let live_minutes = (secs * queries.len() as u64 * RATE as u64 / 100_000 + 2).cast_signed();
    config.duration = time::Duration::minutes(2 + live_minutes);
    let shift = (now - time::Duration::minutes(2)) - config.start;
    let scenario = Scenario::generate(config, &fleet).unwrap();
    let partners = scenario.partners().to_vec();
    let mut reports: Vec<Report> = scenario
        .reports()
        .iter()
        .map(|s| {
            let mut r = s.report.clone();
            r.observed_at += shift;
            r.marking.not_after = r.marking.not_after.map(|t| t + shift);
            r
        })
        .filter(|r| r.originator.as_str() == "USA-USCG")
        .collect();
    reports.sort_by_key(|r| (r.observed_at, r.id));
    let split = reports.partition_point(|r| r.observed_at <= now);
    let live: Vec<Report> = reports.split_off(split);
    let history = reports;

    let store = Arc::new(SqliteStore::open(dir.path().join("load.db")).unwrap());
    let (state, can_token, uscg_token) = rt.block_on(async {
        for p in &partners {
            store.put_partner(p).await.unwrap();
        }
        let mut tokens = Vec::new();
        for (id, partner, role) in [("ana@can", "CAN", Role::Analyst), ("feed@uscg", "USA-USCG", Role::Analyst)] {
            let u = User { id: id.parse().unwrap(), partner: partner.parse().unwrap(), roles: [role].into() };
            store.put_user(&u).await.unwrap();
            let (token, hash) = new_token();
            store.add_token(&u.id, hash, now).await.unwrap();
            tokens.push(token);
        }
        for chunk in history.chunks(10_000) {
            store.insert_batch(&"USA-USCG".parse().unwrap(), now, chunk.to_vec()).await.unwrap();
        }
        let key = caveat_audit::SigningKey::from_seed("caveat.bench/audit", [9; 32]).unwrap();
        let state = AppState::open(store.clone(), key).await.unwrap();
        (state, tokens[0].clone(), tokens[1].clone())
    });
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move { axum::serve(listener, app(state)).await.unwrap() });

    // Warm the view once (the first request builds it) and count its tracks.
    let warm = Instant::now();
    let out = std::process::Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: Bearer {can_token}"), "-H", "Caveat-Purpose: interdiction"])
        .arg(format!("http://127.0.0.1:{port}/v1/tracks?limit=5000"))
        .output()
        .unwrap();
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let warm_s = warm.elapsed().as_secs_f64();
    let mut total_tracks = 0usize;
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    total_tracks += first["tracks"].as_array().map_or(0, Vec::len);
    while let Some(c) = cursor {
        let out = std::process::Command::new("curl")
            .args(["-s", "-H", &format!("Authorization: Bearer {can_token}"), "-H", "Caveat-Purpose: interdiction"])
            .arg(format!("http://127.0.0.1:{port}/v1/tracks?limit=5000&cursor={c}"))
            .output()
            .unwrap();
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        total_tracks += page["tracks"].as_array().map_or(0, Vec::len);
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }

    // Ingest at RATE reports/s over HTTP while wrk queries: a batch every
    // TICK_MS on a fixed schedule, each posted on its own connection (as
    // several partner feeds would), at most IN_FLIGHT at once, so a slow
    // answer delays nothing behind it and shows as lateness, not a lower rate.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, errors, late) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let ingest = {
        let (stop, sent, errors, late) = (stop.clone(), sent.clone(), errors.clone(), late.clone());
        std::thread::spawn(move || {
            let per_tick = rate * TICK_MS as usize / 1000;
            let mut next = live.into_iter();
            let start = Instant::now();
            let mut tick = 0u64;
            let in_flight = Arc::new(AtomicU64::new(0));
            let mut posts = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let body: String =
                    next.by_ref().take(per_tick).map(|r| serde_json::to_string(&r).unwrap() + "\n").collect();
                if body.is_empty() {
                    if rate == 0 && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(TICK_MS));
                        continue;
                    }
                    break;
                }
                while in_flight.load(Ordering::Acquire) >= IN_FLIGHT {
                    std::thread::sleep(Duration::from_millis(1));
                }
                in_flight.fetch_add(1, Ordering::AcqRel);
                let (sent, errors, late, in_flight, token) =
                    (sent.clone(), errors.clone(), late.clone(), in_flight.clone(), uscg_token.clone());
                let due_by = start + Duration::from_millis((tick + 1) * TICK_MS);
                posts.push(std::thread::spawn(move || {
                    let n = body.lines().count() as u64;
                    if post(port, &token, &body) == 201 {
                        sent.fetch_add(n, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    if Instant::now() > due_by {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                }));
                tick += 1;
                let due = Duration::from_millis(tick * TICK_MS);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            for p in posts {
                p.join().unwrap();
            }
            start.elapsed().as_secs_f64()
        })
    };
    let lua = dir.path().join("h.lua");
    std::fs::write(
        &lua,
        format!(
            "wrk.headers[\"Authorization\"] = \"Bearer {can_token}\"\nwrk.headers[\"Caveat-Purpose\"] = \"interdiction\"\nwrk.headers[\"Accept-Encoding\"] = \"gzip\"\n"
        ),
    )
    .unwrap();
    println!(
        "caveat load benchmark ({secs} s per query, loopback, {} logical cores shared by hub, wrk and the ingest driver)",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "view: CAN / interdiction, {total_tracks} tracks from {} stored reports (first build {warm_s:.1} s); clients send Accept-Encoding: gzip",
        history.len()
    );
    for query in &queries {
        let wrk = std::process::Command::new("wrk")
            .args(["-t2", "-c200", &format!("-d{secs}s"), "--latency", "-s"])
            .arg(&lua)
            .arg(format!("http://127.0.0.1:{port}{query}"))
            .output()
            .expect("wrk (apt-get install wrk)");
        let text = String::from_utf8_lossy(&wrk.stdout);
        let pick = |label: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(label))
                .map_or_else(|| "?".into(), |l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        };
        let rps = text
            .lines()
            .find(|l| l.starts_with("Requests/sec"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?");
        let transfer = text
            .lines()
            .find(|l| l.starts_with("Transfer/sec"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?");
        println!(
            "queries: 200 connections, GET {query}: {rps} requests/s ({transfer}/s), p50 {}, p90 {}, p99 {}",
            pick("50%"),
            pick("90%"),
            pick("99%")
        );
        if !text.contains("Requests/sec") {
            println!("wrk output:\n{text}\n{}", String::from_utf8_lossy(&wrk.stderr));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let ingest_s = ingest.join().unwrap();
    let ingested = sent.load(Ordering::Relaxed);
    println!(
        "ingest over HTTP throughout: {ingested} reports in {ingest_s:.1} s = {:.0} reports/s (target {rate}), {} failed batches, {} batches answered after the next was due",
        ingested as f64 / ingest_s,
        errors.load(Ordering::Relaxed),
        late.load(Ordering::Relaxed)
    );
    println!("target: view-query p99 under 50 ms with no ingest errors");
}
