//! Issue 16 item 1: `caveat serve` killed with SIGKILL at random points under
//! concurrent HTTP ingest (and policy changes), then restarted: every
//! acknowledged batch is stored, every stored batch has exactly one ingest
//! entry, no entry names a batch that is not stored, and policy events alike.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Hub, line, stderr, stdout};

/// Kills of the server (each after a random stretch of traffic).
const KILLS: usize = 6;
/// Clients posting batches at once.
const CLIENTS: usize = 4;
const REPORTS_PER_BATCH: u64 = 25;

#[test]
fn sigkill_of_the_server_under_concurrent_ingest_leaves_every_batch_accounted_for() {
    serve_crash_test(&Hub::new(), None);
}

/// The same on PostgreSQL, when `CAVEAT_TEST_POSTGRES` names a server.
#[test]
fn sigkill_of_the_server_on_postgres() {
    let Some(url) = crate::multi_hub::postgres() else { return };
    let db = crate::multi_hub::fresh_schema(&url, "crash_serve");
    let hub = Hub::new();
    let out = hub.command_on(Some(&db), &["init"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serve_crash_test(&hub, Some(&db));
}

/// One request on a fresh connection; `None` when the server went away first.
fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    Some((status, out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

fn token(hub: &Hub, db: Option<&str>, user: &str, partner: &str, roles: &str) -> String {
    let out = hub.command_on(db, &["user", "add", user, "--partner", partner, "--roles", roles]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn serve(hub: &Hub, db: Option<&str>) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = hub
        .command_on(db, &["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "hub on port {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server(child, port)
}

fn serve_crash_test(hub: &Hub, db: Option<&str>) {
    let started = Instant::now();
    let tokens: Arc<Vec<(String, String)>> = Arc::new(
        [("GBR", "ana@gbr"), ("CAN", "bob@can")]
            .into_iter()
            .map(|(p, u)| (p.to_owned(), token(hub, db, u, p, "analyst")))
            .collect(),
    );
    let admin = token(hub, db, "admin@nld", "NLD", "partner-admin");
    let next = Arc::new(AtomicU64::new(1));
    // (partner, first report number) of each batch acknowledged with 201.
    let acknowledged: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let mut kills_under_traffic = 0;
    let mut policy_changes = 0u64;
    for round in 0..=KILLS {
        let server = serve(hub, db);
        let port = server.1;
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (stop, next, acknowledged, tokens) =
                    (stop.clone(), next.clone(), acknowledged.clone(), tokens.clone());
                std::thread::spawn(move || {
                    let (partner, token) = &tokens[c % tokens.len()];
                    while !stop.load(Ordering::Relaxed) {
                        let first = next.fetch_add(REPORTS_PER_BATCH, Ordering::Relaxed);
                        let body: String = (first..first + REPORTS_PER_BATCH).map(|n| line(n, None) + "\n").collect();
                        match request(port, "POST", "/v1/reports", token, &body) {
                            Some((201, _)) => acknowledged.lock().unwrap().push((partner.clone(), first)),
                            Some((status, body)) => panic!("POST /v1/reports: {status} {body}"),
                            None => return, // the server was killed
                        }
                    }
                })
            })
            .collect();
        // Policy changes too: a suspension and its resumption, now and then.
        let policy = {
            let (stop, admin) = (stop.clone(), admin.clone());
            std::thread::spawn(move || {
                let mut made = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let body = r#"{"partners":["CAN"],"reason":"drill"}"#;
                    let Some((201, reply)) = request(port, "POST", "/v1/suspensions", &admin, body) else { break };
                    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
                    let id = reply["id"].as_str().map_or_else(|| reply["id"].to_string(), str::to_owned);
                    let path = format!("/v1/suspensions/{id}");
                    made += 1;
                    if request(port, "DELETE", &path, &admin, "").is_none() {
                        break;
                    }
                    made += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                made
            })
        };
        let before = acknowledged.lock().unwrap().len();
        if round < KILLS {
            std::thread::sleep(Duration::from_millis(rand::random_range(300..1_200)));
        } else {
            // The last start only recovers and serves a little.
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut server = server;
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        policy_changes += policy.join().unwrap();
        if round < KILLS && acknowledged.lock().unwrap().len() > before {
            kills_under_traffic += 1;
        }
    }
    assert!(kills_under_traffic >= KILLS - 1, "only {kills_under_traffic} kills came under traffic");

    // A start after the last kill recovers what it left unaudited.
    let out = hub.command_on(db, &["audit", "checkpoint"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let accounting = crate::accounting::check(hub, db);
    let acknowledged = acknowledged.lock().unwrap();
    for (partner, first) in acknowledged.iter() {
        for n in *first..first + REPORTS_PER_BATCH {
            assert!(
                accounting.report_ids.contains(&crate::stored_id(n, partner)),
                "acknowledged report {n} is missing"
            );
        }
    }
    assert!(accounting.batches >= acknowledged.len());
    eprintln!(
        "crash of serve ({}): {KILLS} kills ({kills_under_traffic} under traffic), {} batches acknowledged, {} stored, \
         {} ingest entries ({} recovered), {} policy events ({} recovered; {policy_changes} acknowledged), 0 mismatches, {:.1} s",
        if db.is_some() { "PostgreSQL" } else { "SQLite" },
        acknowledged.len(),
        accounting.batches,
        accounting.entries,
        accounting.recovered,
        accounting.policy_events,
        accounting.recovered_policy_events,
        started.elapsed().as_secs_f64()
    );
}
