//! `caveat init`: create the store and register partners.

use std::path::PathBuf;

use anyhow::Context;
use caveat_core::Partner;
use serde::Deserialize;

/// The demonstration partners, used when no `--partners` file is given.
pub(crate) const EXAMPLE_PARTNERS: &str = include_str!("../../../examples/partners.toml");

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// TOML file with `[[partner]]` tables (default: the six partners of examples/partners.toml).
    #[arg(long)]
    partners: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnersFile {
    partner: Vec<Partner>,
}

/// Reads and checks a partners file.
pub(crate) fn parse_partners(text: &str, origin: &str) -> anyhow::Result<Vec<Partner>> {
    let file: PartnersFile = toml::from_str(text).with_context(|| format!("reading partners from {origin}"))?;
    let mut seen = std::collections::BTreeSet::new();
    for p in &file.partner {
        p.validate().with_context(|| format!("{origin}: partner {}", p.id))?;
        if !seen.insert(p.id.clone()) {
            anyhow::bail!("{origin}: partner {} is listed twice", p.id);
        }
    }
    for p in &file.partner {
        for m in std::iter::once(&p.default_marking).chain(&p.ais_marking) {
            if let Some(unknown) = m.releasable_to.iter().find(|q| !seen.contains(*q)) {
                anyhow::bail!("{origin}: partner {} releases to {unknown}, which is not in the file", p.id);
            }
        }
    }
    Ok(file.partner)
}

pub(crate) async fn run(db: &crate::db::Db, args: Args) -> anyhow::Result<()> {
    let (text, origin) = match &args.partners {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (EXAMPLE_PARTNERS.to_owned(), "examples/partners.toml (built in)".to_owned()),
    };
    let partners = parse_partners(&text, &origin)?;
    let existed = db.exists();
    let store = db.open(true).await?;
    for p in &partners {
        store.put_partner(p).await?;
    }
    let key = crate::audit_key::load(db, true)?;
    let ids: Vec<String> = partners.iter().map(|p| p.id.to_string()).collect();
    println!(
        "{} {} with {} partners: {}",
        if existed { "updated" } else { "created" },
        db,
        partners.len(),
        ids.join(", ")
    );
    println!("audit log public key (give it to partners to verify checkpoints): {}", key.verifier_key());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_partners_parse() {
        let ps = parse_partners(EXAMPLE_PARTNERS, "example").unwrap();
        let ids: Vec<&str> = ps.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS"]);
    }

    #[test]
    fn unknown_release_target_is_refused() {
        let text = "[[partner]]\nid = \"GBR\"\nname = \"x\"\n[partner.default_marking]\nreleasable_to = [\"XYZ\"]\n";
        let err = parse_partners(text, "p.toml").unwrap_err();
        assert_eq!(err.to_string(), "p.toml: partner GBR releases to XYZ, which is not in the file");
    }
}
