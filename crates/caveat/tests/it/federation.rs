//! Issue 17 with real processes on loopback and mutual TLS: a hub asking two
//! partner nodes (GBR, NLD), each a `caveat serve` with a `[node]` section,
//! against a hub holding every report directly.
//!
//! (a) For every partner and purpose the federated view equals the direct one.
//! (e) Through the node's real mTLS endpoint, whatever the request says, a
//!     node releases only what its policy permits; without the pinned
//!     certificate nothing connects.
//! And a node going down: the hub keeps answering, with the other node's data,
//! and the down node's data leaves the picture when its lease runs out.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::tls::Server;
use crate::{Hub, stderr, stdout};

const PARTNERS: [&str; 6] = ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS"];
const PURPOSES: [&str; 5] = ["interdiction", "search-and-rescue", "maritime-safety", "prosecution", "monitoring"];

/// A self-signed certificate for loopback: (cert PEM, key PEM, cert DER, key DER).
pub(crate) fn cert() -> (String, String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = params.self_signed(&key).unwrap();
    let key_der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone(), key_der)
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "nothing listening on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn ok(hub: &Hub, args: &[&str]) -> String {
    let out = hub.run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A small deterministic generator.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Reports as NDJSON per originator: six vessels seen every three minutes by
/// one partner or another, markings drawn per partner and stretch of track.
fn world(now: OffsetDateTime) -> Vec<(String, String)> {
    let mut rng = Rng(0x5eed_cafe);
    let mut markings = std::collections::HashMap::new();
    let mut lines: Vec<(String, String)> = PARTNERS.iter().map(|p| ((*p).to_owned(), String::new())).collect();
    let mut n = 0u64;
    for v in 0..6u64 {
        for k in 0..24u64 {
            let o = (v * 7 + k * 3 + rng.below(2)) % 6;
            let originator = PARTNERS[o as usize];
            let marking = markings
                .entry((o, k / 8))
                .or_insert_with(|| {
                    let to: Vec<&str> =
                        PARTNERS.iter().copied().filter(|p| *p != originator && rng.below(100) < 65).collect();
                    let purposes: Vec<&str> = PURPOSES.iter().copied().filter(|_| rng.below(100) < 60).collect();
                    json!({"releasable_to": to, "purposes": purposes, "requires_case": rng.below(10) == 0, "no_export": rng.below(3) == 0})
                })
                .clone();
            n += 1;
            let t = now.replace_nanosecond(0).unwrap() - time::Duration::minutes(75 - 3 * k.cast_signed());
            let line = json!({
                "id": crate::id(n),
                "observed_at": t.format(&Rfc3339).unwrap(),
                "position": {"lat": 15.5 + v as f64 * 0.4 + 0.002 * (v as f64 - 2.5) * k as f64, "lon": -65.0 + v as f64 * 0.3 + 0.003 * k as f64},
                "uncertainty_m": 150,
                "course_deg": 80,
                "speed_kn": 12,
                "source": "coastal-radar",
                "marking": marking,
            });
            writeln!(lines[o as usize].1, "{line}").unwrap();
        }
    }
    lines
}

