//! `GET /v1/tracks`, `GET /v1/tracks/{id}` and `GET /v1/export`: the caller's
//! view, fused only from what its view key may use.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use caveat_core::{BoundingBox, Marking, ReportId};
use caveat_fusion::{FusionConfig, Track, TrackStatus, fuse};
use caveat_policy::Action;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::access::uses_entries;
use crate::auth::View;
use crate::picture::{Source, combined_marking, lineage_by_originator};
use crate::{ApiError, AppState};

/// Trail points returned per track in lists.
const TRAIL_POINTS: usize = 30;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TracksQuery {
    bbox: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn track_json(t: &Track, sources: &HashMap<ReportId, Source>, trail: usize) -> Value {
    let markings: Vec<&Marking> = t.lineage.iter().filter_map(|id| sources.get(id)).map(|s| &s.marking).collect();
    let skip = t.trail.len().saturating_sub(trail);
    let trail: Vec<Value> = t
        .trail
        .iter()
        .skip(skip)
        .map(|p| {
            json!({
                "lat": p.position.lat, "lon": p.position.lon, "t": rfc3339(p.at),
                "originator": sources.get(&p.report).map(|s| s.originator.to_string()),
            })
        })
        .collect();
    let id = &t.identity;
    json!({
        "id": t.id.to_string(),
        "status": if t.status == TrackStatus::Confirmed { "confirmed" } else { "tentative" },
        "position": { "lat": t.position.lat, "lon": t.position.lon },
        "course_deg": t.course_deg,
        "speed_kn": t.speed_kn,
        "updated_at": rfc3339(t.updated_at),
        "identity": {
            "mmsi": id.mmsi, "imo": id.imo, "name": id.name, "call_sign": id.call_sign, "flag": id.flag,
            "vessel_type": id.vessel_type, "length_m": id.length_m, "engines": id.engines,
            "persons_on_board": id.persons_on_board, "mmsi_conflict": id.has_mmsi_conflict(),
        },
        "originators": t.originators,
        "report_count": t.lineage.len(),
        "trail": trail,
        "marking": combined_marking(markings),
    })
}

async fn snapshot(state: &AppState, view: &View) -> Result<crate::picture::ViewSnapshot, ApiError> {
    let case = crate::cases::facts(state, view).await?;
    let now = OffsetDateTime::now_utc();
    let snap = state.pictures.view(&state.access, &view.caller.user, &view.key, case, now).await?;
    state.audit.append(uses_entries(&view.caller.user, &view.key, Action::Fuse, snap.uses.clone(), now)).await?;
    Ok(snap)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    view: View,
    Query(q): Query<TracksQuery>,
) -> Result<Response, ApiError> {
    let bbox: Option<BoundingBox> = match &q.bbox {
        Some(b) => Some(b.parse().map_err(|e: caveat_core::Error| ApiError::BadRequest(format!("query `bbox`: {e}")))?),
        None => None,
    };
    let limit = q.limit.unwrap_or(500).clamp(1, state.limits.max_page);
    let snap = snapshot(&state, &view).await?;
    // The decision was audited above for this request; the bytes for this
    // snapshot and query may come from an identical earlier rendering.
    let query_key = format!("{:?}|{limit}|{:?}|{}", q.bbox, q.cursor, view.key);
    let json = [(header::CONTENT_TYPE, "application/json")];
    if let Some(body) = state.pictures.cached_response(snap.version, &query_key) {
        return Ok((json, body.to_vec()).into_response());
    }
    let mut tracks: Vec<&Track> = snap.tracks.iter().filter(|t| bbox.is_none_or(|b| b.contains(t.position))).collect();
    tracks.sort_by_key(|t| t.id);
    let start = match &q.cursor {
        Some(c) => tracks.iter().position(|t| t.id.to_string().as_str() > c.as_str()).unwrap_or(tracks.len()),
        None => 0,
    };
    let page: Vec<&&Track> = tracks.iter().skip(start).take(limit).collect();
    let next = if start + page.len() < tracks.len() { page.last().map(|t| t.id.to_string()) } else { None };
    let body: Vec<Value> = page.iter().map(|t| track_json(t, &snap.sources, TRAIL_POINTS)).collect();
    let bytes: Arc<[u8]> = serde_json::to_vec(&json!({ "tracks": body, "next_cursor": next }))
        .map_err(|e| ApiError::internal("encoding tracks", &e))?
        .into();
    state.pictures.keep_response(snap.version, query_key, bytes.clone());
    Ok((json, bytes.to_vec()).into_response())
}

pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let snap = snapshot(&state, &view).await?;
    let track = snap.tracks.iter().find(|t| t.id.to_string() == id).ok_or(ApiError::NotFound)?;
    let mut body = track_json(track, &snap.sources, usize::MAX);
    let lineage: Vec<Value> = track
        .lineage
        .iter()
        .filter_map(|rid| {
            snap.sources.get(rid).map(|s| {
                json!({"report_id": rid.to_string(), "originator": s.originator, "source": s.kind, "observed_at": rfc3339(s.observed_at)})
            })
        })
        .collect();
    let by_partner: HashMap<String, usize> =
        lineage_by_originator(track, &snap.sources).into_iter().map(|(p, ids)| (p.to_string(), ids.len())).collect();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("lineage".into(), Value::Array(lineage));
        obj.insert("lineage_by_originator".into(), json!(by_partner));
    }
    Ok(Json(body))
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Geojson,
    Kml,
    Ndjson,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    format: Format,
}

