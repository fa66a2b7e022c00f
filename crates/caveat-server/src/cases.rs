//! Cases as the API sees them: the `Caveat-Case` header resolved to the facts
//! policy decides on.

use caveat_core::CaseStatus;
use caveat_policy::CaseFacts;

use crate::auth::View;
use crate::{ApiError, AppState};

/// The facts of the case a view names, if any. A case the caller's partner
/// does not take part in answers exactly like one that does not exist.
pub(crate) async fn facts(state: &AppState, view: &View) -> Result<Option<CaseFacts>, ApiError> {
    let Some(id) = view.key.case else { return Ok(None) };
    let case = state.store.case(id).await?.filter(|c| c.includes(&view.key.partner)).ok_or(ApiError::UnknownCase)?;
    Ok(Some(CaseFacts {
        id: case.id,
        open: case.status == CaseStatus::Open,
        lead: case.lead,
        participants: case.participants,
    }))
}
