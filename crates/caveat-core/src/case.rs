//! Interdiction cases: the steps a coast guard takes, each tied to the
//! intelligence it relied on, with the transitions the law allows.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use time::OffsetDateTime;

use crate::vessel::check_text;
use crate::{CaseId, Error, Flag, PartnerId, Position, ReportId, UserId, VesselDescriptors};

/// Most reports one step may cite.
pub const MAX_CITED_REPORTS: usize = 1_000;

/// Why a boarding is lawful. No boarding is recorded without one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LegalBasis {
    /// The flag state consented (e.g. under Article 17 of the 1988 Vienna Convention).
    FlagStateConsent {
        /// The flag state.
        flag_state: Flag,
        /// Its reference for the consent (a message number).
        reference: String,
        /// When consent was given.
        #[serde(with = "time::serde::rfc3339")]
        granted_at: OffsetDateTime,
    },
    /// A bilateral or regional agreement, by name (e.g. a shiprider agreement).
    Agreement {
        /// The agreement's name.
        name: String,
    },
    /// The vessel was determined to be stateless.
    Statelessness {
        /// The grounds (no flag claimed, claim refuted by the state, ...).
        grounds: String,
    },
}

impl LegalBasis {
    fn validate(&self) -> Result<(), Error> {
        match self {
            LegalBasis::FlagStateConsent { reference, .. } => check_text("legal_basis.reference", Some(reference), 200),
            LegalBasis::Agreement { name } => check_text("legal_basis.name", Some(name), 200),
            LegalBasis::Statelessness { grounds } => check_text("legal_basis.grounds", Some(grounds), 2_000),
        }
    }
}

/// What was done, with what each kind of step must record.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StepAction {
    /// The vessel was detected; opens the case.
    Detect,
    /// Continued surveillance.
    Monitor,
    /// A unit closed with the vessel.
    Intercept,
    /// Boarded, under a legal basis.
    Board {
        /// Why the boarding is lawful.
        legal_basis: LegalBasis,
    },
    /// The vessel was searched.
    Search,
    /// Drugs (or other contraband) seized.
    Seize {
        /// What, e.g. "cocaine".
        substance: String,
        /// Mass in kilograms.
        quantity_kg: f64,
        /// Number of bales or packages.
        packages: u32,
    },
    /// Persons detained.
    Detain {
        /// How many.
        persons: u32,
        /// Their nationalities as claimed or established.
        nationalities: BTreeSet<Flag>,
        /// When they were told their rights.
        #[serde(with = "time::serde::rfc3339")]
        rights_told_at: OffsetDateTime,
    },
    /// Persons and evidence handed to a jurisdiction for prosecution.
    HandOver {
        /// To whom, e.g. "United States District Court, District of Puerto Rico".
        jurisdiction: String,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        handed_at: OffsetDateTime,
    },
    /// Persons or vessel released.
    Release {
        /// Why.
        reason: String,
    },
    /// The case is closed; nothing may follow.
    Close {
        /// The outcome in a sentence.
        outcome: String,
    },
}

impl StepAction {
    /// The step's name, e.g. `hand-over`.
    pub fn name(&self) -> &'static str {
        match self {
            StepAction::Detect => "detect",
            StepAction::Monitor => "monitor",
            StepAction::Intercept => "intercept",
            StepAction::Board { .. } => "board",
            StepAction::Search => "search",
            StepAction::Seize { .. } => "seize",
            StepAction::Detain { .. } => "detain",
            StepAction::HandOver { .. } => "hand-over",
            StepAction::Release { .. } => "release",
            StepAction::Close { .. } => "close",
        }
    }

    /// Whether the step is an outcome of the case (what a transparency report
    /// tells the originators whose data supported it): seizures, detentions,
    /// hand-overs, releases and the closing.
    pub fn is_outcome(&self) -> bool {
        match self {
            StepAction::Seize { .. }
            | StepAction::Detain { .. }
            | StepAction::HandOver { .. }
            | StepAction::Release { .. }
            | StepAction::Close { .. } => true,
            StepAction::Detect
            | StepAction::Monitor
            | StepAction::Intercept
            | StepAction::Board { .. }
            | StepAction::Search => false,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        match self {
            StepAction::Board { legal_basis } => legal_basis.validate(),
            StepAction::Seize { substance, quantity_kg, .. } => {
                check_text("substance", Some(substance), 100)?;
                if !(quantity_kg.is_finite() && *quantity_kg > 0.0 && *quantity_kg <= 1_000_000.0) {
                    return Err(Error::invalid("quantity_kg", quantity_kg, "must be more than 0 and at most 1000000"));
                }
                Ok(())
            }
            StepAction::Detain { persons, .. } if *persons == 0 || *persons > 10_000 => {
                Err(Error::invalid("persons", persons, "must be 1-10000"))
            }
            StepAction::HandOver { jurisdiction, .. } => check_text("jurisdiction", Some(jurisdiction), 200),
            StepAction::Release { reason } => check_text("reason", Some(reason), 2_000),
            StepAction::Close { outcome } => check_text("outcome", Some(outcome), 2_000),
            // Exhaustive: a new action with fields must say how they are checked.
            StepAction::Detain { .. }
            | StepAction::Detect
            | StepAction::Monitor
            | StepAction::Intercept
            | StepAction::Search => Ok(()),
        }
    }
}

