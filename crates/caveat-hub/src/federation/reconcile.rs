//! Reconciliation by the originator (issue 17, item 5): the node's own log
//! against the hub's usage export, use by use.
//!
//! Inputs are only what the originator holds or is handed: its node's audit
//! entries (each release it made, with its receipt id and lease, and each
//! suspension it made) and the hub's usage report for it (every hub entry
//! touching its data, proved against a checkpoint the hub signed; the caller
//! verifies the proofs first). Nothing of other originators is read: a hub
//! entry's uses of other partners' reports are skipped.

use std::collections::HashMap;

use caveat_audit::{Action, AuditEntry, Decision};
use caveat_core::{CaseId, PartnerId, Purpose};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// The prefix of the pseudo-policy a node's release entry carries next to
/// `release/<id>`: `lease-until/<RFC 3339 instant>`, the receipt's lease
/// expiry, so the node's log alone says how long each receipt covered.
pub const LEASE_PREFIX: &str = "lease-until/";

/// The prefix of a receipt citation among a use's determining policies.
pub const RELEASE_PREFIX: &str = "release/";

/// A receipt as the node's log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issued {
    /// The receipt id (`r-...`).
    pub id: String,
    /// The node log index of the release entry.
    pub node_index: u64,
    /// The recipient partner.
    pub recipient: PartnerId,
    /// The purpose.
    pub purpose: Purpose,
    /// The case, if any.
    pub case: Option<CaseId>,
    /// What it permits: `read` (fuse) or `export`.
    pub action: Action,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued: OffsetDateTime,
    /// Its lease expiry (`None` for a release logged before leases were recorded).
    #[serde(with = "time::serde::rfc3339::option")]
    pub lease_expires: Option<OffsetDateTime>,
    /// Reports released under it.
    pub reports: u64,
    /// The first suspension at the node after it that covers its recipient and purpose.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked: Option<OffsetDateTime>,
}

/// What is wrong with one use, if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "flag", rename_all = "kebab-case")]
pub enum Flag {
    /// The use cites no receipt.
    NoReceipt,
    /// It cites a receipt the node never issued.
    NotIssued {
        /// The receipt id cited.
        receipt: String,
    },
    /// It cites a receipt issued for another recipient, purpose, case or action.
    OtherScope {
        /// The receipt id cited.
        receipt: String,
        /// What differs.
        what: String,
    },
    /// It was made after the receipt's lease had expired.
    Expired {
        /// The receipt id cited.
        receipt: String,
        /// The lease expiry.
        #[serde(with = "time::serde::rfc3339")]
        lease_expires: OffsetDateTime,
    },
    /// It was made after a suspension at the node revoked the receipt.
    Revoked {
        /// The receipt id cited.
        receipt: String,
        /// When the suspension was made.
        #[serde(with = "time::serde::rfc3339")]
        revoked: OffsetDateTime,
    },
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::NoReceipt => write!(f, "cites no receipt"),
            Flag::NotIssued { receipt } => write!(f, "cites {receipt}, which the node never issued"),
            Flag::OtherScope { receipt, what } => write!(f, "cites {receipt}, issued for another {what}"),
            Flag::Expired { receipt, lease_expires } => write!(f, "cites {receipt}, whose lease ended {lease_expires}"),
            Flag::Revoked { receipt, revoked } => write!(f, "cites {receipt}, revoked by a suspension at {revoked}"),
        }
    }
}

/// One use of the originator's data at the hub, with its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Use {
    /// The hub log index of the entry.
    pub hub_index: u64,
    /// When the hub used the data.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The consumer partner.
    pub partner: PartnerId,
    /// Its purpose (`None` for a case step).
    pub purpose: Option<Purpose>,
    /// The case.
    pub case: Option<CaseId>,
    /// What was done: read, export, cite.
    pub action: Action,
    /// Reports of the originator used.
    pub reports: u64,
    /// Receipts cited.
    pub receipts: Vec<String>,
    /// What is wrong; empty when every cited receipt covers the use.
    pub flags: Vec<Flag>,
}

/// The outcome: every receipt the node issued and every use the hub logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// The originator.
    pub originator: PartnerId,
    /// Receipts issued, by the node's log.
    pub issued: Vec<Issued>,
    /// Uses at the hub, by the hub's log.
    pub uses: Vec<Use>,
}

impl Reconciliation {
    /// The uses with at least one flag.
    pub fn flagged(&self) -> impl Iterator<Item = &Use> {
        self.uses.iter().filter(|u| !u.flags.is_empty())
    }
}

