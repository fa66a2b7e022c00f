//! Track identity metrics: purity, continuity (identity switches) and time to
//! first confirmed track, from track-to-truth assignments over time.

use std::collections::BTreeMap;

use caveat_core::Position;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::gospa::{GospaParams, gospa};
use crate::Error;

/// At `at`, track `track` was assigned to truth `truth` (`None`: to nothing, a false track).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment<T, V> {
    /// The instant.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The track.
    pub track: T,
    /// The truth vessel it follows, if any.
    pub truth: Option<V>,
}

/// Assigns tracks to truths at one instant by the GOSPA-optimal pairing within `params.c`.
pub fn assign_tracks<T: Clone, V: Clone>(
    at: OffsetDateTime,
    truth: &[(V, Position)],
    tracks: &[(T, Position)],
    params: GospaParams,
) -> Result<Vec<Assignment<T, V>>, Error> {
    let tp: Vec<Position> = truth.iter().map(|t| t.1).collect();
    let ep: Vec<Position> = tracks.iter().map(|t| t.1).collect();
    let g = gospa(&tp, &ep, params)?;
    let mut to_truth: Vec<Option<V>> = vec![None; tracks.len()];
    for (i, j) in g.pairs {
        if let (Some(slot), Some(v)) = (to_truth.get_mut(j), truth.get(i)) {
            *slot = Some(v.0.clone());
        }
    }
    Ok(tracks.iter().zip(to_truth).map(|((t, _), v)| Assignment { at, track: t.clone(), truth: v }).collect())
}

/// Purity of one track: the share of its assigned instants spent on its dominant truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPurity<T, V> {
    /// The track.
    pub track: T,
    /// The truth it followed most.
    pub dominant: Option<V>,
    /// Instants on the dominant truth / all instants of the track (false instants count against it).
    pub purity: f64,
    /// Instants the track was assessed.
    pub samples: usize,
}

/// Purity of all tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purity<T, V> {
    /// Instants on dominant truths / all track instants; 1 when there are none.
    pub overall: f64,
    /// Per track, in track order.
    pub tracks: Vec<TrackPurity<T, V>>,
}

/// Track purity from assignments.
pub fn track_purity<T: Ord + Clone, V: Ord + Clone>(assignments: &[Assignment<T, V>]) -> Purity<T, V> {
    let mut per: BTreeMap<&T, (usize, BTreeMap<&V, usize>)> = BTreeMap::new();
    for a in assignments {
        let e = per.entry(&a.track).or_default();
        e.0 += 1;
        if let Some(v) = &a.truth {
            *e.1.entry(v).or_default() += 1;
        }
    }
    let (mut good, mut all) = (0usize, 0usize);
    let tracks = per
        .into_iter()
        .map(|(t, (n, counts))| {
            // Ties go to the smaller truth id, so the result is deterministic.
            let best = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
            let k = best.map_or(0, |b| *b.1);
            good += k;
            all += n;
            TrackPurity {
                track: t.clone(),
                dominant: best.map(|b| (*b.0).clone()),
                purity: k as f64 / n.max(1) as f64,
                samples: n,
            }
        })
        .collect();
    Purity { overall: if all == 0 { 1.0 } else { good as f64 / all as f64 }, tracks }
}

/// Continuity of one truth's tracking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthContinuity<V> {
    /// The truth vessel.
    pub truth: V,
    /// Distinct tracks that followed it.
    pub tracks: usize,
    /// Times the following track changed from one assessed instant to the next.
    pub switches: usize,
}

/// Continuity over all truths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuity<V> {
    /// Total identity switches.
    pub identity_switches: usize,
    /// Per truth, in truth order.
    pub truths: Vec<TruthContinuity<V>>,
}

