//! Issue 17's benchmark: a hub and three partner nodes (GBR, NLD, FRA) on
//! loopback with mutual TLS, 10,000 reports per node, against a hub holding
//! the same 30,000 reports posted directly. Prints, side by side:
//! - a view's latency (CAN, interdiction; p50/p99 of warm requests, and the
//!   first request that builds it) with all data at the nodes vs. all at the hub;
//! - the release cost: one node's full release of 10,000 reports over mTLS
//!   (time and bytes), as the hub asks it;
//! - the time for a view to reflect a new release (a report ingested at GBR's
//!   node until CAN's view at the hub holds it) and for a suspension at GBR's
//!   node to take effect at the hub (until CAN's view holds no GBR data);
//! - against the issue's targets: a federated view within 2x of a direct one,
//!   a suspension effective within one second.
//!
//! `cargo bench -p caveat --bench federation [-- REQUESTS]` (default 200 warm requests per view).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    clippy::too_many_lines,
    reason = "benchmark binary"
)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NODES: [&str; 3] = ["GBR", "NLD", "FRA"];
const PER_NODE: usize = 10_000;
const VESSELS: usize = 100;

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

fn caveat(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caveat"));
    c.arg("--db").arg(dir.join("caveat.db")).args(args).current_dir(dir).env_remove("CAVEAT_DB");
    c
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = caveat(dir, args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_mins(1), "nothing listening on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A self-signed certificate for loopback: (cert PEM, key PEM, cert DER, key DER).
fn cert() -> (String, String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let key_der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone(), key_der)
}

/// GET a path as `token` (purpose interdiction); (status, body).
fn get(port: u16, path: &str, token: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_mins(1))).unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: l\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nCaveat-Purpose: interdiction\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

/// CAN's interdiction view: (report count over its tracks, originators).
fn view(port: u16, token: &str) -> (u64, std::collections::BTreeSet<String>) {
    let (status, body) = get(port, "/v1/tracks?limit=5000&trail=1", token);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let tracks = v["tracks"].as_array().unwrap();
    let count = tracks.iter().filter_map(|t| t["report_count"].as_u64()).sum();
    let originators = tracks
        .iter()
        .flat_map(|t| t["originators"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_owned()))
        .collect();
    (count, originators)
}

/// Node `k`'s reports: 100 vessels, each seen every 90 s for 100 sightings
/// (the last 2.5 hours), releasable to CAN for interdiction.
fn reports(k: usize, now: time::OffsetDateTime) -> String {
    let mut out = String::new();
    let now = now.replace_nanosecond(0).unwrap();
    for v in 0..VESSELS {
        for j in 0..PER_NODE / VESSELS {
            let n = (k * PER_NODE + v * (PER_NODE / VESSELS) + j) as u64 + 1;
            let t = now - time::Duration::seconds(9_000) + time::Duration::seconds(90 * j as i64);
            let line = serde_json::json!({
                "id": format!("019ab000-0000-7000-8000-{n:012x}"),
                "observed_at": t.format(&time::format_description::well_known::Rfc3339).unwrap(),
                "position": {"lat": 10.0 + k as f64 * 3.0 + (v % 10) as f64 * 0.3 + j as f64 * 0.002,
                             "lon": -70.0 + (v / 10) as f64 * 0.3 + j as f64 * 0.003},
                "uncertainty_m": 100,
                "source": "coastal-radar",
                "marking": {"releasable_to": ["CAN"], "purposes": ["interdiction"]},
            });
            writeln!(out, "{line}").unwrap();
        }
    }
    out
}

