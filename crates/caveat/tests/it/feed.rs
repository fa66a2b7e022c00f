//! Issue 21 item 1: a real recording replayed into a running `caveat serve`
//! over loopback UDP, over a TCP connection it accepts, and over a TCP
//! connection it makes (after the first one is dropped: reconnection) stores
//! exactly the reports `caveat ingest --format nmea` stores from the same file,
//! each feed as its partner, stations kept; damaged lines are counted in
//! `/metrics` and change nothing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::{Hub, stderr, stdout};

/// The satellite recording shipped with caveat-ais (MIT, see its provenance):
/// every line has a logger prefix and a `\s:66,c:...\` tag block. Only lines
/// with a `c:` time are kept, so a report's time never depends on when it arrived.
fn excerpt() -> Vec<u8> {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../caveat-ais/tests/data/recordings/aduvenhage_test_ais_data.nmea.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
    let mut out = String::new();
    for (i, l) in text.lines().filter(|l| l.contains(",c:")).enumerate() {
        out.push_str(l);
        out.push_str("\r\n");
        // Damage a feed really has, spread through it.
        if i % 100 == 50 {
            out.push_str("!AIVDM,1,1,,,19NSLshujFwsdHB2jicRpBCf06c`,0*05\r\n"); // bad checksum
            out.push_str("garbage that is no sentence\r\n");
            out.push_str(&"x".repeat(2_000)); // longer than a line may be
            out.push_str("\r\n");
        }
    }
    out.into_bytes()
}

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

fn metrics(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).ok();
    out
}

