//! `caveat policy check/upload/suspend/resume/show`: an operator acting for a
//! partner on the hub's database, through the same policy engine and audit
//! log as the API.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use caveat_core::{CaseId, PartnerId, Purpose, ReportId, User, ViewKey};
use caveat_hub::{Actor, Hub};
use caveat_policy::{Action, SuspensionId};
use caveat_store::Store;
use time::OffsetDateTime;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Decide whether PARTNER may read a report for a purpose, and say why.
    Check {
        /// The consuming partner.
        #[arg(long = "as", value_name = "PARTNER")]
        partner: PartnerId,
        /// The declared purpose.
        #[arg(long)]
        purpose: Purpose,
        /// The case, if the use is inside one.
        #[arg(long)]
        case: Option<CaseId>,
        /// The action (read, fuse, export, cite, audit).
        #[arg(long, default_value = "read")]
        action: Action,
        /// The report.
        report: ReportId,
    },
    /// Replace PARTNER's standing policies with the Cedar text in FILE (empty clears them).
    Upload {
        /// The originator.
        #[arg(long = "as", value_name = "PARTNER")]
        partner: PartnerId,
        /// Cedar policies (forbids over PARTNER's own reports only).
        file: PathBuf,
    },
    /// Suspend the use of PARTNER's reports, at once.
    Suspend {
        /// The originator.
        #[arg(long = "as", value_name = "PARTNER")]
        partner: PartnerId,
        /// Partners suspended (default: all others).
        #[arg(long, value_delimiter = ',')]
        partners: Vec<PartnerId>,
        /// Purposes suspended (default: all).
        #[arg(long, value_delimiter = ',')]
        purposes: Vec<Purpose>,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Lift a suspension.
    Resume {
        /// The originator.
        #[arg(long = "as", value_name = "PARTNER")]
        partner: PartnerId,
        /// The suspension's id.
        id: SuspensionId,
    },
    /// Show a partner's standing policies and suspensions.
    Show {
        /// The partner.
        #[arg(long = "as", value_name = "PARTNER")]
        partner: PartnerId,
    },
}

/// The CLI acts as the partner's `operator` user.
fn actor(partner: &PartnerId) -> anyhow::Result<Actor> {
    Ok(Actor { partner: partner.clone(), user: "operator".parse()? })
}

fn operator(partner: &PartnerId) -> anyhow::Result<User> {
    Ok(User { id: "operator".parse()?, partner: partner.clone(), roles: BTreeSet::new() })
}

pub(crate) async fn run(db: &crate::db::Db, command: Command) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = crate::open_store(db).await?;
    let hub = Hub::open(store.clone(), crate::audit_key::load(db, false)?).await?;
    let access = hub.access();
    let now = OffsetDateTime::now_utc();
    match command {
        Command::Check { partner, purpose, case, action, report } => {
            let (stored, _) = store.report(report).await?.with_context(|| format!("no report {report}"))?;
            let facts = match case {
                Some(id) => {
                    let c = store.case(id).await?.with_context(|| format!("no case {id}"))?;
                    Some(caveat_hub::case_facts(&c))
                }
                None => None,
            };
            let user = operator(&partner)?;
            let key = ViewKey::new(partner.clone(), purpose, case);
            let reports = [stored.report];
            let d = access.decide(&user, &key, action, facts, &reports, now).await?;
            // An operator's check is a decision like any other: it is audited.
            hub.audit().append(caveat_hub::decision_entries(&user, &key, action, &reports, &d, now)).await?;
            let decision = d.get(0).context("no decision")?;
            let why: Vec<&str> = decision.determining.iter().map(caveat_policy::PolicyId::as_str).collect();
            println!(
                "{} {} {} for {purpose}: {} (determined by {})",
                partner,
                action,
                report,
                if decision.is_permit() { "PERMIT" } else { "DENY" },
                if why.is_empty() { "no permitting policy: default deny".to_owned() } else { why.join(", ") }
            );
            let policies = access.policies().await?;
            for id in &decision.determining {
                if let Some(text) = policies.policy_text(id) {
                    println!("\n{text}");
                }
            }
        }
        Command::Upload { partner, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let (change, ids) = caveat_hub::upload_standing(&hub, &actor(&partner)?, &text, now)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "{partner}: {} standing policies in force at policy version {}",
                ids.len(),
                change.version().get()
            );
        }
        Command::Suspend { partner, partners, purposes, reason } => {
            let ps = (!partners.is_empty()).then(|| partners.iter().cloned().collect::<BTreeSet<_>>());
            let us = (!purposes.is_empty()).then(|| purposes.iter().copied().collect::<BTreeSet<_>>());
            let (id, _) = caveat_hub::suspend(&hub, &actor(&partner)?, ps, us, &reason, now).await?;
            println!("suspension {id} of {partner}'s reports is in force from the next request");
        }
        Command::Resume { partner, id } => {
            caveat_hub::resume(&hub, &actor(&partner)?, id, now)
                .await
                .map_err(|e| anyhow::anyhow!("suspension {id} of {partner}: {e}"))?;
            println!("suspension {id} of {partner} lifted");
        }
        Command::Show { partner } => {
            let policies = access.policies().await?;
            let st = policies.state();
            println!("policy version {}", policies.version().get());
            match st.standing(&partner) {
                Some(s) => println!("standing policies of {partner}:\n{}", s.text),
                None => println!("{partner} has no standing policies"),
            }
            for s in st.suspensions().filter(|s| s.originator == partner) {
                println!(
                    "suspension {} ({}): partners {:?}, purposes {:?}: {}",
                    s.id,
                    if s.is_active() { "active" } else { "resumed" },
                    s.partners,
                    s.purposes,
                    s.reason
                );
            }
        }
    }
    Ok(())
}
