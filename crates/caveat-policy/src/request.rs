//! Requests: who asks, to do what, for which purpose, in which case, when.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use caveat_core::{CaseId, PartnerId, User, UserId, ViewKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;

/// What a request wants to do with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Return the report in a response.
    Read,
    /// Fuse the report into the view's tracks.
    Fuse,
    /// Let the report leave the hub in an export.
    Export,
    /// Cite the report as evidence for a case step. Always needs an open case the partner takes part in.
    Cite,
    /// Read the audit entries about the report. Only its originator may.
    Audit,
}

impl Action {
    /// Every action, in a stable order.
    pub const ALL: [Action; 5] = [Action::Read, Action::Fuse, Action::Export, Action::Cite, Action::Audit];

    /// The wire name, also the Cedar action id, e.g. `export`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Fuse => "fuse",
            Action::Export => "export",
            Action::Cite => "cite",
            Action::Audit => "audit",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::UnknownAction { value: crate::error::shorten(s) })
    }
}

/// What the hub knows of a case when a request names it (caveat-store owns cases).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseFacts {
    /// The case.
    pub id: CaseId,
    /// Whether it is still open.
    pub open: bool,
    /// The lead partner (it takes part).
    pub lead: PartnerId,
    /// The other partners taking part.
    pub participants: BTreeSet<PartnerId>,
}

impl CaseFacts {
    /// Whether `partner` takes part: it leads or participates.
    pub fn takes_part(&self, partner: &PartnerId) -> bool {
        &self.lead == partner || self.participants.contains(partner)
    }
}

/// One access request: a user, the view key it acts under, an action, the case's
/// facts when the view key names a case, and the hub's time.
///
/// The user's partner comes from authentication; the view key's partner is what
/// the request claims to act for. When they differ, every report is denied
/// (policy `acting-as`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    user: UserId,
    user_partner: PartnerId,
    view: ViewKey,
    case: Option<CaseFacts>,
    action: Action,
    at: OffsetDateTime,
}

impl Request {
    /// A request by `user` under `view` to `action`, at `at`.
    ///
    /// # Errors
    /// [`Error::CaseMismatch`] when `case` is not the facts of exactly the case `view` names.
    pub fn new(
        user: &User,
        view: ViewKey,
        action: Action,
        case: Option<CaseFacts>,
        at: OffsetDateTime,
    ) -> Result<Self, Error> {
        let facts = case.as_ref().map(|c| c.id);
        if view.case != facts {
            return Err(Error::CaseMismatch { view: view.case, facts });
        }
        Ok(Request { user: user.id.clone(), user_partner: user.partner.clone(), view, case, action, at })
    }

    /// The user.
    pub fn user(&self) -> &UserId {
        &self.user
    }
    /// The partner the user acts for (from authentication).
    pub fn user_partner(&self) -> &PartnerId {
        &self.user_partner
    }
    /// The view key.
    pub fn view(&self) -> &ViewKey {
        &self.view
    }
    /// The case facts, when the view key names a case.
    pub fn case(&self) -> Option<&CaseFacts> {
        self.case.as_ref()
    }
    /// The action.
    pub fn action(&self) -> Action {
        self.action
    }
    /// The hub's time of the request.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }
}