/// One recorded step.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStep {
    /// What was done.
    pub action: StepAction,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Where.
    pub position: Position,
    /// The acting unit, e.g. "USCGC Joseph Tezanos".
    pub unit: String,
    /// The reports this step relied on; each citation is a policy decision.
    pub relied_on: Vec<ReportId>,
    /// Who recorded it.
    pub recorded_by: UserId,
}

/// Whether a case is still being worked.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStatus {
    /// Steps may be added; requires-case data is usable inside it.
    Open,
    /// Closed: no more steps, and requires-case data is no longer usable through it.
    Closed,
}

/// An interdiction.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Its id.
    pub id: CaseId,
    /// The partner leading it.
    pub lead: PartnerId,
    /// Partners taking part (the lead included).
    pub participants: BTreeSet<PartnerId>,
    /// The vessel: the lead's track id when opened, and what is known of its identity.
    pub track: Option<String>,
    /// Identity of the vessel.
    #[serde(default)]
    pub vessel: VesselDescriptors,
    /// Open or closed.
    pub status: CaseStatus,
    /// When opened.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// Steps in the order recorded.
    pub steps: Vec<CaseStep>,
}

/// Why a step may not be recorded now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    /// The refused step.
    pub step: &'static str,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}` is not allowed now: {}", self.step, self.rule)
    }
}

impl std::error::Error for TransitionError {}

impl Case {
    /// Whether any step of `kind` was recorded.
    pub fn has(&self, kind: &str) -> bool {
        self.steps.iter().any(|s| s.action.name() == kind)
    }

    /// Whether `partner` takes part.
    pub fn includes(&self, partner: &PartnerId) -> bool {
        self.participants.contains(partner)
    }

    /// Checks that `step` may follow the steps recorded so far (fields are
    /// checked by [`CaseStep::validate`]). The rules follow the order of an
    /// interdiction: detect, monitor, intercept, board (with a legal basis),
    /// search, seize, detain, hand over or release, close.
    ///
    /// # Errors
    /// The rule the step breaks.
    pub fn check_transition(&self, step: &StepAction) -> Result<(), TransitionError> {
        let name = step.name();
        let err = |rule| Err(TransitionError { step: name, rule });
        if self.status == CaseStatus::Closed {
            return err("the case is closed");
        }
        let first = self.steps.is_empty();
        let broken = match step {
            StepAction::Detect => {
                (!first).then_some("a case is opened by one detection; record further sightings as monitor")
            }
            _ if first => Some("a case starts with a detect step"),
            StepAction::Monitor | StepAction::Intercept => {
                self.has("board").then_some("the vessel has already been boarded")
            }
            StepAction::Board { .. } => {
                (!self.has("intercept")).then_some("a vessel is intercepted before it is boarded")
            }
            StepAction::Search => (!self.has("board")).then_some("a vessel is searched only after a lawful boarding"),
            StepAction::Seize { .. } => (!self.has("search")).then_some("seizure follows a search"),
            StepAction::Detain { .. } => {
                (!self.has("board")).then_some("persons are detained only after a lawful boarding")
            }
            StepAction::HandOver { .. } => (!self.has("detain") && !self.has("seize"))
                .then_some("a hand-over needs detained persons or seized evidence"),
            StepAction::Release { .. } => {
                (!self.has("board")).then_some("only a boarded vessel or detained persons are released")
            }
            StepAction::Close { .. } => None,
        };
        match broken {
            Some(rule) => err(rule),
            None => Ok(()),
        }
    }
}

impl CaseStep {
    /// Checks the step's own fields.
    ///
    /// # Errors
    /// The first field that is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        Position::new(self.position.lat, self.position.lon)?;
        check_text("unit", Some(&self.unit), 200)?;
        if self.relied_on.len() > MAX_CITED_REPORTS {
            return Err(Error::invalid("relied_on", self.relied_on.len(), "cites more than 1000 reports"));
        }
        self.action.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn case() -> Case {
        Case {
            id: CaseId::generate(1, [0; 10]),
            lead: "USA-USCG".parse().unwrap(),
            participants: ["USA-USCG".parse().unwrap()].into(),
            track: None,
            vessel: VesselDescriptors::default(),
            status: CaseStatus::Open,
            opened_at: datetime!(2026-11-20 3:00 UTC),
            steps: Vec::new(),
        }
    }

