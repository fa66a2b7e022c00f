//! The store's rules outside a batch, the same in every backend: a partner
//! must be registered, and a case is closed by its close step and grows only
//! from the history its writer read. A backend reads what a rule needs and
//! writes what it allows.

use caveat_core::{Case, CaseId, CaseStatus, CaseStep, PartnerId};

use crate::{Error, Result};

/// The error for a partner the store does not hold (`registered` is false).
pub(crate) fn check_registered(partner: &PartnerId, registered: bool) -> Result<()> {
    if registered { Ok(()) } else { Err(Error::UnknownPartner { index: 0, partner: partner.clone() }) }
}

/// Why a new case was refused by the database's constraints: its id is
/// taken or its lead is not a registered partner.
pub(crate) fn case_exists(case: CaseId) -> Error {
    Error::CaseConflict { case, message: "a case with this id exists, or its lead is unknown".into() }
}

/// Whether `partner` takes part in the case whose head (the JSON of the
/// `cases` row) is `body`. Participants live only in the body.
pub(crate) fn takes_part(body: &str, partner: &PartnerId) -> Result<bool> {
    Ok(crate::row::case(body)?.includes(partner))
}

/// Whether recording `step` closes its case.
pub(crate) fn closes(step: &CaseStep) -> bool {
    step.action.name() == "close"
}

/// A case read back with its steps: a close step among them closes it,
/// whatever the head says.
pub(crate) fn with_steps(mut case: Case, steps: Vec<CaseStep>) -> Case {
    case.steps.extend(steps);
    if case.steps.iter().any(closes) {
        case.status = CaseStatus::Closed;
    }
    case
}

/// A step is appended only to a stored case (`found`).
pub(crate) fn check_found(case: CaseId, found: bool) -> Result<()> {
    if found { Ok(()) } else { Err(Error::CaseConflict { case, message: "no such case".into() }) }
}

/// A step is appended only while the case has the `expected_steps` its
/// writer read (optimistic concurrency: two officers recording at once
/// cannot both pass the transition check against the same history).
/// `stored_steps` is how many it holds now.
pub(crate) fn check_expected_steps(case: CaseId, stored_steps: i64, expected_steps: usize) -> Result<()> {
    if usize::try_from(stored_steps).ok() == Some(expected_steps) {
        Ok(())
    } else {
        Err(Error::CaseConflict { case, message: "another step was recorded meanwhile; reload the case".into() })
    }
}

/// A rule write finds the rule at `stored` (none: gone) where its writer read `expected`.
pub(crate) fn check_rule_version(rule: crate::RuleId, stored: Option<i64>, expected: u64) -> Result<()> {
    match stored {
        None => Err(Error::RuleConflict { rule, message: "no such rule".into() }),
        Some(v) if u64::try_from(v).ok() == Some(expected) => Ok(()),
        Some(_) => Err(Error::RuleConflict { rule, message: "changed meanwhile; reload the rule".into() }),
    }
}

/// A new rule fits under its owner's limit when the owner has fewer than `limit`.
pub(crate) fn check_rule_count(count: i64, limit: usize) -> Result<()> {
    if usize::try_from(count).is_ok_and(|c| c < limit) { Ok(()) } else { Err(Error::TooManyRules { limit }) }
}

/// Why a new rule was refused by the database's constraints: its id is
/// taken or its partner is not registered.
pub(crate) fn rule_exists(rule: crate::RuleId) -> Error {
    Error::RuleConflict { rule, message: "a rule with this id exists, or its partner is unknown".into() }
}

/// The owner column of a rule: the user's id, or null for the partner.
pub(crate) fn owner_column(owner: &crate::RuleOwner) -> Option<&str> {
    match owner {
        crate::RuleOwner::User(u) => Some(u.as_str()),
        crate::RuleOwner::Partner => None,
    }
}

/// A rule read back from its columns.
pub(crate) fn rule_of_row(
    id: &[u8],
    partner: &str,
    owner: Option<&str>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    body: String,
) -> Result<crate::StoredRule> {
    let corrupt = |message: String| Error::Corrupt { what: "watch rule", row: version, message };
    let id = <[u8; 16]>::try_from(id).map(crate::RuleId::from_bytes).map_err(|e| corrupt(e.to_string()))?;
    Ok(crate::StoredRule {
        id,
        partner: partner.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
        owner: match owner {
            Some(u) => crate::RuleOwner::User(u.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?),
            None => crate::RuleOwner::Partner,
        },
        version: crate::row::unsigned(version),
        created_at: crate::row::from_millis(created_at, "watch rule", version)?,
        updated_at: crate::row::from_millis(updated_at, "watch rule", version)?,
        body,
    })
}

#[cfg(test)]
mod tests {
    use caveat_core::{Position, StepAction, VesselDescriptors};
    use time::OffsetDateTime;

    use super::*;

    fn step(action: StepAction) -> CaseStep {
        CaseStep {
            action,
            at: OffsetDateTime::UNIX_EPOCH,
            position: Position { lat: 17.9, lon: -65.5 },
            unit: "HMS Medway".into(),
            relied_on: Vec::new(),
            recorded_by: "ana@gbr".parse().unwrap(),
        }
    }

    /// The head row keeps the status the case was opened with; its steps decide.
    #[test]
    fn a_close_step_closes_the_case_read_back() {
        let head = Case {
            id: CaseId::generate(1, [1; 10]),
            lead: "GBR".parse().unwrap(),
            participants: ["GBR".parse().unwrap()].into(),
            track: None,
            vessel: VesselDescriptors::default(),
            status: CaseStatus::Open,
            opened_at: OffsetDateTime::UNIX_EPOCH,
            steps: Vec::new(),
        };
        let open = with_steps(head.clone(), vec![step(StepAction::Detect)]);
        assert_eq!(open.status, CaseStatus::Open);
        let closed = with_steps(head, vec![step(StepAction::Detect), step(StepAction::Close { outcome: "x".into() })]);
        assert_eq!((closed.status, closed.steps.len()), (CaseStatus::Closed, 2));
    }

    #[test]
    fn a_step_needs_the_history_its_writer_read() {
        let id = CaseId::generate(1, [1; 10]);
        check_expected_steps(id, 2, 2).unwrap();
        let stale = check_expected_steps(id, 3, 2).unwrap_err();
        assert!(stale.to_string().ends_with("another step was recorded meanwhile; reload the case"), "{stale}");
        assert!(check_found(id, false).unwrap_err().to_string().ends_with(": no such case"));
    }
}
