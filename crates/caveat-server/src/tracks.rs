//! `GET /v1/tracks`, `GET /v1/tracks/{id}` and `GET /v1/export`: the caller's
//! view, fused only from what its view key may use.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::PoisonError;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use caveat_core::{BoundingBox, Flag, Imo, Marking, Mmsi, PartnerId, Position, ReportId, VesselType};
use caveat_fusion::{FusionConfig, Track, TrackStatus, fuse};
use caveat_policy::Action;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::View;
use crate::extract::{ApiPath, ApiQuery};
use crate::picture::{Serve, Source, ViewSnapshot, combined_marking, lineage_by_originator};
use crate::{ApiError, AppState};

/// Trail points returned per track in lists unless the query says (`trail`).
const TRAIL_POINTS: usize = 30;

/// Most trail points per track a list may ask for.
const MAX_TRAIL_POINTS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TracksQuery {
    bbox: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    trail: Option<usize>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Trail points are most of a page's bytes: their coordinates are given to
/// a millionth of a degree (about 0.1 m, far below any sensor's error) ...
fn micro_degrees(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// ... and their times in one fixed-width UTC form to the millisecond, so they
/// also sort as text.
fn millis_utc(t: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC).format(FORMAT).unwrap_or_default()
}

/// A track as the API shows it (lists, the track endpoint, GeoJSON properties).
#[derive(Serialize)]
struct TrackOut<'a> {
    id: String,
    status: &'static str,
    position: &'a Position,
    course_deg: Option<f64>,
    speed_kn: f64,
    updated_at: String,
    identity: IdentityOut<'a>,
    originators: &'a BTreeSet<PartnerId>,
    report_count: usize,
    trail: Vec<TrailOut<'a>>,
    marking: Option<Marking>,
}

#[derive(Serialize)]
struct IdentityOut<'a> {
    mmsi: Option<Mmsi>,
    imo: Option<Imo>,
    name: Option<&'a str>,
    call_sign: Option<&'a str>,
    flag: Option<&'a Flag>,
    vessel_type: Option<VesselType>,
    length_m: Option<f64>,
    engines: Option<u8>,
    persons_on_board: Option<u16>,
    mmsi_conflict: bool,
}

#[derive(Serialize)]
struct TrailOut<'a> {
    lat: f64,
    lon: f64,
    t: String,
    originator: Option<&'a PartnerId>,
}

impl<'a> TrackOut<'a> {
    fn new(t: &'a Track, sources: &'a HashMap<ReportId, Source>, trail: usize) -> Self {
        let skip = t.trail.len().saturating_sub(trail);
        let id = &t.identity;
        TrackOut {
            id: t.id.to_string(),
            status: if t.status == TrackStatus::Confirmed { "confirmed" } else { "tentative" },
            position: &t.position,
            course_deg: t.course_deg,
            speed_kn: t.speed_kn,
            updated_at: rfc3339(t.updated_at),
            identity: IdentityOut {
                mmsi: id.mmsi,
                imo: id.imo,
                name: id.name.as_deref(),
                call_sign: id.call_sign.as_deref(),
                flag: id.flag.as_ref(),
                vessel_type: id.vessel_type,
                length_m: id.length_m,
                engines: id.engines,
                persons_on_board: id.persons_on_board,
                mmsi_conflict: id.has_mmsi_conflict(),
            },
            originators: &t.originators,
            report_count: t.lineage.len(),
            trail: t
                .trail
                .iter()
                .skip(skip)
                .map(|p| TrailOut {
                    lat: micro_degrees(p.position.lat),
                    lon: micro_degrees(p.position.lon),
                    t: millis_utc(p.at),
                    originator: sources.get(&p.report).map(|s| &s.originator),
                })
                .collect(),
            marking: combined_marking(t.lineage.iter().filter_map(|id| sources.get(id)).map(|s| &s.marking)),
        }
    }
}

fn track_json(t: &Track, sources: &HashMap<ReportId, Source>, trail: usize) -> Result<Value, ApiError> {
    serde_json::to_value(TrackOut::new(t, sources, trail)).map_err(|e| ApiError::internal("encoding a track", &e))
}

/// The caller's view now, not yet audited, and the time it was taken at.
async fn current(state: &AppState, view: &View) -> Result<(ViewSnapshot, OffsetDateTime), ApiError> {
    let case = crate::cases::facts(state, view).await?;
    let now = OffsetDateTime::now_utc();
    Ok((state.pictures.view(&state.access, &view.caller.user, &view.key, case, now).await?, now))
}

/// The version of the caller's view's content now (changes only when its tracks do).
pub(crate) async fn content(state: &AppState, view: &View) -> Result<u64, ApiError> {
    Ok(current(state, view).await?.0.content)
}

