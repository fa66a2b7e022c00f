//! Interdiction cases: `POST /v1/cases`, `GET /v1/cases`, `GET /v1/cases/{id}`,
//! `POST /v1/cases/{id}/steps`. Each step cites the reports it relied on;
//! citing is a policy decision (`cite`, purpose interdiction, this case), and
//! a report the partner may not use for this case cannot be cited.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use caveat_audit::{AuditEntry, CaseStep as CaseStepEntry, CaseStepKind};
use caveat_core::{
    Case, CaseId, CaseStatus, CaseStep, PartnerId, Position, Purpose, Report, ReportId, Role, StepAction,
    VesselDescriptors, ViewKey,
};
use caveat_policy::{Action, CaseFacts};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::access::decision_uses;
use crate::auth::{Caller, View};
use crate::extract::ApiPath;
use crate::{ApiError, AppState};

const CASE_WORKERS: &[Role] = &[Role::WatchOfficer, Role::BoardingOfficer, Role::PartnerAdmin];

/// The facts of the case a view names, if any. A case the caller's partner
/// does not take part in answers exactly like one that does not exist.
pub(crate) async fn facts(state: &AppState, view: &View) -> Result<Option<CaseFacts>, ApiError> {
    let Some(id) = view.key.case else { return Ok(None) };
    let case = state.store.case(id).await?.filter(|c| c.includes(&view.key.partner)).ok_or(ApiError::UnknownCase)?;
    Ok(Some(facts_of(&case)))
}

