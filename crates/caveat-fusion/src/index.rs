//! Spatial indexes over the past, for localised replay: which tracks could
//! have gated with a report at some earlier step, and which reports of an
//! earlier scan a track could have gated with.
//!
//! Both are only filters. Every entry is a conservative disc (the gating
//! reach of a track estimate over a time span, or a report's own radius), a
//! query returns a superset of what the exact Mahalanobis test accepts, and
//! stale entries (a track's older estimates, a removed report) only add
//! candidates that the exact test then rejects. So the indexes never change
//! a result, only how much is compared.

use std::collections::{BTreeMap, HashMap};

use caveat_core::{ReportId, SourceKind};

use crate::gating::{Reach, slack};
use crate::kalman;
use crate::measurement::Observation;
use crate::memory;

/// Metres per degree of latitude on the sphere used by the tangent planes.
const M_PER_DEG: f64 = kalman::EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

type Cell = (i64, i64);

fn cell_of(cell_deg: f64, lat: f64, lon: f64) -> Cell {
    #[expect(clippy::cast_possible_truncation, reason = "saturating float-to-int cast of a finite, bounded position")]
    let k = |v: f64| (v / cell_deg).floor() as i64;
    (k(lat), k(lon))
}

/// The cells of size `cell_m` within `reach` metres of (lat, lon); `None`
/// when the box is unusable (poles, antimeridian, too large to enumerate).
fn cells_within(cell_m: f64, lat: f64, lon: f64, reach: f64) -> Option<impl Iterator<Item = Cell>> {
    let dlat = reach / M_PER_DEG;
    let lat_max = (lat.abs() + dlat).min(90.0);
    let cos = lat_max.to_radians().cos();
    if cos < 0.05 || reach > 50.0 * cell_m || !reach.is_finite() {
        return None;
    }
    let dlon = reach / (M_PER_DEG * cos);
    if lon - dlon < -180.0 || lon + dlon > 180.0 {
        return None;
    }
    let cell_deg = cell_m / M_PER_DEG;
    let (y0, x0) = cell_of(cell_deg, lat - dlat, lon - dlon);
    let (y1, x1) = cell_of(cell_deg, lat + dlat, lon + dlon);
    Some((y0..=y1).flat_map(move |y| (x0..=x1).map(move |x| (y, x))))
}

/// Whether (lat, lon) may lie within `r` metres of (lat0, lon0), with `cos`
/// no larger than the cosine of either latitude. Errs on the side of yes:
/// with that cosine the east-west distance is never overestimated, and the
/// slack covers rounding and the difference from the tracks' tangent planes.
fn near(lat0: f64, lon0: f64, lat: f64, lon: f64, r: f64, cos: f64) -> bool {
    let dy = (lat - lat0) * M_PER_DEG;
    let mut dlon = (lon - lon0).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    let dx = dlon * M_PER_DEG * cos;
    let r = slack(r) * 1.001 + 1.0;
    dx * dx + dy * dy <= r * r
}

/// A cosine no larger than that of any latitude within `m` metres of `lat`.
fn cos_within(lat: f64, m: f64) -> f64 {
    (lat.abs() + m / M_PER_DEG).min(90.0).to_radians().cos().max(0.0)
}

/// The cosine to use for two points.
fn cos_of(lat0: f64, lat: f64) -> f64 {
    lat0.abs().max(lat.abs()).min(90.0).to_radians().cos().max(0.0)
}

/// A track estimate's reach disc.
#[derive(Debug, Clone, Copy)]
struct Disc {
    slot: u32,
    lat: f64,
    lon: f64,
    radius: f64,
}

/// An overestimate of the distance in metres between two points a few
/// kilometres apart (the cosine of the smaller latitude stretches east-west).
fn distance_over(lat0: f64, lon0: f64, lat: f64, lon: f64) -> f64 {
    let dy = (lat - lat0) * M_PER_DEG;
    let mut dlon = (lon - lon0).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    let cos = lat0.abs().min(lat.abs()).min(90.0).to_radians().cos();
    let dx = dlon * M_PER_DEG * cos;
    (dx * dx + dy * dy).sqrt() * 1.001 + 1.0
}

/// Where a slot's disc is in its bucket.
#[derive(Debug, Clone, Copy)]
enum Loc {
    Level(usize, Cell, usize),
    Wide(usize),
}

/// Track estimates per time bucket, a disc per track covering its
/// estimates in the bucket (more when it moved far): levels of cells (a disc goes to the finest
/// level whose cell covers its radius), a list of the too-uncertain, and
/// where each track's disc is.
#[derive(Debug, Default)]
struct Bucket {
    levels: [HashMap<Cell, Vec<Disc>>; LEVELS],
    wide: Vec<Disc>,
    /// Where each track's newest disc is.
    at: HashMap<u32, Loc>,
    /// Every track live at the bucket's start has been listed.
    filled: bool,
}

impl Bucket {
    fn get(&self, loc: Loc) -> Option<Disc> {
        match loc {
            Loc::Level(l, c, i) => self.levels.get(l)?.get(&c)?.get(i).copied(),
            Loc::Wide(i) => self.wide.get(i).copied(),
        }
    }

