//! A live UDP AIS feed into a running `caveat serve`, replayed at increasing
//! rates while 200 clients query a view (issue 21's benchmark). For each rate
//! it prints the sentences sent, received by the hub, dropped by its queue
//! (counted) and lost before it (the kernel's, uncounted), the reports
//! committed per second, the largest commit delay (receipt of a batch's oldest
//! line to its commit) and the queries' p50/p99, then the highest rate
//! sustained with no uncounted loss, nothing dropped, and commits within 1 s.
//!
//! `cargo bench -p caveat --bench feed_load [-- SECONDS-PER-RATE [RATE...]]`
//! (defaults: 10 s; 5000 10000 20000 30000 40000 sentences/s). Input: the
//! Danish Maritime Authority recording shipped with caveat-ais
//! (`dma_aisabnormal_sample_2013.nmea.gz`, its VDM sentences without tag
//! blocks or `$PGHP` times, so reports are observed "now" and the queried
//! view holds them), one sentence per datagram as AIS-catcher sends them.
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
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 200;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn caveat(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caveat"));
    c.arg("--db").arg(dir.join("caveat.db")).args(args).current_dir(dir).env_remove("CAVEAT_DB");
    c
}

fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let auth =
        token.map(|t| format!("Authorization: Bearer {t}\r\nCaveat-Purpose: interdiction\r\n")).unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: l\r\nConnection: close\r\n{auth}\r\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some((out.get(9..12)?.parse().ok()?, out))
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b'{'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn sentences() -> Vec<Vec<u8>> {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../caveat-ais/tests/data/recordings/dma_aisabnormal_sample_2013.nmea.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
    text.lines()
        .filter_map(|l| l.find('!').map(|i| &l[i..]))
        .filter(|l| l.get(3..6) == Some("VDM") || l.get(3..6) == Some("VDO"))
        .map(|l| format!("{l}\r\n").into_bytes())
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let secs: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut rates: Vec<u64> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    if rates.is_empty() {
        rates = vec![5_000, 10_000, 20_000, 30_000, 40_000];
    }
    let lines = sentences();
    let dir = tempfile::tempdir().unwrap();
    assert!(caveat(dir.path(), &["init"]).output().unwrap().status.success());
    let out =
        caveat(dir.path(), &["user", "add", "ana@can", "--partner", "CAN", "--roles", "analyst"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (http, ops, udp) = (free_port(), free_port(), free_port());
    let _server = Server(
        caveat(
            dir.path(),
            &[
                "serve",
                "--listen",
                &format!("127.0.0.1:{http}"),
                "--metrics-listen",
                &format!("127.0.0.1:{ops}"),
                "--feed-udp",
                &format!("GBR=127.0.0.1:{udp}"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let started = Instant::now();
    while get(ops, "/metrics", None).is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "the hub did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "feed_load: {} sentences from the DMA recording, one per datagram; {CLIENTS} clients on GET /v1/tracks?limit=100 (CAN, interdiction); {secs} s per rate; {} cores",
        lines.len(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "{:>8} {:>9} {:>9} {:>9} {:>9} {:>12} {:>11} {:>8} {:>8} {:>8}",
        "rate/s", "sent", "received", "q-drop", "lost", "committed/s", "lag-max-ms", "q/s", "p50-ms", "p99-ms"
    );

    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut next = 0usize;
    let mut best = None;
    for rate in rates {
        let before = get(ops, "/metrics", None).unwrap().1;
        let stop = Arc::new(AtomicBool::new(false));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (stop, latencies, token) = (stop.clone(), latencies.clone(), token.clone());
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        if let Some((200, _)) = get(http, "/v1/tracks?limit=100", Some(&token)) {
                            mine.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                    latencies.lock().unwrap().extend(mine);
                })
            })
            .collect();
        // The lag gauge is the last batch's; sample it through the run.
        let sampling = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut max = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some((_, t)) = get(ops, "/metrics", None) {
                        max = max.max(metric(&t, "caveat_feed_commit_lag_milliseconds"));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                max
            })
        };
        let t0 = Instant::now();
        let total = rate * secs;
        let mut sent = 0u64;
        while sent < total {
            // Paced in 1 ms steps: as many as the rate owes by now.
            let owed = ((t0.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
            while sent < owed {
                sender.send_to(&lines[next % lines.len()], ("127.0.0.1", udp)).ok();
                next += 1;
                sent += 1;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let send_secs = t0.elapsed().as_secs_f64();
        // Let the last batches commit.
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let lag_sampled = sampling.join().unwrap();
        let after = get(ops, "/metrics", None).unwrap().1;
        let d = |name: &str| metric(&after, name) - metric(&before, name);
        let received = d("caveat_feed_lines_total");
        let dropped = d("caveat_feed_dropped_datagrams_total");
        let committed = d("caveat_feed_reports_committed_total");
        let lost = sent.saturating_sub(received + dropped);
        let lag = lag_sampled.max(metric(&after, "caveat_feed_commit_lag_milliseconds"));
        let mut l = latencies.lock().unwrap().clone();
        l.sort_by(f64::total_cmp);
        let pct =
            |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(0.0);
        println!(
            "{rate:>8} {sent:>9} {received:>9} {dropped:>9} {lost:>9} {:>12.0} {lag:>11} {:>8.0} {:>8.1} {:>8.1}",
            committed as f64 / send_secs,
            l.len() as f64 / (send_secs + 2.0),
            pct(0.50),
            pct(0.99)
        );
        if lost == 0 && dropped == 0 && lag <= 1_000 {
            best = Some((rate, lag, pct(0.99)));
        }
    }
    match best {
        Some((rate, lag, p99)) => println!(
            "highest rate sustained (no loss, no drops, committed within 1 s): {rate} sentences/s; commit delay max {lag} ms; query p99 {p99:.1} ms"
        ),
        None => println!("no rate was sustained (no loss, no drops, committed within 1 s)"),
    }
}
