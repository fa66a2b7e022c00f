//! Issue 18: `caveat witness` processes cosign the hub's checkpoints; the hub
//! serves them cosigned and keeps going with a witness down; `caveat audit
//! verify --policy` accepts only a quorum; a split view cannot reach a quorum
//! and a gossiped checkpoint exposes it. All real processes on loopback.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Hub, line, stderr, stdout};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "nothing listening on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A bare HTTP/1.1 request; returns (status, head, body).
pub(crate) fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let kind = if path == "/v1/reports" { "Content-Type: application/x-ndjson\r\n" } else { "" };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}{kind}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = out.split_once("\r\n\r\n").map(|(h, b)| (h.to_owned(), b.to_owned())).unwrap_or_default();
    (status, head.to_lowercase(), body)
}

fn ok(hub: &Hub, args: &[&str]) -> String {
    let out = hub.run(args);
    assert!(out.status.success(), "caveat {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A witness: its directory under the hub's, its key lines, its process.
struct TestWitness {
    name: String,
    vkey: String,
    policy_line: String,
    port: u16,
    proc: Option<Proc>,
}

fn witness(hub: &Hub, name: &str, logs: &[&str], start: bool) -> TestWitness {
    let dir = hub.path(name);
    let out = ok(hub, &["witness", "init", "--dir", dir.to_str().unwrap(), "--name", name]);
    let mut lines = out.lines();
    let vkey = lines.next().unwrap().to_owned();
    let policy_line = lines.next().unwrap().to_owned();
    let port = free_port();
    let proc = start.then(|| spawn_witness(&dir, port, logs));
    TestWitness { name: name.to_owned(), vkey, policy_line, port, proc }
}

fn spawn_witness(dir: &Path, port: u16, logs: &[&str]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caveat"));
    cmd.args(["witness", "serve", "--dir", dir.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")]);
    for l in logs {
        cmd.args(["--log", l]);
    }
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(port);
    Proc(child)
}

fn serve(hub: &Hub, witnesses: &[&TestWitness]) -> (Proc, u16) {
    let port = free_port();
    let mut config = String::new();
    for w in witnesses {
        writeln!(
            config,
            "[[witnesses]]\nname = \"{}\"\nurl = \"http://127.0.0.1:{}\"\nkey = \"{}\"\ntimeout_ms = 1000",
            w.name, w.port, w.vkey
        )
        .unwrap();
    }
    let path = hub.write("serve.toml", config);
    let child = hub
        .command(&["serve", "--listen", &format!("127.0.0.1:{port}"), "--config", path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(port);
    (Proc(child), port)
}

fn policy(hub: &Hub, name: &str, log_line: &str, witnesses: &[&TestWitness], k: &str) -> String {
    let mut text = format!("{log_line}\n");
    for w in witnesses {
        writeln!(text, "{}", w.policy_line).unwrap();
    }
    let names: Vec<&str> = witnesses.iter().map(|w| w.name.as_str()).collect();
    writeln!(text, "group partners {k} {}\nquorum partners", names.join(" ")).unwrap();
    hub.write(name, text).to_str().unwrap().to_owned()
}

fn ndjson(first: u64, n: u64) -> String {
    (first..first + n).map(|i| line(i, None) + "\n").collect()
}

/// Before the hub serves: through the CLI.
fn ingest(hub: &Hub, first: u64, n: u64) {
    let file = hub.write(&format!("batch-{first}.ndjson"), ndjson(first, n));
    ok(hub, &["ingest", "--as", "GBR", file.to_str().unwrap()]);
}

/// While it serves: through the API (the serving process owns the log).
fn post(port: u16, token: &str, first: u64, n: u64) {
    let (status, _, body) = http(port, "POST", "/v1/reports", Some(token), &ndjson(first, n));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn witnesses_cosign_and_a_quorum_holds_with_one_down() {
    let hub = Hub::new();
    ingest(&hub, 1, 3);
    let token = ok(&hub, &["user", "add", "audit@gbr", "--partner", "GBR", "--roles", "auditor,partner-admin,analyst"])
        .trim()
        .to_owned();
    let vkey = ok(&hub, &["audit", "key"]).trim().to_owned();
    let log_line = ok(&hub, &["audit", "key", "--policy-line"]).trim().to_owned();
    let gbr = witness(&hub, "witness.gbr", &[&vkey], true);
    let can = witness(&hub, "witness.can", &[&vkey], true);
    let nld = witness(&hub, "witness.nld", &[&vkey], false); // configured, never started: down
    let (_server, port) = serve(&hub, &[&gbr, &can, &nld]);

    let (status, head, note) = http(port, "GET", "/v1/audit/checkpoint", Some(&token), "");
    assert_eq!(status, 200, "{note}");
    assert_eq!(note.matches('\u{2014}').count(), 3, "hub and two witnesses sign:\n{note}");
    assert!(head.contains("caveat-witnesses-down: witness.nld"), "{head}");
    assert!(
        head.contains("caveat-witnesses-cosigned: witness.gbr, witness.can")
            || head.contains("caveat-witnesses-cosigned: witness.can, witness.gbr"),
        "{head}"
    );

    // The usage report is proved against the cosigned checkpoint.
    let (status, _, report) = http(port, "GET", "/v1/usage", Some(&token), "");
    assert_eq!(status, 200, "{report}");
    let export = hub.write("usage.json", &report);
    let two_of_three = policy(&hub, "2of3.policy", &log_line, &[&gbr, &can, &nld], "2");
    let out = hub.run(&["audit", "verify", "--policy", &two_of_three, export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("cosigned by a quorum of witnesses"), "{}", stdout(&out));
    let all = policy(&hub, "all.policy", &log_line, &[&gbr, &can, &nld], "all");
    let out = hub.run(&["audit", "verify", "--policy", &all, export.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("lacks the witness quorum 3 of (witness.gbr, witness.can, witness.nld)"),
        "{}",
        stderr(&out)
    );

    // The log grows; the witnesses follow it with consistency proofs.
    post(port, &token, 10, 2);
    let (_, _, later) = http(port, "GET", "/v1/audit/checkpoint", Some(&token), "");
    assert_ne!(later.lines().nth(1), note.lines().nth(1), "the size moved");
    assert_eq!(later.matches('\u{2014}').count(), 3, "{later}");

    // A witness refuses a stale old size with 409 and the size it knows.
    let size: u64 = later.lines().nth(1).unwrap().parse().unwrap();
    // The checkpoint body, the blank line, and the hub's signature alone.
    let mut hub_only: String = later.lines().take(4).map(|l| l.to_owned() + "\n").collect();
    hub_only += later.lines().find(|l| l.starts_with("\u{2014} caveat.hub/audit ")).unwrap();
    hub_only += "\n";
    let (status, head, body) = http(gbr.port, "POST", "/add-checkpoint", None, &format!("old 0\n\n{hub_only}"));
    assert_eq!((status, body.trim()), (409, size.to_string().as_str()), "{head}");
    assert!(head.contains("content-type: text/x.tlog.size"), "{head}");
    // And a body of garbage with a clear 400.
    let (status, _, body) = http(gbr.port, "POST", "/add-checkpoint", None, "old x\n\nnothing");
    assert_eq!(status, 400);
    assert!(body.contains("old size"), "{body}");

    // A witness coming up later is asked again, and cosigns.
    let nld_proc = spawn_witness(&hub.path("witness.nld"), nld.port, &[&vkey]);
    post(port, &token, 20, 1);
    let (_, head, last) = http(port, "GET", "/v1/audit/checkpoint", Some(&token), "");
    assert_eq!(last.matches('\u{2014}').count(), 4, "{head}\n{last}");
    assert!(!head.contains("caveat-witnesses-down"), "{head}");
    drop(nld_proc);
    drop(gbr.proc);
    drop(can.proc);
}

#[test]
fn a_split_view_cannot_reach_a_quorum_and_gossip_exposes_it() {
    // Two databases under one audit key: the hub shows log A to GBR's witness and
    // log B, of the same size, to CAN's; NLD's witness is shown both.
    let a = Hub::new();
    let b_dir = tempfile::tempdir().unwrap();
    std::fs::copy(a.path("caveat.db.audit-key"), b_dir.path().join("caveat.db.audit-key")).unwrap();
    let b = Hub::in_dir(b_dir);
    ingest(&a, 1, 2);
    ingest(&b, 100, 2);
    let vkey = ok(&a, &["audit", "key"]).trim().to_owned();
    assert_eq!(vkey, ok(&b, &["audit", "key"]).trim(), "one hub key");
    let log_line = ok(&a, &["audit", "key", "--policy-line"]).trim().to_owned();
    let gbr = witness(&a, "witness.gbr", &[&vkey], true);
    let can = witness(&a, "witness.can", &[&vkey], true);
    let nld = witness(&a, "witness.nld", &[&vkey], true);
    let quorum = policy(&a, "2of3.policy", &log_line, &[&gbr, &can, &nld], "2");

    let ta = ok(&a, &["user", "add", "audit@gbr", "--partner", "GBR", "--roles", "auditor"]).trim().to_owned();
    let tb = ok(&b, &["user", "add", "audit@can", "--partner", "CAN", "--roles", "auditor"]).trim().to_owned();
    let (_sa, pa) = serve(&a, &[&gbr, &nld]);
    let (_sb, pb) = serve(&b, &[&can, &nld]);
    // The usage reports first: each appends a tag leaf over the entries so far
    // (issue 18 item 5), and the checkpoints gossiped below are then of the
    // same size as the reports'.
    let (_, _, usage_a) = http(pa, "GET", "/v1/usage", Some(&ta), "");
    let (_, _, usage_b) = http(pb, "GET", "/v1/usage", Some(&tb), "");
    let (_, _, note_a) = http(pa, "GET", "/v1/audit/checkpoint", Some(&ta), "");
    let (_, head_b, note_b) = http(pb, "GET", "/v1/audit/checkpoint", Some(&tb), "");
    assert_eq!(note_a.lines().nth(1), note_b.lines().nth(1), "same size");
    assert_ne!(note_a.lines().nth(2), note_b.lines().nth(2), "different roots");
    // NLD cosigned A and refused B: only A reaches the quorum.
    assert!(head_b.contains("caveat-witnesses-down: witness.nld"), "{head_b}");
    let cp_a = a.write("a.checkpoint", &note_a);
    let cp_b = a.write("b.checkpoint", &note_b);
    let ua = a.write("usage-a.json", usage_a);
    let ub = a.write("usage-b.json", usage_b);
    let out = a.run(&["audit", "verify", "--policy", &quorum, ua.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = a.run(&["audit", "verify", "--policy", &quorum, ub.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lacks the witness quorum"), "{}", stderr(&out));

    // CAN gossips its checkpoint to GBR: the fork is plain.
    let out = a.run(&["audit", "compare-checkpoints", "--key", &vkey, cp_a.to_str().unwrap(), cp_b.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("SPLIT VIEW") && stderr(&out).contains("different roots"), "{}", stderr(&out));
    let out = a.run(&["audit", "verify", "--key", &vkey, "--gossip", cp_b.to_str().unwrap(), ua.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("SPLIT VIEW"), "{}", stderr(&out));
    let out = a.run(&["audit", "compare-checkpoints", "--key", &vkey, cp_a.to_str().unwrap(), cp_a.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}
