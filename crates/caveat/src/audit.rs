//! `caveat audit key/checkpoint/export/verify`: the hub's side (key, signed
//! checkpoint, exported usage report) and the partner's side (an offline
//! check that needs no access to the hub's store).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use caveat_audit::{AuditBundle, UsageReport, VerifierKey, verify_bundle};
use caveat_core::PartnerId;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Print the hub's public key (C2SP vkey): partners verify checkpoints with it.
    Key,
    /// Sign and print a checkpoint of the log as it is now (a partner saves it).
    Checkpoint,
    /// Export PARTNER's usage report: every entry touching its data, with proofs.
    Export {
        /// The originator.
        #[arg(long)]
        partner: PartnerId,
        /// A checkpoint the partner saved earlier: the export then proves the log only grew since.
        #[arg(long)]
        saved: Option<PathBuf>,
        /// Where to write the JSON (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the stored reports and policy history against the audit log:
    /// every batch and policy event has its entry and matches it. Names the
    /// first report or event that does not; writes nothing.
    VerifyStore {
        /// Only this originator's batches and policy events.
        #[arg(long)]
        partner: Option<PartnerId>,
    },
    /// As the originator, on its node's database: reconcile the hub's usage
    /// export with this node's own log. Lists every use of the node partner's
    /// data at the hub with the receipt behind it, and flags each use that
    /// cites no receipt, a receipt this node never issued, one for another
    /// recipient, purpose, case or action, or one whose lease had ended or that
    /// a suspension here had revoked. Exits 1 if any use is flagged.
    Reconcile {
        /// The hub's usage export for this node's partner (`caveat audit export`, `GET /v1/usage`).
        #[arg(long)]
        usage: PathBuf,
        /// The hub's public key (the vkey text, or a file holding it): the export's checkpoint must verify with it.
        #[arg(long)]
        hub_key: String,
        /// A hub checkpoint saved earlier (file): the export must extend it.
        #[arg(long)]
        saved: Option<PathBuf>,
        /// Clock difference and notice delay allowed, milliseconds (default 2000).
        #[arg(long, default_value_t = 2000)]
        grace_ms: u64,
        /// Print the reconciliation as JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Verify an exported usage report or bundle offline: signatures, inclusion, consistency.
    Verify {
        /// The hub's public key (the vkey text, or a file holding it).
        #[arg(long)]
        key: String,
        /// A checkpoint saved earlier (file), to check the log only grew since.
        #[arg(long)]
        saved: Option<PathBuf>,
        /// The exported JSON (usage report or bundle).
        export: PathBuf,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub(crate) async fn run(db: &crate::db::Db, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Verify { key, saved, export } => return verify(&key, saved.as_deref(), &export),
        Command::Key => {
            println!("{}", crate::audit_key::load(db, false)?.verifier_key());
            return Ok(());
        }
        // No hub is opened: opening one would recover missing entries first,
        // and this check reports what it finds.
        Command::VerifyStore { partner } => return verify_store(db, partner.as_ref()).await,
        _ => {}
    }
    let store = crate::open_store(db).await?;
    let hub = caveat_hub::Hub::open(store, crate::audit_key::load(db, false)?).await?;
    match command {
        Command::Checkpoint => {
            print!("{}", hub.checkpoint().await?);
        }
        Command::Reconcile { usage, hub_key, saved, grace_ms, json } => {
            reconcile(&hub, &usage, &hub_key, saved.as_deref(), grace_ms, json).await?;
        }
        Command::Export { partner, saved, out } => {
            let saved_size = match &saved {
                Some(p) => Some(
                    caveat_audit::SignedCheckpoint::open(&read(p)?, hub.audit().verifier_key())
                        .with_context(|| format!("{}: not a checkpoint signed by this hub", p.display()))?
                        .checkpoint()
                        .size(),
                ),
                None => None,
            };
            let report = hub.usage_report(partner.clone(), saved_size).await?;
            let json = serde_json::to_string_pretty(&report)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, json).with_context(|| format!("writing {}", p.display()))?;
                    eprintln!("{partner}: {} entries written to {}", report.bundle.entries.len(), p.display());
                }
                None => println!("{json}"),
            }
        }
        Command::Key | Command::Verify { .. } | Command::VerifyStore { .. } => {}
    }
    Ok(())
}

/// A verifier key given as its text or as a file holding it.
fn verifier_key(key: &str, flag: &str) -> anyhow::Result<VerifierKey> {
    let key_text = if Path::new(key).exists() { read(Path::new(key))? } else { key.to_owned() };
    key_text.trim().parse().with_context(|| format!("{flag}: not a C2SP verifier key"))
}

