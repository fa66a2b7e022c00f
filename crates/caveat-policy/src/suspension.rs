//! Suspensions: an originator's immediate, standing forbid on its own reports.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use caveat_core::{PartnerId, Purpose};
use cedar_policy as cedar;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;
use crate::error::shorten;

/// Longest suspension reason, characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A suspension's id: the policy version at which it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SuspensionId(pub(crate) u64);

impl SuspensionId {
    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for SuspensionId {
    fn from(n: u64) -> Self {
        SuspensionId(n)
    }
}

impl fmt::Display for SuspensionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for SuspensionId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(SuspensionId)
    }
}

/// An originator's suspension of the use of its reports.
///
/// It forbids every action on the originator's reports by the named partners
/// (all other partners when `partners` is `None`) for the named purposes (all
/// purposes when `None`). It never applies to the originator itself: an
/// originator always may use its own reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// Its id.
    pub id: SuspensionId,
    /// The originator whose reports it covers.
    pub originator: PartnerId,
    /// The partners suspended; `None` means all but the originator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<BTreeSet<PartnerId>>,
    /// The purposes suspended; `None` means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purposes: Option<BTreeSet<Purpose>>,
    /// Why, in the originator's words.
    pub reason: String,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// When it was resumed, if it was.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<OffsetDateTime>,
}

impl Suspension {
    /// Whether it is in force.
    pub fn is_active(&self) -> bool {
        self.resumed_at.is_none()
    }

    /// Checks what a suspension may say.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(p) = &self.partners {
            if p.is_empty() {
                return Err(Error::EmptySuspension { originator: self.originator.clone(), field: "partners" });
            }
            if p.contains(&self.originator) {
                return Err(Error::SelfSuspension { originator: self.originator.clone() });
            }
        }
        if self.purposes.as_ref().is_some_and(BTreeSet::is_empty) {
            return Err(Error::EmptySuspension { originator: self.originator.clone(), field: "purposes" });
        }
        let chars = self.reason.chars().count();
        if self.reason.trim().is_empty() || chars > MAX_REASON_CHARS {
            return Err(Error::Reason { chars, limit: MAX_REASON_CHARS });
        }
        Ok(())
    }

    /// Whether it forbids `partner` using this originator's reports for `purpose`.
    pub fn covers(&self, partner: &PartnerId, purpose: Purpose) -> bool {
        self.is_active()
            && partner != &self.originator
            && self.partners.as_ref().is_none_or(|p| p.contains(partner))
            && self.purposes.as_ref().is_none_or(|p| p.contains(&purpose))
    }

    /// The suspension as a Cedar forbid named `suspension/<id>`.
    pub(crate) fn to_cedar(&self) -> Result<cedar::Policy, Error> {
        // Partner ids and purpose names are checked identifiers of A-Z 0-9 - and
        // a-z -, so they cannot break out of a string literal.
        let partner = crate::encode::PARTNER;
        let mut when = vec![format!("resource.originator == {partner}::\"{}\"", self.originator)];
        if let Some(ps) = &self.partners {
            let list: Vec<String> = ps.iter().map(|p| format!("{partner}::\"{p}\"")).collect();
            when.push(format!("principal in [{}]", list.join(", ")));
        }
        if let Some(us) = &self.purposes {
            let list: Vec<String> = us.iter().map(|u| format!("Caveat::Purpose::\"{}\"", u.as_str())).collect();
            when.push(format!("[{}].contains(context.purpose)", list.join(", ")));
        }
        let text = format!(
            "forbid (principal, action, resource) when {{ {} }} unless {{ principal in {partner}::\"{}\" }};",
            when.join(" && "),
            self.originator
        );
        cedar::Policy::parse(Some(cedar::PolicyId::new(format!("suspension/{}", self.id))), text)
            .map_err(|e| Error::Engine { what: "suspension policy", message: shorten(e) })
    }
}
