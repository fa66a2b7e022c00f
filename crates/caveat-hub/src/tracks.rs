//! A view's tracks as clients see them: pages of tracks (the map), one track
//! with its lineage (the side panel), and how a track is written out, which
//! the exports share. Each is fused only from what the view key may use and
//! audited before it is returned.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::sync::PoisonError;

use bytes::Bytes;
use caveat_core::{
    BoundingBox, Flag, Imo, Marking, Mmsi, PartnerId, Position, ReportId, SourceKind, User, VesselType, ViewKey,
};
use caveat_fusion::{Track, TrackStatus};

use caveat_policy::{Action, CaseFacts};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

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
    /// The picture as it was at this time: see [`as_of`].
    pub as_of: Option<OffsetDateTime>,
    /// Whether the page is wanted gzip-compressed.
    pub gzip: bool,
}

/// A track as it stood at `at`, from its own history: its position the newest
/// trail point at or before `at`, the trail cut there, its originators those
/// of the reports up to then, its speed and course from its last two points.
/// Its identity, marking and sources stay those of the track now (never wider
/// than what the view may use now). `None` when the track had no report yet.
pub(crate) fn as_of(t: &Track, at: OffsetDateTime, sources: &HashMap<ReportId, Source>) -> Option<Track> {
    let trail = t.trail.up_to(at);
    let mut newest = trail.newest_first();
    let last = newest.next()?;
    let before = newest.next();
    drop(newest);
    let mut past = t.clone();
    past.position = last.position;
    past.updated_at = last.at;
    past.originators =
        trail.newest_first().filter_map(|p| sources.get(&p.report)).map(|s| s.originator.clone()).collect();
    past.trail = trail;
    let (speed, course) =
        before.map_or((0.0, None), |b| motion(b.position, last.position, (last.at - b.at).as_seconds_f64()));
    past.speed_kn = speed;
    past.course_deg = course;
    Some(past)
}

/// Speed (knots) and course (degrees true, `None` under half a knot) between two
/// fixes `secs` apart, on a local flat-earth approximation: fine over one step of a trail.
fn motion(from: Position, to: Position, secs: f64) -> (f64, Option<f64>) {
    const METRES_PER_DEGREE: f64 = 111_320.0;
    if secs.is_nan() || secs <= 0.0 {
        return (0.0, None);
    }
    let north = (to.lat - from.lat) * METRES_PER_DEGREE;
    let east = (to.lon - from.lon) * METRES_PER_DEGREE * f64::midpoint(from.lat, to.lat).to_radians().cos();
    let knots = (east.hypot(north) / secs) * 3600.0 / 1852.0;
    let course = (knots >= 0.5).then(|| east.atan2(north).to_degrees().rem_euclid(360.0));
    (knots, course)
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

/// Whether a track is confirmed (enough reports agree) or still tentative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TrackStatus)]
pub enum TrackState {
    /// Too few reports yet to be sure it is one vessel.
    Tentative,
    /// Confirmed by enough reports.
    Confirmed,
}

/// A fused track of the caller's view, built only from reports its view key
/// may use: in a page of `/v1/tracks`, at `/v1/tracks/{id}` (with its lineage)
/// and as the properties of a GeoJSON export's features.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Track)]
pub struct TrackBody<'a> {
    /// The track's id.
    pub id: String,
    /// Tentative or confirmed.
    pub status: TrackState,
    /// Where the vessel is estimated to be.
    pub position: Position,
    /// Course over ground, degrees true; null when unknown.
    #[schema(required)]
    pub course_deg: Option<f64>,
    /// Speed over ground, knots.
    pub speed_kn: f64,
    /// The time of the track's newest report.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// What the track's reports say of the vessel's identity.
    pub identity: Identity<'a>,
    /// The partners whose reports the track was built from.
    pub originators: Cow<'a, BTreeSet<PartnerId>>,
    /// How many reports the track was built from.
    pub report_count: usize,
    /// Past positions, oldest first: the newest `trail` of them in lists, all at `/v1/tracks/{id}`.
    pub trail: Vec<TrailPoint<'a>>,
    /// The combined marking of the track's reports (never wider than any of them); null for none.
    #[schema(required)]
    pub marking: Option<Marking>,
    /// How the track's reports were observed, each kind once: what a map symbol says of the
    /// contact (AIS, radar only, a patrol's sighting, a tip, or several fused).
    pub sources: BTreeSet<SourceKind>,
    /// Where the vessel may be: the 95 % ellipse of the position estimate; null when the
    /// estimate has no usable covariance.
    #[schema(required)]
    pub uncertainty: Option<Uncertainty>,
}

