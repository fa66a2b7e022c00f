//! Access decisions for the API: caveat-policy kept in step with the store's
//! policy event log, and the audit entries that record each decision.
//!
//! Every data path (direct read, tracks, exports, case citations) asks here
//! before anything is read, fused or exported (DESIGN.md invariant 2: fuse
//! after filtering), and records the decision, permit and deny, in the audit
//! log before it answers (invariant 5).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use caveat_audit::{AuditEntry, OriginatorUse, PolicyDecision, PolicyEventRef, ReportSet};
use caveat_core::{PartnerId, Report, ReportId, User, UserId, ViewKey};
use caveat_policy::{CaseFacts, Decisions, Effect, Policies, PolicyChange, Request};
use caveat_store::Store;
use time::OffsetDateTime;

pub use caveat_policy::Action;

use crate::Error;

/// The hub's policies, replayed from the store's event log.
pub struct Access {
    store: Arc<dyn Store>,
    policies: RwLock<Arc<Policies>>,
    /// The store event version `policies` reflects.
    applied: AtomicU64,
    changing: tokio::sync::Mutex<()>,
    /// Looks at the store's event log begun, and the latest finished.
    looks_started: AtomicU64,
    looks_done: AtomicU64,
    looking: tokio::sync::Mutex<()>,
    /// The deployment's partners, for padding a request's audit entries.
    partners: RwLock<Arc<BTreeSet<PartnerId>>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Access(version {})", self.applied.load(Ordering::Relaxed))
    }
}

fn policy_error(e: &caveat_policy::Error) -> Error {
    Error::internal("deciding access", e)
}

impl Access {
    /// Loads every stored policy event.
    ///
    /// # Errors
    /// The store fails, or a stored event does not apply.
    pub async fn open(store: Arc<dyn Store>) -> Result<Access, Error> {
        let policies = Policies::new().map_err(|e| policy_error(&e))?;
        let access = Access {
            store,
            policies: RwLock::new(Arc::new(policies)),
            applied: AtomicU64::new(0),
            changing: tokio::sync::Mutex::new(()),
            looks_started: AtomicU64::new(0),
            looks_done: AtomicU64::new(0),
            looking: tokio::sync::Mutex::new(()),
            partners: RwLock::default(),
        };
        access.reload_partners().await?;
        access.refresh().await?;
        Ok(access)
    }

    /// A private copy of the current policies to change (Policies is rebuilt
    /// from its state: changes are rare, decisions are not).
    fn fork(&self) -> Result<Policies, Error> {
        Policies::from_state(self.current().state().clone()).map_err(|e| policy_error(&e))
    }

