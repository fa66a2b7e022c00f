//! What the detectors read: paths (a track's positions over time) and AIS
//! observations (positions with an MMSI), and the common time grid.

use std::collections::HashMap;

use caveat_core::{Mmsi, Position, Report, ReportId, SourceKind};
use caveat_fusion::Track;
use time::OffsetDateTime;

use crate::Subject;
use crate::geo::distance_m;

/// Knots in metres per second.
pub(crate) const KNOT_M_S: f64 = 1852.0 / 3600.0;

/// One position of a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPoint {
    /// When.
    pub at: OffsetDateTime,
    /// Where (for a track, its filtered estimate just after the report).
    pub position: Position,
    /// The report behind it, if any.
    pub report: Option<ReportId>,
    /// Whether it came from the vessel's own AIS.
    pub ais: bool,
    /// The MMSI the report carried.
    pub mmsi: Option<Mmsi>,
}

/// One vessel's positions over time, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// What it is.
    pub subject: Subject,
    /// Its points, by time.
    pub points: Vec<PathPoint>,
}

impl Path {
    /// Whether any of its points came from AIS.
    pub fn has_ais(&self) -> bool {
        self.points.iter().any(|p| p.ais)
    }
}

/// An AIS position of one MMSI, whichever track (if any) holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Obs {
    pub(crate) at: OffsetDateTime,
    pub(crate) position: Position,
    pub(crate) report: Option<ReportId>,
    pub(crate) mmsi: Mmsi,
    pub(crate) subject: Option<Subject>,
}

/// Paths and AIS observations of a view: its tracks' trails, and every AIS
/// report it holds (a report no live track took still shows its MMSI was heard).
pub(crate) fn of_view(tracks: &[&Track], reports: &[&Report]) -> (Vec<Path>, Vec<Obs>) {
    let by_id: HashMap<ReportId, &Report> = reports.iter().map(|r| (r.id, *r)).collect();
    let mut holder: HashMap<ReportId, Subject> = HashMap::new();
    let mut paths = Vec::with_capacity(tracks.len());
    for t in tracks {
        let subject = Subject::Track(t.id);
        let mut points: Vec<PathPoint> = t
            .trail
            .points()
            .into_iter()
            .map(|p| {
                holder.insert(p.report, subject);
                let r = by_id.get(&p.report);
                PathPoint {
                    at: p.at,
                    position: p.position,
                    report: Some(p.report),
                    ais: r.is_some_and(|r| r.source == SourceKind::Ais),
                    mmsi: r.and_then(|r| r.vessel.mmsi),
                }
            })
            .collect();
        points.sort_by(|a, b| a.at.cmp(&b.at).then(a.report.cmp(&b.report)));
        paths.push(Path { subject, points });
    }
    let obs = reports
        .iter()
        .filter(|r| r.source == SourceKind::Ais)
        .filter_map(|r| {
            Some(Obs {
                at: r.observed_at,
                position: r.position,
                report: Some(r.id),
                mmsi: r.vessel.mmsi?,
                subject: holder.get(&r.id).copied(),
            })
        })
        .collect();
    (paths, obs)
}

/// AIS observations of plain paths (what a caller without reports gives).
pub(crate) fn of_paths(paths: &[Path]) -> Vec<Obs> {
    paths
        .iter()
        .flat_map(|p| {
            p.points.iter().filter(|q| q.ais).filter_map(|q| {
                Some(Obs { at: q.at, position: q.position, report: q.report, mmsi: q.mmsi?, subject: Some(p.subject) })
            })
        })
        .collect()
}

/// A path on the common grid: position and speed at each grid instant it spans.
pub(crate) struct Sampled {
    /// Grid index of the first sample.
    pub(crate) first: i64,
    pub(crate) samples: Vec<Option<Sample>>,
    /// The last point's time.
    pub(crate) last_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) position: Position,
    /// Knots over the speed window; `None` with too few samples around.
    pub(crate) speed_kn: Option<f64>,
}

impl Sampled {
    pub(crate) fn get(&self, k: i64) -> Option<Sample> {
        let i = usize::try_from(k - self.first).ok()?;
        self.samples.get(i).copied().flatten()
    }
    pub(crate) fn end(&self) -> i64 {
        self.first + i64::try_from(self.samples.len()).unwrap_or(0)
    }
}

/// The grid index at or after `t`.
pub(crate) fn grid_ceil(t: OffsetDateTime, step_s: i64) -> i64 {
    let s = t.unix_timestamp();
    let k = s.div_euclid(step_s);
    if k * step_s == s && t.nanosecond() == 0 { k } else { k + 1 }
}

pub(crate) fn grid_time(k: i64, step_s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(k.saturating_mul(step_s)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Samples `path` on the grid: linear interpolation between points no more
/// than `max_gap_s` apart, speeds over `window` samples each side.
#[expect(clippy::many_single_char_names, reason = "grid indices and points have their usual short names")]
pub(crate) fn sample(path: &Path, step_s: i64, max_gap_s: f64, half_window: i64) -> Option<Sampled> {
    let (first, last) = (path.points.first()?, path.points.last()?);
    let k0 = grid_ceil(first.at, step_s);
    let k1 = last.at.unix_timestamp().div_euclid(step_s);
    if k1 < k0 {
        return None;
    }
    let n = usize::try_from(k1 - k0 + 1).ok()?;
    let mut positions: Vec<Option<Position>> = Vec::with_capacity(n);
    let mut j = 0usize;
    for k in k0..=k1 {
        let t = grid_time(k, step_s);
        while path.points.get(j + 1).is_some_and(|p| p.at <= t) {
            j += 1;
        }
        let (Some(a), b) = (path.points.get(j), path.points.get(j + 1)) else {
            positions.push(None);
            continue;
        };
        let pos = match b {
            _ if a.at == t => Some(a.position),
            Some(b) => {
                let span = (b.at - a.at).as_seconds_f64();
                if span > max_gap_s || span <= 0.0 {
                    None
                } else {
                    let f = (t - a.at).as_seconds_f64() / span;
                    Some(Position {
                        lat: a.position.lat + f * (b.position.lat - a.position.lat),
                        lon: a.position.lon + f * (b.position.lon - a.position.lon),
                    })
                }
            }
            None => None,
        };
        positions.push(pos);
    }
    let samples = (0..positions.len())
        .map(|i| {
            let p = (*positions.get(i)?)?;
            let lo = i.saturating_sub(usize::try_from(half_window).unwrap_or(0));
            let hi = (i + usize::try_from(half_window).unwrap_or(0)).min(positions.len() - 1);
            // The widest span of known samples around `i` within the window.
            let a = (lo..=i).find_map(|x| positions.get(x).copied().flatten().map(|q| (x, q)));
            let b = (i..=hi).rev().find_map(|x| positions.get(x).copied().flatten().map(|q| (x, q)));
            let speed_kn = match (a, b) {
                (Some((xa, qa)), Some((xb, qb))) if xb > xa => {
                    let dt = (xb - xa) as f64 * step_s as f64;
                    Some(distance_m(qa, qb) / dt / KNOT_M_S)
                }
                _ => None,
            };
            Some(Sample { position: p, speed_kn })
        })
        .collect();
    Some(Sampled { first: k0, samples, last_at: last.at })
}

/// Runs of consecutive grid indices (ascending input), as (first, last).
pub(crate) fn runs(ks: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for k in ks {
        match out.last_mut() {
            Some((_, e)) if *e + 1 == k => *e = k,
            _ => out.push((k, k)),
        }
    }
    out
}