/// The 95 % confidence ellipse of a track's position, from the position block of its
/// covariance (east, north).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Uncertainty {
    /// Semi-major axis, metres.
    pub semi_major_m: f64,
    /// Semi-minor axis, metres.
    pub semi_minor_m: f64,
    /// Direction of the major axis, degrees true in [0, 180).
    pub orientation_deg: f64,
}

/// Chi-squared quantile for 95 % with two degrees of freedom: the ellipse's axes are this
/// many variances along the covariance's eigenvectors.
const CHI2_95_2D: f64 = 5.991;

/// Metres to a tenth: finer says nothing a position estimate knows.
fn decimetres(m: f64) -> f64 {
    (m * 10.0).round() / 10.0
}

impl Uncertainty {
    /// The ellipse of a covariance of (east m, north m, ...); `None` when the position
    /// block is not finite or not positive semi-definite.
    pub fn of(covariance: &[[f64; 4]; 4]) -> Option<Self> {
        let [[a, b, ..], [_, d, ..], ..] = *covariance;
        if !(a.is_finite() && b.is_finite() && d.is_finite()) || a < 0.0 || d < 0.0 {
            return None;
        }
        let mean = f64::midpoint(a, d);
        let spread = (((a - d) / 2.0).powi(2) + b * b).sqrt();
        let (major, minor) = (mean + spread, (mean - spread).max(0.0));
        // Angle of the major axis from east, counter-clockwise; true bearings run clockwise from north.
        let from_east = 0.5 * (2.0 * b).atan2(a - d);
        let orientation_deg = (90.0 - from_east.to_degrees()).rem_euclid(180.0);
        Some(Uncertainty {
            semi_major_m: decimetres((CHI2_95_2D * major).sqrt()),
            semi_minor_m: decimetres((CHI2_95_2D * minor).sqrt()),
            orientation_deg: (orientation_deg * 10.0).round() / 10.0,
        })
    }
}

/// What a track's reports say of the vessel; each field null when none says.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identity<'a> {
    /// MMSI.
    #[schema(required)]
    pub mmsi: Option<Mmsi>,
    /// IMO number.
    #[schema(required)]
    pub imo: Option<Imo>,
    /// Name.
    #[schema(required)]
    pub name: Option<Cow<'a, str>>,
    /// Radio call sign.
    #[schema(required)]
    pub call_sign: Option<Cow<'a, str>>,
    /// Flag state.
    #[schema(required)]
    pub flag: Option<Flag>,
    /// Observed vessel type.
    #[schema(required)]
    pub vessel_type: Option<VesselType>,
    /// Length overall, metres.
    #[schema(required)]
    pub length_m: Option<f64>,
    /// Engines seen.
    #[schema(required)]
    pub engines: Option<u8>,
    /// Persons on board seen.
    #[schema(required)]
    pub persons_on_board: Option<u16>,
    /// Whether the reports disagree on the MMSI (one may be spoofed).
    pub mmsi_conflict: bool,
}

/// One past position of a track.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrailPoint<'a> {
    /// Latitude, to a millionth of a degree.
    pub lat: f64,
    /// Longitude, to a millionth of a degree.
    pub lon: f64,
    /// When, UTC to the millisecond (`2026-11-20T03:14:00.000Z`).
    #[schema(format = DateTime)]
    pub t: String,
    /// The partner whose report placed it there.
    #[schema(required)]
    pub originator: Option<Cow<'a, PartnerId>>,
}

impl<'a> TrackBody<'a> {
    pub(crate) fn new(t: &'a Track, sources: &'a HashMap<ReportId, Source>, trail: usize) -> Self {
        let id = &t.identity;
        // The lineage is looked up once for both the marking and the source
        // kinds: it runs to hundreds of reports a track, on every rendering.
        let described: Vec<&Source> = t.lineage.iter().filter_map(|id| sources.get(id)).collect();
        TrackBody {
            id: t.id.to_string(),
            status: match t.status {
                TrackStatus::Confirmed => TrackState::Confirmed,
                TrackStatus::Tentative => TrackState::Tentative,
            },
            position: t.position,
            course_deg: t.course_deg,
            speed_kn: t.speed_kn,
            updated_at: t.updated_at,
            identity: Identity {
                mmsi: id.mmsi,
                imo: id.imo,
                name: id.name.as_deref().map(Cow::Borrowed),
                call_sign: id.call_sign.as_deref().map(Cow::Borrowed),
                flag: id.flag,
                vessel_type: id.vessel_type,
                length_m: id.length_m,
                engines: id.engines,
                persons_on_board: id.persons_on_board,
                mmsi_conflict: id.has_mmsi_conflict(),
            },
            originators: Cow::Borrowed(&t.originators),
            report_count: t.lineage.len(),
            trail: t
                .trail
                .newest(trail)
                .into_iter()
                .map(|p| TrailPoint {
                    lat: micro_degrees(p.position.lat),
                    lon: micro_degrees(p.position.lon),
                    t: millis_utc(p.at),
                    originator: sources.get(&p.report).map(|s| Cow::Borrowed(&s.originator)),
                })
                .collect(),
            marking: Source::combined(described.iter().copied()),
            sources: described.iter().map(|s| s.kind).collect(),
            uncertainty: Uncertainty::of(&t.covariance),
        }
    }

