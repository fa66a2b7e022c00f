//! Policy changes as use-cases, with no HTTP in them: upload standing policy,
//! suspend, resume. Each makes the change durable, then writes its audit
//! entries; the API (`policy.rs`) and the CLI (`caveat policy ...`) both call
//! these, so an entry is shaped in one place (issue 15 moves this module to
//! the hub crate).

use std::collections::BTreeSet;

use caveat_audit::{AuditEntry, Hash, PolicyUpload, Resume, Suspension as SuspensionEntry};
use caveat_core::{PartnerId, Purpose, UserId};
use caveat_policy::{PolicyChange, PolicyId, SuspensionId};
use time::OffsetDateTime;

use crate::{Access, ApiError, AuditLog};

/// Who changes policy: the originator and the user acting for it (`operator` from the CLI).
#[derive(Debug, Clone)]
pub struct Changer {
    /// The originator whose policy changes.
    pub originator: PartnerId,
    /// The user acting.
    pub user: UserId,
}

/// Replaces the originator's standing policies with `text`; returns the
/// change and the ids of the policies now in force.
///
/// # Errors
/// [`ApiError::InvalidPolicy`] naming the policy and the part at fault; a store failure.
pub async fn upload_standing(
    access: &Access,
    audit: &AuditLog,
    who: &Changer,
    text: &str,
    now: OffsetDateTime,
) -> Result<(PolicyChange, Vec<PolicyId>), ApiError> {
    let me = &who.originator;
    let ids = access.policies().await?.check_standing(me, text).map_err(|e| ApiError::InvalidPolicy(e.to_string()))?;
    let change =
        access.change(me, |p| p.upload(me, text, now)).await?.map_err(|e| ApiError::InvalidPolicy(e.to_string()))?;
    audit
        .append(vec![AuditEntry::PolicyUpload(PolicyUpload {
            at: now,
            partner: me.clone(),
            user: who.user.clone(),
            policy_digest: Hash::sha256(text.as_bytes()),
            policies: ids.iter().filter_map(|i| i.as_str().parse().ok()).collect(),
        })])
        .await?;
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
/// [`ApiError::BadRequest`] for an unknown partner, an empty set, the
/// originator itself, or a bad reason; a store failure.
pub async fn suspend(
    access: &Access,
    audit: &AuditLog,
    who: &Changer,
    partners: Option<BTreeSet<PartnerId>>,
    purposes: Option<BTreeSet<Purpose>>,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(SuspensionId, PolicyChange), ApiError> {
    let me = &who.originator;
    if let Some(ps) = &partners {
        let known = access.partners_covering(ps.iter()).await?;
        if let Some(unknown) = ps.iter().find(|p| !known.contains(*p)) {
            // A typo would otherwise suspend no one while saying it did.
            return Err(ApiError::BadRequest(format!("field `partners`: unknown partner {unknown}")));
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
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let id = made.ok_or(ApiError::Internal)?;
    let policy_id: caveat_audit::PolicyId =
        format!("suspension/{id}").parse().map_err(|e| ApiError::internal("naming a suspension", &e))?;
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
    Ok((id, change))
}

/// Lifts the originator's suspension `id`.
///
/// # Errors
/// [`ApiError::NotFound`] when the originator has no active suspension `id`; a store failure.
pub async fn resume(
    access: &Access,
    audit: &AuditLog,
    who: &Changer,
    id: SuspensionId,
    now: OffsetDateTime,
) -> Result<PolicyChange, ApiError> {
    let me = &who.originator;
    let change = access.change(me, |p| p.resume(me, id, now)).await?.map_err(|_| ApiError::NotFound)?;
    audit
        .append(vec![AuditEntry::Resume(Resume {
            at: now,
            originator: me.clone(),
            user: who.user.clone(),
            suspension: format!("suspension/{id}")
                .parse()
                .map_err(|e| ApiError::internal("naming a suspension", &e))?,
        })])
        .await?;
    Ok(change)
}
