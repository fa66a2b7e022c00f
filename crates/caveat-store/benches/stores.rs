//! SQLite against PostgreSQL on the same data: ingest reports/s (durable
//! batches of 10,000) and view-query latency (a patrol-area box over the last
//! hours), then ingest with two processes writing to one PostgreSQL.
//!
//! `CAVEAT_BENCH_POSTGRES=postgres://... cargo bench -p caveat-store --bench stores [-- REPORTS]`
//! Start a durable cluster with `eval "$(scripts/pg-test-cluster start --durable)"` and pass its URL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "benchmark binary over generated input"
)]

use std::time::Instant;

use caveat_core::{
    BoundingBox, Marking, Partner, Position, Purpose, Report, ReportId, SourceKind, TimeWindow, VesselDescriptors,
};
use caveat_store::{PostgresStore, ReportQuery, SqliteStore, Store};
use time::{Duration, OffsetDateTime};

const BATCH: usize = 10_000;

fn partner() -> Partner {
    Partner {
        id: "GBR".parse().unwrap(),
        name: "bench".into(),
        default_marking: Marking::originator_only(),
        ais_marking: None,
    }
}

/// Deterministic reports over the eastern Caribbean and the last six hours; `salt` keeps ids distinct per writer.
fn reports(n: usize, salt: u64, now: OffsetDateTime) -> Vec<Report> {
    let marking = Marking {
        releasable_to: ["CAN".parse().unwrap()].into(),
        purposes: [Purpose::Interdiction].into(),
        ..Marking::originator_only()
    };
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ salt;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(salt << 16).to_be_bytes());
            id[8..].copy_from_slice(&(i as u64).to_be_bytes());
            id[6] = 0x70;
            id[8] = 0x80;
            Report {
                id: ReportId::from_bytes(id),
                originator: "GBR".parse().unwrap(),
                observed_at: now - Duration::seconds((6 * 3600 * (n - i) / n) as i64),
                time_uncertainty_s: None,
                position: Position {
                    lat: 14.0 + (x % 60_000) as f64 / 10_000.0,
                    lon: -70.0 + ((x >> 20) % 120_000) as f64 / 10_000.0,
                },
                uncertainty_m: 50.0,
                course_deg: Some(90.0),
                speed_kn: Some(12.0),
                source: SourceKind::Ais,
                vessel: VesselDescriptors {
                    mmsi: caveat_core::Mmsi::new(200_000_000 + (x % 500_000_000) as u32).ok(),
                    ..VesselDescriptors::default()
                },
                remarks: None,
                marking: marking.clone(),
                supersedes: None,
                station: None,
            }
        })
        .collect()
}

async fn ingest(store: &dyn Store, data: Vec<Report>, now: OffsetDateTime) -> f64 {
    let n = data.len();
    let t = Instant::now();
    let mut data = data;
    while !data.is_empty() {
        let rest = data.split_off(BATCH.min(data.len()));
        store.insert_batch(&"GBR".parse().unwrap(), now, data).await.unwrap();
        data = rest;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

async fn queries(store: &dyn Store, now: OffsetDateTime) -> (f64, f64) {
    let mut lat = Vec::new();
    for k in 0..200 {
        let lat0 = 14.5 + f64::from(k % 10) * 0.4;
        let lon0 = -69.0 + f64::from(k % 20) * 0.5;
        let q = ReportQuery {
            bbox: Some(BoundingBox::new(lat0, lon0, lat0 + 1.0, lon0 + 1.0).unwrap()),
            window: TimeWindow { from: Some(now - Duration::hours(2)), to: None },
            ..ReportQuery::default()
        };
        let t = Instant::now();
        std::hint::black_box(store.reports(&q).await.unwrap());
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    (lat[lat.len() / 2], lat[lat.len() * 99 / 100])
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Child mode: one of the two writer processes.
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let url = &args[pos + 1];
        let salt: u64 = args[pos + 2].parse().unwrap();
        let n: usize = args[pos + 3].parse().unwrap();
        let store = PostgresStore::connect(url).await.unwrap();
        let now: OffsetDateTime = OffsetDateTime::from_unix_timestamp(args[pos + 4].parse().unwrap()).unwrap();
        let rate = ingest(&store, reports(n, salt, now), now).await;
        println!("{rate}");
        return;
    }
    let n: usize = args.iter().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200_000);
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("bench.db")).unwrap();
    sqlite.put_partner(&partner()).await.unwrap();
    let s_rate = ingest(&sqlite, reports(n, 1, now), now).await;
    let (s_p50, s_p99) = queries(&sqlite, now).await;
    println!("caveat stores benchmark: {n} reports, batches of {BATCH}, durable commits");
    println!("{:<34} {:>14} {:>12} {:>12}", "store", "ingest rep/s", "query p50 ms", "query p99 ms");
    println!("{:<34} {:>14.0} {:>12.2} {:>12.2}", "SQLite (WAL, synchronous=FULL)", s_rate, s_p50, s_p99);
    let Ok(url) = std::env::var("CAVEAT_BENCH_POSTGRES") else {
        println!("PostgreSQL: set CAVEAT_BENCH_POSTGRES to a durable server's URL to compare");
        return;
    };
    let pg = PostgresStore::connect(&url).await.unwrap();
    pg.put_partner(&partner()).await.unwrap();
    let p_rate = ingest(&pg, reports(n, 2, now), now).await;
    let (p_p50, p_p99) = queries(&pg, now).await;
    println!("{:<34} {:>14.0} {:>12.2} {:>12.2}", "PostgreSQL (synchronous_commit=on)", p_rate, p_p50, p_p99);
    println!("SQLite / PostgreSQL ingest ratio: {:.2}", s_rate / p_rate);
    // Two processes writing at once to the same database.
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let children: Vec<_> = (3..5u64)
        .map(|salt| {
            std::process::Command::new(&exe)
                .args(["--child", &url, &salt.to_string(), &(n / 2).to_string(), &now.unix_timestamp().to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let rates: Vec<f64> = children
        .into_iter()
        .map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap().trim().parse().unwrap())
        .collect();
    let total = n as f64 / t.elapsed().as_secs_f64();
    println!("two processes on one PostgreSQL: {total:.0} reports/s together ({:.0} + {:.0} each)", rates[0], rates[1]);
}
