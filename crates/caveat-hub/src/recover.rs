//! Recovery on open: every stored batch and policy event gets its audit
//! entry, across any crash (issue 16).
//!
//! A use-case stores first and audits second, so a process killed between
//! the two leaves a batch (or policy event) that no entry names; the reverse,
//! an entry naming something not stored, cannot happen, because no entry is
//! written before its commit returns. [`reconcile`], run by [`Hub::open`]
//! before the hub does anything else, finds what the log does not account
//! for and appends its entries from what the store holds, marked `recovered`
//! and naming the user the store recorded (else [`RECOVERY_USER`]).
//!
//! Two hub processes may share one PostgreSQL database (and a CLI command may
//! open a SQLite hub a server is running on), so the batch a recovering
//! process finds unaccounted may belong to a live process that is about to
//! append its own entry. Rather than guess from its age, the store's index of
//! the log refuses a second entry for one batch or event in the append's own
//! transaction, and the audit writer then drops it (`audit.rs`): whoever
//! appends first writes the one entry, with the same content either way. A
//! live process's batch may so be marked `recovered`, which is true of how
//! its entry came to be written and says nothing false about the batch.
//!
//! Only batches and events above the store's `reconciled` mark are looked
//! at, so a start reads what arrived since the last one, not the whole store.
//! What was stored before the log named store items (schema 7) is below the
//! mark from the migration on: its entries predate batch numbers, and
//! `verify-store` matches them by report ids and digests instead.
//!
//! [`Hub::open`]: crate::Hub::open

use caveat_audit::{PolicyEventRef, ReportSet, StoreItem, TreeBuilder, policy_event_digest};
use caveat_core::{ReportId, UserId};
use caveat_policy::{Policies, PolicyChange};
use caveat_store::{MAX_PAGE, Reconciled, ReportQuery, Store, StoredBatch, StoredReport, Superseded};

use crate::{Actor, AuditLog, Error};

/// Who a recovered entry names when the store did not record the submitter.
pub const RECOVERY_USER: &str = "recovery";

/// Batches looked at per page.
const PAGE: usize = 1_000;

/// What recovery appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Batches whose ingest entry was recovered.
    pub batches: u64,
    /// Policy events whose entries were recovered.
    pub policy_events: u64,
    /// Batches that could not be recovered (their reports are not all
    /// there): left for `verify-store` to name; the mark stays below them.
    pub unrecoverable: u64,
}

/// Appends the entries the log lacks for stored batches and policy events
/// above the reconciled mark, then raises the mark.
///
/// # Errors
/// The store or the audit log fails.
pub(crate) async fn reconcile(store: &dyn Store, audit: &AuditLog) -> Result<Recovered, Error> {
    let mark = store.reconciled().await?;
    let mut done = Recovered::default();
    let batches = reconcile_batches(store, audit, mark.batches, &mut done).await?;
    let policy_events = reconcile_events(store, audit, mark.policy_events, &mut done).await?;
    let reached = Reconciled { batches, policy_events };
    if reached != mark {
        store.set_reconciled(reached).await?;
    }
    if done.batches + done.policy_events + done.unrecoverable > 0 {
        eprintln!(
            "caveat-hub: the audit log lacked entries for {} stored batch(es) and {} policy event(s), written before a \
             stop; recovered them{}",
            done.batches + done.unrecoverable,
            done.policy_events,
            if done.unrecoverable > 0 {
                format!(
                    " except {} batch(es) whose reports are not all stored (run `caveat audit verify-store`)",
                    done.unrecoverable
                )
            } else {
                String::new()
            }
        );
    }
    Ok(done)
}

