//! Issue 18 item 2 with real processes on loopback: GBR's node, a `caveat
//! serve` with `[node]` and `[node.witness]`, witnesses the hub's log. It
//! cosigns the hub's checkpoints while every use of GBR's data cites a receipt
//! it issued; once the hub uses GBR data no receipt covers (reports of GBR's
//! posted to the hub directly, beside the node), it refuses, the refusal is in
//! the node's own audit log and in the hub's witness status, and a restart of
//! the node neither forgets where it was nor moves past the uncovered use.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use base64::Engine as _;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::federation::{cert, free_port, ok, originators, tracks, wait_for};
use crate::tls::Server;
use crate::witness::http;
use crate::{Hub, id};

const WITNESS: &str = "witness.gbr-node";

/// GBR reports `first..first + n` near one vessel's track, releasable to CAN for `purpose`.
fn reports(first: u64, n: u64, purpose: &str) -> String {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let mut out = String::new();
    for k in first..first + n {
        let t = now - time::Duration::minutes(i64::try_from(60 - k % 60).unwrap());
        let line = json!({
            "id": id(k),
            "observed_at": t.format(&Rfc3339).unwrap(),
            "position": {"lat": 15.5 + 0.002 * (k % 60) as f64, "lon": -65.0 + 0.003 * (k % 60) as f64},
            "uncertainty_m": 150,
            "course_deg": 80,
            "speed_kn": 12,
            "source": "coastal-radar",
            "marking": {"releasable_to": ["CAN"], "purposes": [purpose]},
        });
        writeln!(out, "{line}").unwrap();
    }
    out
}

fn user(hub: &Hub, name: &str, partner: &str, role: &str) -> String {
    ok(hub, &["user", "add", name, "--partner", partner, "--roles", role]).trim().to_owned()
}