/// The value of `name{labels...}` in a metrics text, 0 when absent.
fn value(text: &str, name: &str, labels: &str) -> u64 {
    let key = format!("{name}{{{labels}}} ");
    text.lines().find_map(|l| l.strip_prefix(&key)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Stored reports of `partner`, each without its id (minted anew by each hub), sorted.
fn stored(hub: &Hub, partner: &str) -> Vec<serde_json::Value> {
    let out = hub.run(&["reports", "--json", "--include-superseded", "--originator", partner, "--limit", "100000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut v: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            r.as_object_mut().unwrap().remove("id");
            r
        })
        .collect();
    v.sort_by_key(std::string::ToString::to_string);
    v
}

#[test]
fn a_recording_over_udp_and_tcp_stores_what_file_ingest_stores() {
    let data = excerpt();

    // The reference: the same bytes through `caveat ingest --format nmea`, as each partner.
    let reference = Hub::new();
    let file = reference.write("excerpt.nmea", &data);
    for partner in ["GBR", "CAN", "NLD"] {
        let out = reference.run(&["ingest", "--as", partner, "--format", "nmea", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let want = stored(&reference, "GBR");
    assert!(want.len() > 900, "{} reports", want.len());
    assert!(want.iter().all(|r| r["station"] == "66"), "the tag block's station is kept");

    // The live hub: GBR's receiver sends datagrams, CAN's connects to the hub,
    // and the hub connects to NLD's (which drops the first connection).
    let live = Hub::new();
    let (http, ops, udp, tcp) = (free_port(), free_port(), free_port(), free_port());
    let nld = TcpListener::bind("127.0.0.1:0").unwrap();
    let nld_port = nld.local_addr().unwrap().port();
    let _server = Server(
        live.command(&[
            "serve",
            "--listen",
            &format!("127.0.0.1:{http}"),
            "--metrics-listen",
            &format!("127.0.0.1:{ops}"),
            "--feed-udp",
            &format!("GBR=127.0.0.1:{udp}"),
            "--feed-tcp",
            &format!("CAN=127.0.0.1:{tcp}"),
            "--feed-connect",
            &format!("NLD=127.0.0.1:{nld_port}"),
            "--feed-batch-reports",
            "100",
            "--feed-batch-ms",
            "200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let started = Instant::now();
    crate::wait_for_ports(&[ops]);

    // UDP: whole lines per datagram, at most about 1,400 bytes each (one MTU).
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut datagram = Vec::new();
    let mut datagrams = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if !datagram.is_empty() && datagram.len() + line.len() > 1_400 {
            sender.send_to(&datagram, ("127.0.0.1", udp)).unwrap();
            datagrams += 1;
            datagram.clear();
        }
        datagram.extend_from_slice(line);
    }
    sender.send_to(&datagram, ("127.0.0.1", udp)).unwrap();
    assert!(datagrams > 50);

    // TCP in: one connection, the file written in pieces that cut lines in two.
    let mut conn = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    for piece in data.chunks(777) {
        conn.write_all(piece).unwrap();
    }
    drop(conn);

    // TCP out: the hub's first connection is dropped unread; it must come back.
    let (first, _) = nld.accept().unwrap();
    drop(first);
    let (mut second, _) = nld.accept().unwrap();
    second.write_all(&data).unwrap();

    let labels = |feed: String, p: &str| format!("feed=\"{feed}\",partner=\"{p}\"");
    let feeds = [
        (labels(format!("udp-127.0.0.1:{udp}"), "GBR"), "GBR"),
        (labels(format!("tcp-127.0.0.1:{tcp}"), "CAN"), "CAN"),
        (labels(format!("connect-127.0.0.1:{nld_port}"), "NLD"), "NLD"),
    ];
    let text = loop {
        let text = metrics(ops);
        let done =
            feeds.iter().all(|(l, _)| value(&text, "caveat_feed_reports_committed_total", l) >= want.len() as u64);
        if done {
            break text;
        }
        assert!(started.elapsed() < Duration::from_mins(1), "feeds did not commit everything:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(second);
    for (l, partner) in &feeds {
        assert_eq!(value(&text, "caveat_feed_reports_committed_total", l), want.len() as u64, "{partner}");
        assert_eq!(value(&text, "caveat_feed_batches_failed_total", l), 0, "{partner}");
        assert_eq!(value(&text, "caveat_feed_dropped_datagrams_total", l), 0, "{partner}");
        let reason = |r: &str| value(&text, "caveat_feed_rejected_total", &format!("{l},reason=\"{r}\""));
        assert!(reason("bad_checksum") >= 10, "{partner}:\n{text}");
        assert_eq!(reason("too_long"), 10, "{partner}:\n{text}");
        assert!(value(&text, "caveat_feed_decoded_total", l) > 900);
        // Several small batches, not one.
        assert!(value(&text, "caveat_feed_batches_committed_total", l) >= 10, "{partner}");
        assert!(value(&text, "caveat_feed_commit_lag_max_milliseconds", l) < 10_000, "{partner}");
        assert_eq!(stored(&live, partner), stored(&reference, partner), "{partner}'s stored reports differ");
    }
    assert!(value(&text, "caveat_feed_reconnects_total", &feeds[2].0) >= 1);
}

#[test]
fn bad_feed_flags_are_clear_errors() {
    let hub = Hub::new();
    let cases: [(&[&str], &str); 4] = [
        (&["--feed-udp", "127.0.0.1:10110"], "expected PARTNER=ADDR"),
        (&["--feed-udp", "XYZ=127.0.0.1:0"], "unknown partner XYZ"),
        (&["--feed-tcp", "GBR=nowhere"], "not an IP address and port"),
        (&["--feed-connect", "GBR=host-without-port"], "expected HOST:PORT"),
    ];
    for (flags, want) in cases {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let out = hub.command(&args).stdout(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "{flags:?} started");
        assert!(stderr(&out).contains(want), "{flags:?}: {}", stderr(&out));
    }
}

/// Adversarial senders: connections past the limit are closed at once and
/// counted; a stream that never sends a newline and a flood of datagrams into
/// a one-chunk queue are counted, and the hub goes on taking good lines.
#[test]
fn floods_and_connection_limits_are_counted_not_fatal() {
    let hub = Hub::new();
    let (http, ops, udp, tcp) = (free_port(), free_port(), free_port(), free_port());
    let config = hub.write(
        "feeds.toml",
        format!(
            "[feeds]\nqueue = 1\nmax_connections = 2\nmax_line_bytes = 200\n\n\
             [[feeds.feed]]\nname = \"gbr-shore\"\npartner = \"GBR\"\nudp = \"127.0.0.1:{udp}\"\n\n\
             [[feeds.feed]]\nname = \"can-mux\"\npartner = \"CAN\"\ntcp = \"127.0.0.1:{tcp}\"\n"
        ),
    );
    let _server = Server(
        hub.command(&[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{http}"),
            "--metrics-listen",
            &format!("127.0.0.1:{ops}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let started = Instant::now();
    crate::wait_for_ports(&[ops]);
    let (gbr, can) = ("feed=\"gbr-shore\",partner=\"GBR\"", "feed=\"can-mux\",partner=\"CAN\"");
    let wait_for = |what: &str, ok: &dyn Fn(&str) -> bool| loop {
        let text = metrics(ops);
        if ok(&text) {
            return text;
        }
        assert!(started.elapsed() < Duration::from_mins(1), "{what}:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };

    // Two connections are taken; the third is closed unread.
    let mut first = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    let _second = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    wait_for("two connections", &|t| value(t, "caveat_feed_connections", can) == 2);
    let mut third = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    third.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(third.read(&mut byte).map_err(|e| e.kind()), Ok(0), "closed at once");
    wait_for("one refused", &|t| value(t, "caveat_feed_connections_refused_total", can) == 1);

    // 4 MB without a newline, then a good line: one over-long line, one report.
    let junk = vec![b'!'; 64 * 1024];
    for _ in 0..64 {
        first.write_all(&junk).unwrap();
    }
    first.write_all(b"\n\\s:66,c:1555624740*3B\\!AIVDM,1,1,,,19NSLshujFwsdHB2jicRpBCf06c`,0*04\n").unwrap();
    let text = wait_for("the good line after the junk", &|t| value(t, "caveat_feed_reports_committed_total", can) == 1);
    assert_eq!(value(&text, "caveat_feed_rejected_total", &format!("{can},reason=\"too_long\"")), 1);

    // A flood of datagrams into a queue of one: whatever the hub cannot keep up
    // with is dropped (by the queue, counted, or by the kernel), never fatal.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let line = b"\\s:66,c:1555624740*3B\\!AIVDM,1,1,,,19NSLshujFwsdHB2jicRpBCf06c`,0*04\r\n".repeat(16);
    for _ in 0..20_000 {
        sender.send_to(&line, ("127.0.0.1", udp)).ok();
    }
    let text = wait_for("flood counted", &|t| value(t, "caveat_feed_reports_committed_total", gbr) > 0);
    let lines = value(&text, "caveat_feed_lines_total", gbr);
    assert!(lines <= 20_000 * 16, "{text}");
    // Nothing the hub read goes unaccounted: once the decoder has caught up,
    // every queued datagram was either decoded (its 16 lines counted) or
    // counted as dropped.
    let text = wait_for("every queued datagram decoded or dropped", &|t| {
        let queued = value(t, "caveat_feed_queued_datagrams_total", gbr);
        let dropped = value(t, "caveat_feed_dropped_datagrams_total", gbr);
        queued > 0 && value(t, "caveat_feed_lines_total", gbr) == 16 * (queued - dropped.min(queued))
    });
    let (queued, dropped) = (
        value(&text, "caveat_feed_queued_datagrams_total", gbr),
        value(&text, "caveat_feed_dropped_datagrams_total", gbr),
    );
    assert!(queued <= 20_000 && dropped <= queued, "{text}");
    eprintln!("flood: {queued} of 20,000 datagrams queued, {dropped} dropped by the queue, the rest by the kernel");
    // The hub still answers and still takes a good datagram.
    let before = value(&metrics(ops), "caveat_feed_lines_total", gbr);
    sender.send_to(&line, ("127.0.0.1", udp)).unwrap();
    wait_for("a datagram after the flood", &|t| value(t, "caveat_feed_lines_total", gbr) > before);
}
