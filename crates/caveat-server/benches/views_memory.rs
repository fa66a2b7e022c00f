//! Memory of open views (issue 16 item 4): resident memory and query latency
//! of 20 views over about 100,000 reports each, and resident memory again
//! once the views have gone idle and been dropped.
//!
//! `cargo bench -p caveat-server --bench views_memory [-- scale|random [REPORTS [IDLE_S [VIEW_MEMORY_MB]]]]`
//! (VIEW_MEMORY_MB: the views' memory budget, default the hub's)
//!
//! - `scale` (default): caveat-sim's scale scenario (2,000 vessels, seed 1)
//!   sized to about REPORTS reports (default 100,000) over two hours, ending now;
//! - `random`: the same reports moved to random positions in the eastern
//!   Caribbean, without course, speed or identity: nothing associates, every
//!   report starts a tentative track (the issue saw reads of 13-41 s there).
//!
//! Every report is released to every partner for every purpose except that
//! one in a hundred withholds one partner and one in a hundred one purpose
//! (rotating), so the 20 views (the first 20 of 6 partners x 5 purposes)
//! each see about 98,000 reports and no two see the same set. Requests go
//! through the HTTP app in process (tokens, decisions, the audit log on
//! SQLite), one at a time. Resident memory is /proc/self/statm's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::too_many_lines,
    reason = "benchmark binary"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use caveat_core::{Marking, PartnerId, Purpose, Report, Role, User, VesselDescriptors};
use caveat_server::{AppState, Limits, app, new_token};
use caveat_sim::{Fleet, ScenarioConfig, ScenarioPlan};
use caveat_store::{SqliteStore, Store};
use time::OffsetDateTime;
use tower::ServiceExt;

// As the `caveat` binary that runs the hub.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Views opened.
const VIEWS: usize = 20;
/// Rounds of queries over every view.
const ROUNDS: usize = 10;

/// Resident memory, MiB (`/proc/self/statm`: pages; 4 KiB pages).
fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    (pages * 4096) as f64 / f64::from(1 << 20)
}

/// About `n` reports of the scale scenario over two hours, ending at `now`.
fn scale(n: usize, now: OffsetDateTime) -> (Vec<caveat_core::Partner>, Vec<Report>) {
    // AIS is most of the reports; the other sensors add about a tenth.
    let mut config = ScenarioConfig::scale(1, 2_000, (n * 9 / 10 / 120).max(1));
    config.duration = time::Duration::hours(2);
    let end = config.start + config.duration;
    let shift = (now - time::Duration::minutes(1)) - end;
    let plan = ScenarioPlan::new(config, &Fleet::eastern_caribbean().unwrap()).unwrap();
    let partners = plan.partners().to_vec();
    let mut reports: Vec<Report> = plan
        .stream()
        .map(|s| s.report)
        .filter(|r| r.observed_at <= end)
        .map(|mut r| {
            r.observed_at += shift;
            r
        })
        .collect();
    reports.sort_by_key(|r| (r.observed_at, r.id));
    (partners, reports)
}

