//! Interdiction cases: open one, add steps, show one to its participants,
//! list a partner's. Each step cites the reports it relied on; citing is a
//! policy decision (`cite`, purpose interdiction, this case), and a report
//! the partner may not use for this case cannot be cited.

use std::collections::{BTreeMap, BTreeSet};

use caveat_audit::{AuditEntry, CaseStep as CaseStepEntry, CaseStepKind, OriginatorUse};
use caveat_core::{
    Case, CaseId, CaseStatus, CaseStep, PartnerId, Position, Purpose, Report, ReportId, SourceKind, StepAction, User,
    VesselDescriptors, ViewKey,
};
use caveat_policy::{Action, CaseFacts};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::access::{DecisionGroups, group_decisions, uses_of};
use crate::federation::group_released;
use crate::tracks::rfc3339;
use crate::{Error, Hub};

/// What policy decides on about a case.
pub fn facts_of(case: &Case) -> CaseFacts {
    CaseFacts {
        id: case.id,
        open: case.status == CaseStatus::Open,
        lead: case.lead.clone(),
        participants: case.participants.clone(),
    }
}

/// A step as submitted: what was done, when, where, by which unit, relying on which reports.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStep {
    /// What was done.
    pub action: StepAction,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Where.
    pub position: Position,
    /// The unit that did it.
    pub unit: String,
    /// The reports it relied on (each cited: a policy decision).
    #[serde(default)]
    pub relied_on: Vec<ReportId>,
}

/// A case as opened: the caller's partner leads.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// Other partners taking part.
    #[serde(default)]
    pub participants: BTreeSet<PartnerId>,
    /// The lead's track of the vessel.
    #[serde(default)]
    pub track: Option<String>,
    /// What is known of the vessel.
    #[serde(default)]
    pub vessel: VesselDescriptors,
    /// The detection that opens the case.
    pub detect: NewStep,
}

/// A case as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseSummary {
    /// Its id.
    pub id: CaseId,
    /// The leading partner.
    pub lead: PartnerId,
    /// Every partner taking part (the lead too).
    pub participants: BTreeSet<PartnerId>,
    /// Open or closed.
    pub status: CaseStatus,
    /// Its steps' names, in order.
    pub steps: Vec<&'static str>,
}

/// A case as its participants see it (`/v1/cases/{id}`): the case with its
/// steps, and what each cited report may still show.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// Every report its steps cite, by id.
    pub citations: BTreeMap<ReportId, Citation>,
}

/// A cited report as a participant may see it now.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "status")]
pub enum Citation {
    /// The caller may still use it: where and when it placed the vessel, and whose it is.
    #[serde(rename = "available")]
    Available {
        /// Its originator.
        originator: PartnerId,
        /// How it was observed.
        source: SourceKind,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        observed_at: OffsetDateTime,
        /// Where.
        position: Position,
    },
    /// Its originator no longer lets the caller use it (suspended, expired): nothing of it is shown.
    #[serde(rename = "withheld by its originator")]
    Withheld,
}

/// The audit form of a step's action. Exhaustive: a new action must say how it is audited.
fn kind(action: &StepAction) -> CaseStepKind {
    match action {
        StepAction::Detect => CaseStepKind::Detect,
        StepAction::Monitor => CaseStepKind::Monitor,
        StepAction::Intercept => CaseStepKind::Intercept,
        StepAction::Board { .. } => CaseStepKind::Board,
        StepAction::Search => CaseStepKind::Search,
        StepAction::Seize { .. } => CaseStepKind::Seize,
        StepAction::Detain { .. } => CaseStepKind::Detain,
        StepAction::HandOver { .. } => CaseStepKind::HandOver,
        StepAction::Release { .. } => CaseStepKind::Release,
        StepAction::Close { .. } => CaseStepKind::Close,
    }
}

fn step_of(body: NewStep, user: &User, now: OffsetDateTime) -> Result<CaseStep, Error> {
    let step = CaseStep {
        action: body.action,
        at: body.at,
        position: body.position,
        unit: body.unit,
        relied_on: body.relied_on,
        recorded_by: user.id.clone(),
    };
    step.validate().map_err(|e| Error::BadRequest(format!("body: {e}")))?;
    // A step records what was done: not in the future (beyond clock skew), not before 2000.
    if step.at > now + caveat_core::DEFAULT_FUTURE_SKEW || step.at.year() < 2000 {
        return Err(Error::BadRequest(format!(
            "field `at`: {} is in the future or before 2000; a step records what was done",
            rfc3339(step.at)
        )));
    }
    Ok(step)
}

