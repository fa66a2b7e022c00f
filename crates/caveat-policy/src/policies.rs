//! The compiled policy set: fixed policies, suspensions and standing policies,
//! kept in step with the versioned [`PolicyState`].

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use caveat_core::{PartnerId, Purpose, Report};
use cedar_policy as cedar;
use time::OffsetDateTime;

use crate::decision::PolicyId;
use crate::encode::{self, CedarRequest};
use crate::error::shorten;
use crate::standing::{self, Standing};
use crate::{
    Decision, Decisions, Effect, Error, PolicyChange, PolicyState, PolicyVersion, Request, Suspension, SuspensionId,
};

/// Caveat's policies, compiled for Cedar: the marking rules, every originator's
/// standing policies and the active suspensions, at one [`PolicyVersion`].
///
/// Mutations (`upload`, `suspend`, `resume`, `apply`) are all-or-nothing: on
/// error nothing changes. Each success bumps the version by one and returns the
/// [`PolicyChange`] to persist. Decisions borrow `&self`, so no decision can
/// straddle a change, and the marking-class cache lives inside one call to
/// [`Policies::decide`]: after a suspension is acknowledged, the next decision
/// is computed afresh under the new version.
#[derive(Clone)]
pub struct Policies {
    schema: cedar::Schema,
    authorizer: cedar::Authorizer,
    base: Vec<cedar::Policy>,
    state: PolicyState,
    standing: BTreeMap<PartnerId, Standing>,
    set: cedar::PolicySet,
    forbids: HashSet<String>,
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies").field("state", &self.state).finish_non_exhaustive()
    }
}

impl Policies {
    /// The fixed policies alone, at version 0.
    ///
    /// # Errors
    /// [`Error::Engine`] only if the shipped schema or policies failed to load (a bug).
    pub fn new() -> Result<Self, Error> {
        Self::from_state(PolicyState::default())
    }

    /// Policies from a stored state, every standing policy and suspension checked again.
    ///
    /// # Errors
    /// The first standing policy or suspension that no longer passes its checks.
    pub fn from_state(state: PolicyState) -> Result<Self, Error> {
        let schema = encode::schema()?;
        let base = encode::base_policies()?;
        let mut standing = BTreeMap::new();
        for (originator, s) in &state.standing {
            standing.insert(originator.clone(), standing::compile(originator, &s.text, &schema)?);
        }
        for (id, s) in &state.suspensions {
            s.check()?;
            if *id != s.id || id.get() > state.version.get() {
                return Err(Error::Engine {
                    what: "stored state",
                    message: format!("suspension {id} is not from this history"),
                });
            }
        }
        let (set, forbids) = assemble(&base, &state, &standing)?;
        Ok(Policies { schema, authorizer: cedar::Authorizer::new(), base, state, standing, set, forbids })
    }

    /// The current version.
    pub fn version(&self) -> PolicyVersion {
        self.state.version
    }

    /// The state to store.
    pub fn state(&self) -> &PolicyState {
        &self.state
    }

    /// Checks `text` as `originator`'s standing policies without changing anything.
    ///
    /// Returns the ids the policies would get (`standing/<originator>/<name>`).
    ///
    /// # Errors
    /// See [`Policies::upload`].
    pub fn check_standing(&self, originator: &PartnerId, text: &str) -> Result<Vec<PolicyId>, Error> {
        let s = standing::compile(originator, text, &self.schema)?;
        Ok(s.policies.iter().map(|p| PolicyId(p.id().to_string())).collect())
    }