/// The caller's view, with its decisions audited.
async fn snapshot(state: &AppState, view: &View) -> Result<ViewSnapshot, ApiError> {
    let (snap, now) = current(state, view).await?;
    let entries = state.access.entries(&view.caller.user, &view.key, Action::Fuse, snap.uses.clone(), now).await?;
    state.audit.append(entries).await?;
    Ok(snap)
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
    let limit = q.limit.unwrap_or(500).clamp(1, state.limits.max_page);
    let trail = q.trail.unwrap_or(TRAIL_POINTS).min(MAX_TRAIL_POINTS);
    let (snap, now) = current(&state, &view).await?;
    // A page is rendered once per view version and query and shared by every
    // request for it. Compressed pages are about a tenth of the size (a track
    // with its trail is about 2 KB of JSON), so they are compressed once too.
    let gzip = accepts_gzip(&headers);
    let query_key = format!("{:?}|{limit}|{trail}|{:?}|{}|{gzip}", q.bbox, q.cursor, view.key);
    let (tracks, sources, cursor) = (snap.tracks.clone(), snap.sources.clone(), q.cursor.clone());
    let render: crate::picture::Render = Box::new(move || {
        let mut tracks: Vec<&Track> =
            tracks.iter().map(|t| &**t).filter(|t| bbox.is_none_or(|b| b.contains(t.position))).collect();
        tracks.sort_by_key(|t| t.id);
        let start = match &cursor {
            Some(c) => tracks.iter().position(|t| t.id.to_string().as_str() > c.as_str()).unwrap_or(tracks.len()),
            None => 0,
        };
        let page: Vec<&Track> = tracks.iter().skip(start).take(limit).copied().collect();
        let next = if start + page.len() < tracks.len() { page.last().map(|t| t.id.to_string()) } else { None };
        let sources = sources.read().unwrap_or_else(PoisonError::into_inner);
        let body: Vec<TrackOut<'_>> = page.iter().map(|t| TrackOut::new(t, &sources, trail)).collect();
        let json = serde_json::to_vec(&TrackPage { tracks: body, next_cursor: next })
            .map_err(|e| ApiError::internal("encoding tracks", &e))?;
        if !gzip {
            return Ok(Bytes::from(json));
        }
        let mut z = flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 8), flate2::Compression::default());
        z.write_all(&json)
            .and_then(|()| z.finish())
            .map(Bytes::from)
            .map_err(|e| ApiError::internal("compressing tracks", &e))
    });
    let (uses, body) = match state.pictures.serve(&snap, query_key, render) {
        Serve::Now(cell, render) => (snap.uses, cell.get_or_try_init(|| async { render() }).await?.clone()),
        Serve::Earlier(uses, body) => (uses, body),
    };
    // The decisions behind exactly what is sent are audited before it is sent.
    state.audit.append(state.access.entries(&view.caller.user, &view.key, Action::Fuse, uses, now).await?).await?;
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
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

#[derive(Serialize)]
struct TrackPage<'a> {
    tracks: Vec<TrackOut<'a>>,
    next_cursor: Option<String>,
}

pub(crate) async fn get(
    State(state): State<AppState>,
    view: View,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let snap = snapshot(&state, &view).await?;
    let track = snap.tracks.iter().find(|t| t.id.to_string() == id).ok_or(ApiError::NotFound)?;
    let sources = snap.sources.read().unwrap_or_else(PoisonError::into_inner);
    let mut body = track_json(track, &sources, usize::MAX)?;
    let lineage: Vec<Value> = track
        .lineage
        .iter()
        .filter_map(|rid| {
            sources.get(rid).map(|s| {
                json!({"report_id": rid.to_string(), "originator": s.originator, "source": s.kind, "observed_at": rfc3339(s.observed_at)})
            })
        })
        .collect();
    let by_partner: std::collections::BTreeMap<String, usize> =
        lineage_by_originator(track, &sources).into_iter().map(|(p, ids)| (p.to_string(), ids.len())).collect();
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
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let case = crate::cases::facts(&state, &view).await?;
    let now = OffsetDateTime::now_utc();
    let (reports, uses) =
        state.pictures.permitted(&state.access, &view.caller.user, &view.key, Action::Export, case, now).await?;
    state.audit.append(state.access.entries(&view.caller.user, &view.key, Action::Export, uses, now).await?).await?;
    let marking = combined_marking(reports.iter().map(|r| &r.marking));
    // A correction names the report it corrects only where that report is in
    // the export too: otherwise the id would be one the caller may not read.
    let exported: std::collections::HashSet<ReportId> = reports.iter().map(|r| r.id).collect();
    let reports: Vec<caveat_core::Report> = reports
        .into_iter()
        .map(|mut r| {
            if r.supersedes.is_some_and(|t| !exported.contains(&t)) {
                r.supersedes = None;
            }
            r
        })
        .collect();
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
                    Ok(json!({
                        "type": "Feature",
                        "id": t.id.to_string(),
                        "geometry": { "type": "GeometryCollection", "geometries": [
                            { "type": "Point", "coordinates": [t.position.lon, t.position.lat] },
                            { "type": "LineString", "coordinates": coords },
                        ]},
                        "properties": track_json(t, &sources, usize::MAX)?,
                    }))
                })
                .collect::<Result<_, ApiError>>()?;
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
