//! Tracks: the tracker's internal record and the value handed to callers.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use caveat_core::{PartnerId, Position, ReportId};
use time::OffsetDateTime;

use crate::identity::Identity;
use crate::kalman::{self, Estimate};
use crate::matrix::Mat4;
use crate::measurement::KNOT_M_S;

/// A track's id: the id of the report that started it.
///
/// The tracker processes reports in a fixed order (scan, then originator and
/// source, then time and id), so the same report set always starts the same
/// tracks from the same reports, and ids are stable across rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(ReportId);

impl TrackId {
    /// The report that started the track.
    pub const fn first_report(self) -> ReportId {
        self.0
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T-{}", self.0)
    }
}

/// Where a track is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrackStatus {
    /// Started, not yet seen often enough to be believed (M-of-N not reached).
    Tentative,
    /// Seen often enough.
    Confirmed,
}

/// One point of a track's history: the estimate just after a report was applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrailPoint {
    /// The report applied.
    pub report: ReportId,
    /// The report's observation time.
    pub at: OffsetDateTime,
    /// The filtered position after it.
    pub position: Position,
}

/// A track's history, one point per report applied, in time order.
///
/// It is a persistent list (newest first, sharing its older part), held by
/// the tracker and by every track handed out: a view keeps thousands of
/// tracks with hundreds of points each, and copying them into every rendered
/// track doubled a view's memory (issue 16). So reading it walks the list:
/// [`Trail::newest`] is cheap for the short trails a page shows, and
/// [`Trail::points`] collects the whole of it oldest first.
#[derive(Clone, Default)]
pub struct Trail(Option<Arc<TrailNode>>);

struct TrailNode {
    report: ReportId,
    t: i64,
    lat: f64,
    lon: f64,
    prev: Option<Arc<TrailNode>>,
}

impl TrailNode {
    fn point(&self) -> TrailPoint {
        TrailPoint { report: self.report, at: to_time(self.t), position: Position { lat: self.lat, lon: self.lon } }
    }
}

/// Heap bytes of one trail point.
pub(crate) const TRAIL_POINT_BYTES: usize = crate::memory::arc::<TrailNode>();

/// Heap bytes of an identity behind its `Arc`.
pub(crate) fn identity_bytes(id: &Identity) -> usize {
    crate::memory::arc::<Identity>()
        + crate::memory::vec(&id.mmsis)
        + id.name.as_ref().map_or(0, String::capacity)
        + id.call_sign.as_ref().map_or(0, String::capacity)
}

impl Trail {
    pub(crate) fn push(&mut self, report: ReportId, t: i64, lat: f64, lon: f64) {
        let prev = self.0.take();
        self.0 = Some(Arc::new(TrailNode { report, t, lat, lon, prev }));
    }

    fn nodes(&self) -> impl Iterator<Item = &TrailNode> {
        std::iter::successors(self.0.as_deref(), |n| n.prev.as_deref())
    }

    /// How many points (walks the list).
    pub fn len(&self) -> usize {
        self.nodes().count()
    }

    /// Whether it has no point (never, for a track).
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The newest point.
    pub fn last(&self) -> Option<TrailPoint> {
        self.0.as_deref().map(TrailNode::point)
    }

    /// The points, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = TrailPoint> + '_ {
        self.nodes().map(TrailNode::point)
    }

    /// The newest `n` points, oldest first: what a page shows.
    pub fn newest(&self, n: usize) -> Vec<TrailPoint> {
        let mut out: Vec<TrailPoint> = self.newest_first().take(n).collect();
        out.reverse();
        out
    }

    /// Every point, oldest first.
    pub fn points(&self) -> Vec<TrailPoint> {
        self.newest(usize::MAX)
    }

    /// The trail as it stood at `at`: its points observed at or before then
    /// (sharing them).
    pub fn up_to(&self, at: OffsetDateTime) -> Trail {
        let at = at.unix_timestamp_nanos();
        let mut cur = self.0.as_ref();
        while let Some(n) = cur.filter(|n| i128::from(n.t) > at) {
            cur = n.prev.as_ref();
        }
        Trail(cur.cloned())
    }

    /// Whether two trails hold the same points: nodes are compared by value
    /// until they share a tail, so trails rebuilt from the same reports compare equal.
    pub(crate) fn same(&self, other: &Trail) -> bool {
        let (mut a, mut b) = (self.0.as_ref(), other.0.as_ref());
        loop {
            match (a, b) {
                (None, None) => return true,
                (Some(x), Some(y)) => {
                    if Arc::ptr_eq(x, y) {
                        return true;
                    }
                    if (x.report, x.t) != (y.report, y.t)
                        || x.lat.to_bits() != y.lat.to_bits()
                        || x.lon.to_bits() != y.lon.to_bits()
                    {
                        return false;
                    }
                    a = x.prev.as_ref();
                    b = y.prev.as_ref();
                }
                _ => return false,
            }
        }
    }
}

