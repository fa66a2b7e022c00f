//! A view's tracks as clients see them: pages of tracks (the map), one track
//! with its lineage (the side panel), and how a track is written out, which
//! the exports share. Each is fused only from what the view key may use and
//! audited before it is returned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::sync::PoisonError;

use bytes::Bytes;
use caveat_core::{BoundingBox, Flag, Imo, Marking, Mmsi, PartnerId, Position, ReportId, User, VesselType, ViewKey};
use caveat_fusion::{Track, TrackStatus};
use caveat_policy::Action;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::views::{Render, Serve, Source, ViewSnapshot, lineage_by_originator};
use crate::{Error, Hub};

/// Trail points returned per track in lists unless the query says (`trail`).
pub(crate) const TRAIL_POINTS: usize = 30;

/// Most trail points per track a list may ask for.
pub(crate) const MAX_TRAIL_POINTS: usize = 200;

/// Tracks on a page unless the query says (`limit`).
pub(crate) const DEFAULT_PAGE: usize = 500;

/// Which tracks of a view, and how much of each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackQuery {
    /// Only tracks whose position is inside.
    pub bbox: Option<BoundingBox>,
    /// Most tracks (clamped to 1..=[`crate::Limits::max_page`]).
    pub limit: Option<usize>,
    /// Tracks after this id (the previous page's `next_cursor`).
    pub cursor: Option<String>,
    /// Trail points per track (at most [`MAX_TRAIL_POINTS`]).
    pub trail: Option<usize>,
    /// Whether the page is wanted gzip-compressed.
    pub gzip: bool,
}

/// A page of tracks, JSON (`{"tracks": [...], "next_cursor": ...}`), gzip-compressed when asked.
#[derive(Debug, Clone)]
pub struct TrackPage {
    /// The body.
    pub body: Bytes,
    /// Whether `body` is gzip-compressed.
    pub gzip: bool,
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
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

/// A track as clients see it (lists, the track endpoint, GeoJSON properties).
#[derive(Serialize)]
pub(crate) struct TrackOut<'a> {
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
    pub(crate) fn new(t: &'a Track, sources: &'a HashMap<ReportId, Source>, trail: usize) -> Self {
        let skip = t.trail.len().saturating_sub(trail);
        let id = &t.identity;
        TrackOut {
            id: t.id.to_string(),
            status: match t.status {
                TrackStatus::Confirmed => "confirmed",
                TrackStatus::Tentative => "tentative",
            },
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
            marking: Marking::combine(t.lineage.iter().filter_map(|id| sources.get(id)).map(|s| &s.marking)),
        }
    }
}

/// A track as a JSON value, with its whole trail.
pub(crate) fn track_json(t: &Track, sources: &HashMap<ReportId, Source>) -> Result<Value, Error> {
    serde_json::to_value(TrackOut::new(t, sources, usize::MAX)).map_err(|e| Error::internal("encoding a track", &e))
}

#[derive(Serialize)]
struct PageOut<'a> {
    tracks: Vec<TrackOut<'a>>,
    next_cursor: Option<String>,
}

impl Hub {
    /// The caller's view now, not yet audited, and the time it was taken at.
    async fn current(&self, user: &User, key: &ViewKey) -> Result<(ViewSnapshot, OffsetDateTime), Error> {
        let case = self.case_facts(key).await?;
        let now = OffsetDateTime::now_utc();
        Ok((self.views.view(&self.access, user, key, case, now).await?, now))
    }

    /// The version of the content of `key`'s view now: it changes only when
    /// the view's tracks do, so a live stream can tell its client "changed"
    /// without saying anything of what the view may not see. Not audited:
    /// nothing of the view leaves but that number, and the client's next
    /// read is decided and audited as usual.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store fails.
    pub async fn view_content(&self, user: &User, key: &ViewKey) -> Result<u64, Error> {
        Ok(self.current(user, key).await?.0.content)
    }

    /// A page of the tracks of `key`'s view.
    ///
    /// A page is rendered once per view version and query and shared by every
    /// request for it. Compressed pages are about a tenth of the size (a track
    /// with its trail is about 2 KB of JSON), so they are compressed once too.
    /// The decisions behind exactly what is returned are audited first.
    ///
    /// # Errors
    /// The view names a case its partner is not in; the store or the audit log fails.
    pub async fn track_page(&self, user: &User, key: &ViewKey, q: TrackQuery) -> Result<TrackPage, Error> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, self.limits.max_page);
        let trail = q.trail.unwrap_or(TRAIL_POINTS).min(MAX_TRAIL_POINTS);
        let (snap, now) = self.current(user, key).await?;
        let TrackQuery { bbox, cursor, gzip, .. } = q;
        let query_key = format!("{bbox:?}|{limit}|{trail}|{cursor:?}|{key:?}|{gzip}");
        let (tracks, sources) = (snap.tracks.clone(), snap.sources.clone());
        let render: Render = Box::new(move || {
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
            let json = serde_json::to_vec(&PageOut { tracks: body, next_cursor: next })
                .map_err(|e| Error::internal("encoding tracks", &e))?;
            if !gzip {
                return Ok(Bytes::from(json));
            }
            let mut z =
                flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 8), flate2::Compression::default());
            z.write_all(&json)
                .and_then(|()| z.finish())
                .map(Bytes::from)
                .map_err(|e| Error::internal("compressing tracks", &e))
        });
        let (uses, body) = match self.views.serve(&snap, query_key, render) {
            Serve::Now(cell, render) => (snap.uses, cell.get_or_try_init(|| async { render() }).await?.clone()),
            Serve::Earlier(uses, body) => (uses, body),
        };
        self.audit.append(self.access.entries(user, key, Action::Fuse, uses, now).await?).await?;
        Ok(TrackPage { body, gzip })
    }

    /// One track of `key`'s view with its whole trail and lineage (which
    /// reports, by originator), or [`Error::NotFound`]; audited either way.
    ///
    /// # Errors
    /// Not in the view; the view names a case its partner is not in; the store or the audit log fails.
    pub async fn track(&self, user: &User, key: &ViewKey, id: &str) -> Result<Value, Error> {
        let (snap, now) = self.current(user, key).await?;
        self.audit.append(self.access.entries(user, key, Action::Fuse, snap.uses.clone(), now).await?).await?;
        let track = snap.tracks.iter().find(|t| t.id.to_string() == id).ok_or(Error::NotFound)?;
        let sources = snap.sources.read().unwrap_or_else(PoisonError::into_inner);
        let mut body = track_json(track, &sources)?;
        let lineage: Vec<Value> = track
            .lineage
            .iter()
            .filter_map(|rid| {
                sources.get(rid).map(|s| {
                    json!({"report_id": rid.to_string(), "originator": s.originator, "source": s.kind, "observed_at": rfc3339(s.observed_at)})
                })
            })
            .collect();
        let by_partner: BTreeMap<String, usize> =
            lineage_by_originator(track, &sources).into_iter().map(|(p, ids)| (p.to_string(), ids.len())).collect();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("lineage".into(), Value::Array(lineage));
            obj.insert("lineage_by_originator".into(), json!(by_partner));
        }
        Ok(body)
    }
}
