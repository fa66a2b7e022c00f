//! What a detector finds.

use std::fmt;

use caveat_core::{Marking, Mmsi, Position, ReportId};
use caveat_fusion::TrackId;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The kinds of event (docs/events.md defines each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A cooperative vessel's AIS fell silent at sea, and no other sensor held it.
    AisGap,
    /// A cooperative vessel's AIS fell silent at sea while another sensor still held it.
    GoingDark,
    /// Two AIS vessels close, slow and away from anchorages for a while.
    Encounter,
    /// As an encounter, but at least one of the two has no AIS.
    DarkRendezvous,
    /// One vessel slow and far from shore for a while.
    Loitering,
    /// A vessel entered a configured area.
    AreaEntry,
    /// A vessel left a configured area.
    AreaExit,
    /// A vessel held a configured speed range (in an area) for a while.
    SpeedInArea,
    /// One MMSI at two places no vessel could join in the time between.
    MmsiInTwoPlaces,
    /// A track's reports changed MMSI.
    MmsiChange,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [EventKind; 10] = [
        EventKind::AisGap,
        EventKind::GoingDark,
        EventKind::Encounter,
        EventKind::DarkRendezvous,
        EventKind::Loitering,
        EventKind::AreaEntry,
        EventKind::AreaExit,
        EventKind::SpeedInArea,
        EventKind::MmsiInTwoPlaces,
        EventKind::MmsiChange,
    ];

    /// Its name on the wire and in docs (kebab-case).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::AisGap => "ais-gap",
            EventKind::GoingDark => "going-dark",
            EventKind::Encounter => "encounter",
            EventKind::DarkRendezvous => "dark-rendezvous",
            EventKind::Loitering => "loitering",
            EventKind::AreaEntry => "area-entry",
            EventKind::AreaExit => "area-exit",
            EventKind::SpeedInArea => "speed-in-area",
            EventKind::MmsiInTwoPlaces => "mmsi-in-two-places",
            EventKind::MmsiChange => "mmsi-change",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event is about: a track of a view, or (for scoring) a simulated vessel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// A fused track.
    Track(TrackId),
    /// Anything else a caller names by number (caveat-sim's truth vessels).
    Other(u64),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Track(t) => t.fmt(f),
            Subject::Other(n) => write!(f, "S-{n}"),
        }
    }
}

/// An event's id: derived from its kind, what it is about and its start, so
/// detecting again over the same data gives the same id (and an announced
/// event can be found again, or found missing: retraction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 16]);

impl EventId {
    pub(crate) fn derive(kind: EventKind, keys: &[String], start: OffsetDateTime) -> EventId {
        let mut h = Sha256::new();
        h.update(b"caveat-event/v1\n");
        h.update(kind.as_str().as_bytes());
        for k in keys {
            h.update(b"\n");
            h.update(k.as_bytes());
        }
        h.update(b"\n");
        h.update(start.unix_timestamp_nanos().to_be_bytes());
        let d = h.finalize();
        let mut id = [0; 16];
        for (o, i) in id.iter_mut().zip(d.iter()) {
            *o = *i;
        }
        EventId(id)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E-{}", hex::encode(self.0))
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// Stable id (see [`EventId`]).
    pub id: EventId,
    /// What happened.
    pub kind: EventKind,
    /// When the criteria first held (the true start, however late the data came).
    pub start: OffsetDateTime,
    /// When they stopped holding; `None` while they still hold (open).
    pub end: Option<OffsetDateTime>,
    /// Where (at the start).
    pub position: Position,
    /// The tracks (or subjects) it is about, ascending.
    pub subjects: Vec<Subject>,
    /// The MMSIs it is about (gaps, identity anomalies), ascending.
    pub mmsis: Vec<Mmsi>,
    /// The area or speed rule it names, if any.
    pub rule: Option<String>,
    /// The reports it rests on, ascending: what it was computed from.
    pub reports: Vec<ReportId>,
    /// [`Marking::combine`] over those reports' markings (`None` when unknown: truth).
    pub marking: Option<Marking>,
}

impl Event {
    #[expect(clippy::too_many_arguments, reason = "one constructor for every kind; each argument is a field")]
    pub(crate) fn new(
        kind: EventKind,
        start: OffsetDateTime,
        end: Option<OffsetDateTime>,
        position: Position,
        mut subjects: Vec<Subject>,
        mut mmsis: Vec<Mmsi>,
        rule: Option<String>,
        mut reports: Vec<ReportId>,
    ) -> Event {
        subjects.sort_unstable();
        subjects.dedup();
        mmsis.sort_unstable();
        mmsis.dedup();
        reports.sort_unstable();
        reports.dedup();
        // Gaps and identity anomalies are about an MMSI (the tracks holding it
        // may change as data arrives); the others are about their tracks.
        let mut keys: Vec<String> = match kind {
            EventKind::AisGap | EventKind::GoingDark | EventKind::MmsiInTwoPlaces => {
                mmsis.iter().map(|m| m.get().to_string()).collect()
            }
            _ => subjects.iter().map(ToString::to_string).collect(),
        };
        if let Some(r) = &rule {
            keys.push(r.clone());
        }
        Event {
            id: EventId::derive(kind, &keys, start),
            kind,
            start,
            end,
            position,
            subjects,
            mmsis,
            rule,
            reports,
            marking: None,
        }
    }
}