    /// The same track owning what it borrowed.
    fn into_owned(self) -> TrackBody<'static> {
        let i = self.identity;
        TrackBody {
            id: self.id,
            status: self.status,
            position: self.position,
            course_deg: self.course_deg,
            speed_kn: self.speed_kn,
            updated_at: self.updated_at,
            identity: Identity {
                mmsi: i.mmsi,
                imo: i.imo,
                name: i.name.map(|n| Cow::Owned(n.into_owned())),
                call_sign: i.call_sign.map(|c| Cow::Owned(c.into_owned())),
                flag: i.flag,
                vessel_type: i.vessel_type,
                length_m: i.length_m,
                engines: i.engines,
                persons_on_board: i.persons_on_board,
                mmsi_conflict: i.mmsi_conflict,
            },
            originators: Cow::Owned(self.originators.into_owned()),
            report_count: self.report_count,
            trail: self
                .trail
                .into_iter()
                .map(|p| TrailPoint {
                    lat: p.lat,
                    lon: p.lon,
                    t: p.t,
                    originator: p.originator.map(|o| Cow::Owned(o.into_owned())),
                })
                .collect(),
            marking: self.marking,
            sources: self.sources,
            uncertainty: self.uncertainty,
        }
    }
}

/// A page of tracks of the caller's view (`/v1/tracks`), by ascending id.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TrackPage)]
pub struct TrackPageBody<'a> {
    /// The page's tracks.
    pub tracks: Vec<TrackBody<'a>>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

/// One track with its whole trail and its lineage (`/v1/tracks/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackDetail {
    /// The track.
    #[serde(flatten)]
    pub track: TrackBody<'static>,
    /// The exact reports it was computed from.
    pub lineage: Vec<LineageEntry>,
    /// How many of them each originator contributed.
    pub lineage_by_originator: BTreeMap<PartnerId, usize>,
}

/// One report a track was computed from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineageEntry {
    /// The report.
    pub report_id: ReportId,
    /// Its originator.
    pub originator: PartnerId,
    /// How it was observed.
    pub source: SourceKind,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    /// The receiving station it came through (an AIS feed's tag block `s:`), when its feed named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station: Option<caveat_core::Station>,
}

impl Hub {
    /// The caller's view now, not yet audited, and the time it was taken at.
    pub(crate) async fn current(&self, user: &User, key: &ViewKey) -> Result<(ViewSnapshot, OffsetDateTime), Error> {
        let (snap, _, now) = self.current_with_case(user, key).await?;
        Ok((snap, now))
    }

