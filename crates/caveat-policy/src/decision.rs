//! Decisions and their explanations.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A policy's id, as explanations name it.
///
/// Fixed policies are named for what they check (`marking`, `originator`,
/// `acting-as`, `marking/purpose`, ...); suspensions are `suspension/<id>`;
/// standing policies are `standing/<originator>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyId(pub(crate) String);

impl PolicyId {
    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// The use is allowed.
    Permit,
    /// The use is not allowed (the default).
    Deny,
}

/// One decision with its explanation.
///
/// For a permit, `determining` lists the permits that held (`marking`,
/// `originator`). For a deny, the forbids that held; an empty list means no
/// policy permitted (default deny). A forbid whose evaluation failed counts as
/// holding (fail closed) and is listed in both `determining` and `errored`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// Permit or deny.
    pub effect: Effect,
    /// The policies that determined it, sorted.
    pub determining: BTreeSet<PolicyId>,
    /// Policies whose evaluation failed, sorted.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub errored: BTreeSet<PolicyId>,
}

impl Decision {
    /// Whether the use is permitted.
    pub fn is_permit(&self) -> bool {
        self.effect == Effect::Permit
    }

    pub(crate) fn deny_unrepresentable() -> Self {
        Decision {
            effect: Effect::Deny,
            determining: BTreeSet::from([PolicyId("report/unrepresentable".to_owned())]),
            errored: BTreeSet::new(),
        }
    }
}

/// The decisions for a slice of reports, in the same order.
///
/// Equal decisions are stored once: each report holds the index of its
/// decision, so a million reports cost four bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decisions {
    pub(crate) distinct: Vec<Decision>,
    pub(crate) by_report: Vec<u32>,
    pub(crate) evaluations: usize,
}

impl Decisions {
    /// How many reports were decided.
    pub fn len(&self) -> usize {
        self.by_report.len()
    }
    /// Whether there were none.
    pub fn is_empty(&self) -> bool {
        self.by_report.is_empty()
    }
    /// The decision for the `i`-th report.
    pub fn get(&self, i: usize) -> Option<&Decision> {
        self.by_report.get(i).and_then(|&d| self.distinct.get(d as usize))
    }
    /// Whether the `i`-th report is permitted (`false` when out of range).
    pub fn is_permitted(&self, i: usize) -> bool {
        self.get(i).is_some_and(Decision::is_permit)
    }
    /// Each report's decision, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Decision> + '_ {
        self.by_report.iter().filter_map(|&d| self.distinct.get(d as usize))
    }
    /// The indices of the permitted reports, ascending.
    pub fn permitted(&self) -> impl Iterator<Item = usize> + '_ {
        self.iter().enumerate().filter(|(_, d)| d.is_permit()).map(|(i, _)| i)
    }
    /// How many times Cedar was evaluated to produce these decisions.
    pub fn cedar_evaluations(&self) -> usize {
        self.evaluations
    }
}
