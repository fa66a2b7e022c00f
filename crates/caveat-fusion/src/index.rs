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

use std::collections::BTreeMap;

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

/// The corner cells (south-west, north-east) of the cells of size `cell_m`
/// within `reach` metres of (lat, lon); `None` when the box is unusable
/// (poles, antimeridian, too large to enumerate).
fn cell_box(cell_m: f64, lat: f64, lon: f64, reach: f64) -> Option<(Cell, Cell)> {
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
    Some((cell_of(cell_deg, lat - dlat, lon - dlon), cell_of(cell_deg, lat + dlat, lon + dlon)))
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

/// A track estimate's reach disc, compact: the index holds one per live
/// track per bucket back to the replay horizon, which made it most of a
/// picture's memory at 64-bit precision in per-cell lists (issue 16).
/// The centre is rounded to `f32` (under a metre anywhere on Earth) and the
/// radius rounded up with [`CENTRE_ROUNDING_M`] added, so the disc still
/// contains the one it stands for.
/// It carries its look-up key ([`pack`]): comparing keys computed afresh
/// (a division and two floors each) was most of a replay's look-ups.
#[derive(Debug, Clone, Copy)]
struct Disc {
    key: u64,
    lat: f32,
    lon: f32,
    radius: f32,
    slot: u32,
}

/// More than the distance between a point and its `f32` rounding: half a
/// unit in the last place is 0.85 m of longitude at most, 0.5 m of latitude.
const CENTRE_ROUNDING_M: f64 = 2.0;

/// `r` as an `f32` no smaller than `r`.
#[expect(clippy::cast_possible_truncation, reason = "rounded up to the next f32 just below")]
fn up(r: f64) -> f32 {
    let x = r as f32;
    if f64::from(x) < r { x.next_up() } else { x }
}

#[expect(clippy::cast_possible_truncation, reason = "a position in degrees fits an f32 to under a metre")]
fn to_f32(x: f64) -> f32 {
    x as f32
}

impl Disc {
    fn lat(&self) -> f64 {
        f64::from(self.lat)
    }
    fn lon(&self) -> f64 {
        f64::from(self.lon)
    }
    fn radius(&self) -> f64 {
        f64::from(self.radius)
    }
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

/// Where a disc is looked up: its level (the finest whose cell covers its
/// radius; `LEVELS` for the too-uncertain, listed apart) and its cell there,
/// packed so that keys order as (level, row, column): 4 bits of level, 30
/// of row and 30 of column (cells are at least 100 m, so a row or column
/// index of any point on Earth is far within 2^29).
fn pack(level: usize, y: i64, x: i64) -> u64 {
    const BIAS: i64 = 1 << 29;
    let part = |v: i64| (v.clamp(-BIAS, BIAS - 1) + BIAS).cast_unsigned();
    (u64::try_from(level).unwrap_or(15).min(15) << 60) | (part(y) << 30) | part(x)
}

/// Track estimates in one time bucket, a disc per track covering its
/// estimates in the bucket (more when it moved far).
///
/// One vector rather than a map of cells to lists: most cells hold one or
/// two discs, and a list per cell cost several times the disc. The vector
/// is sorted by key up to `sorted`, looked up there by binary search; discs
/// added since (the bucket being applied, or a replay's few) follow,
/// checked one by one, until [`TrackIndex::seal`] sorts them in.
#[derive(Debug, Default)]
struct Bucket {
    discs: Vec<Disc>,
    sorted: usize,
    /// Every track live at the bucket's start has been listed.
    filled: bool,
}

/// How much a track's disc may widen, metres, to cover a new estimate instead
/// of listing the track again.
const MERGE_SLACK_M: f64 = 50.0;

/// Levels of the track index, each cell four times the previous.
const LEVELS: usize = 3;

/// The cell size of a level of a track index whose finest cells are `cell_m`.
fn level_cell(cell_m: f64, level: usize) -> f64 {
    cell_m * [1.0, 4.0, 16.0].get(level).copied().unwrap_or(f64::INFINITY)
}

fn key_of(cell_m: f64, d: &Disc) -> u64 {
    let radius = slack(d.radius());
    match (0..LEVELS).find(|&l| radius <= level_cell(cell_m, l)) {
        Some(l) => {
            let (y, x) = cell_of(level_cell(cell_m, l) / M_PER_DEG, d.lat(), d.lon());
            pack(l, y, x)
        }
        None => pack(LEVELS, 0, 0),
    }
}

/// Sorts bucket `b`'s discs by key (trimmed to size if `trim`), and points
/// `last` of each slot whose newest disc is in it at one of its discs there.
fn sort_bucket(b: i64, bk: &mut Bucket, last: &mut [(i64, u32)], trim: bool) {
    bk.discs.sort_unstable_by_key(|d| d.key);
    bk.sorted = bk.discs.len();
    if trim {
        bk.discs.shrink_to_fit();
    }
    for (i, d) in bk.discs.iter().enumerate() {
        if let Some(l) = last.get_mut(d.slot as usize)
            && l.0 == b
        {
            l.1 = u32::try_from(i).unwrap_or(u32::MAX);
        }
    }
}

/// Track slots by time bucket and place.
#[derive(Debug)]
pub(crate) struct TrackIndex {
    cell_m: f64,
    bucket_ns: i64,
    buckets: BTreeMap<i64, Bucket>,
    /// Per slot, the bucket and position of a disc of it there (the newest
    /// listed, or any of its discs in the bucket once sorted): a new
    /// estimate in the same bucket widens it rather than adding one. A slot
    /// reused by another track may widen its predecessor's disc, which only
    /// adds candidates.
    last: Vec<(i64, u32)>,
}

impl TrackIndex {
    pub(crate) fn new(cell_m: f64, bucket_ns: i64) -> Self {
        let cell_m = if cell_m.is_finite() && cell_m > 100.0 { cell_m } else { 5_000.0 };
        TrackIndex { cell_m, bucket_ns: bucket_ns.max(1), buckets: BTreeMap::new(), last: Vec::new() }
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
        level_cell(self.cell_m, level)
    }

    /// `d` with its key set.
    fn keyed(&self, d: Disc) -> Disc {
        Disc { key: key_of(self.cell_m, &d), ..d }
    }

    /// Lists `slot` in `bucket` with gating reach `r`, widening its disc there if it has one.
    pub(crate) fn insert(&mut self, bucket: i64, slot: u32, reach: &Reach) {
        let prev = match self.last.get(slot as usize) {
            Some(&(b, i)) if b == bucket => self
                .buckets
                .get(&bucket)
                .and_then(|bk| bk.discs.get(i as usize).map(|d| (i as usize, *d, i as usize >= bk.sorted)))
                .filter(|(_, d, _)| d.slot == slot),
            _ => None,
        };
        if let Some((i, d, unsorted)) = prev {
            let radius = d.radius().max(distance_over(d.lat(), d.lon(), reach.lat, reach.lon) + reach.radius);
            if radius <= d.radius() {
                return;
            }
            // Widen the disc a little rather than list the track twice, but
            // not much: a wide disc makes every look-up near it gate more.
            // A sorted disc keeps its place only if it keeps its key.
            if radius <= d.radius().max(reach.radius) + MERGE_SLACK_M {
                let wider = self.keyed(Disc { radius: up(radius), ..d });
                if unsorted || wider.key == d.key {
                    if let Some(e) = self.buckets.get_mut(&bucket).and_then(|bk| bk.discs.get_mut(i)) {
                        *e = wider;
                    }
                    return;
                }
            }
        }
        let disc = self.keyed(Disc {
            key: 0,
            lat: to_f32(reach.lat),
            lon: to_f32(reach.lon),
            radius: up(reach.radius + CENTRE_ROUNDING_M),
            slot,
        });
        let bk = self.buckets.entry(bucket).or_default();
        let at = u32::try_from(bk.discs.len()).unwrap_or(u32::MAX);
        bk.discs.push(disc);
        let i = slot as usize;
        if self.last.len() <= i {
            self.last.resize(i + 1, (i64::MIN, 0));
        }
        if let Some(l) = self.last.get_mut(i) {
            *l = (bucket, at);
        }
        // The unsorted tail is searched disc by disc: a replay that lists
        // thousands of tracks in one bucket sorts them in as it goes
        // (amortised, each sort follows a quarter as many insertions).
        if bk.discs.len() - bk.sorted > 64 + bk.sorted / 4 {
            sort_bucket(bucket, bk, &mut self.last, false);
        }
    }

    /// Sorts every disc added since the last call into its bucket's sorted
    /// part, and trims the buckets before `current` (no longer applied in
    /// order) to size.
    pub(crate) fn seal(&mut self, current: Option<i64>) {
        for (&b, bk) in &mut self.buckets {
            if bk.sorted < bk.discs.len() {
                sort_bucket(b, bk, &mut self.last, current.is_none_or(|c| b < c));
            }
        }
    }

    /// Every slot that could gate with `o` at a time in `bucket` (sorted, no repeats).
    pub(crate) fn candidates(&self, bucket: i64, o: &Observation, own: f64, out: &mut Vec<u32>) {
        out.clear();
        let Some(b) = self.buckets.get(&bucket) else { return };
        let (sorted, tail) = b.discs.split_at(b.sorted.min(b.discs.len()));
        // A disc listed in a cell within the search box has its centre within
        // a cell of the box, so one cosine serves the whole level.
        let mut take = |d: &Disc, cos: f64| {
            if near(d.lat(), d.lon(), o.lat, o.lon, d.radius() + own, cos) {
                out.push(d.slot);
            }
        };
        let mut found = o.time_sigma_s == 0.0;
        for l in 0..LEVELS {
            if !found {
                break;
            }
            let cell_m = self.level_cell(l);
            match cell_box(cell_m, o.lat, o.lon, slack(own + cell_m)) {
                Some(((y0, x0), (y1, x1))) => {
                    let cos = cos_within(o.lat, slack(own + cell_m) + 2.0 * cell_m);
                    for y in y0..=y1 {
                        let (lo, hi) = (pack(l, y, x0), pack(l, y, x1));
                        let from = sorted.partition_point(|d| d.key < lo);
                        for d in sorted.get(from..).unwrap_or_default().iter().take_while(|d| d.key <= hi) {
                            take(d, cos);
                        }
                    }
                }
                None => found = false,
            }
        }
        if found {
            let from = sorted.partition_point(|d| d.key < pack(LEVELS, i64::MIN, i64::MIN));
            for d in sorted.get(from..).unwrap_or_default().iter().chain(tail) {
                // Most are far in latitude alone: spare them the cosine.
                let r = slack(d.radius() + own) * 1.001 + 1.0;
                if (d.lat() - o.lat).abs() * M_PER_DEG <= r {
                    take(d, cos_of(d.lat(), o.lat));
                }
            }
        } else {
            out.clear();
            out.extend(b.discs.iter().map(|d| d.slot));
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
        self.buckets.range(..bucket).rev().find(|(_, b)| b.filled).map(|(_, b)| {
            let mut slots: Vec<u32> = b.discs.iter().map(|d| d.slot).collect();
            slots.sort_unstable();
            slots.dedup();
            slots
        })
    }

    /// Forgets buckets before `bucket`.
    pub(crate) fn prune_before(&mut self, bucket: i64) {
        self.buckets = self.buckets.split_off(&bucket);
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let buckets: usize = self.buckets.values().map(|b| memory::vec(&b.discs)).sum();
        memory::btree_map(&self.buckets) + buckets + memory::vec(&self.last)
    }
}

/// One report as the index keeps it: enough to rule it out without a look-up.
/// Position and radius at `f32`, the radius rounded up with
/// [`CENTRE_ROUNDING_M`] added (as a track's disc), and the cell it is
/// looked up by: a list per cell cost more than the entry (issue 16).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) key: (i64, ReportId),
    /// [`pack`]ed cell, or [`WIDE`].
    cell: u64,
    lat: f32,
    lon: f32,
    own: f32,
    pub(crate) originator: u16,
    pub(crate) source: SourceKind,
    /// Gates with anything, whatever the distance (time-uncertain).
    anywhere: bool,
}

/// The cell of a report listed apart: time-uncertain, or with a radius past one cell.
const WIDE: u64 = u64::MAX;

impl Entry {
    fn lat(&self) -> f64 {
        f64::from(self.lat)
    }
    fn lon(&self) -> f64 {
        f64::from(self.lon)
    }
    fn own(&self) -> f64 {
        f64::from(self.own)
    }
}

/// Reports per scan: small ones by the cell of their position, the rest
/// (time-uncertain, or with a radius past one cell) apart.
#[derive(Debug)]
pub(crate) struct ReportIndex {
    cell_m: f64,
    scans: BTreeMap<i64, ScanReports>,
    /// Scans with entries not sorted in yet.
    unsorted: Vec<i64>,
}

/// One scan's entries, sorted by cell up to `sorted` (the wide ones last),
/// then those added since, checked one by one until [`ReportIndex::seal`].
#[derive(Debug, Default)]
struct ScanReports {
    entries: Vec<Entry>,
    sorted: usize,
}

impl ScanReports {
    fn sort(&mut self, trim: bool) {
        self.entries.sort_unstable_by_key(|e| e.cell);
        self.sorted = self.entries.len();
        if trim {
            self.entries.shrink_to_fit();
        }
    }
}

impl ReportIndex {
    pub(crate) fn new(cell_m: f64) -> Self {
        let cell_m = if cell_m.is_finite() && cell_m > 100.0 { cell_m } else { 5_000.0 };
        ReportIndex { cell_m, scans: BTreeMap::new(), unsorted: Vec::new() }
    }

    pub(crate) fn insert(&mut self, scan: i64, o: &Observation, own: f64) {
        let anywhere = o.time_sigma_s > 0.0;
        let cell = if !anywhere && slack(own) <= self.cell_m {
            let (y, x) = cell_of(self.cell_m / M_PER_DEG, o.lat, o.lon);
            pack(0, y, x)
        } else {
            WIDE
        };
        let e = Entry {
            key: (o.t, o.id),
            cell,
            lat: to_f32(o.lat),
            lon: to_f32(o.lon),
            own: up(own + CENTRE_ROUNDING_M),
            originator: o.originator,
            source: o.source,
            anywhere,
        };
        let s = self.scans.entry(scan).or_default();
        if s.sorted == s.entries.len() {
            self.unsorted.push(scan);
        }
        s.entries.push(e);
        // A late report into a scan already sorted: keep the tail short.
        if s.entries.len() - s.sorted > 64 + s.sorted / 4 {
            s.sort(false);
        }
    }

    /// Sorts the entries added since the last call into their scans, and
    /// trims the scans before `current` to size.
    pub(crate) fn seal(&mut self, current: i64) {
        let mut keep = Vec::new();
        for scan in std::mem::take(&mut self.unsorted) {
            if let Some(s) = self.scans.get_mut(&scan) {
                if scan < current {
                    if s.sorted < s.entries.len() {
                        s.sort(true);
                    }
                } else {
                    keep.push(scan);
                }
            }
        }
        self.unsorted = keep;
    }

    /// Sorts every scan's entries (before a replay's look-ups).
    pub(crate) fn seal_all(&mut self) {
        for scan in std::mem::take(&mut self.unsorted) {
            if let Some(s) = self.scans.get_mut(&scan)
                && s.sorted < s.entries.len()
            {
                s.sort(false);
            }
        }
    }

    /// Every report of `scan` that a track with reach `r` could gate with
    /// (possibly removed ones, possibly repeated).
    pub(crate) fn candidates(&self, scan: i64, r: &Reach, out: &mut Vec<Entry>) {
        out.clear();
        let Some(s) = self.scans.get(&scan) else { return };
        let (sorted, tail) = s.entries.split_at(s.sorted.min(s.entries.len()));
        let box_m = slack(r.radius + self.cell_m);
        let cos = cos_within(r.lat, box_m + 2.0 * self.cell_m);
        let fits = |e: &Entry| e.anywhere || near(r.lat, r.lon, e.lat(), e.lon(), r.radius + e.own(), cos);
        let fits_far =
            |e: &Entry| e.anywhere || near(r.lat, r.lon, e.lat(), e.lon(), r.radius + e.own(), cos_of(r.lat, e.lat()));
        let wide = sorted.partition_point(|e| e.cell < WIDE);
        match cell_box(self.cell_m, r.lat, r.lon, box_m) {
            Some(((y0, x0), (y1, x1))) => {
                for y in y0..=y1 {
                    let (lo, hi) = (pack(0, y, x0), pack(0, y, x1));
                    let from = sorted.partition_point(|e| e.cell < lo);
                    let row = sorted.get(from..wide).unwrap_or_default();
                    out.extend(row.iter().take_while(|e| e.cell <= hi).filter(|e| fits(e)));
                }
            }
            None => out.extend(sorted.get(..wide).unwrap_or_default().iter().filter(|e| fits_far(e))),
        }
        out.extend(sorted.get(wide..).unwrap_or_default().iter().chain(tail).filter(|e| fits_far(e)));
    }

    pub(crate) fn prune_before(&mut self, scan: i64) {
        self.scans = self.scans.split_off(&scan);
        self.unsorted.retain(|&s| s >= scan);
    }

    /// Estimated heap bytes (see [`crate::Memory`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let scans: usize = self.scans.values().map(|s| memory::vec(&s.entries)).sum();
        memory::btree_map(&self.scans) + scans + memory::vec(&self.unsorted)
    }
}
