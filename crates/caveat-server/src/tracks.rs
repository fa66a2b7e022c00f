//! `GET /v1/tracks`, `GET /v1/tracks/{id}` and `GET /v1/export`: the caller's
//! view, fused only from what its view key may use (by the hub).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use caveat_core::BoundingBox;
use caveat_hub::TrackQuery;
use caveat_hub::export::Format;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::View;
use crate::extract::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TracksQuery {
    bbox: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    trail: Option<usize>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    view: View,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<TracksQuery>,
) -> Result<Response, ApiError> {
    let bbox: Option<BoundingBox> = match &q.bbox {
        Some(b) => Some(b.parse().map_err(|e: caveat_core::Error| ApiError::BadRequest(format!("query `bbox`: {e}")))?),
        None => None,
    };
    let query = TrackQuery { bbox, limit: q.limit, cursor: q.cursor, trail: q.trail, gzip: accepts_gzip(&headers) };
    let page = state.hub.track_page(&view.caller.user, &view.key, query).await?;
    let mut response = ([(header::CONTENT_TYPE, "application/json")], page.body).into_response();
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if page.gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// Whether the client takes gzip (`Accept-Encoding`, not refused with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |c| {
            let mut parts = c.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.replace(' ', "").strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        },
    )
}

pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.hub.track(&view.caller.user, &view.key, &id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    format: Format,
}

pub(crate) async fn export(
    State(state): State<AppState>,
    view: View,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let export = state.hub.export(&view.caller.user, &view.key, q.format).await?;
    Ok((
        [
            (header::CONTENT_TYPE, export.format.media_type().to_owned()),
            (header::HeaderName::from_static("caveat-marking"), export.marking),
        ],
        export.body,
    )
        .into_response())
}
