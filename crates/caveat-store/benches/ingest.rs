//! Ingest throughput, NDJSON text to durable SQLite rows, on one core.
//!
//! `cargo bench -p caveat-store --bench ingest [-- REPORTS]` prints reports/s
//! for parsing + validation alone and for the whole path (parse, validate,
//! store with WAL + synchronous=FULL, one fsync per batch of 10,000). Input is
//! generated from a fixed seed; the database is a temporary file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::format_push_string,
    reason = "benchmark binary over generated input"
)]

use std::time::Instant;

use caveat_core::{IngestContext, Marking, Partner, Purpose, ReportIdMint, parse_batch};
use caveat_store::{SqliteStore, Store};
use time::macros::datetime;

const BATCH: usize = 10_000;

fn main() {
    let total: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(500_000);
    let partner = Partner {
        id: "GBR".parse().unwrap(),
        name: "bench".into(),
        default_marking: Marking {
            releasable_to: ["CAN".parse().unwrap()].into(),
            purposes: [Purpose::Interdiction].into(),
            ..Marking::originator_only()
        },
        ais_marking: None,
    };
    // Realistic lines: two thirds AIS-like reports with identity, one third radar contacts, over one day.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut batches: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0usize;
    for b in 0..total.div_ceil(BATCH) {
        let mut text = String::with_capacity(BATCH * 300);
        for i in 0..BATCH.min(total - b * BATCH) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lat = 14.0 + (x % 60_000) as f64 / 10_000.0;
            let lon = -70.0 + ((x >> 20) % 120_000) as f64 / 10_000.0;
            // A feed arrives roughly in observation order: time advances with
            // the line number, with up to 10 minutes of jitter.
            let secs = ((b * BATCH + i) as u64 * 86_400 / total as u64 + (x >> 40) % 600).min(86_399);
            let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            if i % 3 == 0 {
                text.push_str(&format!(
                    r#"{{"observed_at":"2026-11-20T{h:02}:{m:02}:{s:02}Z","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":150,"course_deg":212.5,"speed_kn":31.5,"source":"coastal-radar","vessel":{{"vessel_type":"go-fast"}}}}"#
                ));
            } else {
                text.push_str(&format!(
                    r#"{{"observed_at":"2026-11-20T{h:02}:{m:02}:{s:02}Z","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":10,"course_deg":90.5,"speed_kn":12.25,"source":"ais","vessel":{{"mmsi":"{:09}","name":"VESSEL {}","ais_ship_type":70}}}}"#,
                    200_000_000 + x % 500_000_000,
                    x % 1000
                ));
            }
            text.push('\n');
        }
        bytes += text.len();
        batches.push(text.into_bytes());
    }
    let ctx = || IngestContext {
        submitter: &partner,
        now: datetime!(2026-11-23 12:00 UTC),
        max_future_skew: time::Duration::minutes(5),
        mint: ReportIdMint::new(1_795_000_000_000, [9; 10]),
    };

    let t = Instant::now();
    let mut n = 0;
    for b in &batches {
        n += parse_batch(b, BATCH, &mut ctx()).unwrap().len();
    }
    let parse_rate = n as f64 / t.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (rate, cpu_rate, per_batch) = rt.block_on(async {
        let store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
        store.put_partner(&partner).await.unwrap();
        let mut c = ctx();
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let mut lat = Vec::new();
        for b in &batches {
            let bt = Instant::now();
            let reports = parse_batch(b, BATCH, &mut c).unwrap();
            store.insert_batch(&partner.id, c.now, reports).await.unwrap();
            lat.push(bt.elapsed().as_secs_f64() * 1e3);
        }
        lat.sort_by(f64::total_cmp);
        let cpu = cpu_seconds() - cpu0;
        (n as f64 / t.elapsed().as_secs_f64(), n as f64 / cpu, lat)
    });
    let p = |q: f64| per_batch[((per_batch.len() - 1) as f64 * q) as usize];
    println!("caveat ingest benchmark: {n} reports, {:.1} MB NDJSON, batches of {BATCH}", bytes as f64 / 1e6);
    println!(
        "machine: {} logical cores; one core used (parse and store run sequentially)",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!("{:<44} {:>12}", "stage", "reports/s");
    println!("{:<44} {:>12.0}", "parse + validate (caveat-core)", parse_rate);
    println!("{:<44} {:>12.0}", "parse + validate + store (SQLite, FULL sync)", rate);
    println!("{:<44} {:>12.0}", "  the same per CPU-second of the process", cpu_rate);
    println!("per-batch latency ms: p50 {:.1}  p99 {:.1}  max {:.1}", p(0.5), p(0.99), p(1.0));
    println!("target: >= 200000 reports/s end to end: {}", if rate >= 200_000.0 { "met" } else { "NOT met" });
    println!("(wall-clock rates drop when other processes share the cores; the CPU-second rate does not)");
}

/// User + system CPU time of this process, all threads, from /proc (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of proc(5) are utime and stime; `after` starts at field 3.
    let ticks: f64 = [11, 12].iter().filter_map(|i| fields.get(*i)?.parse::<f64>().ok()).sum();
    ticks / 100.0
}