    /// Replaces `originator`'s standing policies with `text` (empty text clears them).
    ///
    /// The caller has authenticated `originator` as the uploader (a partner admin).
    ///
    /// # Errors
    /// [`Error::Parse`], [`Error::OutOfScope`] (a `permit`, a template, a
    /// condition naming another originator's reports), [`Error::Schema`] (an
    /// unknown attribute or entity, a type error), [`Error::PolicyName`], or a
    /// size limit. Each names the policy at fault.
    pub fn upload(&mut self, originator: &PartnerId, text: &str, at: OffsetDateTime) -> Result<PolicyChange, Error> {
        let change = PolicyChange::Upload {
            version: self.state.version.next(),
            originator: originator.clone(),
            text: text.to_owned(),
            at,
        };
        self.apply(&change)?;
        Ok(change)
    }

    /// Suspends use of `originator`'s reports by `partners` (all others when
    /// `None`) for `purposes` (all when `None`), at once.
    ///
    /// # Errors
    /// [`Error::EmptySuspension`], [`Error::SelfSuspension`], [`Error::Reason`], [`Error::ReasonText`].
    pub fn suspend(
        &mut self,
        originator: &PartnerId,
        partners: Option<BTreeSet<PartnerId>>,
        purposes: Option<BTreeSet<Purpose>>,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<(SuspensionId, PolicyChange), Error> {
        // New suspensions only (a stored one is replayed as it was): the
        // reason is shown to people and written to logs, so no control characters.
        if let Some(at) = reason.chars().position(char::is_control) {
            return Err(Error::ReasonText { position: at + 1 });
        }
        let version = self.state.version.next();
        let id = SuspensionId(version.get());
        let suspension = Suspension {
            id,
            originator: originator.clone(),
            partners,
            purposes,
            reason: reason.to_owned(),
            issued_at: at,
            resumed_at: None,
        };
        let change = PolicyChange::Suspend { version, suspension };
        self.apply(&change)?;
        Ok((id, change))
    }

    /// Lifts suspension `id`; only its originator may.
    ///
    /// # Errors
    /// [`Error::UnknownSuspension`], [`Error::NotYourSuspension`], [`Error::AlreadyResumed`].
    pub fn resume(
        &mut self,
        originator: &PartnerId,
        id: SuspensionId,
        at: OffsetDateTime,
    ) -> Result<PolicyChange, Error> {
        let change =
            PolicyChange::Resume { version: self.state.version.next(), originator: originator.clone(), id, at };
        self.apply(&change)?;
        Ok(change)
    }

    /// Applies a change made elsewhere (another process, or the store's log).
    ///
    /// # Errors
    /// [`Error::VersionGap`] unless `change` is for exactly the next version;
    /// otherwise whatever the change's own operation would return.
    pub fn apply(&mut self, change: &PolicyChange) -> Result<PolicyVersion, Error> {
        let mut state = self.state.clone();
        state.apply(change)?;
        let mut standing = self.standing.clone();
        if let PolicyChange::Upload { originator, text, .. } = change {
            if text.trim().is_empty() {
                standing.remove(originator);
            } else {
                standing.insert(originator.clone(), standing::compile(originator, text, &self.schema)?);
            }
        }
        let (set, forbids) = assemble(&self.base, &state, &standing)?;
        self.state = state;
        self.standing = standing;
        self.set = set;
        self.forbids = forbids;
        Ok(self.state.version)
    }

    /// The Cedar text of policy `id`, as the engine holds it (standing policies
    /// with their scoping clauses), so an originator can read why.
    pub fn policy_text(&self, id: &PolicyId) -> Option<String> {
        self.set.policy(&cedar::PolicyId::new(id.as_str())).map(ToString::to_string)
    }

    /// Whether `originator`'s standing policies read more of a report than its
    /// marking (position, time, source, id): its reports are then decided one
    /// by one rather than once per marking class.
    pub fn reads_report_details(&self, originator: &PartnerId) -> bool {
        self.standing.get(originator).is_some_and(|s| s.report_sensitive)
    }

    /// The first instant after `now` at which a decision may change with the
    /// request time alone, beyond the markings' own not-after: a datetime named
    /// by a standing policy's time condition. A view decided at `now` is valid
    /// until then (or until a marking it used expires, or the version changes).
    pub fn next_change_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.standing
            .values()
            .filter_map(|s| s.moments.range((std::ops::Bound::Excluded(now), std::ops::Bound::Unbounded)).next())
            .min()
            .copied()
    }