    fn step(action: StepAction) -> CaseStep {
        CaseStep {
            action,
            at: datetime!(2026-11-20 4:00 UTC),
            position: Position { lat: 17.9, lon: -65.5 },
            unit: "USCGC Joseph Tezanos".into(),
            relied_on: Vec::new(),
            recorded_by: "watch@uscg".parse().unwrap(),
        }
    }

    fn consent() -> StepAction {
        StepAction::Board {
            legal_basis: LegalBasis::FlagStateConsent {
                flag_state: "VE".parse().unwrap(),
                reference: "MSG 2026-311".into(),
                granted_at: datetime!(2026-11-20 3:30 UTC),
            },
        }
    }

    fn apply(c: &mut Case, a: StepAction) -> Result<(), TransitionError> {
        c.check_transition(&a)?;
        if matches!(a, StepAction::Close { .. }) {
            c.status = CaseStatus::Closed;
        }
        c.steps.push(step(a));
        Ok(())
    }

    #[test]
    fn the_full_interdiction_is_allowed() {
        let mut c = case();
        for a in [
            StepAction::Detect,
            StepAction::Monitor,
            StepAction::Intercept,
            consent(),
            StepAction::Search,
            StepAction::Seize { substance: "cocaine".into(), quantity_kg: 850.0, packages: 34 },
            StepAction::Detain {
                persons: 4,
                nationalities: ["VE".parse().unwrap(), "CO".parse().unwrap()].into(),
                rights_told_at: datetime!(2026-11-20 5:00 UTC),
            },
            StepAction::HandOver { jurisdiction: "D. Puerto Rico".into(), handed_at: datetime!(2026-11-22 5:00 UTC) },
            StepAction::Close { outcome: "handed over for prosecution".into() },
        ] {
            apply(&mut c, a).unwrap();
        }
        assert_eq!(apply(&mut c, StepAction::Monitor).unwrap_err().rule, "the case is closed");
    }

    #[test]
    fn each_rule_refuses_out_of_order_steps() {
        let mut c = case();
        assert_eq!(c.check_transition(&StepAction::Monitor).unwrap_err().rule, "a case starts with a detect step");
        apply(&mut c, StepAction::Detect).unwrap();
        assert!(c.check_transition(&StepAction::Detect).is_err());
        assert_eq!(c.check_transition(&consent()).unwrap_err().rule, "a vessel is intercepted before it is boarded");
        assert!(c.check_transition(&StepAction::Search).is_err());
        assert!(
            c.check_transition(&StepAction::Detain {
                persons: 1,
                nationalities: BTreeSet::new(),
                rights_told_at: c.opened_at
            })
            .is_err()
        );
        assert!(c.check_transition(&StepAction::Release { reason: "x".into() }).is_err());
        apply(&mut c, StepAction::Intercept).unwrap();
        apply(&mut c, consent()).unwrap();
        assert!(
            c.check_transition(&StepAction::Seize { substance: "c".into(), quantity_kg: 1.0, packages: 1 }).is_err()
        );
        assert!(
            c.check_transition(&StepAction::HandOver { jurisdiction: "x".into(), handed_at: c.opened_at }).is_err()
        );
        assert!(c.check_transition(&StepAction::Monitor).is_err());
    }

    #[test]
    fn boarding_needs_a_well_formed_legal_basis() {
        // A board step cannot be written without a legal basis: the JSON form requires it.
        let no_basis: Result<StepAction, _> = serde_json::from_str(r#"{"kind":"board"}"#);
        assert!(no_basis.is_err());
        let blank = StepAction::Board { legal_basis: LegalBasis::Agreement { name: " ".into() } };
        assert_eq!(step(blank).validate().unwrap_err().field(), Some("legal_basis.name"));
        let stateless: StepAction = serde_json::from_str(
            r#"{"kind":"board","legal_basis":{"kind":"statelessness","grounds":"master claimed no nationality"}}"#,
        )
        .unwrap();
        assert!(step(stateless).validate().is_ok());
        let bad_seize = StepAction::Seize { substance: "cocaine".into(), quantity_kg: -1.0, packages: 1 };
        assert_eq!(step(bad_seize).validate().unwrap_err().field(), Some("quantity_kg"));
    }
}
