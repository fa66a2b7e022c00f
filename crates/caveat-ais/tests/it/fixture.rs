//! Shared test fixtures: the shipped recordings and a partner context.

use std::io::Read;
use std::path::PathBuf;

use caveat_core::{DEFAULT_FUTURE_SKEW, IngestContext, Marking, Partner, ReportIdMint};
use time::macros::datetime;

pub(crate) fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Reads a gzip file from `tests/data`.
pub(crate) fn gunzip(rel: &str) -> Vec<u8> {
    let f = std::fs::File::open(data_dir().join(rel)).unwrap();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f).read_to_end(&mut out).unwrap();
    out
}

/// The shipped recordings, by file name, sorted.
pub(crate) fn recordings() -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir().join("recordings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".nmea.gz"))
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), gunzip(&format!("recordings/{n}")))).collect()
}

/// Lines as Python's `split(b'\n')` gives them, without a final empty one.
pub(crate) fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if v.last() == Some(&&b""[..]) {
        v.pop();
    }
    v
}

pub(crate) fn partner(ais_marking: Option<Marking>) -> Partner {
    Partner {
        id: "NLD".parse().unwrap(),
        name: "Netherlands Coastguard".into(),
        default_marking: Marking::originator_only(),
        ais_marking,
    }
}

pub(crate) fn context(partner: &Partner) -> IngestContext<'_> {
    IngestContext {
        submitter: partner,
        now: datetime!(2026-11-23 12:00 UTC),
        max_future_skew: DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(1_795_000_000_000, [3; 10]),
    }
}
