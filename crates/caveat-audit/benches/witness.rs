//! Witness benchmark (issue 18): how many checkpoints one witness cosigns a
//! second at a log of 10 million entries, each with a consistency proof from
//! the last one it cosigned, its state fsynced before each answer.
//!
//! Run: `cargo bench -p caveat-audit --bench witness`
//! (`CAVEAT_WITNESS_BENCH_SIZE=1000000` for a smaller log.) Prints its figures.
//! The log is in memory (about 1 GB at 10M entries); the witness state goes to
//! a temporary directory removed at the end.

use std::error::Error;
use std::time::Instant;

use caveat_audit::{AddCheckpoint, CosignerKey, FileWitnessStore, MemoryStorage, MerkleLog, SigningKey, Witness};

/// Checkpoints cosigned in the measurement.
const CHECKPOINTS: u64 = 500;
/// Entries appended between two checkpoints (a busy hub: ~60 a second).
const PER_CHECKPOINT: u64 = 60;

fn main() -> Result<(), Box<dyn Error>> {
    let size: u64 = std::env::var("CAVEAT_WITNESS_BENCH_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32])?;
    let mut log = MerkleLog::open(MemoryStorage::new())?;
    let started = Instant::now();
    let mut next = 0u64;
    while next < size {
        let n = (size - next).min(100_000);
        let leaves: Vec<[u8; 8]> = (next..next + n).map(u64::to_be_bytes).collect();
        log.append_batch(&leaves)?;
        next += n;
    }
    eprintln!("built a log of {size} entries in {:.1} s", started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir()?;
    let witness = Witness::new(
        CosignerKey::from_seed("w", [2; 32])?,
        vec![hub.verifier_key()],
        FileWitnessStore::open(dir.path())?,
    );
    // The witness first learns the log as it is.
    let first = AddCheckpoint { old_size: 0, proof: vec![], checkpoint: log.sign_checkpoint(&hub)?.to_string() };
    witness.add_checkpoint(&first, 1)?;

    let mut witness_time = 0f64;
    let mut hub_time = 0f64;
    let mut body_bytes = 0usize;
    for i in 0..CHECKPOINTS {
        let old = log.size();
        let leaves: Vec<[u8; 8]> = (next..next + PER_CHECKPOINT).map(u64::to_be_bytes).collect();
        next += PER_CHECKPOINT;
        log.append_batch(&leaves)?;
        let t = Instant::now();
        let req = AddCheckpoint {
            old_size: old,
            proof: log.consistency_proof(old, log.size())?.path,
            checkpoint: log.sign_checkpoint(&hub)?.to_string(),
        };
        let body = req.to_string();
        hub_time += t.elapsed().as_secs_f64();
        body_bytes += body.len();
        let t = Instant::now();
        let parsed: AddCheckpoint = body.parse()?;
        witness.add_checkpoint(&parsed, 2 + i)?;
        witness_time += t.elapsed().as_secs_f64();
    }
    let n = CHECKPOINTS as f64;
    println!("witness at a log of {size} entries, {CHECKPOINTS} checkpoints of {PER_CHECKPOINT} new entries each:");
    println!(
        "  witness: {:.0} checkpoints/s ({:.2} ms each: parse, verify signature and consistency proof, fsync state, cosign)",
        n / witness_time,
        witness_time / n * 1e3
    );
    println!(
        "  hub side: {:.2} ms per request (sign, build the proof); {:.0} bytes per add-checkpoint body",
        hub_time / n * 1e3,
        body_bytes as f64 / n
    );
    println!("  target: 100 checkpoints/s (one a second with 100x headroom)");
    Ok(())
}