    /// [`Hub::current`] with the facts of the view's case, for callers that
    /// decide again (the case is read from the store once).
    pub(crate) async fn current_with_case(
        &self,
        user: &User,
        key: &ViewKey,
    ) -> Result<(ViewSnapshot, Option<CaseFacts>, OffsetDateTime), Error> {
        let case = self.case_facts(key).await?;
        let now = OffsetDateTime::now_utc();
        Ok((self.views.view(&self.access, user, key, case.clone(), now).await?, case, now))
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
        let TrackQuery { bbox, cursor, gzip, as_of: at, .. } = q;
        let query_key = format!("{bbox:?}|{limit}|{trail}|{cursor:?}|{key:?}|{gzip}|{at:?}");
        let (tracks, sources) = (snap.tracks.clone(), snap.sources.clone());
        let render: Render = Box::new(move || {
            let past: Vec<Track> = match at {
                Some(at) => {
                    let sources = sources.read().unwrap_or_else(PoisonError::into_inner);
                    tracks.iter().filter_map(|t| as_of(t, at, &sources)).collect()
                }
                None => Vec::new(),
            };
            let all: Vec<&Track> =
                if at.is_some() { past.iter().collect() } else { tracks.iter().map(|t| &**t).collect() };
            let mut tracks: Vec<&Track> =
                all.into_iter().filter(|t| bbox.is_none_or(|b| b.contains(t.position))).collect();
            tracks.sort_by_key(|t| t.id);
            let start = match &cursor {
                Some(c) => tracks.iter().position(|t| t.id.to_string().as_str() > c.as_str()).unwrap_or(tracks.len()),
                None => 0,
            };
            let page: Vec<&Track> = tracks.iter().skip(start).take(limit).copied().collect();
            let next = if start + page.len() < tracks.len() { page.last().map(|t| t.id.to_string()) } else { None };
            let sources = sources.read().unwrap_or_else(PoisonError::into_inner);
            let body: Vec<TrackBody<'_>> = page.iter().map(|t| TrackBody::new(t, &sources, trail)).collect();
            let json = serde_json::to_vec(&TrackPageBody { tracks: body, next_cursor: next })
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
    pub async fn track(&self, user: &User, key: &ViewKey, id: &str) -> Result<TrackDetail, Error> {
        let (snap, now) = self.current(user, key).await?;
        self.audit.append(self.access.entries(user, key, Action::Fuse, snap.uses.clone(), now).await?).await?;
        let track = snap.tracks.iter().find(|t| t.id.to_string() == id).ok_or(Error::NotFound)?;
        let sources = snap.sources.read().unwrap_or_else(PoisonError::into_inner);
        let lineage = track
            .lineage
            .sorted()
            .into_iter()
            .filter_map(|rid| {
                sources.get(&rid).map(|s| LineageEntry {
                    report_id: rid,
                    originator: s.originator.clone(),
                    source: s.kind,
                    observed_at: s.observed_at,
                    station: s.station.clone(),
                })
            })
            .collect();
        let lineage_by_originator =
            lineage_by_originator(track, &sources).into_iter().map(|(p, ids)| (p, ids.len())).collect();
        Ok(TrackDetail {
            track: TrackBody::new(track, &sources, usize::MAX).into_owned(),
            lineage,
            lineage_by_originator,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp, reason = "tests")]
mod tests {
    use super::*;

    fn cov(a: f64, b: f64, d: f64) -> [[f64; 4]; 4] {
        let mut c = [[0.0; 4]; 4];
        c[0][0] = a;
        c[0][1] = b;
        c[1][0] = b;
        c[1][1] = d;
        c
    }

    #[test]
    fn an_ellipse_is_the_95_percent_contour_of_the_position_covariance() {
        // 100 m standard deviation east, 50 m north: the major axis lies east-west.
        let e = Uncertainty::of(&cov(100.0 * 100.0, 0.0, 50.0 * 50.0)).unwrap();
        assert_eq!(e.semi_major_m, decimetres(100.0 * CHI2_95_2D.sqrt()));
        assert_eq!(e.semi_minor_m, decimetres(50.0 * CHI2_95_2D.sqrt()));
        assert_eq!(e.orientation_deg, 90.0);
        // Larger north: the major axis points north.
        assert_eq!(Uncertainty::of(&cov(1.0, 0.0, 4.0)).unwrap().orientation_deg, 0.0);
        // Correlated east and north equally: the major axis runs north-east (45° true).
        let ne = Uncertainty::of(&cov(2.0, 1.0, 2.0)).unwrap();
        assert_eq!(ne.orientation_deg, 45.0);
        assert!(ne.semi_major_m > ne.semi_minor_m);
        // Negative correlation: north-west, i.e. 135° along the axis.
        assert_eq!(Uncertainty::of(&cov(2.0, -1.0, 2.0)).unwrap().orientation_deg, 135.0);
    }

    #[test]
    fn a_covariance_that_is_not_one_gives_no_ellipse() {
        assert!(Uncertainty::of(&cov(f64::NAN, 0.0, 1.0)).is_none());
        assert!(Uncertainty::of(&cov(-1.0, 0.0, 1.0)).is_none());
        assert!(Uncertainty::of(&cov(1.0, f64::INFINITY, 1.0)).is_none());
    }

    #[test]
    fn motion_between_two_fixes_gives_speed_and_true_course() {
        // One minute of latitude (1852 m) north in an hour: one knot, course north.
        let from = Position { lat: 18.0, lon: -66.0 };
        let to = Position { lat: 18.0 + 1852.0 / 111_320.0, lon: -66.0 };
        let (kn, course) = motion(from, to, 3600.0);
        assert!((kn - 1.0).abs() < 1e-9, "{kn}");
        assert!(course.unwrap().abs() < 1e-9);
        // Westward: course 270.
        let west = Position { lat: 18.0, lon: -66.1 };
        assert!((motion(from, west, 3600.0).1.unwrap() - 270.0).abs() < 1e-9);
        // No time between them, or no movement: stopped, no course.
        assert_eq!(motion(from, to, 0.0), (0.0, None));
        assert_eq!(motion(from, from, 60.0).1, None);
    }
}
