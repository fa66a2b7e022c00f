//! Throughput of caveat-ais against pyais and the `nmea-parser` crate, on the
//! same real recordings, printed as one table.
//!
//! ```text
//! python3 -m venv bench/.venv && bench/.venv/bin/pip install pyais==3.3.1
//! CARGO_TARGET_DIR=/work/target-caveat-ais cargo bench -p caveat-ais --bench throughput
//! ```
//!
//! Inputs come from `../shared/data` (override with `CAVEAT_AIS_DATA`); pyais
//! runs through `bench/ais/pyais_throughput.py` with `bench/.venv/bin/python`
//! (override with `CAVEAT_AIS_PYTHON`) and is skipped when absent.
//!
//! Each decoder gets every line of the file (tag blocks, `$PGHP` and all) and
//! does its full job: checksum, tag block, multipart assembly and decoding of
//! every message. Rates are AIS sentences per second, best of several runs.
//!
//! Why a hand-written decoder: `nmea-parser` allocates several `String`s per
//! sentence (checksum split, field split, hex formatting) and a `BitVec` per
//! payload; caveat-ais borrows the line, dearmors four characters into three
//! bytes of a stack buffer with a lookup table and reads fields with one
//! 64-bit load each, so a position report costs no allocation at all. The
//! ratio printed is the measured reason. On 2026-11-23 (AMD EPYC, 2 shared
//! cores, release build) it printed, in sentences/s:
//!
//! | input | caveat-ais | nmea-parser 0.11 | pyais 3.3.1 | × nmea-parser | × pyais |
//! |---|---|---|---|---|---|
//! | dma_aisabnormal_sample_2013.nmea (26,146) | 5.1 M | 0.82 M | 99 k | 6.2 | 51 |
//! | marinecadastre …-reencoded.nmea.gz (168,091) | 6.0 M | 0.91 M | 109 k | 6.6 | 55 |
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::indexing_slicing,
    reason = "a benchmark binary: fails loudly, prints rates"
)]

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use caveat_ais::{FeedConfig, FeedDecoder};

struct Input {
    name: &'static str,
    path: PathBuf,
    data: Vec<u8>,
    sentences: u64,
}

fn load(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice()).read_to_end(&mut out).unwrap();
        out
    } else {
        raw
    }
}

fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect()
}

fn caveat(lines: &[&[u8]]) -> u64 {
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let mut decoded = 0u64;
    for l in lines {
        if let Ok(Some(d)) = feed.push_line(l) {
            black_box(&d);
            decoded += 1;
        }
    }
    black_box(feed.finish());
    decoded
}

fn nmea_parser(lines: &[&str]) -> u64 {
    let mut p = nmea_parser::NmeaParser::new();
    let mut decoded = 0u64;
    for l in lines {
        match p.parse_sentence(l) {
            Ok(nmea_parser::ParsedMessage::Incomplete) | Err(_) => {}
            Ok(m) => {
                black_box(&m);
                decoded += 1;
            }
        }
    }
    decoded
}

/// Best wall time of `f` over at least `runs` runs and about `budget`.
fn best<F: FnMut() -> u64>(mut f: F, runs: usize, budget: Duration) -> (Duration, u64) {
    let start = Instant::now();
    let mut best = Duration::MAX;
    let mut out = 0;
    let mut n = 0;
    while n < runs || (start.elapsed() < budget && n < 50) {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed());
        n += 1;
    }
    (best, out)
}

fn pyais(path: &Path) -> Option<(f64, u64)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python =
        std::env::var_os("CAVEAT_AIS_PYTHON").map_or_else(|| root.join("bench/.venv/bin/python"), PathBuf::from);
    let out = Command::new(python).arg(root.join("bench/ais/pyais_throughput.py")).arg(path).output().ok()?;
    if !out.status.success() {
        eprintln!("pyais run failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut it = text.split_whitespace();
    let _sentences: u64 = it.next()?.parse().ok()?;
    let decoded: u64 = it.next()?.parse().ok()?;
    let secs: f64 = it.next()?.parse().ok()?;
    Some((secs, decoded))
}

/// Per-line latency of caveat-ais: p50 and p99 in nanoseconds.
fn latency(lines: &[&[u8]]) -> (u128, u128) {
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let mut ns: Vec<u128> = lines
        .iter()
        .map(|l| {
            let t = Instant::now();
            let _ = black_box(feed.push_line(l));
            t.elapsed().as_nanos()
        })
        .collect();
    ns.sort_unstable();
    (ns[ns.len() / 2], ns[ns.len() * 99 / 100])
}

fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let dir = std::env::var_os("CAVEAT_AIS_DATA").map_or_else(|| PathBuf::from("/work/shared/data"), PathBuf::from);
    let inputs = [
        ("dma_aisabnormal_sample_2013.nmea", dir.join("dma_aisabnormal_sample_2013.nmea")),
        (
            "marinecadastre-2022-01-03-first100k-reencoded.nmea.gz",
            dir.join("trajectories/marinecadastre-2022-01-03-first100k-reencoded.nmea.gz"),
        ),
    ];
    let inputs: Vec<Input> = inputs
        .into_iter()
        .map(|(name, path)| {
            let data = load(&path);
            let sentences =
                lines(&data).iter().filter(|l| l.windows(4).any(|w| w == b"VDM," || w == b"VDO,")).count() as u64;
            Input { name, path, data, sentences }
        })
        .collect();
    println!("caveat-ais throughput; {} ; release build; best of runs; rates in AIS sentences/s", cpu());
    println!(
        "{:<54} {:>9} {:>9} | {:>12} {:>12} {:>12} | {:>8} {:>8} | {:>9} {:>9}",
        "input", "bytes", "sentences", "caveat-ais", "nmea-parser", "pyais", "x nmea-p", "x pyais", "p50 ns", "p99 ns"
    );
    for input in &inputs {
        let ls = lines(&input.data);
        let strs: Vec<&str> = ls.iter().map(|l| std::str::from_utf8(l).unwrap_or("")).collect();
        let (t_caveat, d_caveat) = best(|| caveat(&ls), 5, Duration::from_secs(2));
        let (t_np, d_np) = best(|| nmea_parser(&strs), 3, Duration::from_secs(2));
        let rate = |t: Duration| input.sentences as f64 / t.as_secs_f64();
        let (r_caveat, r_np) = (rate(t_caveat), rate(t_np));
        let py = pyais(&input.path);
        let r_py = py.map(|(s, _)| input.sentences as f64 / s);
        let (p50, p99) = latency(&ls);
        println!(
            "{:<54} {:>9} {:>9} | {:>12.0} {:>12.0} {:>12} | {:>8.1} {:>8} | {:>9} {:>9}",
            input.name,
            input.data.len(),
            input.sentences,
            r_caveat,
            r_np,
            r_py.map_or_else(|| "n/a".into(), |r| format!("{r:.0}")),
            r_caveat / r_np,
            r_py.map_or_else(|| "n/a".into(), |r| format!("{:.1}", r_caveat / r)),
            p50,
            p99
        );
        println!(
            "{:<54} messages out: caveat-ais {d_caveat}, nmea-parser {d_np}, pyais {}",
            "",
            py.map_or_else(|| "n/a".into(), |(_, d)| d.to_string())
        );
    }
}
