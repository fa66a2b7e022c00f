//! Completeness benchmark (issue 18 item 5): what it costs an originator to
//! check that its usage report over one day of a busy hub leaves nothing out.
//!
//! Run: `cargo bench -p caveat-audit --bench completeness -- [entries] [originators]`
//! (defaults 5,000,000 and 6). It builds the day's log in memory as the hub's
//! audit writer would (groups of 64 entries, a tag leaf every 1,024), then
//! serialises the completeness proof for the whole day as the hub would send it,
//! and checks it in a child process of its own (so the peak memory printed is
//! the check's alone): bytes fetched, seconds, peak resident memory. Entries:
//! 30% ingests (one originator), 70% decisions touching one to three of the
//! originators, drawn with a fixed seed. The report's own entries (with their
//! inclusion proofs) are the usage report itself, fetched with or without this
//! proof; their cost is printed apart, from a sample page.
#![expect(clippy::cast_precision_loss, reason = "figures for printing")]

use std::collections::BTreeSet;
use std::error::Error;
use std::time::Instant;

use caveat_audit::{
    Action, AuditEntry, Completeness, Decision, IngestBatch, MemoryStorage, MerkleLog, OriginatorUse, PolicyDecision,
    ReportSet, SignedCheckpoint, SigningKey, Tagger, UsagePage, UsageReport,
};
use caveat_core::{PartnerId, Purpose, ReportIdMint};
use time::macros::datetime;

const PARTNERS: [&str; 12] =
    ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS", "ESP", "PRT", "DEU", "ITA", "BEL", "DNK"];
