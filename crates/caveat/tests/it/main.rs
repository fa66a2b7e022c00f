//! Integration tests that run the real `caveat` binary (ripgrep's TestCommand pattern).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies"
)]

mod accounting;
mod architecture;
mod complete_usage;
mod cot;
mod crash;
mod crash_serve;
mod federation;
mod federation_kill;
mod feed;
mod ingest;
mod labels;
mod multi_hub;
mod node_witness;
mod same_audit;
mod slow_clients;
mod tls;
mod verify_store;
mod witness;

use std::path::PathBuf;
use std::process::{Command, Output};

/// A hub in a temporary directory, initialised with the example partners.
pub(crate) struct Hub {
    dir: tempfile::TempDir,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        let hub = Hub { dir: tempfile::tempdir().unwrap() };
        let out = hub.run(&["init"]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        hub
    }

    /// A hub initialised in `dir` (which may already hold its audit key).
    pub(crate) fn in_dir(dir: tempfile::TempDir) -> Hub {
        let hub = Hub { dir };
        let out = hub.run(&["init"]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        hub
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("caveat.db")
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        self.command_on(None, args)
    }

    /// A command on another database (a PostgreSQL URL) than the hub's SQLite file.
    pub(crate) fn command_on(&self, db: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_caveat"));
        match db {
            Some(url) => cmd.arg("--db").arg(url),
            None => cmd.arg("--db").arg(self.db()),
        };
        cmd.args(args).current_dir(self.dir.path()).env_remove("CAVEAT_DB");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `caveat reports --count` with extra filters.
    pub(crate) fn count(&self, extra: &[&str]) -> u64 {
        let mut args = vec!["reports", "--count", "--include-superseded"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().parse().unwrap()
    }
}

/// Waits until a hub started in a test listens on every one of `ports` (at most 30 s).
pub(crate) fn wait_for_ports(ports: &[u16]) {
    let started = std::time::Instant::now();
    while ports.iter().any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err()) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the hub did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One valid NDJSON report line with a fixed id derived from `n`.
pub(crate) fn line(n: u64, originator: Option<&str>) -> String {
    let orig = originator.map(|o| format!(r#""originator":"{o}","#)).unwrap_or_default();
    let lat = 15.0 + (n % 500) as f64 / 100.0;
    format!(
        r#"{{"id":"{}",{orig}"observed_at":"2026-11-20T03:14:00Z","position":{{"lat":{lat},"lon":-64.9}},"uncertainty_m":120,"source":"coastal-radar"}}"#,
        id(n)
    )
}

/// The id the hub stores for test report `n` submitted by `partner` (a
/// partner's own ids are scoped to it: `ReportId::scoped_to`).
pub(crate) fn stored_id(n: u64, partner: &str) -> String {
    id(n).parse::<caveat_core::ReportId>().unwrap().scoped_to(&partner.parse().unwrap()).to_string()
}

/// A fixed UUIDv7 for test report `n`.
pub(crate) fn id(n: u64) -> String {
    format!("019ab000-0000-7000-8000-{n:012x}")
}
