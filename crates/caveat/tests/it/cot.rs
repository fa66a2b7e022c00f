//! Issue 21 items 2 and 4: a running `caveat serve --cot-listen` read by an
//! independent TAK client (pytak from PyPI, `cot/tak_client.py`) over
//! loopback. A client with no token or a wrong one is sent nothing; an
//! authenticated one gets its view's tracks as CoT events (type, how,
//! marking attributes, stale no later than the marking's not-after); a
//! suspension makes them stale on the stream at once; a sighting the client
//! drops on its map is stored as its partner's report with the default marking.
//! Each event's own label binding is verified with jwcrypto.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/cot/tak_client.py").to_owned()
}

/// Whether python3 with pytak can run; `None` (skip) only when python3 itself is missing.
fn python() -> Option<()> {
    match Command::new("python3").args(["-c", "import pytak"]).output() {
        Err(_) => {
            eprintln!(
                "SKIPPED: python3 is not installed; the CoT test needs python3 with pytak (scripts/test installs it)"
            );
            None
        }
        Ok(o) => {
            assert!(o.status.success(), "python3 lacks pytak: run `pip install pytak` ({})", stderr(&o));
            Some(())
        }
    }
}

/// Starts the TAK client; its JSON lines arrive on the receiver.
fn client(port: u16, args: &[&str], seconds: u32) -> (Killed, mpsc::Receiver<Value>) {
    let mut child = Command::new("python3")
        .arg(script())
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(args)
        .args(["--seconds", &seconds.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line)
                && tx.send(v).is_err()
            {
                return;
            }
        }
    });
    (Killed(child), rx)
}

fn http(port: u16, method: &str, path: &str, token: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).ok();
    out
}