    fn current(&self) -> Arc<Policies> {
        self.policies.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Applies policy events stored since the last look (by this process or
    /// another hub process on the same database). Called before every decision,
    /// so a suspension acknowledged anywhere applies to the next request.
    ///
    /// # Errors
    /// The store fails or an event does not apply.
    pub async fn refresh(&self) -> Result<bool, Error> {
        // Requests that arrive together share one look at the store: a look
        // that began after this call began sees every change committed before
        // it, which is all "the next request" needs.
        let arrived = self.looks_started.load(Ordering::Acquire);
        let _looking = self.looking.lock().await;
        if self.looks_done.load(Ordering::Acquire) > arrived {
            return Ok(false);
        }
        let look = self.looks_started.fetch_add(1, Ordering::AcqRel) + 1;
        let changed = self.look().await?;
        self.looks_done.store(look, Ordering::Release);
        Ok(changed)
    }

    async fn look(&self) -> Result<bool, Error> {
        let after = self.applied.load(Ordering::Acquire);
        let events = self.store.policy_events(after).await?;
        if events.is_empty() {
            return Ok(false);
        }
        let _changing = self.changing.lock().await;
        let mut policies = self.fork()?;
        let mut applied = self.applied.load(Ordering::Acquire);
        for e in events {
            if e.version <= applied {
                continue;
            }
            let change: PolicyChange =
                serde_json::from_str(&e.body).map_err(|err| Error::internal("reading a policy event", &err))?;
            policies.apply(&change).map_err(|err| policy_error(&err))?;
            applied = e.version;
        }
        *self.policies.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(policies);
        self.applied.store(applied, Ordering::Release);
        Ok(true)
    }

    /// The policies now (after a refresh), for listing standing policies and suspensions.
    ///
    /// # Errors
    /// The store fails.
    pub async fn policies(&self) -> Result<Arc<Policies>, Error> {
        self.refresh().await?;
        Ok(self.current())
    }

    /// Makes a policy change as `originator`, by `user`: the change is
    /// durable in the store before it takes effect here, and the version it
    /// produces is checked against the store's, so two hub processes cannot
    /// both write version N. Returns the change and the stored event its
    /// audit entries record.
    ///
    /// # Errors
    /// `make` refuses (its error is returned as is), or the store fails.
    pub async fn change<E>(
        &self,
        originator: &PartnerId,
        user: &UserId,
        make: impl FnOnce(&mut Policies) -> Result<PolicyChange, E>,
    ) -> Result<Result<(PolicyChange, PolicyEventRef), E>, Error> {
        self.refresh().await?;
        let _changing = self.changing.lock().await;
        let mut policies = self.fork()?;
        let change = match make(&mut policies) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let body = serde_json::to_string(&change).map_err(|e| Error::internal("encoding a policy change", &e))?;
        let digest = caveat_audit::policy_event_digest(&body);
        let version =
            self.store.append_policy_event_by(originator, Some(user), OffsetDateTime::now_utc(), body).await?;
        if version != change.version().get() {
            // Another process changed policy meanwhile; the caller retries on fresh state.
            return Err(Error::Conflict("policy changed concurrently; retry".into()));
        }
        *self.policies.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(policies);
        self.applied.store(version, Ordering::Release);
        Ok(Ok((change, PolicyEventRef { version, digest })))
    }

    async fn reload_partners(&self) -> Result<Arc<BTreeSet<PartnerId>>, Error> {
        let partners: BTreeSet<PartnerId> = self.store.partners().await?.into_iter().map(|p| p.id).collect();
        let partners = Arc::new(partners);
        *self.partners.write().unwrap_or_else(PoisonError::into_inner) = partners.clone();
        Ok(partners)
    }

    /// The deployment's partners, covering every one of `originators`: the
    /// cached list, reloaded from the store when one of them is not in it.
    /// What a request's entries are padded to, and what markings and
    /// suspensions may name.
    ///
    /// # Errors
    /// The store fails.
    pub async fn partners_covering<'a>(
        &self,
        mut originators: impl Iterator<Item = &'a PartnerId>,
    ) -> Result<Arc<BTreeSet<PartnerId>>, Error> {
        let partners = self.partners.read().unwrap_or_else(PoisonError::into_inner).clone();
        if originators.any(|o| !partners.contains(o)) {
            return self.reload_partners().await;
        }
        Ok(partners)
    }

    /// The audit entries of one request that decided `uses`: one entry per
    /// partner of the deployment, each holding that originator's share (empty
    /// when the request touched none of its reports).
    ///
    /// The number of entries a request adds is then the same whatever the
    /// reports it decided (invariant 2 covers the log's size, which every
    /// auditor sees): a request touching a partner whose reports the caller
    /// may not see adds exactly as many entries as one that found none.
    /// Denials stay recorded in their originator's entry.
    pub async fn entries(
        &self,
        user: &User,
        key: &ViewKey,
        action: Action,
        uses: Vec<OriginatorUse>,
        at: OffsetDateTime,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.padded(uses, |originators| uses_entries_for(user, key, action, originators, at)).await
    }

    /// One entry made by `make` per originator of `uses`, then entries of no
    /// originator up to one per partner (see [`Access::entries`]).
    pub async fn padded(
        &self,
        uses: Vec<OriginatorUse>,
        make: impl Fn(Vec<OriginatorUse>) -> AuditEntry,
    ) -> Result<Vec<AuditEntry>, Error> {
        let by_originator = per_originator(uses);
        let partners = self.partners_covering(by_originator.keys()).await?.len();
        let mut entries: Vec<AuditEntry> = by_originator.into_values().map(&make).collect();
        while entries.len() < partners {
            entries.push(make(Vec::new()));
        }
        Ok(entries)
    }

    /// Decides `action` on each report for `user` in view `key`.
    ///
    /// # Errors
    /// The store fails, or the case facts do not match the view key.
    pub async fn decide(
        &self,
        user: &User,
        key: &ViewKey,
        action: Action,
        case: Option<CaseFacts>,
        reports: &[Report],
        now: OffsetDateTime,
    ) -> Result<Decisions, Error> {
        self.refresh().await?;
        let request = Request::new(user, key.clone(), action, case, now).map_err(|e| policy_error(&e))?;
        self.current().decide(&request, reports).map_err(|e| policy_error(&e))
    }
}

/// The audit entries for one request's decisions: per originator and
/// outcome, the report ids (as a set with digest), and the determining policy ids.
pub fn decision_entries(
    user: &User,
    key: &ViewKey,
    action: Action,
    reports: &[Report],
    decisions: &Decisions,
    at: OffsetDateTime,
) -> Vec<AuditEntry> {
    uses_entries(user, key, action, decision_uses(reports, decisions), at)
}

/// One audit entry per originator: an originator's usage report then holds
/// only entries about its own data, never another originator's report ids.
pub(crate) fn uses_entries(
    user: &User,
    key: &ViewKey,
    action: Action,
    uses: Vec<OriginatorUse>,
    at: OffsetDateTime,
) -> Vec<AuditEntry> {
    per_originator(uses).into_values().map(|originators| uses_entries_for(user, key, action, originators, at)).collect()
}

/// `uses` grouped by originator.
fn per_originator(uses: Vec<OriginatorUse>) -> BTreeMap<PartnerId, Vec<OriginatorUse>> {
    let mut by_originator: BTreeMap<PartnerId, Vec<OriginatorUse>> = BTreeMap::new();
    for u in uses {
        by_originator.entry(u.originator.clone()).or_default().push(u);
    }
    by_originator
}

/// One decision entry holding `originators` (all of one originator, or none: a filler).
fn uses_entries_for(
    user: &User,
    key: &ViewKey,
    action: Action,
    originators: Vec<OriginatorUse>,
    at: OffsetDateTime,
) -> AuditEntry {
    AuditEntry::PolicyDecision(PolicyDecision {
        at,
        user: user.id.clone(),
        partner: key.partner.clone(),
        purpose: key.purpose,
        case: key.case,
        // Exhaustive: a new action must say how the log records it. Fusing
        // into a view and auditing are reads of the reports (the log's
        // encoding predates them, and an originator's report counts them as reads).
        action: match action {
            Action::Read | Action::Fuse | Action::Audit => caveat_audit::Action::Read,
            Action::Export => caveat_audit::Action::Export,
            Action::Cite => caveat_audit::Action::Cite,
        },
        originators,
    })
}

/// Decisions grouped per originator, outcome and determining policies.
pub(crate) fn decision_uses(reports: &[Report], decisions: &Decisions) -> Vec<OriginatorUse> {
    let mut groups = DecisionGroups::new();
    group_decisions(&mut groups, reports, decisions);
    uses_of(&groups)
}

/// Report ids per (originator, outcome, determining policies).
pub(crate) type DecisionGroups = BTreeMap<(PartnerId, Effect, Vec<String>), Vec<ReportId>>;

/// Adds decisions to `groups`.
pub(crate) fn group_decisions(groups: &mut DecisionGroups, reports: &[Report], decisions: &Decisions) {
    for (r, d) in reports.iter().zip(decisions.iter()) {
        let determining: Vec<String> = d.determining.iter().map(|p| p.as_str().to_owned()).collect();
        groups.entry((r.originator.clone(), d.effect, determining)).or_default().push(r.id);
    }
}

/// The audit form of grouped decisions.
pub(crate) fn uses_of(groups: &DecisionGroups) -> Vec<OriginatorUse> {
    groups
        .iter()
        .map(|((originator, effect, determining), ids)| OriginatorUse {
            originator: originator.clone(),
            reports: ReportSet::new(ids),
            decision: if *effect == Effect::Permit {
                caveat_audit::Decision::Permit
            } else {
                caveat_audit::Decision::Deny
            },
            determining_policies: determining.iter().filter_map(|p| p.parse().ok()).collect(),
        })
        .collect()
}