impl PartialEq for Trail {
    fn eq(&self, other: &Trail) -> bool {
        self.same(other)
    }
}

impl Eq for Trail {}

impl fmt::Debug for Trail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trail").field("len", &self.len()).field("last", &self.last()).finish()
    }
}

impl Drop for Trail {
    // Iterative, so dropping a trail of a million points does not overflow the stack.
    fn drop(&mut self) {
        let mut cur = self.0.take();
        while let Some(node) = cur {
            match Arc::try_unwrap(node) {
                Ok(mut n) => cur = n.prev.take(),
                Err(_) => break,
            }
        }
    }
}

/// The exact set of report ids a track was computed from: those of its whole
/// trail (shared with it, not copied), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lineage(Trail);

impl Lineage {
    /// Whether `id` is in it (walks it).
    pub fn contains(&self, id: &ReportId) -> bool {
        self.iter().any(|r| r == id)
    }
    /// The ids, newest report applied first.
    pub fn iter(&self) -> impl Iterator<Item = &ReportId> {
        self.0.nodes().map(|n| &n.report)
    }
    /// The ids, ascending.
    pub fn sorted(&self) -> Vec<ReportId> {
        let mut ids: Vec<ReportId> = self.iter().copied().collect();
        ids.sort_unstable();
        ids
    }
    /// How many reports.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether empty (never, for a track).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A vessel's fused estimate inside one picture.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Track {
    /// Stable id (the first report's).
    pub id: TrackId,
    /// Tentative or confirmed.
    pub status: TrackStatus,
    /// Time of the estimate: the latest report applied.
    pub updated_at: OffsetDateTime,
    /// Estimated position at `updated_at`.
    pub position: Position,
    /// Estimated velocity east and north, m/s.
    pub velocity_m_s: [f64; 2],
    /// Covariance of (east m, north m, v_east m/s, v_north m/s) in the tangent plane at `position`.
    pub covariance: [[f64; 4]; 4],
    /// Course over ground, degrees true in [0, 360); `None` when nearly stopped (under 0.5 kn).
    pub course_deg: Option<f64>,
    /// Speed over ground, knots.
    pub speed_kn: f64,
    /// Fused identity.
    pub identity: Identity,
    /// History, oldest first: one point per report applied.
    pub trail: Trail,
    /// The reports it was computed from.
    pub lineage: Lineage,
    /// Originators of the reports in its lineage.
    pub originators: BTreeSet<PartnerId>,
    /// Originators whose reports took part in computing it: those in its
    /// lineage and those whose reports shared an association cluster with it,
    /// or with a track it descends from, at any scan. It records this run, not
    /// every run: suspending a partner outside the set can still change the
    /// track, when a track the partner did touch then stands elsewhere (or
    /// with a wider gate) and takes reports this one took or would have
    /// taken. Such a change always goes through reports that the two runs give
    /// to different tracks, one of them a track the partner influenced.
    pub influenced_by: BTreeSet<PartnerId>,
}

impl Track {
    /// Estimated heap bytes it holds of its own (identity, originator sets),
    /// not counting its own size nor its trail, which it shares with the
    /// picture that made it: what a caller keeping tracks adds up.
    pub fn heap_bytes(&self) -> usize {
        let id = &self.identity;
        let set = |s: &BTreeSet<PartnerId>| {
            crate::memory::btree::<PartnerId, ()>(s.len()) + s.iter().map(|p| p.as_str().len()).sum::<usize>()
        };
        // The trail and lineage are the tracker's, shared: counted there.
        crate::memory::vec(&id.mmsis)
            + id.name.as_ref().map_or(0, String::capacity)
            + id.call_sign.as_ref().map_or(0, String::capacity)
            + set(&self.originators)
            + set(&self.influenced_by)
    }