/// xorshift64*: reproducible, no dependency.
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let random = args.first().is_some_and(|a| a == "random");
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let idle_s: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let budget_mb: Option<usize> = args.get(3).and_then(|a| a.parse().ok());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();

    let (partners, mut reports) = scale(n, now);
    let ids: Vec<PartnerId> = partners.iter().map(|p| p.id.clone()).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (i, r) in reports.iter_mut().enumerate() {
        let mut m = Marking {
            releasable_to: ids.iter().cloned().collect(),
            purposes: Purpose::ALL.into_iter().collect(),
            ..Marking::originator_only()
        };
        m.no_export = false;
        match i % 100 {
            0 => {
                m.releasable_to.remove(&ids[(i / 100) % ids.len()]);
            }
            1 => {
                m.purposes.remove(&Purpose::ALL[(i / 100) % Purpose::ALL.len()]);
            }
            _ => {}
        }
        m.releasable_to.remove(&r.originator);
        r.marking = m;
        if random {
            r.position.lat = 15.0 + 5.0 * rng.unit();
            r.position.lon = -68.0 + 8.0 * rng.unit();
            r.course_deg = None;
            r.speed_kn = None;
            r.vessel = VesselDescriptors::default();
        }
    }
    let mut by_originator: BTreeMap<PartnerId, Vec<Report>> = BTreeMap::new();
    for r in &reports {
        by_originator.entry(r.originator.clone()).or_default().push(r.clone());
    }
    let total = reports.len();
    drop(reports);

    let store = Arc::new(SqliteStore::open(dir.path().join("views.db")).unwrap());
    // Views stay open while built and queried; the idle time is lowered to
    // IDLE_S after the last query (the hub's bounds are shared by its clones).
    let mut limits = Limits::default();
    if let Some(mb) = budget_mb {
        limits.view_memory_bytes = mb << 20;
    }
    let (state, tokens) = rt.block_on(async {
        for p in &partners {
            store.put_partner(p).await.unwrap();
        }
        for (originator, rs) in &by_originator {
            for chunk in rs.chunks(10_000) {
                store.insert_batch(originator, now, chunk.to_vec()).await.unwrap();
            }
        }
        let mut tokens = BTreeMap::new();
        for p in &ids {
            let u = User {
                id: format!("analyst@{}", p.as_str().to_lowercase()).parse().unwrap(),
                partner: p.clone(),
                roles: [Role::Analyst].into(),
            };
            store.put_user(&u).await.unwrap();
            let (token, hash) = new_token();
            store.add_token(&u.id, hash, now).await.unwrap();
            tokens.insert(p.clone(), token);
        }
        let key = caveat_audit::SigningKey::from_seed("caveat.bench/audit", [9; 32]).unwrap();
        let state = AppState::open(store.clone(), key).await.unwrap().with_limits(limits);
        (state, tokens)
    });
    drop(by_originator);
    let get = |partner: &PartnerId, purpose: Purpose, path: &str| {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {}", tokens[partner]))
            .header("caveat-purpose", purpose.as_str())
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap();
        let app = app(state.clone());
        rt.block_on(async move {
            let t = Instant::now();
            let res = app.oneshot(req).await.unwrap();
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
            assert!(status.is_success(), "{path}: {status} {}", String::from_utf8_lossy(&body));
            t.elapsed()
        })
    };
    let views: Vec<(PartnerId, Purpose)> =
        ids.iter().flat_map(|p| Purpose::ALL.map(|u| (p.clone(), u))).take(VIEWS).collect();

    println!(
        "caveat views-memory benchmark: {} reports ({}), {VIEWS} views (partner x purpose), view memory budget {} MiB, mimalloc, {} logical cores",
        total,
        if random { "scale scenario at random positions" } else { "scale scenario, 2,000 vessels, 2 h" },
        limits.view_memory_bytes >> 20,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let base = rss_mib();
    println!("  RSS base (store written, hub open)       {base:>7.0} MiB");
    let mut builds = Vec::new();
    let mut one = base;
    for (k, (p, u)) in views.iter().enumerate() {
        builds.push(get(p, *u, "/v1/tracks?limit=500"));
        if k == 0 {
            one = rss_mib();
            println!(
                "  RSS with 1 view (+ the recent reports)    {:>7.0} MiB   first build {:.2} s",
                rss_mib(),
                builds[0].as_secs_f64()
            );
        }
    }
    let with_views = rss_mib();
    let hub = state.hub();
    let slowest = builds.iter().max().copied().unwrap_or_default();
    let mean = builds.iter().sum::<Duration>().as_secs_f64() / builds.len().max(1) as f64;
    println!(
        "  RSS with {VIEWS} views                        {with_views:>7.0} MiB   (target < 1024 MiB); views' estimate {:.0} MiB over {} open views",
        hub.view_memory_bytes() as f64 / f64::from(1 << 20),
        hub.open_views()
    );
    println!("  view builds                              mean {mean:.2} s, slowest {:.2} s", slowest.as_secs_f64());

    // Repeated queries over every view: a page, the map's positions only, a
    // bounding box (the Puerto Rico approaches).
    let queries =
        ["/v1/tracks?limit=500", "/v1/tracks?limit=5000&trail=0", "/v1/tracks?bbox=-66,17.5,-64.5,18.8&limit=100"];
    let mut lat: Vec<u64> = Vec::new();
    let mut slow: Vec<(u64, usize, usize, &str)> = Vec::new();
    for round in 0..ROUNDS {
        for (k, (p, u)) in views.iter().enumerate() {
            for q in queries {
                let us = get(p, *u, q).as_micros() as u64;
                lat.push(us);
                slow.push((us, round, k, q));
            }
        }
    }
    slow.sort_unstable_by(|a, b| b.cmp(a));
    lat.sort_unstable();
    let pct = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
    println!(
        "  queries ({} over {VIEWS} views)              p50 {:.1} ms, p99 {:.1} ms (target < 100 ms), max {:.1} ms",
        lat.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let queried = rss_mib();
    println!("  RSS after the queries                    {queried:>7.0} MiB");
    let slowest: Vec<String> =
        slow.iter().take(8).map(|(us, r, k, q)| format!("{:.0} ms round {r} view {k} {q}", *us as f64 / 1e3)).collect();
    println!("  slowest queries: {}", slowest.join("; "));

    // No requests now: the hub's sweeper drops the views once idle.
    let _ = state.clone().with_limits(Limits { view_idle: Duration::from_secs(idle_s), ..limits });
    let mut trace = Vec::new();
    for _ in 0..(idle_s + 8) {
        std::thread::sleep(Duration::from_secs(1));
        trace.push(format!("{:.0}", rss_mib()));
    }
    let after = rss_mib();
    println!(
        "  RSS {}s after the last request (idle {idle_s} s)  {after:>7.0} MiB   (target: near the base); {} open views, estimate {:.0} MiB",
        idle_s + 8,
        hub.open_views(),
        hub.view_memory_bytes() as f64 / f64::from(1 << 20)
    );
    println!("  RSS each second meanwhile (MiB): {}", trace.join(" "));
    println!(
        "  per report per view: {:.0} bytes resident ((RSS with {VIEWS} views - RSS with 1) / {} views / {total} reports)",
        (with_views - one) * f64::from(1 << 20) / (VIEWS - 1) as f64 / total as f64,
        VIEWS - 1
    );
}