/// Identity switches: for each truth, in time order, how often the track assigned
/// to it differs from the previous one assigned to it (instants where it is not
/// tracked are skipped, so a track lost and regained under the same id is no switch).
pub fn continuity<T: Ord + Clone, V: Ord + Clone>(assignments: &[Assignment<T, V>]) -> Continuity<V> {
    let mut seq: BTreeMap<&V, Vec<(OffsetDateTime, &T)>> = BTreeMap::new();
    for a in assignments {
        if let Some(v) = &a.truth {
            seq.entry(v).or_default().push((a.at, &a.track));
        }
    }
    let mut total = 0;
    let truths = seq
        .into_iter()
        .map(|(v, mut s)| {
            s.sort();
            let switches = s.windows(2).filter(|w| matches!(w, [a, b] if a.1 != b.1)).count();
            let mut distinct: Vec<&T> = s.iter().map(|x| x.1).collect();
            distinct.sort();
            distinct.dedup();
            total += switches;
            TruthContinuity { truth: v.clone(), tracks: distinct.len(), switches }
        })
        .collect();
    Continuity { identity_switches: total, truths }
}

/// For each vessel `(v, from)`, the time from `from` to the first assignment of a
/// confirmed track to `v` (zero if it came earlier), or `None` if never.
/// Pass only confirmed tracks' assignments; `from` is typically the scenario
/// start or the vessel's first detection.
pub fn time_to_first_track<T, V: PartialEq + Clone>(
    vessels: &[(V, OffsetDateTime)],
    confirmed: &[Assignment<T, V>],
) -> Vec<(V, Option<Duration>)> {
    vessels
        .iter()
        .map(|(v, from)| {
            let first = confirmed.iter().filter(|a| a.truth.as_ref() == Some(v)).map(|a| a.at).min();
            (v.clone(), first.map(|t| (t - *from).max(Duration::ZERO)))
        })
        .collect()
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "hand-computed values are exact in binary")]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn a(min: i64, track: u32, truth: Option<char>) -> Assignment<u32, char> {
        Assignment { at: datetime!(2022-01-03 0:00 UTC) + Duration::minutes(min), track, truth }
    }

    #[test]
    fn purity_by_hand() {
        // Track 1: A, A, B, none -> 2/4. Track 2: B, B -> 2/2. Overall 4/6.
        let s = [
            a(0, 1, Some('A')),
            a(1, 1, Some('A')),
            a(2, 1, Some('B')),
            a(3, 1, None),
            a(0, 2, Some('B')),
            a(1, 2, Some('B')),
        ];
        let p = track_purity(&s);
        assert!((p.overall - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(p.tracks[0].purity, 0.5);
        assert_eq!(p.tracks[0].dominant, Some('A'));
        assert_eq!(p.tracks[1].purity, 1.0);
    }

    #[test]
    fn switches_by_hand() {
        // A followed by 1, 1, 2, (gap), 2, 1 -> switches 1->2 and 2->1 = 2, over 2 tracks.
        // B followed by 3 only -> 0.
        let s = [
            a(0, 1, Some('A')),
            a(1, 1, Some('A')),
            a(2, 2, Some('A')),
            a(4, 2, Some('A')),
            a(5, 1, Some('A')),
            a(0, 3, Some('B')),
            a(1, 3, None),
        ];
        let c = continuity(&s);
        assert_eq!(c.identity_switches, 2);
        assert_eq!(c.truths[0], TruthContinuity { truth: 'A', tracks: 2, switches: 2 });
        assert_eq!(c.truths[1], TruthContinuity { truth: 'B', tracks: 1, switches: 0 });
    }

    #[test]
    fn first_track_by_hand() {
        let start = datetime!(2022-01-03 0:00 UTC);
        let s = [a(7, 1, Some('A')), a(3, 2, Some('A')), a(9, 4, Some('C'))];
        let r = time_to_first_track(&[('A', start), ('B', start), ('C', start + Duration::minutes(10))], &s);
        assert_eq!(r, vec![('A', Some(Duration::minutes(3))), ('B', None), ('C', Some(Duration::ZERO))]);
    }

    #[test]
    fn assign_uses_gospa_pairs() {
        let at = datetime!(2022-01-03 0:00 UTC);
        let truth = [('A', Position { lat: 18.0, lon: -65.0 }), ('B', Position { lat: 18.1, lon: -65.0 })];
        let tracks = [(10u32, Position { lat: 18.1001, lon: -65.0 }), (11, Position { lat: 17.0, lon: -65.0 })];
        let r = assign_tracks(at, &truth, &tracks, GospaParams { c: 1000.0, p: 2.0 }).unwrap();
        assert_eq!(r[0].truth, Some('B'));
        assert_eq!(r[1].truth, None);
    }
}