/// Exports decide `export` (not `fuse`): no-export reports are withheld and
/// the exported tracks are fused from the exportable reports alone.
pub(crate) async fn export(
    State(state): State<AppState>,
    view: View,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let case = crate::cases::facts(&state, &view).await?;
    let now = OffsetDateTime::now_utc();
    let (reports, uses) =
        state.pictures.permitted(&state.access, &view.caller.user, &view.key, Action::Export, case, now).await?;
    state.audit.append(uses_entries(&view.caller.user, &view.key, Action::Export, uses, now)).await?;
    let marking = combined_marking(reports.iter().map(|r| &r.marking));
    let marking_json = serde_json::to_string(&marking).map_err(|e| ApiError::internal("encoding a marking", &e))?;
    if q.format == Format::Ndjson {
        let mut out = String::new();
        for r in &reports {
            let line = serde_json::to_string(r).map_err(|e| ApiError::internal("encoding a report", &e))?;
            out.push_str(&line);
            out.push('\n');
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
                (header::HeaderName::from_static("caveat-marking"), marking_json),
            ],
            out,
        )
            .into_response());
    }
    let tracks = fuse(&reports, &FusionConfig::default()).map_err(|e| ApiError::internal("fusing an export", &e))?;
    let sources: HashMap<ReportId, Source> = reports.iter().map(|r| (r.id, Source::of(r))).collect();
    match q.format {
        Format::Geojson => {
            let features: Vec<Value> = tracks
                .iter()
                .map(|t| {
                    let mut coords: Vec<Value> =
                        t.trail.iter().map(|p| json!([p.position.lon, p.position.lat])).collect();
                    if coords.len() < 2 {
                        coords.push(json!([t.position.lon, t.position.lat]));
                    }
                    json!({
                        "type": "Feature",
                        "id": t.id.to_string(),
                        "geometry": { "type": "GeometryCollection", "geometries": [
                            { "type": "Point", "coordinates": [t.position.lon, t.position.lat] },
                            { "type": "LineString", "coordinates": coords },
                        ]},
                        "properties": track_json(t, &sources, usize::MAX),
                    })
                })
                .collect();
            let body = json!({ "type": "FeatureCollection", "caveat:marking": marking, "features": features });
            Ok((
                [
                    (header::CONTENT_TYPE, "application/geo+json".to_owned()),
                    (header::HeaderName::from_static("caveat-marking"), marking_json),
                ],
                Json(body),
            )
                .into_response())
        }
        Format::Kml | Format::Ndjson => {
            let mut kml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document>\n<name>Caveat export</name>\n",
            );
            let _infallible = writeln!(
                kml,
                "<ExtendedData><Data name=\"caveat:marking\"><value>{}</value></Data></ExtendedData>",
                xml_escape(&marking_json)
            );
            for t in &tracks {
                let coords: Vec<String> =
                    t.trail.iter().map(|p| format!("{},{}", p.position.lon, p.position.lat)).collect();
                let name = t.identity.name.clone().unwrap_or_else(|| t.id.to_string());
                let _infallible = writeln!(
                    kml,
                    "<Placemark><name>{}</name><description>{} reports from {}</description><MultiGeometry><Point><coordinates>{},{}</coordinates></Point><LineString><coordinates>{}</coordinates></LineString></MultiGeometry></Placemark>",
                    xml_escape(&name),
                    t.lineage.len(),
                    xml_escape(&t.originators.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
                    t.position.lon,
                    t.position.lat,
                    coords.join(" ")
                );
            }
            kml.push_str("</Document></kml>\n");
            Ok((
                [
                    (header::CONTENT_TYPE, "application/vnd.google-earth.kml+xml".to_owned()),
                    (header::HeaderName::from_static("caveat-marking"), marking_json),
                ],
                kml,
            )
                .into_response())
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
