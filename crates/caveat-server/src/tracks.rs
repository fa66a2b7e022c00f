//! `GET /v1/tracks`, `GET /v1/tracks/{id}` and `GET /v1/export`: the caller's
//! view, fused only from what its view key may use (by the hub).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use caveat_core::BoundingBox;
use caveat_hub::export::{Format, GeoJsonExport};
use caveat_hub::{TrackDetail, TrackPageBody, TrackQuery};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

use crate::auth::{View, ViewHeaders};
use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TracksQuery {
    /// Only tracks inside `min_lon,min_lat,max_lon,max_lat` (edges included).
    #[param(example = "-68,17,-60,19")]
    bbox: Option<String>,
    /// Tracks per page: default 500, at most the hub's page limit (5,000 by default).
    #[param(minimum = 1)]
    limit: Option<usize>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// Trail points per track, newest kept: default 30; asks above 200 get 200; 0 for none.
    #[param(minimum = 0)]
    trail: Option<usize>,
    /// The picture as it was at this time (RFC 3339), within the view's retained window (24 h by
    /// observation time): each track at its newest position then, its trail and originators up to
    /// then; tracks with no report yet are left out. Decided and audited like any read, under the view key now.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-20T03:14:00Z")]
    at: Option<String>,
}

/// The caller's view: its tracks, fused only from the reports its view key may use.
///
/// Audited as fuse decisions. Gzip-encoded when the client sends
/// `Accept-Encoding: gzip`. New reports appear within about a second (views
/// fold them in at most once a second); anything that takes data away
/// (suspension, policy change, a case closing, a marking expiring) applies to
/// the very next request.
#[utoipa::path(
    get,
    path = "/tracks",
    operation_id = "listTracks",
    tag = "view",
    params(ViewHeaders, TracksQuery),
    responses(
        (status = 200, description = "A page of tracks, by ascending id.", body = TrackPageBody<'static>),
        (status = 400, description = "No purpose, an unknown one, an unknown case, or a bad query.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
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
    let as_of = match &q.at {
        Some(t) => Some(
            OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|e| ApiError::BadRequest(format!("query `at`: {t:?} is not an RFC 3339 time ({e})")))?,
        ),
        None => None,
    };
    let query =
        TrackQuery { bbox, limit: q.limit, cursor: q.cursor, trail: q.trail, as_of, gzip: accepts_gzip(&headers) };
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

/// One track of the caller's view, with its whole trail and its lineage (the exact reports it was computed from).
#[utoipa::path(
    get,
    path = "/tracks/{id}",
    operation_id = "getTrack",
    tag = "view",
    params(("id" = String, Path, description = "The track's id."), ViewHeaders),
    responses(
        (status = 200, description = "The track.", body = TrackDetail),
        (status = 400, description = "No purpose, an unknown one, or an unknown case.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "Not in the caller's view.", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TrackDetail>, ApiError> {
    Ok(Json(state.hub.track(&view.caller.user, &view.key, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `geojson` and `kml` carry tracks (fused from the exportable reports alone), `ndjson` the reports.
    format: Format,
}

/// Export the caller's view.
///
/// Decided as `export`: no-export data is withheld, and nothing derived from it leaves.
/// The body (where the format allows) and the `Caveat-Marking` header carry the
/// combined marking of everything exported. The `Caveat-Binding` header carries the
/// export's STANAG 4774 label bound to exactly the body's bytes by a STANAG 4778
/// binding data object (`application/vnd.nato.bindingdataobject+json`, a detached
/// JWS under the hub's Ed25519 key): save it beside the file (`.bdoj`) for an
/// importing system to verify (docs/labels.md).
#[utoipa::path(
    get,
    path = "/export",
    operation_id = "export",
    tag = "view",
    params(ViewHeaders, ExportQuery),
    responses(
        (
            status = 200,
            description = "The export.",
            headers(
                ("Caveat-Marking" = String, description = "The combined marking of the export, as JSON (`null` when empty)."),
                ("Caveat-Binding" = String, description = "Base64url (no padding) of the export's binding data object (JSON, `application/vnd.nato.bindingdataobject+json`): its STANAG 4774 label and a detached JWS over the label and the body."),
                ("Caveat-Withheld" = String, description = "What the view holds that the export left out, as JSON (`Withheld`): the reports the view may fuse but not export, and how many per originator."),
            ),
            content(
                (GeoJsonExport<'static> = "application/geo+json"),
                (String = "application/vnd.google-earth.kml+xml"),
                (String = "application/x-ndjson"),
            )
        ),
        (status = 400, description = "No purpose, an unknown one, an unknown case, or a bad format.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    )
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    view: View,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let export = state.hub.export(&view.caller.user, &view.key, q.format).await?;
    let binding = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(export.binding.to_json()?);
    let withheld = export.withheld.to_json()?;
    Ok((
        [
            (header::CONTENT_TYPE, export.format.media_type().to_owned()),
            (header::HeaderName::from_static("caveat-marking"), export.marking),
            (header::HeaderName::from_static("caveat-binding"), binding),
            (header::HeaderName::from_static("caveat-withheld"), withheld),
        ],
        export.body,
    )
        .into_response())
}