    fn take(&mut self, loc: Loc) {
        let list = match loc {
            Loc::Level(l, c, _) => self.levels.get_mut(l).and_then(|m| m.get_mut(&c)),
            Loc::Wide(_) => Some(&mut self.wide),
        };
        let i = match loc {
            Loc::Level(_, _, i) | Loc::Wide(i) => i,
        };
        let Some(list) = list else { return };
        if i >= list.len() {
            return;
        }
        list.swap_remove(i);
        if let Some(moved) = list.get(i) {
            let moved_loc = match loc {
                Loc::Level(l, c, _) => Loc::Level(l, c, i),
                Loc::Wide(_) => Loc::Wide(i),
            };
            self.at.insert(moved.slot, moved_loc);
        }
    }
}

/// How much a track's disc may widen, metres, to cover a new estimate instead
/// of listing the track again.
const MERGE_SLACK_M: f64 = 50.0;

/// Levels of the track index, each cell four times the previous.
const LEVELS: usize = 3;

/// Track slots by time bucket and place.
#[derive(Debug)]
pub(crate) struct TrackIndex {
    cell_m: f64,
    bucket_ns: i64,
    buckets: BTreeMap<i64, Bucket>,
}

impl TrackIndex {
    pub(crate) fn new(cell_m: f64, bucket_ns: i64) -> Self {
        let cell_m = if cell_m.is_finite() && cell_m > 100.0 { cell_m } else { 5_000.0 };
        TrackIndex { cell_m, bucket_ns: bucket_ns.max(1), buckets: BTreeMap::new() }
    }

    pub(crate) fn bucket_of(&self, t: i64) -> i64 {
        t.div_euclid(self.bucket_ns)
    }

    /// First and one-past-last nanosecond of a bucket.
    pub(crate) fn bounds(&self, bucket: i64) -> (i64, i64) {
        let start = bucket.saturating_mul(self.bucket_ns);
        (start, start.saturating_add(self.bucket_ns))
    }

    fn level_cell(&self, level: usize) -> f64 {
        self.cell_m * [1.0, 4.0, 16.0].get(level).copied().unwrap_or(f64::INFINITY)
    }

    /// Lists `slot` in `bucket` with gating reach `r`, widening its disc there if it has one.
    pub(crate) fn insert(&mut self, bucket: i64, slot: u32, reach: &Reach) {
        let sizes: [f64; LEVELS] = [self.level_cell(0), self.level_cell(1), self.level_cell(2)];
        let entry = self.buckets.entry(bucket).or_default();
        let old = entry.at.get(&slot).copied().and_then(|loc| entry.get(loc).map(|prev| (loc, prev)));
        let fresh = Disc { slot, lat: reach.lat, lon: reach.lon, radius: reach.radius };
        let disc = match old {
            Some((loc, prev)) => {
                let radius = prev.radius.max(distance_over(prev.lat, prev.lon, reach.lat, reach.lon) + reach.radius);
                if radius <= prev.radius {
                    return;
                }
                // Widen the disc a little rather than list the track twice, but
                // not much: a wide disc makes every look-up near it gate more.
                if radius <= prev.radius.max(reach.radius) + MERGE_SLACK_M {
                    entry.take(loc);
                    Disc { radius, ..prev }
                } else {
                    fresh
                }
            }
            None => fresh,
        };
        let radius = slack(disc.radius);
        let level = sizes.iter().position(|&size| radius <= size);
        let placed = level.and_then(|level| {
            let size = sizes.get(level)?;
            let cell = cell_of(size / M_PER_DEG, disc.lat, disc.lon);
            let list = entry.levels.get_mut(level)?.entry(cell).or_default();
            list.push(disc);
            Some(Loc::Level(level, cell, list.len() - 1))
        });
        let loc = placed.unwrap_or_else(|| {
            entry.wide.push(disc);
            Loc::Wide(entry.wide.len() - 1)
        });
        entry.at.insert(slot, loc);
    }

