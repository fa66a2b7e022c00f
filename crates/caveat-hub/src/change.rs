//! Policy changes: upload standing policy, suspend, resume. Each makes the
//! change durable, then writes its audit entries, then tells open views; the
//! API and the CLI (`caveat policy ...`) both call these, so an entry is
//! shaped in one place ([`policy_entries`], which recovery after a crash
//! uses too).

use std::collections::BTreeSet;

use caveat_audit::{AuditEntry, Hash, PolicyEventRef, PolicyUpload, Resume, Suspension as SuspensionEntry};
use caveat_core::{PartnerId, Purpose, UserId};
use caveat_policy::{PolicyChange, PolicyId, SuspensionId};
use time::OffsetDateTime;

use crate::{Actor, Error, Hub};

/// Replaces the originator's standing policies with `text`; returns the
/// change and the ids of the policies now in force.
///
/// # Errors
/// [`Error::InvalidPolicy`] naming the policy and the part at fault; a store failure.
pub async fn upload_standing(
    hub: &Hub,
    who: &Actor,
    text: &str,
    now: OffsetDateTime,
) -> Result<(PolicyChange, Vec<PolicyId>), Error> {
    let (access, audit) = (&hub.access, &hub.audit);
    let me = &who.partner;
    let ids = access.policies().await?.check_standing(me, text).map_err(|e| Error::InvalidPolicy(e.to_string()))?;
    let (change, event) = access
        .change(me, &who.user, |p| p.upload(me, text, now))
        .await?
        .map_err(|e| Error::InvalidPolicy(e.to_string()))?;
    audit.append(policy_entries(&change, &who.user, event, audit_ids(&ids), false)?).await?;
    hub.notify_change();
    Ok((change, ids))
}

/// The audit log's form of policy ids.
pub(crate) fn audit_ids(ids: &[PolicyId]) -> Vec<caveat_audit::PolicyId> {
    ids.iter().filter_map(|i| i.as_str().parse().ok()).collect()
}

/// Suspends the use of the originator's reports by `partners` (all others
/// when `None`) for `purposes` (all when `None`), from the next request.
///
/// The audit holds one entry per (partner, purpose) suspended, or one with
/// neither when the suspension is towards everyone for everything, so a
/// usage report can name each.
///
/// # Errors
/// [`Error::BadRequest`] for an unknown partner, an empty set, the
/// originator itself, or a bad reason; a store failure.
pub async fn suspend(
    hub: &Hub,
    who: &Actor,
    partners: Option<BTreeSet<PartnerId>>,
    purposes: Option<BTreeSet<Purpose>>,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(SuspensionId, PolicyChange), Error> {
    let (access, audit) = (&hub.access, &hub.audit);
    let me = &who.partner;
    if let Some(ps) = &partners {
        let known = access.partners_covering(ps.iter()).await?;
        if let Some(unknown) = ps.iter().find(|p| !known.contains(*p)) {
            // A typo would otherwise suspend no one while saying it did.
            return Err(Error::BadRequest(format!("field `partners`: unknown partner {unknown}")));
        }
    }
    let mut made = None;
    let (change, event) = access
        .change(me, &who.user, |p| {
            p.suspend(me, partners.clone(), purposes.clone(), reason, now).map(|(id, change)| {
                made = Some(id);
                change
            })
        })
        .await?
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    let id = made.ok_or(Error::Internal)?;
    audit.append(policy_entries(&change, &who.user, event, Vec::new(), false)?).await?;
    hub.notify_change();
    Ok((id, change))
}

/// Lifts the originator's suspension `id`.
///
/// # Errors
/// [`Error::NotFound`] when the originator has no active suspension `id`; a store failure.
pub async fn resume(hub: &Hub, who: &Actor, id: SuspensionId, now: OffsetDateTime) -> Result<PolicyChange, Error> {
    let (access, audit) = (&hub.access, &hub.audit);
    let me = &who.partner;
    let (change, event) =
        access.change(me, &who.user, |p| p.resume(me, id, now)).await?.map_err(|_| Error::NotFound)?;
    audit.append(policy_entries(&change, &who.user, event, Vec::new(), false)?).await?;
    hub.notify_change();
    Ok(change)
}

fn suspension_id(id: SuspensionId) -> Result<caveat_audit::PolicyId, Error> {
    format!("suspension/{id}").parse().map_err(|e| Error::internal("naming a suspension", &e))
}

/// The audit entries of a stored policy change, made by `user` and stored as
/// `event`: at the change, and when recovered after a crash. `policies` are
/// the ids an upload's text holds (unused for the other changes).
///
/// A suspension has one entry per (partner, purpose) suspended, or one with
/// neither when it is towards everyone for everything, so a usage report can
/// name each; every one records the same event.
pub(crate) fn policy_entries(
    change: &PolicyChange,
    user: &UserId,
    event: PolicyEventRef,
    policies: Vec<caveat_audit::PolicyId>,
    recovered: bool,
) -> Result<Vec<AuditEntry>, Error> {
    let event = Some(event);
    Ok(match change {
        PolicyChange::Upload { originator, text, at, .. } => vec![AuditEntry::PolicyUpload(PolicyUpload {
            at: *at,
            partner: originator.clone(),
            user: user.clone(),
            policy_digest: Hash::sha256(text.as_bytes()),
            policies,
            event,
            recovered,
        })],
        PolicyChange::Suspend { suspension: s, .. } => {
            let policy_id = suspension_id(s.id)?;
            let consumers: Vec<Option<PartnerId>> =
                s.partners.clone().map_or(vec![None], |ps| ps.into_iter().map(Some).collect());
            let uses: Vec<Option<Purpose>> =
                s.purposes.clone().map_or(vec![None], |ps| ps.into_iter().map(Some).collect());
            let mut entries = Vec::new();
            for c in &consumers {
                for u in &uses {
                    entries.push(AuditEntry::Suspension(SuspensionEntry {
                        at: s.issued_at,
                        originator: s.originator.clone(),
                        user: user.clone(),
                        suspension: policy_id.clone(),
                        consumer: c.clone(),
                        purpose: *u,
                        event,
                        recovered,
                    }));
                }
            }
            entries
        }
        PolicyChange::Resume { originator, id, at, .. } => vec![AuditEntry::Resume(Resume {
            at: *at,
            originator: originator.clone(),
            user: user.clone(),
            suspension: suspension_id(*id)?,
            event,
            recovered,
        })],
    })
}