/// Entries appended together (the audit writer's group commit).
const GROUP: usize = 64;
/// As the hub's audit writer (`caveat-hub/src/audit.rs`).
const TAG_EVERY: usize = 1024;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if args.first().map(String::as_str) == Some("check") {
        return check(&args);
    }
    let entries: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
    let originators: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(6).clamp(1, PARTNERS.len());
    let partners: Vec<PartnerId> = PARTNERS.iter().take(originators).map(|p| p.parse()).collect::<Result<_, _>>()?;
    let me = partners.first().ok_or("no originator")?.clone();
    let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32])?;

    let started = Instant::now();
    let mut log = MerkleLog::open(MemoryStorage::new())?;
    let mut tagger = Tagger::new(&hub, partners.clone());
    tagger.resume(&log)?;
    let mut mine = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut mint = ReportIdMint::new(1_795_000_000_000, [3; 10]);
    let at = datetime!(2026-12-01 00:00 UTC);
    let mut group = Vec::with_capacity(GROUP);
    let mut written = 0u64;
    while written < entries {
        let r = next();
        let entry = if r % 10 < 3 {
            let who = pick(&partners, next());
            AuditEntry::IngestBatch(IngestBatch {
                at,
                partner: who.clone(),
                user: "feed@hub".parse()?,
                reports: ReportSet::new(&[mint.next_id()]),
                batch: Some(written),
                content: None,
                recovered: false,
            })
        } else {
            let k = 1 + (next() % 3) as usize;
            let mut who: BTreeSet<PartnerId> = BTreeSet::new();
            while who.len() < k.min(partners.len()) {
                who.insert(pick(&partners, next()).clone());
            }
            AuditEntry::PolicyDecision(PolicyDecision {
                at,
                user: "watch@hub".parse()?,
                partner: pick(&partners, next()).clone(),
                purpose: Purpose::Interdiction,
                case: None,
                action: Action::Read,
                originators: who
                    .into_iter()
                    .map(|originator| OriginatorUse {
                        originator,
                        reports: ReportSet::new(&[mint.next_id()]),
                        decision: Decision::Permit,
                        determining_policies: Vec::new(),
                    })
                    .collect(),
            })
        };
        if entry.touches(&me) {
            mine.push(log.size() + group.len() as u64);
        }
        group.push(entry);
        written += 1;
        if group.len() == GROUP || written == entries {
            log.append_entries(&group)?;
            tagger.appended(&log, &group);
            group.clear();
            if tagger.untagged() >= TAG_EVERY {
                tagger.flush(&mut log, at)?;
            }
        }
    }
    // The report's own flush, then its checkpoint.
    tagger.flush(&mut log, at)?;
    let checkpoint = log.sign_checkpoint(&hub)?;
    eprintln!(
        "built a day of {entries} entries ({} with tag leaves), {originators} originators, in {:.1} s; {} touch {me}",
        log.size(),
        started.elapsed().as_secs_f64(),
        mine.len()
    );

    // What the hub sends: the chain of tag leaves covering the day, with inclusion proofs.
    let t = Instant::now();
    let last = tagger.last().ok_or("no tag leaf")?;
    let chain = caveat_audit::tag_chain(&log, last, log.size(), 0)?;
    let end = match caveat_audit::AuditEntry::from_bytes(&log.entry(last)?)? {
        AuditEntry::UsageTags(t) => t.to,
        _ => return Err("the last tag leaf is not one".into()),
    };
    let proof = Completeness::build(&log, log.size(), &chain, 0, end, tagger.key(&me))?;
    let json = serde_json::to_vec(&proof)?;
    let serve_s = t.elapsed().as_secs_f64();

    let dir = tempfile::tempdir()?;
    let proof_path = dir.path().join("completeness.json");
    let listed_path = dir.path().join("listed.bin");
    let cp_path = dir.path().join("checkpoint");
    std::fs::write(&proof_path, &json)?;
    std::fs::write(&listed_path, mine.iter().flat_map(|i| i.to_le_bytes()).collect::<Vec<u8>>())?;
    std::fs::write(&cp_path, checkpoint.to_string())?;

    // The report's own entries, from one page of them.
    let sample = UsagePage { key: tagger.key(&me), last_tag: Some(last), from: 0, limit: 10_000 };
    let page = UsageReport::build_page(&log, &me, &checkpoint, None, &sample, &mine)?;
    let page_bytes = serde_json::to_vec(&page)?.len();
    let page_proof = page.completeness.as_ref().map_or(0, |c| serde_json::to_vec(c).map_or(0, |v| v.len()));
    let per_entry = (page_bytes - page_proof) as f64 / page.bundle.entries.len().max(1) as f64;
    let t = Instant::now();
    page.verify(None, &hub.verifier_key())?;
    let page_s = t.elapsed().as_secs_f64();
    let pages = mine.len().div_ceil(10_000);

    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("check")
        .arg(&proof_path)
        .arg(&listed_path)
        .arg(&cp_path)
        .arg(me.as_str())
        .output()?;
    if !out.status.success() {
        return Err(format!("the check failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let said = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> f64 {
        said.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).unwrap_or(f64::NAN)
    };
    let (check_s, peak_kb) = (field("seconds"), field("peak_kb"));
    println!("completeness over one day: {entries} entries, {originators} originators, {} tag leaves", chain.len());
    println!(
        "  fetched: {:.1} MB ({:.2} bytes an entry); hub builds it in {serve_s:.2} s",
        json.len() as f64 / 1e6,
        json.len() as f64 / entries as f64
    );
    println!("  check: {check_s:.2} s, peak resident {:.0} MB (targets: under 60 s and 200 MB)", peak_kb / 1024.0);
    println!(
        "  the report itself ({} entries of {me}, {pages} pages, with or without this proof): about {:.0} MB, \
         {per_entry:.0} bytes an entry with its inclusion path; one page verifies in {page_s:.2} s, so about {:.0} s for all",
        mine.len(),
        per_entry * mine.len() as f64 / 1e6,
        page_s * pages as f64
    );
    Ok(())
}

fn pick(partners: &[PartnerId], r: u64) -> &PartnerId {
    let i = usize::try_from(r % partners.len() as u64).unwrap_or(0);
    partners.get(i).or(partners.first()).unwrap_or_else(|| unreachable!("partners is not empty"))
}

/// The originator's side, in its own process: reads the proof as fetched,
/// checks it against the checkpoint and the report's entry list.
fn check(args: &[String]) -> Result<(), Box<dyn Error>> {
    let [_, proof, listed, checkpoint, me] = args else { return Err("check PROOF LISTED CHECKPOINT PARTNER".into()) };
    let hub = SigningKey::from_seed("caveat.hub/audit", [1; 32])?;
    let t = Instant::now();
    let proof: Completeness = serde_json::from_slice(&std::fs::read(proof)?)?;
    let listed: Vec<u64> =
        std::fs::read(listed)?.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect();
    let note = std::fs::read_to_string(checkpoint)?;
    let cp = SignedCheckpoint::open(&note, &hub.verifier_key())?;
    proof.verify(&me.parse()?, cp.checkpoint(), &listed)?;
    println!("seconds {}", t.elapsed().as_secs_f64());
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(|v| v.trim().trim_end_matches("kB").trim());
    println!("peak_kb {}", peak.unwrap_or("0"));
    Ok(())
}