    /// Every slot that could gate with `o` at a time in `bucket` (sorted, no repeats).
    pub(crate) fn candidates(&self, bucket: i64, o: &Observation, own: f64, out: &mut Vec<u32>) {
        out.clear();
        let Some(b) = self.buckets.get(&bucket) else { return };
        // A disc listed in a cell within the search box has its centre within
        // a cell of the box, so one cosine serves the whole level.
        let mut take = |d: &Disc, cos: f64| {
            if near(d.lat, d.lon, o.lat, o.lon, d.radius + own, cos) {
                out.push(d.slot);
            }
        };
        let mut found = o.time_sigma_s == 0.0;
        for (l, cells) in b.levels.iter().enumerate() {
            if !found {
                break;
            }
            let cell_m = self.level_cell(l);
            match cells_within(cell_m, o.lat, o.lon, slack(own + cell_m)) {
                Some(it) => {
                    let cos = cos_within(o.lat, slack(own + cell_m) + 2.0 * cell_m);
                    for c in it {
                        for d in cells.get(&c).into_iter().flatten() {
                            take(d, cos);
                        }
                    }
                }
                None => found = false,
            }
        }
        if found {
            for d in &b.wide {
                take(d, cos_of(d.lat, o.lat));
            }
        } else {
            out.clear();
            out.extend(b.at.keys().copied());
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Whether every track live at the start of `bucket` has been listed in it.
    pub(crate) fn filled(&self, bucket: i64) -> bool {
        self.buckets.get(&bucket).is_some_and(|b| b.filled)
    }

    pub(crate) fn set_filled(&mut self, bucket: i64) {
        self.buckets.entry(bucket).or_default().filled = true;
    }

    /// The filled buckets after `after` (all if `None`) and before `before`.
    pub(crate) fn filled_between(&self, after: Option<i64>, before: i64) -> Vec<i64> {
        let lo = after.map_or(i64::MIN, |a| a.saturating_add(1));
        if lo >= before {
            return Vec::new();
        }
        self.buckets.range(lo..before).filter(|(_, b)| b.filled).map(|(&k, _)| k).collect()
    }

    /// The tracks listed in the nearest filled bucket before `bucket`: a
    /// superset of those live at its start when no step happened in between.
    pub(crate) fn members_before(&self, bucket: i64) -> Option<Vec<u32>> {
        self.buckets.range(..bucket).rev().find(|(_, b)| b.filled).map(|(_, b)| b.at.keys().copied().collect())
    }

    /// Forgets buckets before `bucket`.
    pub(crate) fn prune_before(&mut self, bucket: i64) {
        self.buckets = self.buckets.split_off(&bucket);
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let buckets: usize = self
            .buckets
            .values()
            .map(|b| {
                let levels: usize =
                    b.levels.iter().map(|l| memory::hash_map(l) + l.values().map(memory::vec).sum::<usize>()).sum();
                levels + memory::vec(&b.wide) + memory::hash_map(&b.at)
            })
            .sum();
        memory::btree_map(&self.buckets) + buckets
    }
}

/// One report as the index keeps it: enough to rule it out without a look-up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) key: (i64, ReportId),
    pub(crate) originator: u16,
    pub(crate) source: SourceKind,
    lat: f64,
    lon: f64,
    own: f64,
    /// Gates with anything, whatever the distance (time-uncertain).
    anywhere: bool,
}

/// Reports per scan: small ones by the cell of their position, the rest
/// (time-uncertain, or with a radius past one cell) in a list per scan.
#[derive(Debug)]
pub(crate) struct ReportIndex {
    cell_m: f64,
    scans: BTreeMap<i64, ScanReports>,
}

#[derive(Debug, Default)]
struct ScanReports {
    cells: HashMap<Cell, Vec<Entry>>,
    wide: Vec<Entry>,
}

impl ReportIndex {
    pub(crate) fn new(cell_m: f64) -> Self {
        let cell_m = if cell_m.is_finite() && cell_m > 100.0 { cell_m } else { 5_000.0 };
        ReportIndex { cell_m, scans: BTreeMap::new() }
    }

    pub(crate) fn insert(&mut self, scan: i64, o: &Observation, own: f64) {
        let s = self.scans.entry(scan).or_default();
        let anywhere = o.time_sigma_s > 0.0;
        let e = Entry {
            key: (o.t, o.id),
            originator: o.originator,
            source: o.source,
            lat: o.lat,
            lon: o.lon,
            own,
            anywhere,
        };
        if !anywhere && slack(own) <= self.cell_m {
            s.cells.entry(cell_of(self.cell_m / M_PER_DEG, o.lat, o.lon)).or_default().push(e);
        } else {
            s.wide.push(e);
        }
    }

    /// Every report of `scan` that a track with reach `r` could gate with
    /// (possibly removed ones, possibly repeated).
    pub(crate) fn candidates(&self, scan: i64, r: &Reach, out: &mut Vec<Entry>) {
        out.clear();
        let Some(s) = self.scans.get(&scan) else { return };
        let box_m = slack(r.radius + self.cell_m);
        let cos = cos_within(r.lat, box_m + 2.0 * self.cell_m);
        let fits = |e: &Entry| e.anywhere || near(r.lat, r.lon, e.lat, e.lon, r.radius + e.own, cos);
        let fits_far =
            |e: &Entry| e.anywhere || near(r.lat, r.lon, e.lat, e.lon, r.radius + e.own, cos_of(r.lat, e.lat));
        match cells_within(self.cell_m, r.lat, r.lon, box_m) {
            Some(cells) => {
                for c in cells {
                    out.extend(s.cells.get(&c).into_iter().flatten().filter(|e| fits(e)));
                }
            }
            None => out.extend(s.cells.values().flatten().filter(|e| fits_far(e))),
        }
        out.extend(s.wide.iter().filter(|e| fits_far(e)));
    }

    pub(crate) fn prune_before(&mut self, scan: i64) {
        self.scans = self.scans.split_off(&scan);
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let scans: usize = self
            .scans
            .values()
            .map(|s| {
                memory::hash_map(&s.cells) + s.cells.values().map(memory::vec).sum::<usize>() + memory::vec(&s.wide)
            })
            .sum();
        memory::btree_map(&self.scans) + scans
    }
}
