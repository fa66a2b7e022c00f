//! Issue 10: two `caveat serve` processes on one PostgreSQL database behave as
//! one hub, and `caveat store copy` moves a SQLite hub there with its audit
//! log verified. Runs when `CAVEAT_TEST_POSTGRES` names a server (scripts/test
//! starts one); skipped with a notice otherwise.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Hub, line, stderr, stdout};

pub(crate) fn postgres() -> Option<String> {
    let url = std::env::var("CAVEAT_TEST_POSTGRES").ok();
    if url.is_none() {
        eprintln!("skipped: CAVEAT_TEST_POSTGRES is not set (scripts/test starts a server)");
    }
    url
}

/// A fresh schema on the test server, as a URL whose search_path selects it.
pub(crate) fn fresh_schema(url: &str, name: &str) -> String {
    let schema = format!("{name}_{}", std::process::id());
    let out = Command::new("psql")
        .arg(url)
        .arg("-qc")
        .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn caveat(db: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_caveat"))
        .arg("--db")
        .arg(db)
        .args(args)
        .current_dir(dir)
        .env("CAVEAT_AUDIT_KEY", dir.join("hub.audit-key"))
        .output()
        .unwrap()
}

/// A bare HTTP/1.1 request; returns (status, body).
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(k);
        req.push_str(": ");
        req.push_str(v);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn serve(db: &str, dir: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_caveat"))
        .args(["--db", db, "serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("CAVEAT_AUDIT_KEY", dir.join("hub.audit-key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "hub on port {port} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child, port)
}

fn token(db: &str, dir: &std::path::Path, user: &str, partner: &str, roles: &str) -> String {
    let out = caveat(db, dir, &["user", "add", user, "--partner", partner, "--roles", roles]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn two_hub_processes_on_one_postgres_behave_as_one_hub() {
    let Some(url) = postgres() else { return };
    let db = fresh_schema(&url, "two_hubs");
    let dir = tempfile::tempdir().unwrap();
    let out = caveat(&db, dir.path(), &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let gbr = token(&db, dir.path(), "admin@gbr", "GBR", "partner-admin,analyst");
    let can = token(&db, dir.path(), "ana@can", "CAN", "analyst");
    let (a, b) = (serve(&db, dir.path()), serve(&db, dir.path()));

    // Ingest through A, read through B.
    let report = line(1, None).replace(
        "2026-11-20T03:14:00Z",
        &time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    );
    let auth_gbr = format!("Bearer {gbr}");
    let auth_can = format!("Bearer {can}");
    let (status, body) = http(
        a.1,
        "POST",
        "/v1/reports",
        &[("Authorization", &auth_gbr), ("Content-Type", "application/x-ndjson")],
        &report,
    );
    assert_eq!(status, 201, "{body}");
    let path = format!("/v1/reports/{}", crate::stored_id(1, "GBR"));
    let read =
        |port| http(port, "GET", &path, &[("Authorization", &auth_can), ("Caveat-Purpose", "interdiction")], "").0;
    assert_eq!(read(b.1), 200);

    // Suspend through B: the next request through A is refused.
    let (status, body) = http(
        b.1,
        "POST",
        "/v1/suspensions",
        &[("Authorization", &auth_gbr), ("Content-Type", "application/json")],
        r#"{"partners":["CAN"],"reason":"inquiry"}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(read(a.1), 404);
    assert_eq!(read(b.1), 404);

    // Both processes append to the one audit log at the same time.
    let (pa, pb) = (a.1, b.1);
    let writers: Vec<_> = (0..8u64)
        .map(|k| {
            let auth = auth_gbr.clone();
            let port = if k % 2 == 0 { pa } else { pb };
            std::thread::spawn(move || {
                let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
                let body: String = (0..50u64)
                    .map(|n| {
                        line(1_000 + k * 100 + n, None).replace(
                            "2026-11-20T03:14:00Z",
                            &now.format(&time::format_description::well_known::Rfc3339).unwrap(),
                        ) + "\n"
                    })
                    .collect();
                http(
                    port,
                    "POST",
                    "/v1/reports",
                    &[("Authorization", &auth), ("Content-Type", "application/x-ndjson")],
                    &body,
                )
                .0
            })
        })
        .collect();
    for w in writers {
        assert_eq!(w.join().unwrap(), 201);
    }
    drop((a, b));
    let out = caveat(&db, dir.path(), &["audit", "export", "--partner", "GBR", "--out", "gbr.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&caveat(&db, dir.path(), &["audit", "key"])).trim().to_owned();
    let out = caveat(&db, dir.path(), &["audit", "verify", "--key", &key, "gbr.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("OK:"), "{}", stdout(&out));
    // Every ingest of both processes is in it: 1 + 8 batches by GBR.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("gbr.json")).unwrap()).unwrap();
    let ingests = json["summary"].as_array().unwrap().len();
    assert!(ingests >= 1, "{json}");
    let entries = json["bundle"]["entries"].as_array().unwrap().len();
    assert!(entries >= 1 + 8 + 3, "ingests, decisions and the suspension of GBR's data: {entries}");
}

#[test]
fn store_copy_moves_a_sqlite_hub_to_postgres_with_its_audit_log_verified() {
    let Some(url) = postgres() else { return };
    let hub = Hub::new();
    let file = hub.write("r.ndjson", (1..=30).map(|n| line(n, None) + "\n").collect::<String>());
    assert!(hub.run(&["ingest", "--as", "GBR", file.to_str().unwrap()]).status.success());
    assert!(hub.run(&["policy", "suspend", "--as", "GBR", "--partners", "CAN", "--reason", "x"]).status.success());
    assert!(hub.run(&["audit", "checkpoint"]).status.success());
    let pg = fresh_schema(&url, "copy");
    let out = hub.run(&["store", "copy", "--from", hub.db().to_str().unwrap(), "--to", &pg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("30 reports") && stdout(&out).contains("matches the source's signed checkpoint"),
        "{}",
        stdout(&out)
    );
    let out = hub.command_on(Some(&pg), &["reports", "--count"]).output().unwrap();
    assert_eq!(stdout(&out).trim(), "30", "{}", stderr(&out));
    // A second copy into the same database is refused.
    let out = hub.run(&["store", "copy", "--from", hub.db().to_str().unwrap(), "--to", &pg]);
    assert!(!out.status.success());
}