/// Reconciles `hub` (the hub's entries touching `originator`, verified) with
/// `node` (the node's own entries), allowing `grace` for the clocks of the two
/// hosts and the time a revocation notice takes to arrive.
///
/// A use is a permit of `originator`'s reports in a hub decision or case step.
/// A read needs a receipt for the same recipient, purpose and case; an export
/// an export receipt; a citation a receipt for the case. Every cited receipt
/// must be one the node issued, used before its lease ended and before any
/// later suspension at the node that covers its recipient and purpose (each
/// with `grace`).
pub fn reconcile(
    originator: &PartnerId,
    node: &[(u64, AuditEntry)],
    hub: &[(u64, AuditEntry)],
    grace: Duration,
) -> Reconciliation {
    let issued = issued(originator, node);
    let by_id: HashMap<&str, &Issued> = issued.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut uses = Vec::new();
    for (index, entry) in hub {
        let (at, partner, purpose, case, action, originators) = match entry {
            AuditEntry::PolicyDecision(d) => (d.at, &d.partner, Some(d.purpose), d.case, d.action, &d.originators),
            AuditEntry::CaseStep(s) => (s.at, &s.partner, None, Some(s.case), Action::Cite, &s.originators),
            _ => continue,
        };
        for u in originators.iter().filter(|u| &u.originator == originator && u.decision == Decision::Permit) {
            if u.reports.count() == 0 {
                continue;
            }
            let receipts: Vec<String> = u
                .determining_policies
                .iter()
                .filter_map(|p| p.as_str().strip_prefix(RELEASE_PREFIX))
                .map(str::to_owned)
                .collect();
            let mut flags = Vec::new();
            if receipts.is_empty() {
                flags.push(Flag::NoReceipt);
            }
            for r in &receipts {
                let Some(i) = by_id.get(r.as_str()) else {
                    flags.push(Flag::NotIssued { receipt: r.clone() });
                    continue;
                };
                let mut what = Vec::new();
                if &i.recipient != partner {
                    what.push("recipient");
                }
                if purpose.is_some_and(|p| p != i.purpose) {
                    what.push("purpose");
                }
                if case != i.case {
                    what.push("case");
                }
                if action == Action::Export && i.action != Action::Export {
                    what.push("action (not export)");
                }
                if !what.is_empty() {
                    flags.push(Flag::OtherScope { receipt: r.clone(), what: what.join(", ") });
                }
                if let Some(t) = i.lease_expires.filter(|t| at > *t + grace) {
                    flags.push(Flag::Expired { receipt: r.clone(), lease_expires: t });
                }
                if let Some(t) = i.revoked.filter(|t| at > *t + grace) {
                    flags.push(Flag::Revoked { receipt: r.clone(), revoked: t });
                }
            }
            uses.push(Use {
                hub_index: *index,
                at,
                partner: partner.clone(),
                purpose,
                case,
                action,
                reports: u.reports.count(),
                receipts,
                flags,
            });
        }
    }
    Reconciliation { originator: originator.clone(), issued, uses }
}

/// The receipts in the node's log, each with the first later suspension covering it.
fn issued(originator: &PartnerId, node: &[(u64, AuditEntry)]) -> Vec<Issued> {
    let mut out: Vec<Issued> = Vec::new();
    for (index, entry) in node {
        let AuditEntry::PolicyDecision(d) = entry else { continue };
        if d.user.as_str() != super::RELEASE_USER {
            continue;
        }
        for u in d.originators.iter().filter(|u| &u.originator == originator && u.decision == Decision::Permit) {
            let lease = u
                .determining_policies
                .iter()
                .filter_map(|p| p.as_str().strip_prefix(LEASE_PREFIX))
                .find_map(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
            for id in u.determining_policies.iter().filter_map(|p| p.as_str().strip_prefix(RELEASE_PREFIX)) {
                if let Some(known) = out.iter_mut().find(|i| i.id == id) {
                    known.reports += u.reports.count();
                    continue;
                }
                out.push(Issued {
                    id: id.to_owned(),
                    node_index: *index,
                    recipient: d.partner.clone(),
                    purpose: d.purpose,
                    case: d.case,
                    action: d.action,
                    issued: d.at,
                    lease_expires: lease,
                    reports: u.reports.count(),
                    revoked: None,
                });
            }
        }
    }
    for (_, entry) in node {
        let AuditEntry::Suspension(s) = entry else { continue };
        if &s.originator != originator {
            continue;
        }
        for i in out.iter_mut().filter(|i| {
            s.at >= i.issued
                && s.consumer.as_ref().is_none_or(|c| c == &i.recipient)
                && s.purpose.is_none_or(|p| p == i.purpose)
        }) {
            i.revoked = Some(i.revoked.map_or(s.at, |r| r.min(s.at)));
        }
    }
    out
}