    /// Decides `request` for each report, evaluating Cedar once per marking
    /// class (originator and marking) rather than once per report.
    ///
    /// # Errors
    /// Only for a request Cedar cannot express (a time outside years 0000-9999).
    /// A report Cedar cannot express is denied (`report/unrepresentable`).
    pub fn decide(&self, request: &Request, reports: &[Report]) -> Result<Decisions, Error> {
        let cedar_request = self.cedar_request(request)?;
        crate::class::decide(self, &cedar_request, reports)
    }

    /// Decides `request` for one report with a fresh Cedar call: the reference
    /// that [`Policies::decide`] must agree with.
    ///
    /// # Errors
    /// As [`Policies::decide`].
    pub fn decide_one(&self, request: &Request, report: &Report) -> Result<Decision, Error> {
        let cedar_request = self.cedar_request(request)?;
        Ok(self.evaluate(&cedar_request, report))
    }

    /// The request's Cedar form, checked against the schema once.
    pub(crate) fn cedar_request(&self, request: &Request) -> Result<CedarRequest, Error> {
        let c = CedarRequest::new(request)?;
        let probe = encode::uid("Caveat::Report", "probe")?;
        cedar::Request::new(c.principal.clone(), c.action.clone(), probe, c.context.clone(), Some(&self.schema))
            .map_err(|e| Error::Engine { what: "request", message: shorten(e) })?;
        Ok(c)
    }

    /// One Cedar evaluation. Fails closed: an unrepresentable report is denied,
    /// and a forbid whose evaluation errs counts as holding.
    pub(crate) fn evaluate(&self, request: &CedarRequest, report: &Report) -> Decision {
        let Ok((req, entities)) = request.with_report(&self.schema, report) else {
            return Decision::deny_unrepresentable();
        };
        let response = self.authorizer.is_authorized(&req, &self.set, &entities);
        let reasons: BTreeSet<PolicyId> = response.diagnostics().reason().map(|id| PolicyId(id.to_string())).collect();
        let errored: BTreeSet<PolicyId> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar::AuthorizationError::PolicyEvaluationError(e) => PolicyId(e.policy_id().to_string()),
            })
            .collect();
        let failed_forbids: BTreeSet<PolicyId> =
            errored.iter().filter(|id| self.forbids.contains(id.as_str())).cloned().collect();
        let (effect, determining) = match response.decision() {
            cedar::Decision::Allow if failed_forbids.is_empty() => (Effect::Permit, reasons),
            cedar::Decision::Allow => (Effect::Deny, failed_forbids),
            cedar::Decision::Deny => (Effect::Deny, reasons.into_iter().chain(failed_forbids).collect()),
        };
        Decision { effect, determining, errored }
    }

    pub(crate) fn is_report_sensitive(&self, originator: &PartnerId) -> bool {
        self.reads_report_details(originator)
    }
}

/// The full policy set and the ids of its forbids.
fn assemble(
    base: &[cedar::Policy],
    state: &PolicyState,
    standing: &BTreeMap<PartnerId, Standing>,
) -> Result<(cedar::PolicySet, HashSet<String>), Error> {
    let mut policies: Vec<cedar::Policy> = base.to_vec();
    for s in state.active_suspensions() {
        policies.push(s.to_cedar()?);
    }
    for s in standing.values() {
        policies.extend(s.policies.iter().cloned());
    }
    let forbids = policies.iter().filter(|p| p.effect() == cedar::Effect::Forbid).map(|p| p.id().to_string()).collect();
    let set = cedar::PolicySet::from_policies(policies)
        .map_err(|e| Error::Engine { what: "policy set", message: shorten(e) })?;
    Ok((set, forbids))
}