/// `caveat audit reconcile`: the hub's export is verified against the hub's
/// key (and the saved checkpoint) first, so every use listed is proved to be in
/// the log the hub signed; the node's own entries are read from its own log.
async fn reconcile(
    node: &caveat_hub::Hub,
    usage: &Path,
    hub_key: &str,
    saved: Option<&Path>,
    grace_ms: u64,
    json: bool,
) -> anyhow::Result<()> {
    let vkey = verifier_key(hub_key, "--hub-key")?;
    let text = read(usage)?;
    let report: UsageReport = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a usage report (caveat audit export)", usage.display()))?;
    let saved_text = saved.map(read).transpose()?;
    let verified = match verify_bundle(saved_text.as_deref(), &vkey, &report.bundle) {
        Ok(v) => v,
        Err(e) => bail!("{}: VERIFICATION FAILED: {e}", usage.display()),
    };
    let partner = report.originator.clone();
    let mine = node.usage_report(partner.clone(), None).await?;
    let node_entries = mine
        .bundle
        .entries
        .iter()
        .map(|e| caveat_audit::AuditEntry::from_bytes(&e.data).map(|a| (e.index, a)))
        .collect::<Result<Vec<_>, _>>()
        .context("reading this node's log")?;
    let grace = time::Duration::milliseconds(i64::try_from(grace_ms).context("--grace-ms")?);
    let r = caveat_hub::federation::reconcile(&partner, &node_entries, &verified.entries, grace);
    let flagged = r.flagged().count();
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{partner}: {} receipts issued by this node; {} uses at the hub (checkpoint of {} entries), {flagged} flagged",
            r.issued.len(),
            r.uses.len(),
            verified.checkpoint.size()
        );
        for u in &r.uses {
            let verdict = if u.flags.is_empty() {
                "ok".to_owned()
            } else {
                u.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            };
            println!(
                "  #{:<6} {} {:9} {:18} {:7} {:>6} reports  {}  {}",
                u.hub_index,
                u.at,
                u.partner.as_str(),
                u.purpose.map_or_else(|| "-".into(), |p| p.to_string()),
                format!("{:?}", u.action).to_lowercase(),
                u.reports,
                if u.receipts.is_empty() { "-".into() } else { u.receipts.join(",") },
                verdict
            );
        }
    }
    if flagged > 0 {
        bail!("{partner}: {flagged} of {} uses at the hub are not covered by a receipt of this node", r.uses.len());
    }
    Ok(())
}

fn verify(key: &str, saved: Option<&Path>, export: &Path) -> anyhow::Result<()> {
    let vkey = verifier_key(key, "--key")?;
    let saved_text = saved.map(read).transpose()?;
    let text = read(export)?;
    let (bundle, summary) = match serde_json::from_str::<UsageReport>(&text) {
        Ok(r) => (r.bundle.clone(), Some(r)),
        Err(_) => (AuditBundle::from_json(&text).context("not a usage report or an audit bundle")?, None),
    };
    let verified = match verify_bundle(saved_text.as_deref(), &vkey, &bundle) {
        Ok(v) => v,
        Err(e) => bail!("{}: VERIFICATION FAILED: {e}", export.display()),
    };
    println!(
        "OK: checkpoint of {} entries signed by {}; {} entries proved included{}",
        verified.checkpoint.size(),
        vkey,
        verified.entries.len(),
        if saved_text.is_some() { "; consistent with the saved checkpoint" } else { "" }
    );
    if let Some(r) = summary {
        let again = caveat_audit::summarise(&r.originator, &verified.entries);
        if again != r.summary {
            bail!("{}: the summary does not match the verified entries", export.display());
        }
        for line in &r.summary {
            println!(
                "  {:9} {:18} case {:36} permits {:>5} denies {:>5} reports permitted {:>7} denied {:>7} case steps {}",
                line.partner.as_str(),
                line.purpose.map_or_else(|| "-".into(), |p| p.to_string()),
                line.case.map_or_else(|| "-".into(), |c| c.to_string()),
                line.permits,
                line.denies,
                line.reports_permitted,
                line.reports_denied,
                line.case_steps
            );
        }
    }
    Ok(())
}

async fn verify_store(db: &crate::db::Db, partner: Option<&PartnerId>) -> anyhow::Result<()> {
    let store = crate::open_store(db).await?;
    let key = crate::audit_key::load(db, false)?.verifier_key();
    let v = caveat_hub::verify_store(store.as_ref(), Some(&key), partner).await?;
    let whose = partner.map_or_else(String::new, |p| format!(" of {p}"));
    if let Some(first) = v.mismatches.first() {
        // Every mismatch found, in store order; the error repeats the first.
        for m in &v.mismatches {
            eprintln!("mismatch: {m}");
        }
        let more = if v.mismatches.len() == caveat_hub::MAX_MISMATCHES { " (listing stopped there)" } else { "" };
        bail!(
            "{db}: the store does not match its audit log{whose}: {first} ({} mismatch(es){more})",
            v.mismatches.len()
        );
    }
    let checkpoint =
        v.checkpoint.map_or_else(String::new, |s| format!(", consistent with the signed checkpoint at {s}"));
    println!(
        "OK: {} batches ({} reports) and {} policy events{whose} match the audit log of {} entries{checkpoint}",
        v.batches, v.reports, v.policy_events, v.log_size
    );
    if v.recovered_batches + v.recovered_policy_events > 0 {
        println!(
            "  {} batches and {} policy events were audited on a later start (stored before a stop, entries recovered)",
            v.recovered_batches, v.recovered_policy_events
        );
    }
    if v.legacy_batches + v.legacy_policy_events > 0 {
        println!(
            "  {} batches and {} policy events were logged before entries committed to content: matched by report ids and policy digests",
            v.legacy_batches, v.legacy_policy_events
        );
    }
    Ok(())
}