/// One full release over mutual TLS, as the hub asks it: (status, bytes, reports).
async fn release(
    port: u16,
    client: (CertificateDer<'static>, PrivateKeyDer<'static>),
    node_cert: &CertificateDer<'static>,
) -> (u16, usize, usize) {
    let _already = rustls::crypto::ring::default_provider().install_default().is_err();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(node_cert.clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client.0], client.1)
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let body = r#"{"recipient": "CAN", "purpose": "interdiction", "limit": 10000}"#;
    let req = format!(
        "POST /v1/federation/release HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    let n = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["reports"].as_array().map(Vec::len))
        .unwrap_or(0);
    (status, body.len(), n)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Warm latency of CAN's view: (first request, p50, p99).
fn latency(port: u16, token: &str, requests: usize) -> (Duration, Duration, Duration) {
    let t = Instant::now();
    view(port, token);
    let first = t.elapsed();
    let mut all: Vec<Duration> = (0..requests)
        .map(|_| {
            let t = Instant::now();
            let (status, _) = get(port, "/v1/tracks?limit=5000&trail=1", token);
            assert_eq!(status, 200);
            t.elapsed()
        })
        .collect();
    all.sort();
    (first, percentile(&all, 0.5), percentile(&all, 0.99))
}

fn main() {
    let requests: usize =
        std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(200);
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf {
        let d = root.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let (direct, fed) = (dir("direct"), dir("hub"));
    let now = time::OffsetDateTime::now_utc();
    let (hub_pem, hub_key, hub_der, hub_key_der) = cert();
    let mut servers = Vec::new();
    let mut entries = String::new();
    let mut nodes = Vec::new();
    let setup = Instant::now();
    for d in [&direct, &fed] {
        run(d, &["init"]);
    }
    for (k, partner) in NODES.iter().enumerate() {
        let node = dir(&format!("node-{partner}"));
        run(&node, &["init"]);
        let file = node.join("reports.ndjson");
        std::fs::write(&file, reports(k, now)).unwrap();
        run(&node, &["ingest", "--as", partner, file.to_str().unwrap()]);
        run(&direct, &["ingest", "--as", partner, file.to_str().unwrap()]);
        let (pem, key, der, _) = cert();
        std::fs::write(node.join("node.pem"), &pem).unwrap();
        std::fs::write(node.join("node.key"), &key).unwrap();
        std::fs::write(node.join("hub-client.pem"), &hub_pem).unwrap();
        let (api, rel) = (free_port(), free_port());
        std::fs::write(
            node.join("node.toml"),
            format!("[node]\npartner = \"{partner}\"\nlisten = \"127.0.0.1:{rel}\"\ncert = \"node.pem\"\nkey = \"node.key\"\nhub_cert = \"hub-client.pem\"\n"),
        )
        .unwrap();
        let child = caveat(&node, &["serve", "--listen", &format!("127.0.0.1:{api}"), "--config", "node.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        servers.push(Server(child));
        let vkey = run(&node, &["audit", "key"]).trim().to_owned();
        let cert_path = fed.join(format!("{partner}-node.pem"));
        std::fs::write(&cert_path, &pem).unwrap();
        write!(
            entries,
            "[[federation.nodes]]\npartner = \"{partner}\"\nurl = \"https://127.0.0.1:{rel}\"\ncert = \"{}\"\nkey = \"{vkey}\"\n",
            cert_path.display()
        )
        .unwrap();
        nodes.push((node, api, rel, der));
    }
    std::fs::write(fed.join("hub-client.pem"), &hub_pem).unwrap();
    std::fs::write(fed.join("hub-client.key"), &hub_key).unwrap();
    std::fs::write(
        fed.join("hub.toml"),
        format!("[federation]\nclient_cert = \"hub-client.pem\"\nclient_key = \"hub-client.key\"\ntimeout_ms = 10000\n{entries}"),
    )
    .unwrap();
    let (direct_port, fed_port) = (free_port(), free_port());
    let mut tokens = Vec::new();
    for (d, port, config) in [(&direct, direct_port, None), (&fed, fed_port, Some("hub.toml"))] {
        tokens.push(run(d, &["user", "add", "ana@can", "--partner", "CAN", "--roles", "analyst"]).trim().to_owned());
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--listen", &listen];
        if let Some(c) = config {
            args.extend(["--config", c]);
        }
        // The hub's log says which asks of a node failed, and why (printed at the end).
        let log = std::fs::File::create(d.join("serve.log")).unwrap();
        servers.push(Server(caveat(d, &args).stdout(Stdio::null()).stderr(log).spawn().unwrap()));
    }
    for port in [direct_port, fed_port].into_iter().chain(nodes.iter().flat_map(|n| [n.1, n.2])) {
        wait_for(port);
    }
    println!("federation benchmark: a hub and {} nodes x {PER_NODE} reports, mutual TLS on loopback", NODES.len());
    println!(
        "setup (init, ingest {} reports, start 5 processes): {:.1} s",
        NODES.len() * PER_NODE * 2,
        setup.elapsed().as_secs_f64()
    );

    let (d_first, d50, d99) = latency(direct_port, &tokens[0], requests);
    let (f_first, f50, f99) = latency(fed_port, &tokens[1], requests);
    let (dv, fv) = (view(direct_port, &tokens[0]), view(fed_port, &tokens[1]));
    println!();
    println!("CAN/interdiction view, {} reports fused, {requests} warm requests each:", dv.0);
    println!("{:<28} {:>12} {:>12}", "", "all at hub", "at nodes");
    println!("{:<28} {:>10.1}ms {:>10.1}ms", "first request (builds it)", ms(d_first), ms(f_first));
    println!("{:<28} {:>10.1}ms {:>10.1}ms", "warm p50", ms(d50), ms(f50));
    println!("{:<28} {:>10.1}ms {:>10.1}ms", "warm p99", ms(d99), ms(f99));
    let ratio = ms(f50) / ms(d50).max(0.001);
    println!(
        "both views: {} reports from {:?} (federated: {} from {:?}){}",
        dv.0,
        dv.1,
        fv.0,
        fv.1,
        if dv == fv { "" } else { "  DIFFERENT" }
    );
    println!("federated/direct p50: {ratio:.2}x (target: within 2x) {}", if ratio <= 2.0 { "MET" } else { "NOT MET" });
    let ratio99 = ms(f99) / ms(d99).max(0.001);
    println!(
        "federated/direct p99: {ratio99:.2}x (target: within 2x) {}",
        if ratio99 <= 2.0 { "MET" } else { "NOT MET" }
    );

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (_, _, rel, der) = &nodes[0];
    let mut times = Vec::new();
    let mut last = (0, 0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        last = rt.block_on(release(*rel, (hub_der.clone(), hub_key_der.clone_key()), der));
        times.push(t.elapsed());
    }
    times.sort();
    assert_eq!(last.0, 200);
    println!();
    println!(
        "release cost (GBR's node, one full release over mTLS, decided, logged, signed): {} reports, {:.1} MB, median {:.1} ms of 5",
        last.2,
        last.1 as f64 / 1e6,
        ms(times[2])
    );

    // A new report at GBR's node, ingested by another process on its database.
    let (gbr_node, ..) = &nodes[0];
    let before = view(fed_port, &tokens[1]).0;
    let line = serde_json::json!({
        "id": "019ab000-0000-7000-8000-0000ffffffff",
        "observed_at": time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap(),
        "position": {"lat": 25.0, "lon": -60.0},
        "uncertainty_m": 100,
        "source": "coastal-radar",
        "marking": {"releasable_to": ["CAN"], "purposes": ["interdiction"]},
    });
    let file = gbr_node.join("new.ndjson");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let t = Instant::now();
    run(gbr_node, &["ingest", "--as", "GBR", file.to_str().unwrap()]);
    while view(fed_port, &tokens[1]).0 <= before {
        assert!(t.elapsed() < Duration::from_secs(30), "the new release never reached the view");
        std::thread::sleep(Duration::from_millis(10));
    }
    let new_release = t.elapsed();

    let t = Instant::now();
    run(gbr_node, &["policy", "suspend", "--as", "GBR", "--partners", "CAN", "--reason", "bench"]);
    while view(fed_port, &tokens[1]).1.contains("GBR") {
        assert!(t.elapsed() < Duration::from_secs(30), "the suspension never reached the view");
        std::thread::sleep(Duration::from_millis(10));
    }
    let suspension = t.elapsed();
    println!(
        "a new report at GBR's node in CAN's view at the hub after {:.0} ms (ingest command included)",
        ms(new_release)
    );
    println!(
        "a suspension at GBR's node effective in CAN's view at the hub after {:.0} ms (suspend command included; target: within 1 s) {}",
        ms(suspension),
        if suspension <= Duration::from_secs(1) { "MET" } else { "NOT MET" }
    );
    let log = std::fs::read_to_string(fed.join("serve.log")).unwrap_or_default();
    let failed: Vec<&str> = log.lines().filter(|l| l.starts_with("caveat-hub: node")).collect();
    println!("failed asks of a node in the hub's log: {}", failed.len());
    for l in failed.iter().take(5) {
        println!("  {l}");
    }
}