/// What policy decides on about a case.
pub fn facts_of(case: &Case) -> CaseFacts {
    CaseFacts {
        id: case.id,
        open: case.status == CaseStatus::Open,
        lead: case.lead.clone(),
        participants: case.participants.clone(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepBody {
    action: StepAction,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    position: Position,
    unit: String,
    #[serde(default)]
    relied_on: Vec<ReportId>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenBody {
    /// Other partners taking part (the caller's partner leads).
    #[serde(default)]
    participants: BTreeSet<PartnerId>,
    /// The lead's track of the vessel.
    #[serde(default)]
    track: Option<String>,
    #[serde(default)]
    vessel: VesselDescriptors,
    /// The detection that opens the case.
    detect: StepBody,
}

fn kind(action: &StepAction) -> CaseStepKind {
    match action {
        StepAction::Monitor => CaseStepKind::Monitor,
        StepAction::Intercept => CaseStepKind::Intercept,
        StepAction::Board { .. } => CaseStepKind::Board,
        StepAction::Search => CaseStepKind::Search,
        StepAction::Seize { .. } => CaseStepKind::Seize,
        StepAction::Detain { .. } => CaseStepKind::Detain,
        StepAction::HandOver { .. } => CaseStepKind::HandOver,
        StepAction::Release { .. } => CaseStepKind::Release,
        StepAction::Close { .. } => CaseStepKind::Close,
        _ => CaseStepKind::Detect,
    }
}

/// Decides `cite` for every report a step relies on, audits the decisions
/// with the step, and fails unless all are permitted.
///
/// Unknown ids and reports the partner may not cite fail alike, and the error
/// names every cited id that is either, in the order given: which of them
/// exist is not told. The step's audit record is one entry per originator
/// (an originator's usage report holds only its own report ids), padded like
/// every request's entries so their number says nothing either.
async fn cite(
    state: &AppState,
    caller: &Caller,
    case: &Case,
    step: &CaseStep,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let key = ViewKey::new(caller.user.partner.clone(), Purpose::Interdiction, Some(case.id));
    let mut reports: Vec<Report> = Vec::new();
    let mut unknown: BTreeSet<ReportId> = BTreeSet::new();
    for id in &step.relied_on {
        match state.store.report(*id).await? {
            Some((s, _)) => reports.push(s.report),
            None => {
                unknown.insert(*id);
            }
        }
    }
    let decisions = state.access.decide(&caller.user, &key, Action::Cite, Some(facts_of(case)), &reports, now).await?;
    let uses = decision_uses(&reports, &decisions);
    let refused: BTreeSet<ReportId> =
        reports.iter().zip(decisions.iter()).filter(|(_, d)| !d.is_permit()).map(|(r, _)| r.id).collect();
    let failed: Vec<String> = step
        .relied_on
        .iter()
        .filter(|id| unknown.contains(id) || refused.contains(id))
        .map(ToString::to_string)
        .collect();
    let entries = if failed.is_empty() {
        step_entries(state, caller, case, step, uses, now).await?
    } else {
        // The refused attempt is recorded too (denied uses are part of the originator's report).
        state.access.entries(&caller.user, &key, Action::Cite, uses, now).await?
    };
    state.audit.append(entries).await?;
    if failed.is_empty() {
        Ok(())
    } else {
        let (noun, verb) = if failed.len() == 1 { ("report", "is") } else { ("reports", "are") };
        Err(ApiError::InvalidReport(format!(
            "field `relied_on`: {noun} {} {verb} unknown or may not be cited in this case; nothing was recorded",
            failed.join(", ")
        )))
    }
}

/// A case step's audit entries: one per originator cited, padded with entries
/// citing nobody to one per partner (a step citing nothing is still recorded).
async fn step_entries(
    state: &AppState,
    caller: &Caller,
    case: &Case,
    step: &CaseStep,
    uses: Vec<caveat_audit::OriginatorUse>,
    now: OffsetDateTime,
) -> Result<Vec<AuditEntry>, ApiError> {
    let entry = |originators| {
        AuditEntry::CaseStep(CaseStepEntry {
            at: now,
            case: case.id,
            partner: caller.user.partner.clone(),
            user: caller.user.id.clone(),
            step: kind(&step.action),
            originators,
        })
    };
    state.access.padded(uses, entry).await
}

fn step_of(body: StepBody, caller: &Caller) -> Result<CaseStep, ApiError> {
    let step = CaseStep {
        action: body.action,
        at: body.at,
        position: body.position,
        unit: body.unit,
        relied_on: body.relied_on,
        recorded_by: caller.user.id.clone(),
    };
    step.validate().map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    // A step records what was done: not in the future (beyond clock skew), not before 2000.
    let now = OffsetDateTime::now_utc();
    if step.at > now + caveat_core::DEFAULT_FUTURE_SKEW || step.at.year() < 2000 {
        return Err(ApiError::BadRequest(format!(
            "field `at`: {} is in the future or before 2000; a step records what was done",
            step.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        )));
    }
    Ok(step)
}

pub(crate) async fn open(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(CASE_WORKERS, "watch-officer, boarding-officer or partner-admin")?;
    let bytes = crate::reports::read_body(body, 256 * 1024).await?;
    let req: OpenBody = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    if !matches!(req.detect.action, StepAction::Detect) {
        return Err(ApiError::BadRequest("field `detect.action`: a case opens with a detect step".into()));
    }
    for p in &req.participants {
        if state.store.partner(p).await?.is_none() {
            return Err(ApiError::BadRequest(format!("field `participants`: unknown partner {p}")));
        }
    }
    let now = OffsetDateTime::now_utc();
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut participants = req.participants;
    participants.insert(caller.user.partner.clone());
    let step = step_of(req.detect, &caller)?;
    let mut case = Case {
        id: CaseId::generate(millis, rand::random()),
        lead: caller.user.partner.clone(),
        participants,
        track: req.track,
        vessel: req.vessel,
        status: CaseStatus::Open,
        opened_at: now,
        steps: Vec::new(),
    };
    cite(&state, &caller, &case, &step, now).await?;
    case.steps.push(step);
    state.store.create_case(&case).await?;
    state.notify_change();
    Ok((StatusCode::CREATED, Json(json!({ "id": case.id.to_string() }))))
}

pub(crate) async fn add_step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(CASE_WORKERS, "watch-officer, boarding-officer or partner-admin")?;
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let case = state.store.case(id).await?.filter(|c| c.includes(&caller.user.partner)).ok_or(ApiError::NotFound)?;
    let bytes = crate::reports::read_body(body, 256 * 1024).await?;
    let req: StepBody = serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let step = step_of(req, &caller)?;
    case.check_transition(&step.action).map_err(|e| ApiError::Conflict(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    cite(&state, &caller, &case, &step, now).await?;
    state.store.append_case_step(id, case.steps.len(), &step).await.map_err(|e| match e {
        caveat_store::Error::CaseConflict { message, .. } => ApiError::Conflict(message),
        other => other.into(),
    })?;
    state.notify_change();
    Ok((StatusCode::CREATED, Json(json!({ "id": id.to_string(), "steps": case.steps.len() + 1 }))))
}

/// A case as its participants see it. A cited report the caller may no
/// longer use (its originator suspended it, its marking expired) is shown by
/// id only, marked withheld by its originator, with none of its content.
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let case = state.store.case(id).await?.filter(|c| c.includes(&caller.user.partner)).ok_or(ApiError::NotFound)?;
    let key = ViewKey::new(caller.user.partner.clone(), Purpose::Interdiction, Some(id));
    let cited: Vec<ReportId> = case.steps.iter().flat_map(|s| s.relied_on.iter().copied()).collect();
    let mut reports = Vec::new();
    for rid in &cited {
        if let Some((s, _)) = state.store.report(*rid).await? {
            reports.push(s.report);
        }
    }
    let now = OffsetDateTime::now_utc();
    let decisions = state.access.decide(&caller.user, &key, Action::Read, Some(facts_of(&case)), &reports, now).await?;
    let entries =
        state.access.entries(&caller.user, &key, Action::Read, decision_uses(&reports, &decisions), now).await?;
    state.audit.append(entries).await?;
    let mut shown = serde_json::Map::new();
    for (r, d) in reports.iter().zip(decisions.iter()) {
        let v = if d.is_permit() {
            json!({ "status": "available", "originator": r.originator, "source": r.source, "observed_at": r.observed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(), "position": r.position })
        } else {
            json!({ "status": "withheld by its originator" })
        };
        shown.insert(r.id.to_string(), v);
    }
    let mut body = serde_json::to_value(&case).map_err(|e| ApiError::internal("encoding a case", &e))?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("citations".into(), Value::Object(shown));
    }
    Ok(Json(body))
}

pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let cases = state.store.cases_of(&caller.user.partner).await?;
    let out: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({ "id": c.id.to_string(), "lead": c.lead, "participants": c.participants, "status": c.status,
                    "steps": c.steps.iter().map(|s| s.action.name()).collect::<Vec<_>>() })
        })
        .collect();
    Ok(Json(json!({ "cases": out })))
}
