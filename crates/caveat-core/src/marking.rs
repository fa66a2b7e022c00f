//! Markings: the use conditions an originator attaches to a report.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

use crate::{Error, PartnerId, Purpose};

/// Most partners a marking may name. A hub has tens of partners; a list longer
/// than this is a mistake or an attack on the policy engine.
pub const MAX_RELEASABLE_TO: usize = 64;

/// The use conditions attached to a report.
///
/// Anything not granted here is denied (DESIGN.md invariant 1). The originator
/// itself is not listed: its rights over its own data come from policy, not
/// from the marking. Markings are compared and hashed whole: reports that share
/// a marking form one *marking class*, and policy decides once per class.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marking {
    /// Partners that may see the report.
    #[serde(default)]
    pub releasable_to: BTreeSet<PartnerId>,
    /// Purposes it may be used for.
    #[serde(default)]
    pub purposes: BTreeSet<Purpose>,
    /// After this instant nobody but the originator may use it.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub not_after: Option<OffsetDateTime>,
    /// Usable only inside an open case the consumer takes part in.
    #[serde(default)]
    pub requires_case: bool,
    /// May never leave the hub in an export.
    #[serde(default)]
    pub no_export: bool,
}

impl Marking {
    /// A marking that releases nothing to anybody: the safe default.
    pub fn originator_only() -> Self {
        Marking {
            releasable_to: BTreeSet::new(),
            purposes: BTreeSet::new(),
            not_after: None,
            requires_case: false,
            no_export: true,
        }
    }

    /// Checks the limits a marking must respect.
    pub fn validate(&self) -> Result<(), Error> {
        if self.releasable_to.len() > MAX_RELEASABLE_TO {
            return Err(Error::invalid(
                "marking.releasable_to",
                self.releasable_to.len(),
                "names more than 64 partners",
            ));
        }
        Ok(())
    }

    /// Whether the marking, on its own, grants `purpose` to `partner` at `at`.
    ///
    /// This is the plain reading of the marking, used by tests as a reference model
    /// and by the simulator. The hub's decisions come from `caveat-policy`, which
    /// adds standing policies, suspensions and case rules on top.
    pub fn grants(&self, partner: &PartnerId, purpose: Purpose, at: OffsetDateTime) -> bool {
        self.releasable_to.contains(partner)
            && self.purposes.contains(&purpose)
            && self.not_after.is_none_or(|t| at < t)
    }

    /// The marking of something derived from several marked reports (a track,
    /// an export): releasable to whom all release to, for the purposes all
    /// grant, until the earliest not-after; requires a case, or forbids export,
    /// if any does. `None` for no markings at all.
    ///
    /// The result never grants more than any input: derivation cannot widen a caveat.
    pub fn combine<'a>(markings: impl IntoIterator<Item = &'a Marking>) -> Option<Marking> {
        // A track's reports mostly share a handful of markings (one per
        // originator's feed): combine each distinct one once.
        let mut distinct: Vec<&Marking> = Vec::new();
        for m in markings {
            if !distinct.contains(&m) {
                distinct.push(m);
            }
        }
        let mut out: Option<Marking> = None;
        for m in distinct {
            out = Some(match out {
                None => m.clone(),
                Some(acc) => Marking {
                    releasable_to: acc.releasable_to.intersection(&m.releasable_to).cloned().collect(),
                    purposes: acc.purposes.intersection(&m.purposes).copied().collect(),
                    not_after: match (acc.not_after, m.not_after) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                    requires_case: acc.requires_case || m.requires_case,
                    no_export: acc.no_export || m.no_export,
                },
            });
        }
        out
    }
}

#[cfg(feature = "test-util")]
mod builder {
    use super::*;

    /// Builds a [`Marking`] for tests: starts from "nothing granted".
    #[derive(Debug, Clone)]
    pub struct MarkingBuilder(Marking);

    impl Marking {
        /// Starts a builder (feature `test-util`).
        pub fn builder() -> MarkingBuilder {
            MarkingBuilder(Marking { no_export: false, ..Marking::originator_only() })
        }
    }

    impl MarkingBuilder {
        /// Releases to these partners.
        ///
        /// # Panics
        /// On an invalid partner id: test fixtures only.
        pub fn to(mut self, partners: &[&str]) -> Self {
            #[expect(clippy::expect_used, reason = "test fixture with literal ids")]
            self.0.releasable_to.extend(partners.iter().map(|p| p.parse().expect("fixture partner id")));
            self
        }
        /// Grants these purposes.
        pub fn purposes(mut self, purposes: &[Purpose]) -> Self {
            self.0.purposes.extend(purposes.iter().copied());
            self
        }
        /// Sets not-after.
        pub fn not_after(mut self, t: OffsetDateTime) -> Self {
            self.0.not_after = Some(t);
            self
        }
        /// Requires a case.
        pub fn requires_case(mut self) -> Self {
            self.0.requires_case = true;
            self
        }
        /// Forbids export.
        pub fn no_export(mut self) -> Self {
            self.0.no_export = true;
            self
        }
        /// The marking.
        pub fn build(self) -> Marking {
            self.0
        }
    }
}
#[cfg(feature = "test-util")]
pub use builder::MarkingBuilder;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn combining_never_grants_more_than_an_input() {
        let p = |s: &str| s.parse::<PartnerId>().unwrap();
        let a = Marking {
            releasable_to: [p("CAN"), p("FRA")].into(),
            purposes: [Purpose::Interdiction, Purpose::Monitoring].into(),
            not_after: Some(datetime!(2026-12-02 00:00 UTC)),
            requires_case: false,
            no_export: false,
        };
        let b = Marking {
            releasable_to: [p("CAN"), p("NLD")].into(),
            purposes: [Purpose::Interdiction].into(),
            not_after: None,
            requires_case: true,
            no_export: false,
        };
        let c = Marking::combine([&a, &b, &a]).unwrap();
        assert_eq!(c.releasable_to, [p("CAN")].into());
        assert_eq!(c.purposes, [Purpose::Interdiction].into());
        assert_eq!(c.not_after, a.not_after);
        assert!(c.requires_case && !c.no_export);
        assert_eq!(Marking::combine([&a]), Some(a.clone()));
        assert_eq!(Marking::combine([]), None);
    }

    #[test]
    fn grants_only_what_is_listed() {
        let m = Marking::builder()
            .to(&["CAN"])
            .purposes(&[Purpose::Interdiction])
            .not_after(datetime!(2026-12-01 0:00 UTC))
            .build();
        let can: PartnerId = "CAN".parse().unwrap();
        let fra: PartnerId = "FRA".parse().unwrap();
        let t = datetime!(2026-11-30 23:59:59 UTC);
        assert!(m.grants(&can, Purpose::Interdiction, t));
        assert!(!m.grants(&fra, Purpose::Interdiction, t));
        assert!(!m.grants(&can, Purpose::Monitoring, t));
        assert!(!m.grants(&can, Purpose::Interdiction, datetime!(2026-12-01 0:00 UTC)));
    }

    #[test]
    fn json_form_defaults_to_nothing_granted() {
        let m: Marking = serde_json::from_str("{}").unwrap();
        assert!(m.releasable_to.is_empty() && m.purposes.is_empty());
        assert!(serde_json::from_str::<Marking>(r#"{"purposes":["strike"]}"#).is_err());
        assert!(serde_json::from_str::<Marking>(r#"{"releasable":["CAN"]}"#).is_err());
    }
}
