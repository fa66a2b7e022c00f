//! `caveat report transparency --partner P`: an originator's transparency
//! report from the hub's database, provable line by line.

use std::path::PathBuf;

use anyhow::Context;
use caveat_core::PartnerId;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Accesses to PARTNER's data by partner and purpose, denied attempts, and
    /// the cases it supported with their outcomes; the JSON carries the proofs.
    Transparency {
        /// The originator.
        #[arg(long)]
        partner: PartnerId,
        /// Write the full JSON (with the proof bundle) here; verify it with `caveat audit verify`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[expect(clippy::indexing_slicing, reason = "serde_json::Value indexing yields Null for a missing key, never panics")]
pub(crate) async fn run(db: &crate::db::Db, command: Command) -> anyhow::Result<()> {
    let Command::Transparency { partner, out } = command;
    let store = crate::open_store(db).await?;
    let hub = caveat_hub::Hub::open(store, crate::audit_key::load(db, false)?).await?;
    let report = serde_json::to_value(hub.transparency_report(partner.clone(), None).await?)?;
    println!("transparency report for {partner}");
    println!("accesses to its data (permits / denies, by partner, purpose and case):");
    for l in report["accesses"].as_array().into_iter().flatten() {
        println!(
            "  {:9} {:18} case {:36} permits {:>5} denies {:>5} case steps {}",
            l["partner"].as_str().unwrap_or("-"),
            l["purpose"].as_str().unwrap_or("-"),
            l["case"].as_str().unwrap_or("-"),
            l["permits"],
            l["denies"],
            l["case_steps"]
        );
    }
    println!("cases its data supported:");
    for c in report["cases"].as_array().into_iter().flatten() {
        let outcomes: Vec<&str> =
            c["outcomes"].as_array().into_iter().flatten().filter_map(|o| o["step"].as_str()).collect();
        println!(
            "  {} led by {}: {}",
            c["case"].as_str().unwrap_or("?"),
            c["lead"].as_str().unwrap_or("?"),
            outcomes.join(", ")
        );
    }
    if let Some(path) = out {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("full report with proofs: {}", path.display());
    }
    Ok(())
}
