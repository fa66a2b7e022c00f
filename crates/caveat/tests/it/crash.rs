//! Acknowledged batches survive `kill -9`; unacknowledged ones are whole or
//! absent; and after a restart every stored batch has exactly one ingest
//! entry in the audit log, which names only stored batches (issue 16).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Hub, line};

const FILES_PER_RUN: u64 = 12;
const REPORTS_PER_FILE: u64 = 1_500;

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_batch_and_leaves_no_partial_one() {
    crash_test(&Hub::new(), None);
}

/// The same on PostgreSQL, when `CAVEAT_TEST_POSTGRES` names a server.
#[test]
fn sigkill_at_random_points_on_postgres() {
    let Some(url) = crate::multi_hub::postgres() else { return };
    let db = crate::multi_hub::fresh_schema(&url, "crash");
    let hub = Hub::new();
    let out = hub.command_on(Some(&db), &["init"]).output().unwrap();
    assert!(out.status.success(), "{}", crate::stderr(&out));
    crash_test(&hub, Some(&db));
}

fn crash_test(hub: &Hub, postgres: Option<&str>) {
    let mut files: BTreeMap<String, std::ops::Range<u64>> = BTreeMap::new();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut next = 1u64;
    let mut kills_mid_run = 0;
    // Run 0 is not killed: it measures how long a run takes on this machine,
    // so the 20 kills that follow land across the whole run, not after it.
    let mut full_run = Duration::from_secs(2);
    for run in 0..=20u64 {
        let mut args = vec!["ingest".to_owned(), "--as".to_owned(), "GBR".to_owned()];
        for f in 0..FILES_PER_RUN {
            let name = format!("run{run}-file{f}.ndjson");
            let range = next..next + REPORTS_PER_FILE;
            next += REPORTS_PER_FILE;
            let text: String = range.clone().map(|n| line(n, None) + "\n").collect();
            let path = hub.write(&name, text);
            args.push(path.to_str().unwrap().to_owned());
            files.insert(path.to_str().unwrap().to_owned(), range);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = hub.command_on(postgres, &argv).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        // A different point each run: from before the first batch to well into the run.
        let started = Instant::now();
        if run == 0 {
            assert!(child.wait().unwrap().success());
            full_run = started.elapsed();
        } else {
            let budget = u64::try_from(full_run.as_millis()).unwrap() * 9 / 10;
            std::thread::sleep(Duration::from_millis(rand::random_range(0..budget.max(1))));
        }
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok();
        child.wait().unwrap();
        reader.join().unwrap();
        if !finished && run > 0 {
            kills_mid_run += 1;
        }
        for l in rx.try_iter() {
            // "ingested N reports from PATH as GBR: ..."
            let path = l.split(" from ").nth(1).and_then(|r| r.split(" as ").next()).unwrap();
            acknowledged.insert(path.to_owned());
        }
    }
    assert!(kills_mid_run >= 15, "only {kills_mid_run} of 20 kills landed mid-run; the test lost its teeth");

    // A start after the last kill recovers what it left unaudited (issue 16):
    // then every stored batch has exactly one ingest entry and the reverse.
    let out = hub.command_on(postgres, &["audit", "checkpoint"]).output().unwrap();
    assert!(out.status.success(), "{}", crate::stderr(&out));
    let accounting = crate::accounting::check(hub, postgres);
    let stored = &accounting.report_ids;
    let mut whole = 0;
    for (path, range) in &files {
        let present = range.clone().filter(|n| stored.contains(&crate::stored_id(*n, "GBR"))).count() as u64;
        assert!(present == 0 || present == REPORTS_PER_FILE, "{path}: partial batch, {present} of {REPORTS_PER_FILE}");
        if acknowledged.contains(path) {
            assert_eq!(present, REPORTS_PER_FILE, "{path} was acknowledged but is missing");
        }
        if present > 0 {
            whole += 1;
        }
    }
    assert!(whole >= acknowledged.len());
    assert_eq!(whole, accounting.batches);
    assert!(!acknowledged.is_empty(), "no batch was ever acknowledged; the kills came too early");
    eprintln!(
        "crash ({}): {kills_mid_run} kills mid-run, {} batches acknowledged, {} stored, {} ingest entries ({} recovered), 0 mismatches",
        if postgres.is_some() { "PostgreSQL" } else { "SQLite" },
        acknowledged.len(),
        accounting.batches,
        accounting.entries,
        accounting.recovered
    );
}
