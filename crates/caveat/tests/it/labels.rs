//! Issue 21 items 3 and 4: an export of a running hub carries its STANAG 4774
//! label bound by a 4778 binding data object; jwcrypto (PyPI, independent of
//! Caveat) verifies the detached JWS with the hub's published key, and a
//! changed byte breaks it. Another hub accepts the labelled NDJSON file only
//! when the binding verifies with the exporting hub's key.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Hub, stderr, stdout};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn ok(hub: &Hub, args: &[&str]) -> String {
    let out = hub.run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// GET `path` with a token and purpose: (headers, body).
fn get(port: u16, path: &str, token: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nCaveat-Purpose: monitoring\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (String::from_utf8_lossy(&out[..split]).into_owned(), out[split + 4..].to_vec())
}

fn verify_with_jwcrypto(vkey: &str, export: &std::path::Path, bdo: &std::path::Path) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/cot/verify_binding.py");
    let out = Command::new("python3").arg(script).arg(vkey).arg(export).arg(bdo).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn exports_are_labelled_and_bound_and_only_a_verified_file_is_imported() {
    match Command::new("python3").args(["-c", "import jwcrypto"]).output() {
        Err(_) => {
            eprintln!(
                "SKIPPED: python3 is not installed; the label test needs python3 with jwcrypto (scripts/test installs it)"
            );
            return;
        }
        Ok(o) => assert!(o.status.success(), "python3 lacks jwcrypto: run `pip install jwcrypto` ({})", stderr(&o)),
    }
    let hub = Hub::new();
    let now = OffsetDateTime::now_utc();
    let not_after = (now + time::Duration::hours(6)).replace_nanosecond(0).unwrap();
    let mut lines = String::new();
    for i in 0..3i64 {
        let at = (now - time::Duration::minutes(10 - i)).format(&Rfc3339).unwrap();
        writeln!(
            lines,
            r#"{{"observed_at":"{at}","position":{{"lat":{},"lon":-65.5}},"uncertainty_m":80,"source":"coastal-radar","marking":{{"releasable_to":["CAN","NLD"],"purposes":["monitoring","interdiction"],"not_after":"{}"}}}}"#,
            17.5 + 0.001 * i as f64,
            not_after.format(&Rfc3339).unwrap()
        )
        .unwrap();
    }
    let file = hub.write("gbr.ndjson", lines);
    ok(&hub, &["ingest", "--as", "GBR", file.to_str().unwrap()]);
    let token = ok(&hub, &["user", "add", "analyst@gbr", "--partner", "GBR", "--roles", "analyst"]).trim().to_owned();
    let vkey = ok(&hub, &["audit", "key"]).trim().to_owned();
    let web = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = hub.write(
        "caveat.toml",
        "[labels]\npolicy = \"urn:example:caveat:test\"\nclassifications = [\"UNCLASSIFIED\", \"RESTRICTED\"]\npartners = { GBR = \"RESTRICTED\" }\n",
    );
    let server = Killed(
        hub.command(&["serve", "--listen", &format!("127.0.0.1:{web}"), "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    crate::wait_for_ports(&[web]);

    for format in ["geojson", "kml", "ndjson"] {
        let (headers, body) = get(web, &format!("/v1/export?format={format}"), &token);
        assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
        let binding = headers
            .lines()
            .find_map(|l| l.strip_prefix("caveat-binding: "))
            .unwrap_or_else(|| panic!("no Caveat-Binding header: {headers}"));
        let bdo = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(binding.trim()).unwrap();
        let (export, bdoj) =
            (hub.write(&format!("export.{format}"), &body), hub.write(&format!("export.{format}.bdoj"), &bdo));
        let v = verify_with_jwcrypto(&vkey, &export, &bdoj);
        assert_eq!(v["verified"], true, "{format}: {v}");
        assert_eq!(v["alg"], "EdDSA");
        let info = &v["label"]["ConfidentialityInformation"];
        assert_eq!(info["PolicyIdentifier"], "urn:example:caveat:test");
        assert_eq!(info["Classification"], "RESTRICTED");
        let category = |tag: &str| info["Category"].as_array().unwrap().iter().find(|c| c["TagName"] == tag).cloned();
        let to = category("ReleasableTo").unwrap();
        assert_eq!(to["Type"], "PERMISSIVE");
        assert_eq!(to["GenericValue"], serde_json::json!(["CAN", "NLD"]));
        assert_eq!(
            category("PermittedPurpose").unwrap()["GenericValue"],
            serde_json::json!(["interdiction", "monitoring"])
        );
        assert!(category("NoExport").is_none());
        assert_eq!(OffsetDateTime::parse(v["label"]["ReviewDateTime"].as_str().unwrap(), &Rfc3339).unwrap(), not_after);
        // One changed byte anywhere breaks it.
        for at in [0, body.len() / 2, body.len() - 1] {
            let mut changed = body.clone();
            changed[at] ^= 0x01;
            let bad = hub.write(&format!("changed.{format}"), &changed);
            let v = verify_with_jwcrypto(&vkey, &bad, &bdoj);
            assert_eq!(v["verified"], false, "{format}, byte {at} changed: {v}");
        }
    }
    drop(server);

    // Item 4: another hub takes GBR's labelled NDJSON only with a binding that verifies.
    let other = Hub::new();
    let (export, bdoj) = (hub.path("export.ndjson"), hub.path("export.ndjson.bdoj"));
    let ingest = |file: &std::path::Path, signer: &str| {
        other.run(&[
            "ingest",
            "--as",
            "GBR",
            "--binding",
            bdoj.to_str().unwrap(),
            "--signer",
            signer,
            file.to_str().unwrap(),
        ])
    };
    let mut changed = std::fs::read(&export).unwrap();
    let last = changed.len() - 2;
    changed[last] ^= 0x01;
    let changed = other.write("changed.ndjson", changed);
    let refused = ingest(&changed, &vkey);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("is not bound to"), "{}", stderr(&refused));
    let other_key = ok(&other, &["audit", "key"]).trim().to_owned();
    let refused = ingest(&export, &other_key);
    assert!(stderr(&refused).contains("does not verify with key"), "{}", stderr(&refused));
    assert_eq!(other.count(&["--originator", "GBR"]), 0, "a refused file stored nothing");
    let accepted = ingest(&export, &vkey);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    assert!(stdout(&accepted).contains("binding verified"), "{}", stdout(&accepted));
    assert_eq!(other.count(&["--originator", "GBR"]), 3);
    // Each stored report is held to the label: releasable to CAN and NLD, for
    // interdiction and monitoring, until the review time.
    let stored = ok(&other, &["reports", "--json", "--originator", "GBR"]);
    let stored: Vec<serde_json::Value> = stored.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(stored.len(), 3, "{stored:?}");
    for r in &stored {
        assert_eq!(r["marking"]["releasable_to"], serde_json::json!(["CAN", "NLD"]), "{r}");
        assert_eq!(r["marking"]["purposes"], serde_json::json!(["interdiction", "monitoring"]), "{r}");
        let until = OffsetDateTime::parse(r["marking"]["not_after"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(until, not_after, "{r}");
    }

    // And its labelled GeoJSON: GBR's tracks come in as GBR's reports, one a
    // track, held to the label; a changed byte or the wrong format is refused.
    let third = Hub::new();
    let (geo, geo_bdoj) = (hub.path("export.geojson"), hub.path("export.geojson.bdoj"));
    let import = |file: &std::path::Path, format: &str| {
        third.run(&[
            "ingest",
            "--as",
            "GBR",
            "--format",
            format,
            "--binding",
            geo_bdoj.to_str().unwrap(),
            "--signer",
            &vkey,
            file.to_str().unwrap(),
        ])
    };
    let mut changed = std::fs::read(&geo).unwrap();
    let mid = changed.len() / 2;
    changed[mid] ^= 0x01;
    let changed = third.write("changed.geojson", changed);
    assert!(stderr(&import(&changed, "geojson")).contains("is not bound to"));
    assert!(stderr(&import(&geo, "ndjson")).contains("the binding says \"application/geo+json\""));
    let unlabelled = third.run(&["ingest", "--as", "GBR", "--format", "geojson", geo.to_str().unwrap()]);
    assert!(stderr(&unlabelled).contains("give its --binding"), "{}", stderr(&unlabelled));
    assert_eq!(third.count(&["--originator", "GBR"]), 0, "a refused file stored nothing");
    let accepted = import(&geo, "geojson");
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    let exported: serde_json::Value = serde_json::from_slice(&std::fs::read(&geo).unwrap()).unwrap();
    let tracks = exported["features"].as_array().unwrap().len();
    assert!(tracks >= 1);
    let stored = ok(&third, &["reports", "--json", "--originator", "GBR"]);
    let stored: Vec<serde_json::Value> = stored.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(stored.len(), tracks, "one report a track: {stored:?}");
    for r in &stored {
        assert_eq!(r["source"], "coastal-radar", "{r}");
        assert_eq!(r["marking"]["releasable_to"], serde_json::json!(["CAN", "NLD"]), "{r}");
        let until = OffsetDateTime::parse(r["marking"]["not_after"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(until, not_after, "{r}");
    }
}
