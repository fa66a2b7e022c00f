//! Audit log benchmark: durable appends per batch of 1,000 (file-backed), and
//! inclusion / consistency proof generation and verification at 1M and 10M
//! entries, and the cost of a batch's content commitment at ingest.
//!
//! Run: `cargo bench -p caveat-audit --bench audit_log`
//! (`CAVEAT_AUDIT_BENCH_MAX=1000000` stops after the 1M point.)
//! Prints a table; inputs come from a fixed seed. Files go to a temporary directory
//! (about 1.1 GB at 10M entries) that is removed at the end.

use std::error::Error;
use std::time::{Duration, Instant};

use caveat_audit::{
    Action, AuditEntry, Decision, FileStorage, MerkleLog, OriginatorUse, PolicyDecision, PolicyId, ReportSet, leaf_hash,
};
use caveat_core::{Purpose, ReportIdMint};
use time::macros::datetime;

const BATCH: usize = 1_000;
const DURABLE_BATCHES: usize = 200;
const PROBES: usize = 20_000;

/// splitmix64: a fixed-seed source of indexes.
struct Seq(u64);
impl Seq {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// A realistic leaf: a permit decision over 3 originators' reports, `ids` each
/// (written out when at most 16, else digest only).
fn decision_bytes(i: usize, ids: usize) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut mint = ReportIdMint::new(1_795_000_000_000, [7; 10]);
    let originators = ["GBR", "FRA", "NLD"]
        .iter()
        .map(|o| {
            let ids: Vec<_> = (0..ids + i % 4).map(|_| mint.next_id()).collect();
            Ok(OriginatorUse {
                originator: o.parse()?,
                reports: ReportSet::new(&ids),
                decision: Decision::Permit,
                determining_policies: vec![PolicyId::try_from(format!("{}-marking", o.to_lowercase()))?],
            })
        })
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    let entry = AuditEntry::PolicyDecision(PolicyDecision {
        at: datetime!(2026-11-23 12:00 UTC) + time::Duration::milliseconds(i64::try_from(i)?),
        user: "watch@usa-uscg".parse()?,
        partner: "USA-USCG".parse()?,
        purpose: Purpose::Interdiction,
        case: None,
        action: Action::Read,
        originators,
    });
    Ok(entry.to_bytes()?)
}

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort_unstable();
    let n = samples.len().max(1);
    let total: Duration = samples.iter().sum();
    let at = |q: usize| samples.get((n * q / 100).min(n - 1)).copied().unwrap_or_default();
    Stats { mean: total / u32::try_from(n).unwrap_or(u32::MAX), p50: at(50), p99: at(99) }
}

fn row(what: &str, size: u64, s: &Stats) {
    println!(
        "| {what:<34} | {size:>10} | {:>9.2} | {:>9.2} | {:>9.2} |",
        s.mean.as_secs_f64() * 1e6,
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6
    );
}

fn durable_appends(dir: &std::path::Path, ids: usize, label: &str) -> Result<(), Box<dyn Error>> {
    let entries = (0..BATCH).map(|i| decision_bytes(i, ids)).collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = entries.iter().map(Vec::len).sum();
    let mut log = MerkleLog::open(FileStorage::open(dir)?)?;
    for _ in 0..5 {
        log.append_batch(&entries)?;
    }
    let mut per_batch = Vec::with_capacity(DURABLE_BATCHES);
    let start = Instant::now();
    for _ in 0..DURABLE_BATCHES {
        let t = Instant::now();
        log.append_batch(&entries)?;
        per_batch.push(t.elapsed());
    }
    let total = start.elapsed();
    let rate = (DURABLE_BATCHES * BATCH) as f64 / total.as_secs_f64();
    let s = stats(per_batch);
    println!(
        "durable appends, {label} ({} B/entry avg), fsync per batch of {BATCH}: {rate:.0} entries/s; \
         batch latency mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms",
        bytes / BATCH,
        s.mean.as_secs_f64() * 1e3,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3
    );
    Ok(())
}