/// A bare HTTP/1.1 GET; returns (status, body).
pub(crate) fn get(port: u16, path: &str, token: &str, purpose: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nCaveat-Purpose: {purpose}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

pub(crate) fn tracks(port: u16, token: &str, purpose: &str) -> Value {
    let (status, body) = get(port, "/v1/tracks?limit=5000&trail=200", token, purpose);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub(crate) fn originators(v: &Value) -> std::collections::BTreeSet<String> {
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["originators"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_owned()))
        .collect()
}

/// POST a release request to a node over mutual TLS (as the hub would), or fail to connect.
async fn release(
    port: u16,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
    node_cert: &CertificateDer<'static>,
    body: &Value,
) -> Result<(u16, Value), String> {
    let _already = rustls::crypto::ring::default_provider().install_default().is_err();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(node_cert.clone()).map_err(|e| e.to_string())?;
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match client {
        Some((c, k)) => builder.with_client_auth_cert(vec![c], k).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let body = body.to_string();
    let req = format!(
        "POST /v1/federation/release HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    let out = String::from_utf8(out).map_err(|e| e.to_string())?;
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// Whether the node's policy permits `report` to the request: its marking
/// (with the case facts the hub asserts), the originator's own rights, and
/// GBR's suspension of FRA.
fn permits(report: &Value, req: &Value) -> bool {
    let recipient = req["recipient"].as_str().unwrap();
    let m = &report["marking"];
    if report["originator"] == req["recipient"] {
        return true;
    }
    let has = |field: &str, v: &str| m[field].as_array().is_some_and(|a| a.iter().any(|x| x == v));
    let case = &req["case"];
    let in_case = case["open"] == true
        && (case["lead"] == recipient
            || case["participants"].as_array().is_some_and(|a| a.iter().any(|x| x == recipient)));
    let export_ok = req["action"] != "export" || m["no_export"] != true;
    let suspended = report["originator"] == "GBR" && recipient == "FRA";
    has("releasable_to", recipient)
        && has("purposes", req["purpose"].as_str().unwrap())
        && (m["requires_case"] != true || in_case)
        && export_ok
        && !suspended
}

#[test]
fn a_hub_and_two_nodes_on_mutual_tls_equal_a_direct_hub_and_degrade_when_a_node_goes() {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let world = world(now);
    let (direct, fed) = (Hub::new(), Hub::new());
    let nodes = [("GBR", Hub::new()), ("NLD", Hub::new())];
    let (hub_pem, hub_key, hub_der, hub_key_der) = cert();
    let (_, _, stranger_der, stranger_key) = cert();
    for (originator, ndjson) in &world {
        let file = format!("{originator}.ndjson");
        ok(&direct, &["ingest", "--as", originator, direct.write(&file, ndjson).to_str().unwrap()]);
        match nodes.iter().find(|(p, _)| p == originator) {
            Some((_, node)) => ok(node, &["ingest", "--as", originator, node.write(&file, ndjson).to_str().unwrap()]),
            None => ok(&fed, &["ingest", "--as", originator, fed.write(&file, ndjson).to_str().unwrap()]),
        };
    }
    for h in [&direct, &nodes[0].1] {
        ok(h, &["policy", "suspend", "--as", "GBR", "--partners", "FRA", "--reason", "inquiry"]);
    }
    let mut tokens = Vec::new();
    for p in PARTNERS {
        let user = format!("analyst@{}", p.to_lowercase());
        let d = ok(&direct, &["user", "add", &user, "--partner", p, "--roles", "analyst"]).trim().to_owned();
        let f = ok(&fed, &["user", "add", &user, "--partner", p, "--roles", "analyst"]).trim().to_owned();
        tokens.push((p, d, f));
    }

    // The nodes: their own API, and the release listener pinned to the hub's certificate.
    let mut servers = Vec::new();
    let mut node_entries = String::new();
    let mut node_release = Vec::new();
    for (partner, node) in &nodes {
        let (pem, key, der, _) = cert();
        let (api, rel) = (free_port(), free_port());
        node.write("node.pem", &pem);
        node.write("node.key", &key);
        node.write("hub-client.pem", &hub_pem);
        // NLD grants short leases, so its data leaves the hub soon after it goes down.
        let lease = if *partner == "NLD" { 4 } else { 600 };
        let config = format!(
            "[node]\npartner = \"{partner}\"\nlisten = \"127.0.0.1:{rel}\"\ncert = \"node.pem\"\nkey = \"node.key\"\nhub_cert = \"hub-client.pem\"\nlease_s = {lease}\n"
        );
        let config = node.write("node.toml", config);
        let child = node
            .command(&["serve", "--listen", &format!("127.0.0.1:{api}"), "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        servers.push(Server(child));
        let vkey = ok(node, &["audit", "key"]).trim().to_owned();
        let cert_path = fed.write(&format!("{partner}-node.pem"), &pem);
        write!(
            node_entries,
            "[[federation.nodes]]\npartner = \"{partner}\"\nurl = \"https://127.0.0.1:{rel}\"\ncert = \"{}\"\nkey = \"{vkey}\"\n",
            cert_path.display()
        )
        .unwrap();
        node_release.push((rel, der));
    }
    fed.write("hub-client.pem", &hub_pem);
    fed.write("hub-client.key", &hub_key);
    let fed_config = fed.write(
        "hub.toml",
        format!("[federation]\nclient_cert = \"hub-client.pem\"\nclient_key = \"hub-client.key\"\ntimeout_ms = 1000\n{node_entries}"),
    );
    let (direct_port, fed_port) = (free_port(), free_port());
    for (h, port, config) in [(&direct, direct_port, None), (&fed, fed_port, Some(&fed_config))] {
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--listen", &listen];
        if let Some(c) = config {
            args.extend(["--config", c.to_str().unwrap()]);
        }
        servers.push(Server(h.command(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()));
    }
    for port in [direct_port, fed_port, node_release[0].0, node_release[1].0] {
        wait_for(port);
    }

    // (a) Every partner and purpose: the same tracks.
    let mut with_node_data = Vec::new();
    for (partner, d, f) in &tokens {
        for purpose in PURPOSES {
            let (dv, fv) = (tracks(direct_port, d, purpose), tracks(fed_port, f, purpose));
            assert_eq!(fv, dv, "{partner}/{purpose}");
            let o = originators(&dv);
            if o.contains("GBR") && o.contains("NLD") {
                with_node_data.push((*partner, purpose));
            }
        }
    }
    assert!(with_node_data.len() >= 5, "too few views use both nodes' data: {with_node_data:?}");

    // (e) The node's endpoint: only the pinned hub certificate connects, and
    // whatever the request says, only permitted reports come back.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (gbr_port, gbr_cert) = node_release[0].clone();
    let probe = json!({"recipient": "CAN", "purpose": "interdiction"});
    // TLS 1.3 tells a client its certificate was refused only when it reads:
    // refused means no connection, or no answer on it.
    let refused = |r: Result<(u16, Value), String>| r.map_or(true, |(_, v)| v.is_null());
    assert!(refused(rt.block_on(release(gbr_port, None, &gbr_cert, &probe))), "no certificate got a release");
    let stranger = rt.block_on(release(gbr_port, Some((stranger_der, stranger_key)), &gbr_cert, &probe));
    assert!(refused(stranger), "a foreign certificate got a release");
    let pinned = rt.block_on(release(gbr_port, Some((hub_der.clone(), hub_key_der.clone_key())), &gbr_cert, &probe));
    assert_eq!(pinned.unwrap().0, 200, "the pinned hub certificate is refused");
    let gbr_reports: Vec<Value> =
        world.iter().find(|(p, _)| p == "GBR").unwrap().1.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let case = json!({"id": "019ab000-0000-7000-8000-0000000000aa", "open": true, "lead": "CAN", "participants": ["FRA", "NLD"]});
    let mut released = 0;
    for (i, recipient) in ["CAN", "NLD", "FRA", "USA-USCG", "JIATFS", "GBR", "ZZZ"].iter().enumerate() {
        for (j, purpose) in PURPOSES.iter().enumerate() {
            let n = i * 5 + j;
            let limit = [2, 10_000][n % 2];
            let mut req = json!({"recipient": recipient, "purpose": purpose, "limit": limit});
            if n % 3 == 0 {
                req["case"] = case.clone();
            }
            if n % 4 == 1 {
                req["action"] = json!("export");
            }
            if n % 5 == 2 {
                req["bbox"] = json!({"min_lat": 15.0, "min_lon": -66.0, "max_lat": 16.5, "max_lon": -60.0});
            }
            if n % 2 == 1 {
                req["cursor"] = json!("r-0123456789abcdef0123456789abcdef");
            }
            let (status, answer) = rt
                .block_on(release(gbr_port, Some((hub_der.clone(), hub_key_der.clone_key())), &gbr_cert, &req))
                .unwrap();
            if *recipient == "ZZZ" {
                assert_eq!(status, 400, "an unknown partner id is not a partner: {answer}");
                continue;
            }
            assert_eq!(status, 200, "{req}: {answer}");
            let answer_reports = answer["reports"].as_array().unwrap();
            for r in answer_reports {
                assert!(permits(r, &req), "released {} against policy for {req}", r["id"]);
                assert_eq!(r["originator"], "GBR");
            }
            let in_box = |r: &Value| {
                req["bbox"].is_null() || {
                    let lat = r["position"]["lat"].as_f64().unwrap();
                    (15.0..=16.5).contains(&lat)
                }
            };
            let expected = gbr_reports
                .iter()
                .filter(|r| {
                    let mut r = (*r).clone();
                    r["originator"] = json!("GBR");
                    permits(&r, &req) && in_box(&r)
                })
                .count();
            assert_eq!(answer_reports.len(), expected.min(limit), "{req}");
            assert!(answer["receipt"].as_str().unwrap().starts_with("caveat-release/v1\n"));
            released += answer_reports.len();
        }
    }
    assert!(released > 0);

    // A node goes down: the hub answers at once with the other node's data,
    // and the down node's leased data is gone once its lease has run out.
    drop(servers.remove(1)); // NLD's node
    let (partner, purpose) = *with_node_data.iter().find(|(p, _)| !["GBR", "NLD"].contains(p)).unwrap();
    let token = &tokens.iter().find(|(p, _, _)| *p == partner).unwrap().2;
    let asked = Instant::now();
    let still = tracks(fed_port, token, purpose);
    assert!(asked.elapsed() < Duration::from_secs(3), "the hub waited {:?} for a dead node", asked.elapsed());
    assert!(originators(&still).contains("GBR"));
    std::thread::sleep(Duration::from_secs(5));
    let asked = Instant::now();
    let after = tracks(fed_port, token, purpose);
    assert!(asked.elapsed() < Duration::from_secs(3), "the hub waited {:?} for a dead node", asked.elapsed());
    let o = originators(&after);
    assert!(o.contains("GBR") && !o.contains("NLD"), "{partner}/{purpose} after NLD's lease: {o:?}");
    // The API says whose data is unavailable (item 6), without the reason.
    let (status, body) = get(fed_port, "/v1/federation/status", token, purpose);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["unavailable"], json!(["NLD"]), "{v}");
    let gbr = v["nodes"].as_array().unwrap().iter().find(|n| n["partner"] == "GBR").unwrap();
    assert!(gbr["available"] == true && gbr["watching"] == true && gbr["leases_held"].as_u64() > Some(0), "{v}");
    assert!(!body.contains("127.0.0.1"), "the status tells partners the nodes' addresses: {body}");

    // (b) GBR suspends at its own node, from another process on the node's
    // database: the node's revocation notice reaches the hub, which drops
    // GBR's data before answering again, within a second.
    let gbr_node = &nodes[0].1;
    ok(gbr_node, &["policy", "suspend", "--as", "GBR", "--partners", partner, "--reason", "inquiry"]);
    let suspended = Instant::now();
    loop {
        let o = originators(&tracks(fed_port, token, purpose));
        if !o.contains("GBR") {
            break;
        }
        assert!(suspended.elapsed() < Duration::from_secs(1), "GBR's data outlived its suspension by a second: {o:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("suspension effective at the hub after {:?}", suspended.elapsed());

    // (c) GBR reconciles the hub's usage export with its node's log: every use
    // of its data cites a receipt its node issued, for that recipient and
    // purpose, inside its lease and before the suspension.
    let usage = fed.path("usage-gbr.json");
    ok(&fed, &["audit", "export", "--partner", "GBR", "--out", usage.to_str().unwrap()]);
    let hub_vkey = ok(&fed, &["audit", "key"]).trim().to_owned();
    let out = gbr_node.run(&["audit", "reconcile", "--usage", usage.to_str().unwrap(), "--hub-key", &hub_vkey]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains(", 0 flagged") && text.lines().filter(|l| l.ends_with("  ok")).count() > 5, "{text}");
    // Against another hub's key, the export does not verify.
    let direct_vkey = ok(&direct, &["audit", "key"]).trim().to_owned();
    let out = gbr_node.run(&["audit", "reconcile", "--usage", usage.to_str().unwrap(), "--hub-key", &direct_vkey]);
    assert!(!out.status.success() && stderr(&out).contains("VERIFICATION FAILED"), "{}", stderr(&out));
    eprintln!("federation test took {:?}", started.elapsed());
}