impl Hub {
    /// The facts of the case a view key names, if any. A case the key's
    /// partner does not take part in answers exactly like one that does not exist.
    ///
    /// # Errors
    /// [`Error::UnknownCase`]; the store fails.
    pub async fn case_facts(&self, key: &ViewKey) -> Result<Option<CaseFacts>, Error> {
        let Some(id) = key.case else { return Ok(None) };
        let case = self.store.case(id).await?.filter(|c| c.includes(&key.partner)).ok_or(Error::UnknownCase)?;
        Ok(Some(facts_of(&case)))
    }

    /// Decides `cite` for every report a step relies on, audits the decisions
    /// with the step, and fails unless all are permitted.
    ///
    /// Unknown ids and reports the partner may not cite fail alike, and the error
    /// names every cited id that is either, in the order given: which of them
    /// exist is not told. The step's audit record is one entry per originator
    /// (an originator's usage report holds only its own report ids), padded like
    /// every request's entries so their number says nothing either.
    async fn cite(&self, user: &User, case: &Case, step: &CaseStep, now: OffsetDateTime) -> Result<(), Error> {
        let key = ViewKey::new(user.partner.clone(), Purpose::Interdiction, Some(case.id));
        let facts = facts_of(case);
        let mut reports: Vec<Report> = Vec::new();
        let mut missing: Vec<ReportId> = Vec::new();
        for id in &step.relied_on {
            match self.store.report(*id).await? {
                Some((s, _)) => reports.push(s.report),
                None => missing.push(*id),
            }
        }
        // A report not posted to the hub may be cited only if a node released
        // it for this very case and its lease runs: the step's audit entry then
        // cites that receipt (issue 17). The case keeps the id only, never a copy.
        let (released, receipts) = self.released_among(&key, Some(&facts), &missing, now).await;
        let held: BTreeSet<ReportId> = released.iter().map(|r| r.id).collect();
        let unknown: BTreeSet<ReportId> = missing.into_iter().filter(|id| !held.contains(id)).collect();
        let decisions = self.access.decide(user, &key, Action::Cite, Some(facts.clone()), &reports, now).await?;
        let fed_decisions = self.access.decide(user, &key, Action::Cite, Some(facts), &released, now).await?;
        let mut groups = DecisionGroups::new();
        group_decisions(&mut groups, &reports, &decisions);
        group_released(&mut groups, &released, &receipts, &fed_decisions);
        let uses = uses_of(&groups);
        let refused: BTreeSet<ReportId> = reports
            .iter()
            .zip(decisions.iter())
            .chain(released.iter().zip(fed_decisions.iter()))
            .filter(|(_, d)| !d.is_permit())
            .map(|(r, _)| r.id)
            .collect();
        let failed: Vec<String> = step
            .relied_on
            .iter()
            .filter(|id| unknown.contains(id) || refused.contains(id))
            .map(ToString::to_string)
            .collect();
        let entries = if failed.is_empty() {
            self.step_entries(user, case, step, uses, now).await?
        } else {
            // The refused attempt is recorded too (denied uses are part of the originator's report).
            self.access.entries(user, &key, Action::Cite, uses, now).await?
        };
        self.audit.append(entries).await?;
        if failed.is_empty() {
            Ok(())
        } else {
            let (noun, verb) = if failed.len() == 1 { ("report", "is") } else { ("reports", "are") };
            Err(Error::InvalidReport(format!(
                "field `relied_on`: {noun} {} {verb} unknown or may not be cited in this case; nothing was recorded",
                failed.join(", ")
            )))
        }
    }

    /// A case step's audit entries: one per originator cited, padded with entries
    /// citing nobody to one per partner (a step citing nothing is still recorded).
    async fn step_entries(
        &self,
        user: &User,
        case: &Case,
        step: &CaseStep,
        uses: Vec<OriginatorUse>,
        now: OffsetDateTime,
    ) -> Result<Vec<AuditEntry>, Error> {
        let entry = |originators| {
            AuditEntry::CaseStep(CaseStepEntry {
                at: now,
                case: case.id,
                partner: user.partner.clone(),
                user: user.id.clone(),
                step: kind(&step.action),
                originators,
            })
        };
        self.access.padded(uses, entry).await
    }

    /// Opens a case led by `user`'s partner with its detect step; returns its id.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a first step that is not `detect`, an unknown
    /// participant or a bad step; [`Error::InvalidReport`] for a citation
    /// refused; the store or the audit log fails.
    pub async fn open_case(&self, user: &User, req: NewCase) -> Result<CaseId, Error> {
        if !matches!(req.detect.action, StepAction::Detect) {
            return Err(Error::BadRequest("field `detect.action`: a case opens with a detect step".into()));
        }
        for p in &req.participants {
            if self.store.partner(p).await?.is_none() {
                return Err(Error::BadRequest(format!("field `participants`: unknown partner {p}")));
            }
        }
        let now = OffsetDateTime::now_utc();
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let mut participants = req.participants;
        participants.insert(user.partner.clone());
        let step = step_of(req.detect, user, now)?;
        let mut case = Case {
            id: CaseId::generate(millis, rand::random()),
            lead: user.partner.clone(),
            participants,
            track: req.track,
            vessel: req.vessel,
            status: CaseStatus::Open,
            opened_at: now,
            steps: Vec::new(),
        };
        self.cite(user, &case, &step, now).await?;
        case.steps.push(step);
        self.store.create_case(&case).await?;
        self.notify_change();
        Ok(case.id)
    }

