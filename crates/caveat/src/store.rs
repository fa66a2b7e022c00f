//! `caveat migrate` and `caveat store copy`: move a hub between databases
//! (SQLite to PostgreSQL, typically), audit log included and verified.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use caveat_audit::{MerkleLog, SignedCheckpoint};
use caveat_core::{CaseId, Report};
use caveat_store::{BatchSubmission, ReportQuery, StoredReport, Superseded};

use crate::db::Db;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Copy a whole hub (partners, users, policy events, reports by batch,
    /// cases, the audit log) into an empty database, and verify the copied
    /// log against the source's last signed checkpoint. API tokens are not
    /// copied: issue new ones with `caveat user add`.
    Copy {
        /// Source database.
        #[arg(long)]
        from: Db,
        /// Destination database (must be empty).
        #[arg(long)]
        to: Db,
    },
}

/// `caveat migrate`: bring the database's schema up to date.
pub(crate) async fn migrate(db: &Db) -> anyhow::Result<()> {
    db.open(false).await?;
    println!("{db}: schema up to date (version {})", caveat_store::SqliteStore::schema_version());
    Ok(())
}

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    let Command::Copy { from, to } = command;
    let src = from.open(false).await?;
    let dst = to.open(true).await?;
    let everything = ReportQuery { superseded: Superseded::Include, ..ReportQuery::default() };
    if dst.count_reports(&everything).await? > 0 || MerkleLog::open(dst.audit_storage()?)?.size() > 0 {
        bail!("{to} is not empty; copy into a fresh database");
    }
    for p in src.partners().await? {
        dst.put_partner(&p).await?;
    }
    let users = src.users(None).await?;
    for u in &users {
        dst.put_user(u).await?;
    }
    let events = src.policy_events(0).await?;
    for e in &events {
        dst.append_policy_event_by(&e.originator, e.user.as_ref(), e.at, e.body.clone()).await?;
    }
    // Reports, batch by batch, in store order.
    let mut cursor = None;
    let (mut reports, mut batches) = (0usize, 0usize);
    let mut pending: Vec<StoredReport> = Vec::new();
    loop {
        let page = src.reports(&ReportQuery { after_seq: cursor, ..everything.clone() }).await?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.seq);
        for s in page {
            if pending.first().is_some_and(|p| p.batch != s.batch) {
                reports += flush(src.as_ref(), dst.as_ref(), &mut pending).await?;
                batches += 1;
            }
            pending.push(s);
        }
    }
    if !pending.is_empty() {
        reports += flush(src.as_ref(), dst.as_ref(), &mut pending).await?;
        batches += 1;
    }
    let mut cases: BTreeMap<CaseId, caveat_core::Case> = BTreeMap::new();
    for p in src.partners().await? {
        for c in src.cases_of(&p.id).await? {
            cases.insert(c.id, c);
        }
    }
    for c in cases.values() {
        dst.create_case(c).await?;
    }
    // The audit log, entry for entry; the same bytes give the same tree.
    let src_log = MerkleLog::open(src.audit_storage()?)?;
    let mut dst_log = MerkleLog::open(dst.audit_storage()?)?;
    let size = src_log.size();
    let mut i = 0;
    while i < size {
        let end = (i + 1_000).min(size);
        let chunk: Vec<Vec<u8>> = (i..end).map(|k| src_log.entry(k)).collect::<Result<_, _>>()?;
        dst_log.append_batch(&chunk)?;
        i = end;
    }
    if dst_log.root() != src_log.root() {
        bail!("the copied audit log's root differs from the source's");
    }
    // Batch and event numbers are the same in the copy, so its log accounts
    // for them as the source's did; what predates accounting stays below the mark.
    dst.set_reconciled(src.reconciled().await?).await?;
    let checked = match (src.latest_checkpoint().await?, &from) {
        (Some((cp_size, note)), _) => {
            let key = crate::audit_key::load(&from, false)?;
            let cp = SignedCheckpoint::open(&note, &key.verifier_key()).context("the source's last checkpoint")?;
            if dst_log.root_at(cp_size)? != cp.checkpoint().root() {
                bail!("the copied audit log does not match the source's checkpoint at size {cp_size}");
            }
            dst.save_checkpoint(cp_size, note).await?;
            format!("matches the source's signed checkpoint at size {cp_size}")
        }
        (None, _) => "the source had no saved checkpoint; roots compared".to_owned(),
    };
    if let (Ok(src_key), false) = (std::fs::read(from.key_path()), to.key_path().exists()) {
        std::fs::write(to.key_path(), src_key).with_context(|| format!("writing {}", to.key_path().display()))?;
    }
    println!(
        "copied {from} to {to}: {} users (tokens not copied), {} policy events, {reports} reports in {batches} batches, {} cases, {size} audit entries; audit log {checked}",
        users.len(),
        events.len(),
        cases.len()
    );
    Ok(())
}

/// Copies one batch, with what the source kept for the audit (its submitter
/// and report locators): its number in the copy is its number in the source.
async fn flush(
    src: &dyn caveat_store::Store,
    dst: &dyn caveat_store::Store,
    pending: &mut Vec<StoredReport>,
) -> anyhow::Result<usize> {
    let Some(first) = pending.first() else { return Ok(0) };
    let (originator, at, number) = (first.report.originator.clone(), first.received_at, first.batch);
    let user =
        src.batches(number.saturating_sub(1), 1).await?.into_iter().find(|b| b.batch == number).and_then(|b| b.user);
    let report_locators = src.batch_report_locators(number).await?.unwrap_or_default();
    let batch: Vec<Report> = pending.drain(..).map(|s| s.report).collect();
    let n = batch.len();
    let receipt = dst.insert_batch_by(&originator, &BatchSubmission { user, report_locators }, at, batch).await?;
    if receipt.batch != number {
        bail!("source batch {number} became batch {} in the copy; copy into a fresh database", receipt.batch);
    }
    Ok(n)
}
