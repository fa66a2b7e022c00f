//! Issue 16 item 3: slow and half-open clients cannot starve the hub, on plain
//! HTTP and TLS alike. A hub with a small connection bound is flooded with
//! more slow connections than the bound; `/healthz` and an authenticated
//! query still answer within a second, the slow ones are cut off by the
//! header, handshake and body timeouts, an oversized `Content-Length` is
//! refused before its body, and only when every slot is answering a request is
//! a new connection refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::Hub;
use crate::tls::{Server, ca, leaf};

/// `--max-connections` of the hub under test.
const BOUND: usize = 8;
/// `--header-timeout-s` and `--body-timeout-s`.
const TIMEOUT: Duration = Duration::from_secs(1);
/// The soonest a timeout may be seen to fire, allowing for clock granularity.
const EARLIEST: Duration = Duration::from_millis(900);

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

struct Running {
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    token: String,
    _server: Server,
    _hub: Hub,
}

impl Running {
    fn start(tls: bool) -> Running {
        let hub = Hub::new();
        let out = hub.run(&["user", "add", "ana@can", "--partner", "CAN", "--roles", "analyst"]);
        assert!(out.status.success(), "{}", crate::stderr(&out));
        let token = crate::stdout(&out).trim().to_owned();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (listen, bound, secs) = (format!("127.0.0.1:{port}"), BOUND.to_string(), TIMEOUT.as_secs().to_string());
        let mut args = vec![
            "serve",
            "--listen",
            &listen,
            "--max-connections",
            &bound,
            "--header-timeout-s",
            &secs,
            "--body-timeout-s",
            &secs,
        ];
        let mut client = None;
        let files;
        if tls {
            let _already = rustls::crypto::ring::default_provider().install_default().is_err();
            let hub_ca = ca("Caveat hub CA");
            let (cert, key, _, _) = leaf(&hub_ca, false);
            files =
                [hub.write("server.pem", cert), hub.write("server.key", key)].map(|p| p.to_str().unwrap().to_owned());
            args.extend(["--tls-cert", &files[0], "--tls-key", &files[1]]);
            let mut roots = rustls::RootCertStore::empty();
            roots.add(hub_ca.der.clone()).unwrap();
            let mut config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            client = Some(Arc::new(config));
        }
        let mut child = hub.command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        // Ready when it says it serves (it has bound the port by then); the
        // rest of its stderr is drained so it never blocks on a full pipe.
        let (ready_tx, ready) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("caveat serving") {
                    ready_tx.send(()).ok();
                }
            }
        });
        let server = Server(child);
        ready.recv_timeout(Duration::from_secs(30)).expect("the hub did not start");
        Running { port, tls: client, token, _server: server, _hub: hub }
    }

    fn tcp(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// A connection speaking HTTP: TCP, or TLS over it (handshaken on first write).
    fn connect(&self) -> Box<dyn Conn> {
        let tcp = self.tcp();
        match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = ServerName::try_from("localhost").unwrap();
                let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
                Box::new(rustls::StreamOwned::new(conn, tcp))
            }
        }
    }

    /// Sends `request` on a new connection; returns all that came back and how long it took.
    fn ask(&self, request: &str) -> (String, Duration) {
        let started = Instant::now();
        let mut c = self.connect();
        let answer = match c.write_all(request.as_bytes()) {
            Ok(()) => read_all(&mut c),
            Err(e) => format!("write failed: {e}"),
        };
        (answer, started.elapsed())
    }

    fn get(&self, path: &str) -> (String, Duration) {
        self.ask(&format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.token
        ))
    }

    /// Opens the slow clients of a flood: `n` connections, cycling through
    /// the ways a client can stall before its request is complete.
    fn slow_clients(&self, n: usize) -> Vec<Box<dyn Conn>> {
        (0..n)
            .map(|i| -> Box<dyn Conn> {
                match (i % 3, &self.tls) {
                    // Connected, then silent: a half-open client, or one that never starts TLS.
                    (0, _) => Box::new(self.tcp()),
                    // Half of the request headers.
                    (1, _) => {
                        let mut c = self.connect();
                        // Over TLS this is also the handshake, which an evicted client may lose.
                        let _sent =
                            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").and_then(|()| c.flush());
                        c
                    }
                    // Plain: a third of a request line. TLS: the first bytes of a ClientHello.
                    (_, None) => {
                        let mut c = self.tcp();
                        let _sent = c.write_all(b"GET /v1/me HT");
                        Box::new(c)
                    }
                    (_, Some(_)) => {
                        let mut c = self.tcp();
                        let _sent = c.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
                        Box::new(c)
                    }
                }
            })
            .collect()
    }
}