fn start_node(node: &Hub, api: u16, config: &Path) -> Server {
    let child = node
        .command(&["serve", "--listen", &format!("127.0.0.1:{api}"), "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(log(node, "node.log"))
        .spawn()
        .unwrap();
    Server(child)
}

/// An appending log file in `hub`'s directory, for a process's stderr (read back when a check fails).
fn log(hub: &Hub, name: &str) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(hub.path(name)).unwrap()
}

fn logs(node: &Hub, hub: &Hub) -> String {
    let read = |h: &Hub, n: &str| std::fs::read_to_string(h.path(n)).unwrap_or_default();
    format!("\n--- node ---\n{}\n--- hub ---\n{}", read(node, "node.log"), read(hub, "hub.log"))
}

/// Asks the hub for its checkpoint (it collects cosignatures first): the
/// witnesses that cosigned it and those that did not.
fn checkpoint(port: u16, token: &str) -> (Vec<String>, Vec<String>) {
    let (status, head, body) = http(port, "GET", "/v1/audit/checkpoint", Some(token), "");
    assert_eq!(status, 200, "{body}");
    let names = |header: &str| -> Vec<String> {
        head.lines()
            .find_map(|l| l.strip_prefix(header))
            .map(|v| v.split(',').map(|n| n.trim().to_owned()).collect())
            .unwrap_or_default()
    };
    (names("caveat-witnesses-cosigned: "), names("caveat-witnesses-down: "))
}

/// The hub's status of the node's witness.
fn witness_status(port: u16, token: &str) -> Value {
    let (status, _, body) = http(port, "GET", "/v1/audit/witnesses", Some(token), "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v.as_array().unwrap().iter().find(|w| w["name"] == WITNESS).cloned().unwrap()
}

/// The witness refusals in the node's own audit log (its usage report for GBR).
fn refusals_logged(node_api: u16, token: &str) -> Vec<caveat_audit::WitnessRefusal> {
    let (status, _, body) = http(node_api, "GET", "/v1/usage", Some(token), "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["bundle"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let data = base64::engine::general_purpose::STANDARD.decode(e["data"].as_str().unwrap()).unwrap();
            match caveat_audit::AuditEntry::from_bytes(&data).unwrap() {
                caveat_audit::AuditEntry::WitnessRefusal(r) => Some(r),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn a_partner_node_cosigns_only_what_its_receipts_cover_and_keeps_its_place_across_restarts() {
    let started = Instant::now();
    let (hub, node) = (Hub::new(), Hub::new());
    let file = node.write("gbr.ndjson", reports(1, 40, "interdiction"));
    ok(&node, &["ingest", "--as", "GBR", file.to_str().unwrap()]);
    let can = user(&hub, "analyst@can", "CAN", "analyst");
    let gbr_auditor = user(&hub, "witness@gbr", "GBR", "auditor");
    let gbr_analyst = user(&hub, "analyst@gbr", "GBR", "analyst");
    let node_auditor = user(&node, "auditor@gbr", "GBR", "auditor");
    let hub_vkey = ok(&hub, &["audit", "key"]).trim().to_owned();

    // The node: its release listener pinned to the hub's certificate, and its
    // witness, reading the hub's usage report for GBR with a GBR auditor's token.
    let wdir = node.path("witness");
    let vkey = ok(&node, &["witness", "init", "--dir", wdir.to_str().unwrap(), "--name", WITNESS]);
    let vkey = vkey.lines().next().unwrap().to_owned();
    let (hub_pem, hub_key, _, _) = cert();
    let (node_pem, node_key, _, _) = cert();
    let (node_api, rel, wport, hub_port) = (free_port(), free_port(), free_port(), free_port());
    node.write("node.pem", &node_pem);
    node.write("node.key", &node_key);
    node.write("hub-client.pem", &hub_pem);
    let token_file = node.write("hub-auditor.token", format!("{gbr_auditor}\n"));
    let node_config = node.write(
        "node.toml",
        format!(
            "[node]\npartner = \"GBR\"\nlisten = \"127.0.0.1:{rel}\"\ncert = \"node.pem\"\nkey = \"node.key\"\nhub_cert = \"hub-client.pem\"\n\
             [node.witness]\ndir = \"{}\"\nlisten = \"127.0.0.1:{wport}\"\nhub_url = \"http://127.0.0.1:{hub_port}\"\n\
             hub_token_file = \"{}\"\nhub_key = \"{hub_vkey}\"\n",
            wdir.display(),
            token_file.display()
        ),
    );
    let node_vkey = ok(&node, &["audit", "key"]).trim().to_owned();
    let mut node_proc = start_node(&node, node_api, &node_config);

    // The hub asks the node for GBR's data and the node's witness to cosign.
    hub.write("hub-client.pem", &hub_pem);
    hub.write("hub-client.key", &hub_key);
    let node_cert = hub.write("gbr-node.pem", &node_pem);
    let hub_config = hub.write(
        "hub.toml",
        format!(
            "[federation]\nclient_cert = \"hub-client.pem\"\nclient_key = \"hub-client.key\"\ntimeout_ms = 2000\n\
             [[federation.nodes]]\npartner = \"GBR\"\nurl = \"https://127.0.0.1:{rel}\"\ncert = \"{}\"\nkey = \"{node_vkey}\"\n\
             [[witnesses]]\nname = \"{WITNESS}\"\nurl = \"http://127.0.0.1:{wport}\"\nkey = \"{vkey}\"\ntimeout_ms = 15000\n",
            node_cert.display()
        ),
    );
    let _hub_proc = Server(
        hub.command(&["serve", "--listen", &format!("127.0.0.1:{hub_port}"), "--config", hub_config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(log(&hub, "hub.log"))
            .spawn()
            .unwrap(),
    );
    for port in [node_api, rel, wport, hub_port] {
        wait_for(port);
    }

    // Honest: CAN's view uses GBR's released data, every use under a receipt,
    // and the node cosigns.
    assert!(originators(&tracks(hub_port, &can, "interdiction")).contains("GBR"));
    let (cosigned, down) = checkpoint(hub_port, &gbr_auditor);
    assert_eq!((cosigned, down), (vec![WITNESS.to_owned()], vec![]), "{}", witness_status(hub_port, &gbr_auditor));
    let state = std::fs::read_dir(wdir.join("state")).unwrap().count();
    assert_eq!(state, 1, "the witness keeps its last cosigned checkpoint on disk");

    // A restart of the node: the witness knows where it was (no 409 from a
    // state lost, no re-check from zero) and goes on cosigning honest uses.
    drop(node_proc);
    node_proc = start_node(&node, node_api, &node_config);
    for port in [node_api, rel, wport] {
        wait_for(port);
    }
    assert!(originators(&tracks(hub_port, &can, "interdiction")).contains("GBR"));
    let (cosigned, _) = checkpoint(hub_port, &gbr_auditor);
    assert_eq!(cosigned, [WITNESS], "after a restart: {}", witness_status(hub_port, &gbr_auditor));
    assert!(refusals_logged(node_api, &node_auditor).is_empty());

    // The hub uses GBR data its node never released: GBR reports posted to
    // the hub directly, for a purpose the node releases nothing for, read by CAN.
    let (status, _, body) =
        http(hub_port, "POST", "/v1/reports", Some(&gbr_analyst), &reports(1_000, 20, "monitoring"));
    assert_eq!(status, 201, "{body}");
    assert!(originators(&tracks(hub_port, &can, "monitoring")).contains("GBR"));
    let (cosigned, down) = checkpoint(hub_port, &gbr_auditor);
    assert!(cosigned.is_empty() && down == [WITNESS], "cosigned a checkpoint with an uncovered use: {cosigned:?}");
    let status = witness_status(hub_port, &gbr_auditor);
    let error = status["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(status["up"] == false && error.contains("403") && error.contains("cites no receipt"), "{status}");
    let logged = refusals_logged(node_api, &node_auditor);
    let first = logged.first().unwrap_or_else(|| panic!("no refusal in the node's log; the hub says {status}"));
    assert!(first.reason.contains("cites no receipt") && error.contains(&first.reason), "{first:?} / {error}");
    assert_eq!(first.origin, hub_vkey.split('+').next().unwrap());
    let named = first.reason.split("entry ").nth(1).and_then(|r| r.split(':').next()).unwrap().to_owned();

    // Restarted, the node still refuses, naming the same use: its position
    // is the last checkpoint it cosigned, which it kept, so the uncovered use
    // is never skipped.
    drop(node_proc);
    let _node_proc = start_node(&node, node_api, &node_config);
    for port in [node_api, rel, wport] {
        wait_for(port);
    }
    // The log grows (the hub asks its witnesses again only for a new checkpoint).
    assert!(originators(&tracks(hub_port, &can, "monitoring")).contains("GBR"));
    let (cosigned, _) = checkpoint(hub_port, &gbr_auditor);
    assert!(cosigned.is_empty(), "a restarted node cosigned past the uncovered use");
    let error = witness_status(hub_port, &gbr_auditor)["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains(&format!("entry {named}: cites no receipt")), "{error}{}", logs(&node, &hub));
    eprintln!("node witness test took {:?}", started.elapsed());
}