/// Returns the batch number reconciled up to.
async fn reconcile_batches(
    store: &dyn Store,
    audit: &AuditLog,
    after: u64,
    done: &mut Recovered,
) -> Result<u64, Error> {
    let (mut cursor, mut reached, mut clean) = (after, after, true);
    loop {
        let page = store.batches(cursor, PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = last.batch;
        let items =
            page.iter().map(|b| StoreItem::Batch { partner: b.partner.clone(), number: b.partner_batch }).collect();
        let found = audit.accounted(items).await?;
        let mut entries = Vec::new();
        for (b, f) in page.iter().zip(found) {
            if f.is_none() {
                match recovered_entry(store, b).await? {
                    Some(e) => {
                        entries.push(e);
                        done.batches += 1;
                    }
                    None => {
                        done.unrecoverable += 1;
                        clean = false;
                    }
                }
            }
            if clean {
                reached = b.batch;
            }
        }
        audit.append(entries).await?;
    }
    Ok(reached)
}

/// The ingest entry of a stored batch, from what the store holds; `None`
/// when the batch's reports are not all there (a damaged store: recovering
/// it would commit the log to the damage).
async fn recovered_entry(store: &dyn Store, b: &StoredBatch) -> Result<Option<caveat_audit::AuditEntry>, Error> {
    let Some((first, last)) = b.seqs else { return Ok(None) };
    let mut tree = TreeBuilder::new();
    let mut ids: Vec<ReportId> = Vec::new();
    let mut cursor = first.checked_sub(1);
    'pages: loop {
        let q = ReportQuery {
            superseded: Superseded::Include,
            after_seq: cursor,
            limit: Some(MAX_PAGE),
            ..ReportQuery::default()
        };
        let page: Vec<StoredReport> = store.reports(&q).await?;
        if page.is_empty() {
            break;
        }
        for s in page {
            if s.seq > last {
                break 'pages;
            }
            cursor = Some(s.seq);
            if s.batch == b.batch {
                tree.push_leaf_hash(caveat_audit::report_leaf(&s.report).map_err(|e| Error::internal("hashing", &e))?);
                ids.push(s.report.id);
            }
        }
    }
    if ids.len() as u64 != b.count {
        return Ok(None);
    }
    let user = b.user.clone().map_or_else(recovery_user, Ok)?;
    let who = Actor { partner: b.partner.clone(), user };
    Ok(Some(crate::ingest::ingest_entry(&who, b.received_at, b.partner_batch, ReportSet::new(&ids), tree.root(), true)))
}

fn recovery_user() -> Result<UserId, Error> {
    RECOVERY_USER.parse().map_err(|e| Error::internal("naming the recovery user", &e))
}

/// Returns the policy version reconciled up to.
async fn reconcile_events(store: &dyn Store, audit: &AuditLog, after: u64, done: &mut Recovered) -> Result<u64, Error> {
    let events = store.policy_events(after).await?;
    let Some(last) = events.last().map(|e| e.version) else { return Ok(after) };
    let found = audit.accounted(events.iter().map(|e| StoreItem::PolicyEvent { version: e.version }).collect()).await?;
    // Only for the ids an upload's text holds, which depend on the schema alone.
    let mut policies: Option<Policies> = None;
    let mut entries = Vec::new();
    for (e, f) in events.iter().zip(found) {
        if f.is_some() {
            continue;
        }
        let change: PolicyChange =
            serde_json::from_str(&e.body).map_err(|err| Error::internal("reading a policy event", &err))?;
        let ids = match &change {
            PolicyChange::Upload { originator, text, .. } => {
                let p = match &mut policies {
                    Some(p) => p,
                    None => policies.insert(Policies::new().map_err(|err| Error::internal("loading policies", &err))?),
                };
                p.check_standing(originator, text).map(|ids| crate::change::audit_ids(&ids)).unwrap_or_default()
            }
            PolicyChange::Suspend { .. } | PolicyChange::Resume { .. } => Vec::new(),
        };
        let user = e.user.clone().map_or_else(recovery_user, Ok)?;
        let event = PolicyEventRef { version: e.version, digest: policy_event_digest(&e.body) };
        entries.extend(crate::change::policy_entries(&change, &user, event, ids, true)?);
        done.policy_events += 1;
    }
    audit.append(entries).await?;
    Ok(last)
}
