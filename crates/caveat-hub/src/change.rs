//! Policy changes: upload standing policy, suspend, resume. Each makes the
//! change durable, then writes its audit entries, then tells open views; the
//! API and the CLI (`caveat policy ...`) both call these, so an entry is
//! shaped in one place.

use std::collections::BTreeSet;

use caveat_audit::{AuditEntry, Hash, PolicyUpload, Resume, Suspension as SuspensionEntry};
use caveat_core::{PartnerId, Purpose};
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
    let change =
        access.change(me, |p| p.upload(me, text, now)).await?.map_err(|e| Error::InvalidPolicy(e.to_string()))?;
    audit
        .append(vec![AuditEntry::PolicyUpload(PolicyUpload {
            at: now,
            partner: me.clone(),
            user: who.user.clone(),
            policy_digest: Hash::sha256(text.as_bytes()),
            policies: ids.iter().filter_map(|i| i.as_str().parse().ok()).collect(),
        })])
        .await?;
    hub.notify_change();
    Ok((change, ids))
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
    let change = access
        .change(me, |p| {
            p.suspend(me, partners.clone(), purposes.clone(), reason, now).map(|(id, change)| {
                made = Some(id);
                change
            })
        })
        .await?
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    let id = made.ok_or(Error::Internal)?;
    let policy_id: caveat_audit::PolicyId =
        format!("suspension/{id}").parse().map_err(|e| Error::internal("naming a suspension", &e))?;
    let consumers: Vec<Option<PartnerId>> = partners.map_or(vec![None], |ps| ps.into_iter().map(Some).collect());
    let uses: Vec<Option<Purpose>> = purposes.map_or(vec![None], |ps| ps.into_iter().map(Some).collect());
    let mut entries = Vec::new();
    for c in &consumers {
        for u in &uses {
            entries.push(AuditEntry::Suspension(SuspensionEntry {
                at: now,
                originator: me.clone(),
                user: who.user.clone(),
                suspension: policy_id.clone(),
                consumer: c.clone(),
                purpose: *u,
            }));
        }
    }
    audit.append(entries).await?;
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
    let change = access.change(me, |p| p.resume(me, id, now)).await?.map_err(|_| Error::NotFound)?;
    audit
        .append(vec![AuditEntry::Resume(Resume {
            at: now,
            originator: me.clone(),
            user: who.user.clone(),
            suspension: format!("suspension/{id}").parse().map_err(|e| Error::internal("naming a suspension", &e))?,
        })])
        .await?;
    hub.notify_change();
    Ok(change)
}