/// Reads until the peer closes (or fails, as TLS does without close_notify).
fn read_all(c: &mut dyn Conn) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(buf.get(..n).unwrap());
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until the server closes `c`; returns how long that took and what it sent.
fn closed_after(c: &mut dyn Conn, since: Instant) -> (Duration, String) {
    let got = read_all(c);
    (since.elapsed(), got)
}

fn assert_answers_within_a_second(hub: &Running, when: &str) {
    for path in ["/healthz", "/v1/me"] {
        let (answer, took) = hub.get(path);
        assert!(answer.starts_with("HTTP/1.1 200"), "{when}: GET {path} answered {answer:?}");
        assert!(took < Duration::from_secs(1), "{when}: GET {path} took {took:?}");
    }
}

fn slow_clients_cannot_starve_the_hub(tls: bool) {
    let hub = Running::start(tls);
    assert_answers_within_a_second(&hub, "idle");

    // A flood of twice the bound: each new connection takes the slot of the
    // longest-waiting one, so requests that arrive whole still get in.
    let flood_started = Instant::now();
    let flood = hub.slow_clients(2 * BOUND);
    assert_answers_within_a_second(&hub, "flooded");
    assert!(flood_started.elapsed() < TIMEOUT, "the flood check outlasted the timeouts; it proves nothing");

    // Fewer than the bound: no eviction, so what closes them is the header or
    // handshake timeout, and none of them gets an answer.
    drop(flood);
    std::thread::sleep(Duration::from_millis(50)); // let the server see them go
    let started = Instant::now();
    let mut slow = hub.slow_clients(3);
    for (i, c) in slow.iter_mut().enumerate() {
        let (took, got) = closed_after(c.as_mut(), started);
        assert!(!got.contains(" 200 "), "slow client {i} was answered: {got:?}");
        assert!(took >= EARLIEST, "slow client {i} closed after {took:?}, before the timeout");
        assert!(took < TIMEOUT * 4, "slow client {i} held for {took:?}");
    }

    // A body that stalls after its headers: 408 in the error envelope.
    let mut c = hub.connect();
    let started = Instant::now();
    let head = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{{\"id\":",
        hub.token
    );
    c.write_all(head.as_bytes()).unwrap();
    c.flush().unwrap();
    let (took, got) = closed_after(c.as_mut(), started);
    assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
    assert!(got.contains(r#""code":"request_timeout""#), "{got:?}");
    assert!(took >= EARLIEST && took < TIMEOUT * 4, "408 after {took:?}");

    // A declared body over the limit: 413 at once, the body never sent.
    let (got, took) = hub.ask(&format!(
        "POST /v1/reports HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 999999999999\r\n\r\n",
        hub.token
    ));
    assert!(got.starts_with("HTTP/1.1 413") && got.contains(r#""code":"payload_too_large""#), "{got:?}");
    assert!(took < Duration::from_secs(1), "413 took {took:?}");

    // Every slot answering a request (live streams): a new connection is
    // refused at once, with a 503 on plain HTTP, by closing it on TLS.
    let mut live: Vec<Box<dyn Conn>> = (0..BOUND)
        .map(|_| {
            let mut c = hub.connect();
            let req = format!(
                "GET /v1/live HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nCaveat-Purpose: monitoring\r\n\r\n",
                hub.token
            );
            c.write_all(req.as_bytes()).unwrap();
            let mut head = [0u8; 12];
            c.read_exact(&mut head).unwrap();
            assert_eq!(&head, b"HTTP/1.1 200", "a live stream did not open");
            c
        })
        .collect();
    let (got, took) = hub.get("/healthz");
    assert!(took < Duration::from_secs(1), "the refusal took {took:?}");
    if tls {
        assert!(!got.contains("HTTP/1.1"), "a TLS connection past the bound was answered: {got:?}");
    } else {
        assert!(got.starts_with("HTTP/1.1 503"), "{got:?}");
        assert!(got.to_ascii_lowercase().contains("retry-after: 1"), "{got:?}");
        assert!(got.contains(r#""code":"unavailable""#), "{got:?}");
    }
    // One stream ends: its slot is free again.
    drop(live.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (got, _) = hub.get("/healthz");
        if got.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came free: {got:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(live);
}

#[test]
fn slow_clients_cannot_starve_the_hub_over_plain_http() {
    slow_clients_cannot_starve_the_hub(false);
}

#[test]
fn slow_clients_cannot_starve_the_hub_over_tls() {
    slow_clients_cannot_starve_the_hub(true);
}