fn value(text: &str, name: &str) -> u64 {
    text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn parse_time(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap()
}

fn ok(hub: &Hub, args: &[&str]) -> String {
    let out = hub.run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn a_tak_client_gets_its_view_as_cot_and_loses_it_on_suspension() {
    if python().is_none() {
        return;
    }
    let hub = Hub::new();
    // GBR's radar saw one vessel three times in the last minutes, releasable to CAN for monitoring
    // until a not-after two minutes from now (so the events' stale is capped by it).
    let now = OffsetDateTime::now_utc();
    let not_after = (now + time::Duration::minutes(2)).replace_nanosecond(0).unwrap();
    let mut lines = String::new();
    for i in 0..3i64 {
        let at = (now - time::Duration::minutes(6 - i)).format(&Rfc3339).unwrap();
        writeln!(
            lines,
            r#"{{"observed_at":"{at}","position":{{"lat":{},"lon":-66.0}},"uncertainty_m":50,"source":"coastal-radar","vessel":{{"mmsi":"235000111"}},"marking":{{"releasable_to":["CAN"],"purposes":["monitoring"],"not_after":"{}"}}}}"#,
            18.0 + 0.001 * i as f64,
            not_after.format(&Rfc3339).unwrap()
        )
        .unwrap();
    }
    let file = hub.write("gbr.ndjson", lines);
    ok(&hub, &["ingest", "--as", "GBR", file.to_str().unwrap()]);
    let ana = ok(&hub, &["user", "add", "ana@can", "--partner", "CAN", "--roles", "analyst"]).trim().to_owned();
    let admin =
        ok(&hub, &["user", "add", "admin@gbr", "--partner", "GBR", "--roles", "partner-admin"]).trim().to_owned();

    let (web, ops, cot) = (free_port(), free_port(), free_port());
    let config = hub.write(
        "caveat.toml",
        format!(
            "[cot]\nlisten = \"127.0.0.1:{cot}\"\nauth_timeout_s = 2\nstale_s = 600\n\n[labels]\npolicy = \"urn:example:caveat:test\"\nclassifications = [\"UNCLASSIFIED\", \"RESTRICTED\"]\npartners = {{ GBR = \"RESTRICTED\" }}\n"
        ),
    );
    let _server = Killed(
        hub.command(&[
            "serve",
            "--listen",
            &format!("127.0.0.1:{web}"),
            "--metrics-listen",
            &format!("127.0.0.1:{ops}"),
            "--config",
            config.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let started = Instant::now();
    crate::wait_for_ports(&[ops, cot]);

    // Adversarial: no authentication, a wrong token, a right token with no purpose: nothing, then closed.
    for args in [
        vec!["--no-auth", "--sighting"],
        vec![
            "--username",
            "monitoring",
            "--token",
            "cvt_0000000000000000000000000000000000000000000000000000000000000000",
        ],
        vec!["--username", "", "--token", &ana],
        vec!["--username", "sightseeing", "--token", &ana],
    ] {
        let (_c, rx) = client(cot, &args, 8);
        let first = rx.recv_timeout(Duration::from_secs(10)).expect("the client ends");
        assert_eq!(first, serde_json::json!({"closed": true}), "{args:?} was sent something");
    }

    // CAN's analyst, for monitoring: the track arrives, fused, marked.
    let vkey = ok(&hub, &["audit", "key"]).trim().to_owned();
    let (_c, rx) = client(cot, &["--username", "monitoring", "--token", &ana, "--sighting", "--vkey", &vkey], 40);
    let e = rx.recv_timeout(Duration::from_secs(15)).expect("an event");
    assert!(e["uid"].as_str().unwrap().starts_with("caveat.track."), "{e}");
    assert_eq!(e["type"], "a-u-S-X-M");
    assert_eq!(e["how"], "m-f");
    assert_eq!(e["releasableTo"], "CAN");
    assert_eq!(e["access"], "caveat:RESTRICTED");
    assert!(e["caveat"].as_str().unwrap().contains("purposes=monitoring"), "{e}");
    assert_eq!(e["mmsi"], "235000111");
    // The event's own 4778 binding verifies with jwcrypto, and its signed label is the track's.
    assert_eq!(e["binding"]["verified"], true, "{e}");
    assert_eq!(e["binding"]["cty"], "application/cot+xml");
    let info = &e["binding"]["label"]["ConfidentialityInformation"];
    assert_eq!(info["Classification"], "RESTRICTED");
    assert_eq!(info["PolicyIdentifier"], "urn:example:caveat:test");
    assert!((e["lat"].as_f64().unwrap() - 18.002).abs() < 0.01, "{e}");
    assert!(e["ce"].as_f64().unwrap() > 0.0 && e["ce"].as_f64().unwrap() < 1_000.0, "{e}");
    let (time, start, stale) = (parse_time(&e["time"]), parse_time(&e["start"]), parse_time(&e["stale"]));
    assert!(start <= time && time < stale);
    assert!(stale <= not_after, "stale {stale} is later than the marking's not-after {not_after}");
    let uid = e["uid"].as_str().unwrap().to_owned();

    // GBR suspends CAN: the same uid comes again, stale now.
    let r = http(web, "POST", "/v1/suspensions", &admin, r#"{"partners":["CAN"],"reason":"inquiry"}"#);
    assert!(r.starts_with("HTTP/1.1 201") || r.starts_with("HTTP/1.1 200"), "{r}");
    let suspended = Instant::now();
    let gone = loop {
        let e = rx.recv_timeout(Duration::from_secs(15)).expect("the track made stale");
        if e["uid"] == uid.as_str() && e["stale"] == e["time"] {
            break e;
        }
    };
    assert!(suspended.elapsed() < Duration::from_secs(5), "told after {:?}", suspended.elapsed());
    assert!(parse_time(&gone["stale"]) >= time);
    assert_eq!(gone["binding"]["verified"], true, "the stale event is signed anew: {gone}");

    // The sighting pytak sent is CAN's report, with CAN's default marking for a vessel sighting.
    let reports: Vec<Value> = loop {
        let out = ok(&hub, &["reports", "--json", "--originator", "CAN"]);
        let v: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if !v.is_empty() || started.elapsed() > Duration::from_mins(1) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(reports.len(), 1, "{reports:?}");
    let s = &reports[0];
    assert_eq!(s["source"], "vessel");
    assert!(s["remarks"].as_str().unwrap().contains("uid=patrol-7.contact-1"), "{s}");
    assert!((s["position"]["lat"].as_f64().unwrap() - 18.2).abs() < 1e-6);
    assert!((s["uncertainty_m"].as_f64().unwrap() - 150.0).abs() < 1e-9, "{s}");

    let text = http(ops, "GET", "/metrics", "", "");
    assert!(value(&text, "caveat_cot_auth_failed_total") >= 4, "{text}");
    assert!(value(&text, "caveat_cot_stale_sent_total") >= 1, "{text}");
    assert!(value(&text, "caveat_cot_deliveries_total") >= 2, "{text}");
    assert_eq!(value(&text, "caveat_cot_sightings_stored_total"), 1, "{text}");
}

/// Over TLS a client reads until its first event ends or the stream closes: what it got.
async fn tls_client(
    port: u16,
    root: &rustls::pki_types::CertificateDer<'static>,
    client: (rustls::pki_types::CertificateDer<'static>, rustls::pki_types::PrivateKeyDer<'static>),
    auth: &str,
) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _already = rustls::crypto::ring::default_provider().install_default().is_err();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client.0], client.1)
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
    tls.write_all(auth.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = async {
        loop {
            match tls.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
            if got.windows(8).any(|w| w == b"</event>") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read).await.map_err(|_| "timed out".to_owned())?;
    Ok(String::from_utf8_lossy(&got).into_owned())
}

#[test]
fn over_tls_a_client_certificate_names_the_user_and_an_unknown_one_gets_nothing() {
    use crate::tls::{ca, leaf};
    let hub = Hub::new();
    let now = OffsetDateTime::now_utc();
    let at = (now - time::Duration::minutes(3)).format(&Rfc3339).unwrap();
    let line = format!(
        r#"{{"observed_at":"{at}","position":{{"lat":18.0,"lon":-66.0}},"uncertainty_m":50,"source":"coastal-radar","marking":{{"releasable_to":["CAN"],"purposes":["monitoring"]}}}}"#
    );
    let file = hub.write("gbr.ndjson", format!("{line}\n"));
    ok(&hub, &["ingest", "--as", "GBR", file.to_str().unwrap()]);
    ok(&hub, &["user", "add", "ana@can", "--partner", "CAN", "--roles", "analyst"]);
    let hub_ca = ca("Caveat TAK CA");
    let (server_pem, server_key, _, _) = leaf(&hub_ca, false);
    let (ana_pem, _, ana_cert, ana_key) = leaf(&hub_ca, true);
    let (_, _, stranger_cert, stranger_key) = leaf(&hub_ca, true);
    let (cert, key) = (hub.write("server.pem", server_pem), hub.write("server.key", server_key));
    let (clients, ana) = (hub.write("clients.pem", &hub_ca.pem), hub.write("ana.pem", ana_pem));
    let (web, tls) = (free_port(), free_port());
    let config = hub.write(
        "caveat.toml",
        format!(
            "[cot]\ntls_listen = \"127.0.0.1:{tls}\"\ntls_cert = {cert:?}\ntls_key = {key:?}\nclient_ca = {clients:?}\nauth_timeout_s = 3\n\n[[cot.certificate]]\ncert = {ana:?}\nuser = \"ana@can\"\n"
        ),
    );
    let _server = Killed(
        hub.command(&["serve", "--listen", &format!("127.0.0.1:{web}"), "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    crate::wait_for_ports(&[tls]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let auth = r#"<auth><cot username="monitoring" uid="tak-1"/></auth>"#;
    let got = rt.block_on(tls_client(tls, &hub_ca.der, (ana_cert, ana_key), auth)).unwrap();
    assert!(got.contains("uid=\"caveat.track.") && got.contains("releasableTo=\"CAN\""), "{got}");
    // A certificate from the same CA that no [[cot.certificate]] names: nothing.
    let got = rt.block_on(tls_client(tls, &hub_ca.der, (stranger_cert, stranger_key), auth));
    assert!(!got.clone().unwrap_or_default().contains("<event"), "a stranger's certificate was sent {got:?}");
}