    /// The position dead-reckoned to `at` with the estimated velocity.
    pub fn position_at(&self, at: OffsetDateTime) -> Position {
        let dt = (at - self.updated_at).as_seconds_f64();
        let (lat, lon) = kalman::displace(
            self.position.lat,
            self.position.lon,
            self.velocity_m_s[0] * dt,
            self.velocity_m_s[1] * dt,
        );
        Position { lat, lon }
    }
}

/// Up to 256 originators as a bit set over a picture's partner table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PartnerBits([u64; 4]);

pub(crate) const MAX_PARTNERS: usize = 256;

impl PartnerBits {
    pub(crate) fn one(i: u16) -> Self {
        let mut b = PartnerBits::default();
        b.insert(i);
        b
    }
    pub(crate) fn insert(&mut self, i: u16) {
        let i = usize::from(i);
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }
    pub(crate) fn union(&mut self, other: &PartnerBits) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .enumerate()
            .flat_map(|(w, bits)| (0..64).filter(move |b| bits & (1u64 << b) != 0).map(move |b| w * 64 + b))
    }
}

/// The tracker's record of one track. Cloned whole into its history at every
/// step that changes it, so it holds its growing parts (trail, identity)
/// behind shared pointers.
#[derive(Debug, Clone)]
pub(crate) struct TrackCore {
    pub(crate) id: ReportId,
    pub(crate) est: Estimate,
    pub(crate) status: TrackStatus,
    pub(crate) born: i64,
    pub(crate) last_update: i64,
    pub(crate) hits: u32,
    pub(crate) identity: Arc<Identity>,
    pub(crate) trail: Trail,
    pub(crate) contributors: PartnerBits,
    pub(crate) influence: PartnerBits,
}

pub(crate) fn to_time(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl TrackCore {
    /// Whether two records are the same track in the same state, bit for bit
    /// (replay uses it to tell which tracks a late report really changed).
    pub(crate) fn same(&self, other: &TrackCore) -> bool {
        self.id == other.id
            && self.est.same(&other.est)
            && self.status == other.status
            && self.born == other.born
            && self.last_update == other.last_update
            && self.hits == other.hits
            && self.contributors == other.contributors
            && self.influence == other.influence
            && (Arc::ptr_eq(&self.identity, &other.identity) || self.identity == other.identity)
            && self.trail.same(&other.trail)
    }

    pub(crate) fn to_track(&self, partners: &[PartnerId]) -> Track {
        let names = |bits: &PartnerBits| bits.iter().filter_map(|i| partners.get(i).cloned()).collect();
        let speed = self.est.speed();
        let cov: Mat4 = self.est.cov;
        Track {
            id: TrackId(self.id),
            status: self.status,
            updated_at: to_time(self.est.t),
            position: Position { lat: self.est.lat, lon: self.est.lon },
            velocity_m_s: self.est.vel,
            covariance: cov,
            course_deg: (speed >= 0.5 * KNOT_M_S)
                .then(|| self.est.vel[0].atan2(self.est.vel[1]).to_degrees().rem_euclid(360.0)),
            speed_kn: speed / KNOT_M_S,
            identity: (*self.identity).clone(),
            trail: self.trail.clone(),
            lineage: Lineage(self.trail.clone()),
            originators: names(&self.contributors),
            influenced_by: names(&self.influence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_trails_drop_without_overflow_and_share_tails() {
        let id = ReportId::from_bytes([0; 16]);
        let mut t = Trail::default();
        for i in 0..200_000 {
            t.push(id, i, 0.0, 0.0);
        }
        let snapshot = t.clone();
        t.push(id, -1, 1.0, 1.0);
        assert_eq!(snapshot.points().len(), 200_000);
        assert_eq!(t.points().len(), 200_001);
        drop(t);
        drop(snapshot);
    }

    #[test]
    fn partner_bits() {
        let mut b = PartnerBits::one(3);
        b.union(&PartnerBits::one(200));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![3, 200]);
    }
}
