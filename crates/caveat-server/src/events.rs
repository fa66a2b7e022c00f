//! `GET /v1/events`: the behaviour events of the caller's view, detected by
//! the hub from exactly what its view key may use.

use axum::Json;
use axum::extract::State;
use caveat_hub::{EventKindName, EventList, EventQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{View, ViewHeaders};
use crate::error::ErrorBody;
use crate::extract::ApiQuery;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only these kinds, comma-separated (e.g. `encounter,dark-rendezvous`); all when absent.
    #[param(example = "ais-gap,going-dark")]
    kind: Option<String>,
    /// `true` leaves out retracted events.
    active_only: Option<bool>,
    /// Events per response: default 500, at most the hub's page limit.
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// The caller's view's behaviour events, with lineage and combined marking.
///
/// Computed only from the tracks and reports the view key may use, so a
/// suspension removes every event that rested on the suspended data on the
/// very next request. An event announced before and no longer supported by
/// late or corrected data is listed as `retracted` with the time. Audited as
/// reads of the reports the returned events rest on.
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "listEvents",
    tag = "view",
    params(ViewHeaders, EventsQuery),
    responses(
        (status = 200, description = "The events, earliest start first.", body = EventList),
        (status = 400, description = "No purpose, an unknown one, an unknown case, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    view: View,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    let mut kinds = Vec::new();
    for name in q.kind.iter().flat_map(|k| k.split(',')).map(str::trim).filter(|k| !k.is_empty()) {
        let kind: EventKindName = serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
            let mut shown = name.to_owned();
            shown.truncate(40);
            ApiError::BadRequest(format!("query `kind`: unknown event kind `{shown}`"))
        })?;
        kinds.push(kind);
    }
    let query = EventQuery { kinds, active_only: q.active_only.unwrap_or(false), limit: q.limit };
    Ok(Json(state.hub.events(&view.caller.user, &view.key, query).await?))
}