fn proofs_at(log: &MerkleLog<FileStorage>, seq: &mut Seq) -> Result<(), Box<dyn Error>> {
    let size = log.size();
    let root = log.root();
    let (mut gen_inc, mut ver_inc, mut gen_con, mut ver_con) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PROBES {
        let index = seq.below(size);
        let t = Instant::now();
        let proof = log.inclusion_proof(index, size)?;
        gen_inc.push(t.elapsed());
        let leaf = leaf_hash(&log.entry(index)?);
        let t = Instant::now();
        proof.verify(&leaf, &root)?;
        ver_inc.push(t.elapsed());
    }
    for _ in 0..PROBES / 10 {
        let old = 1 + seq.below(size - 1);
        let t = Instant::now();
        let proof = log.consistency_proof(old, size)?;
        gen_con.push(t.elapsed());
        let old_root = log.root_at(old)?;
        let t = Instant::now();
        proof.verify(&old_root, &root)?;
        ver_con.push(t.elapsed());
    }
    row("inclusion proof: generate", size, &stats(gen_inc));
    row("inclusion proof: verify", size, &stats(ver_inc));
    row("consistency proof: generate", size, &stats(gen_con));
    row("consistency proof: verify", size, &stats(ver_con));
    Ok(())
}

/// What committing to a batch's content costs at ingest (issue 16): each
/// report's canonical JSON hashed into the batch's Merkle root.
fn batch_content() -> Result<(), Box<dyn Error>> {
    let reports: Vec<caveat_core::Report> = (0..100_000u32)
        .map(|i| {
            caveat_core::Report::builder()
                .position(15.0 + f64::from(i % 500) / 100.0, -64.9 + f64::from(i % 97) / 1_000.0)
                .velocity(Some(f64::from(i % 360)), Some(12.5))
                .build()
        })
        .collect();
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            let content = caveat_audit::BatchContent::of(&reports).map(|c| c.root);
            (t.elapsed(), content)
        })
        .min_by_key(|(d, _)| *d);
    if let Some((d, content)) = best {
        content?;
        let per = d.as_secs_f64() / reports.len() as f64;
        println!(
            "batch content of {} reports: {:.1} ms (best of 5), {:.2} µs a report, {:.0} reports/s on one core",
            reports.len(),
            d.as_secs_f64() * 1e3,
            per * 1e6,
            1.0 / per
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let max: u64 = std::env::var("CAVEAT_AUDIT_BENCH_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let tmp = tempfile::tempdir()?;
    println!("caveat-audit benchmark ({} cores available)", std::thread::available_parallelism()?.get());
    batch_content()?;
    durable_appends(&tmp.path().join("digests"), 20, "decisions, id digests only")?;
    durable_appends(&tmp.path().join("inline"), 4, "decisions, ids written out")?;

    // The big log: 32-byte leaves in batches of 65,536 (fsynced too), to build 10M quickly.
    let mut log = MerkleLog::open(FileStorage::open(&tmp.path().join("big"))?)?;
    let mut seq = Seq(0x00c0_ffee);
    let chunk: Vec<[u8; 32]> = (0u32..65_536).map(|i| leaf_hash(&i.to_be_bytes()).as_bytes().to_owned()).collect();
    println!();
    println!(
        "| {:<34} | {:>10} | {:>9} | {:>9} | {:>9} |",
        "operation (file-backed, warm cache)", "tree size", "mean µs", "p50 µs", "p99 µs"
    );
    println!("|{:-<36}|{:->12}|{:->11}|{:->11}|{:->11}|", "", "", "", "", "");
    for target in [1_000_000u64, 10_000_000].into_iter().filter(|t| *t <= max) {
        let t = Instant::now();
        while log.size() < target {
            let take = usize::try_from((target - log.size()).min(chunk.len() as u64))?;
            log.append_batch(chunk.get(..take).unwrap_or_default())?;
        }
        eprintln!("built {target} entries in {:.1} s", t.elapsed().as_secs_f64());
        proofs_at(&log, &mut seq)?;
    }
    Ok(())
}
