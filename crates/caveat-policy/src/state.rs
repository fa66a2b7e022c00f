//! The policy state: standing policies and suspensions, versioned, serializable.

use std::collections::BTreeMap;
use std::fmt;

use caveat_core::{PartnerId, Purpose};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, Suspension, SuspensionId};

/// The policy state's version. Starts at 0 (nothing uploaded, nothing
/// suspended); every change adds exactly 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyVersion(pub(crate) u64);

impl PolicyVersion {
    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
    pub(crate) const fn next(self) -> PolicyVersion {
        PolicyVersion(self.0.saturating_add(1))
    }
}

impl From<u64> for PolicyVersion {
    fn from(n: u64) -> Self {
        PolicyVersion(n)
    }
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An originator's standing policy text, as uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingPolicy {
    /// The Cedar text as uploaded (before scoping).
    pub text: String,
    /// When it was uploaded.
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    /// The version its upload produced.
    pub version: PolicyVersion,
}

/// One change to the policy state. Each mutation of [`crate::Policies`] returns
/// the change it made, so the store can persist it and another process can
/// replay it with [`crate::Policies::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PolicyChange {
    /// An originator replaced its standing policies (empty text clears them).
    Upload {
        /// The version this change produces.
        version: PolicyVersion,
        /// The uploader.
        originator: PartnerId,
        /// The Cedar text.
        text: String,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An originator suspended use of its reports.
    Suspend {
        /// The version this change produces.
        version: PolicyVersion,
        /// The suspension (its id is `version`).
        suspension: Suspension,
    },
    /// An originator resumed a suspension.
    Resume {
        /// The version this change produces.
        version: PolicyVersion,
        /// Who resumed it (must be the suspension's originator).
        originator: PartnerId,
        /// Which suspension.
        id: SuspensionId,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

impl PolicyChange {
    /// The version this change produces.
    pub fn version(&self) -> PolicyVersion {
        match self {
            PolicyChange::Upload { version, .. }
            | PolicyChange::Suspend { version, .. }
            | PolicyChange::Resume { version, .. } => *version,
        }
    }
    /// The originator whose policy it changes.
    pub fn originator(&self) -> &PartnerId {
        match self {
            PolicyChange::Upload { originator, .. } | PolicyChange::Resume { originator, .. } => originator,
            PolicyChange::Suspend { suspension, .. } => &suspension.originator,
        }
    }
}

/// Everything the policy engine holds beyond its fixed policies: the version,
/// each originator's standing policy text and every suspension (resumed ones
/// kept for the record). Store it as JSON and load it with
/// [`crate::Policies::from_state`], which checks it again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyState {
    pub(crate) version: PolicyVersion,
    #[serde(default)]
    pub(crate) standing: BTreeMap<PartnerId, StandingPolicy>,
    #[serde(default)]
    pub(crate) suspensions: BTreeMap<SuspensionId, Suspension>,
}

impl PolicyState {
    /// The version.
    pub fn version(&self) -> PolicyVersion {
        self.version
    }
    /// `originator`'s standing policy, if it uploaded one.
    pub fn standing(&self, originator: &PartnerId) -> Option<&StandingPolicy> {
        self.standing.get(originator)
    }
    /// Every suspension, resumed ones included, by id.
    pub fn suspensions(&self) -> impl Iterator<Item = &Suspension> + '_ {
        self.suspensions.values()
    }
    /// The suspensions in force.
    pub fn active_suspensions(&self) -> impl Iterator<Item = &Suspension> + '_ {
        self.suspensions.values().filter(|s| s.is_active())
    }
    /// Whether an active suspension forbids `partner` using `originator`'s reports for `purpose`.
    pub fn is_suspended(&self, originator: &PartnerId, partner: &PartnerId, purpose: Purpose) -> bool {
        self.active_suspensions().any(|s| &s.originator == originator && s.covers(partner, purpose))
    }

    /// Applies the data part of `change` (the caller compiles and checks the text).
    pub(crate) fn apply(&mut self, change: &PolicyChange) -> Result<(), Error> {
        let expected = self.version.next();
        if change.version() != expected {
            return Err(Error::VersionGap { current: self.version, got: change.version() });
        }
        match change {
            PolicyChange::Upload { version, originator, text, at } => {
                if text.trim().is_empty() {
                    self.standing.remove(originator);
                } else {
                    self.standing.insert(
                        originator.clone(),
                        StandingPolicy { text: text.clone(), uploaded_at: *at, version: *version },
                    );
                }
            }
            PolicyChange::Suspend { version, suspension } => {
                if suspension.id.0 != version.0 || suspension.resumed_at.is_some() {
                    return Err(Error::Engine {
                        what: "suspend change",
                        message: format!("suspension {} must be new and carry id {version}", suspension.id),
                    });
                }
                suspension.check()?;
                if self.suspensions.contains_key(&suspension.id) {
                    return Err(Error::Engine {
                        what: "suspend change",
                        message: format!("suspension {} exists already", suspension.id),
                    });
                }
                self.suspensions.insert(suspension.id, suspension.clone());
            }
            PolicyChange::Resume { originator, id, at, .. } => {
                let s = self.suspensions.get_mut(id).ok_or(Error::UnknownSuspension { id: *id })?;
                if &s.originator != originator {
                    return Err(Error::NotYourSuspension {
                        id: *id,
                        owner: s.originator.clone(),
                        originator: originator.clone(),
                    });
                }
                if s.resumed_at.is_some() {
                    return Err(Error::AlreadyResumed { id: *id });
                }
                s.resumed_at = Some(*at);
            }
        }
        self.version = expected;
        Ok(())
    }
}