    /// Adds a step to case `id` (as text: a malformed id is not found);
    /// returns how many steps it has now.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a case `user`'s partner is not in;
    /// [`Error::Conflict`] for a step out of turn (or a concurrent one);
    /// [`Error::BadRequest`] and [`Error::InvalidReport`] as for opening.
    pub async fn add_step(&self, user: &User, id: &str, req: NewStep) -> Result<(CaseId, usize), Error> {
        let id: CaseId = id.parse().map_err(|_| Error::NotFound)?;
        let case = self.store.case(id).await?.filter(|c| c.includes(&user.partner)).ok_or(Error::NotFound)?;
        let now = OffsetDateTime::now_utc();
        let step = step_of(req, user, now)?;
        case.check_transition(&step.action).map_err(|e| Error::Conflict(e.to_string()))?;
        self.cite(user, &case, &step, now).await?;
        self.store.append_case_step(id, case.steps.len(), &step).await.map_err(|e| match e {
            caveat_store::Error::CaseConflict { message, .. } => Error::Conflict(message),
            other => other.into(),
        })?;
        self.notify_change();
        Ok((id, case.steps.len() + 1))
    }

    /// A case as its participants see it. A cited report the caller may no
    /// longer use (its originator suspended it, its marking expired) is shown by
    /// id only, marked withheld by its originator, with none of its content.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a case `user`'s partner is not in; the store or the audit log fails.
    pub async fn case(&self, user: &User, id: &str) -> Result<CaseDetail, Error> {
        let id: CaseId = id.parse().map_err(|_| Error::NotFound)?;
        let case = self.store.case(id).await?.filter(|c| c.includes(&user.partner)).ok_or(Error::NotFound)?;
        let key = ViewKey::new(user.partner.clone(), Purpose::Interdiction, Some(id));
        let facts = facts_of(&case);
        let cited: BTreeSet<ReportId> = case.steps.iter().flat_map(|s| s.relied_on.iter().copied()).collect();
        let mut reports = Vec::new();
        let mut missing = Vec::new();
        for rid in &cited {
            match self.store.report(*rid).await? {
                Some((s, _)) => reports.push(s.report),
                None => missing.push(*rid),
            }
        }
        // A cited report not posted to the hub was released by its node for
        // this case: it is shown only while a lease for the case still holds
        // it (a suspension at the node, or the lease ending, withholds it on
        // the next request), and each showing cites that receipt.
        let now = OffsetDateTime::now_utc();
        let (released, receipts) = self.released_among(&key, Some(&facts), &missing, now).await;
        let decisions = self.access.decide(user, &key, Action::Read, Some(facts.clone()), &reports, now).await?;
        let fed_decisions = self.access.decide(user, &key, Action::Read, Some(facts), &released, now).await?;
        let mut groups = DecisionGroups::new();
        group_decisions(&mut groups, &reports, &decisions);
        group_released(&mut groups, &released, &receipts, &fed_decisions);
        let entries = self.access.entries(user, &key, Action::Read, uses_of(&groups), now).await?;
        self.audit.append(entries).await?;
        let shown = |r: &Report, permitted: bool| {
            if permitted {
                Citation::Available {
                    originator: r.originator.clone(),
                    source: r.source,
                    observed_at: r.observed_at,
                    position: r.position,
                }
            } else {
                Citation::Withheld
            }
        };
        // Cited ids held nowhere now were released once (a citation of an
        // unknown id is refused) and their lease or release is gone: withheld.
        let mut citations: BTreeMap<ReportId, Citation> =
            missing.iter().map(|rid| (*rid, Citation::Withheld)).collect();
        for (r, d) in reports.iter().zip(decisions.iter()).chain(released.iter().zip(fed_decisions.iter())) {
            citations.insert(r.id, shown(r, d.is_permit()));
        }
        Ok(CaseDetail { case, citations })
    }

    /// The cases `partner` takes part in, oldest first.
    ///
    /// # Errors
    /// The store fails.
    pub async fn cases_of(&self, partner: &PartnerId) -> Result<Vec<CaseSummary>, Error> {
        let cases = self.store.cases_of(partner).await?;
        Ok(cases
            .iter()
            .map(|c| CaseSummary {
                id: c.id,
                lead: c.lead.clone(),
                participants: c.participants.clone(),
                status: c.status,
                steps: c.steps.iter().map(|s| s.action.name()).collect(),
            })
            .collect())
    }
}
