//! Shared fixtures: partners, users, requests, cases, a clock.

use std::collections::BTreeSet;

use caveat_core::{CaseId, PartnerId, Purpose, Report, User, ViewKey};
use caveat_policy::{Action, CaseFacts, Decision, Effect, Policies, Request};
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

pub(crate) fn p(id: &str) -> PartnerId {
    id.parse().unwrap()
}

pub(crate) fn partners(ids: &[&str]) -> BTreeSet<PartnerId> {
    ids.iter().map(|s| p(s)).collect()
}

pub(crate) fn user_of(partner: &str) -> User {
    User {
        id: format!("user@{}", partner.to_lowercase()).parse().unwrap(),
        partner: p(partner),
        roles: BTreeSet::new(),
    }
}

pub(crate) fn case(n: u8, lead: &str, others: &[&str], open: bool) -> CaseFacts {
    CaseFacts { id: CaseId::from_bytes([n; 16]), open, lead: p(lead), participants: partners(others) }
}

/// A request builder: a user of `partner` acting for itself, for interdiction, reading, now.
#[derive(Clone)]
pub(crate) struct Ask {
    pub(crate) user: User,
    pub(crate) acting_for: PartnerId,
    pub(crate) purpose: Purpose,
    pub(crate) action: Action,
    pub(crate) case: Option<CaseFacts>,
    pub(crate) at: OffsetDateTime,
}

pub(crate) fn ask(partner: &str) -> Ask {
    Ask {
        user: user_of(partner),
        acting_for: p(partner),
        purpose: Purpose::Interdiction,
        action: Action::Read,
        case: None,
        at: NOW,
    }
}

impl Ask {
    pub(crate) fn purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = purpose;
        self
    }
    pub(crate) fn action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }
    pub(crate) fn case(mut self, case: CaseFacts) -> Self {
        self.case = Some(case);
        self
    }
    pub(crate) fn at(mut self, at: OffsetDateTime) -> Self {
        self.at = at;
        self
    }
    pub(crate) fn acting_for(mut self, partner: &str) -> Self {
        self.acting_for = p(partner);
        self
    }
    pub(crate) fn request(&self) -> Request {
        let view = ViewKey::new(self.acting_for.clone(), self.purpose, self.case.as_ref().map(|c| c.id));
        Request::new(&self.user, view, self.action, self.case.clone(), self.at).unwrap()
    }
    /// Decides one report both ways, checks they agree, returns the decision.
    pub(crate) fn decide(&self, policies: &Policies, report: &Report) -> Decision {
        let request = self.request();
        let fresh = policies.decide_one(&request, report).unwrap();
        let batch = policies.decide(&request, std::slice::from_ref(report)).unwrap();
        assert_eq!(batch.get(0), Some(&fresh));
        fresh
    }
}

/// The ids of the determining policies, as strings.
pub(crate) fn why(d: &Decision) -> Vec<&str> {
    d.determining.iter().map(caveat_policy::PolicyId::as_str).collect()
}

pub(crate) fn assert_denied_by(d: &Decision, policy: &str) {
    assert_eq!(d.effect, Effect::Deny, "{d:?}");
    assert!(why(d).contains(&policy), "expected {policy} among {:?}", why(d));
}

pub(crate) fn assert_permitted(d: &Decision) {
    assert_eq!(d.effect, Effect::Permit, "{d:?}");
}
