//! Reports: one partner's observation of one vessel, immutable once stored.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::{Duration, OffsetDateTime};

use crate::vessel::check_text;
use crate::{Error, Marking, Partner, PartnerId, Position, SourceKind, VesselDescriptors};

/// A report's id: a UUIDv7, so ids sort by the time they were minted (RFC 9562 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReportId(uuid::Uuid);

impl ReportId {
    /// From its 16 bytes, as stored. Does not check the version: stored ids were checked on the way in.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        ReportId(uuid::Uuid::from_bytes(bytes))
    }
    /// Its 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
    /// The id the hub stores for an id that `originator` supplied itself.
    ///
    /// Report ids are global (lineage, citations and corrections name them
    /// alone), but a partner-supplied id is taken as naming a report only
    /// within that partner's own reports: the stored id keeps its time (the
    /// first 48 bits) and replaces its random bits with a hash of the
    /// originator and the whole supplied id. Two partners supplying the same
    /// id then store different reports, so a partner reusing another's id (seen
    /// in a lineage, a case, a log) stores a report of its own and learns
    /// nothing, where a global check would answer "already stored" (issue 14).
    /// The same partner supplying the same id again gets the same stored id,
    /// so resubmitting a file is still refused as a duplicate.
    pub fn scoped_to(&self, originator: &crate::PartnerId) -> ReportId {
        use sha2::{Digest, Sha256};
        let b = self.as_bytes();
        let mut h = Sha256::new();
        h.update(b"caveat-report-id/v1\n");
        h.update(originator.as_str().as_bytes());
        h.update(b"\n");
        h.update(b);
        let digest: [u8; 32] = h.finalize().into();
        let mut random = [0u8; 10];
        random.copy_from_slice(digest.get(..10).unwrap_or(&[0; 10]));
        ReportId(uuid::Builder::from_unix_timestamp_millis(self.unix_millis(), &random).into_uuid())
    }

    /// The millisecond Unix time the id was minted at.
    pub fn unix_millis(&self) -> u64 {
        let b = self.0.as_bytes();
        b.iter().take(6).fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    }
}

impl FromStr for ReportId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let u = uuid::Uuid::try_parse(s).map_err(|_| Error::invalid("id", s, "not a UUID"))?;
        if u.get_version_num() == 7 {
            Ok(ReportId(u))
        } else {
            Err(Error::invalid("id", s, "report ids must be time-ordered UUIDv7"))
        }
    }
}

impl TryFrom<String> for ReportId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<ReportId> for String {
    fn from(r: ReportId) -> String {
        r.to_string()
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// Mints report ids that are strictly increasing within one mint.
///
/// The caller supplies the clock and the randomness (core reads neither). A
/// counter in the random bits keeps ids minted in the same millisecond ordered
/// (RFC 9562 §6.2, method 1 with a 74-bit counter seeded at random).
#[derive(Debug, Clone)]
pub struct ReportIdMint {
    unix_millis: u64,
    counter: u128,
}

impl ReportIdMint {
    /// A mint for ids at `unix_millis`, its counter seeded from `random`.
    pub fn new(unix_millis: u64, random: [u8; 10]) -> Self {
        // Keep the top bit clear so the counter has 2^73 steps of room.
        let seed = random.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b)) >> 7;
        ReportIdMint { unix_millis, counter: seed }
    }

    /// The next id.
    pub fn next_id(&mut self) -> ReportId {
        self.counter = self.counter.wrapping_add(1) & ((1u128 << 80) - 1);
        let bytes = self.counter.to_be_bytes();
        let mut random = [0u8; 10];
        random.copy_from_slice(bytes.get(6..16).unwrap_or(&[0; 10]));
        ReportId(uuid::Builder::from_unix_timestamp_millis(self.unix_millis, &random).into_uuid())
    }
}

/// The receiving station a report came through: an AIS tag block's `s:` field
/// (IEC 61162-450), e.g. a shore receiver or satellite id such as `rORBCOMM008`.
///
/// It is what the originator's feed said, kept so lineage can show which
/// receiver heard a vessel (operators ask which station to trust or fix). 1 to
/// [`Station::MAX_CHARS`] printable ASCII characters, not starting or ending with a space.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Station(String);

impl Station {
    /// Longest station id accepted: a tag block's whole parameter field is at most 80 characters.
    pub const MAX_CHARS: usize = 64;

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Station {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let printable = s.bytes().all(|b| (0x20..=0x7e).contains(&b));
        let trimmed = !s.starts_with(' ') && !s.ends_with(' ');
        if (1..=Station::MAX_CHARS).contains(&s.len()) && printable && trimmed {
            Ok(Station(s.to_owned()))
        } else {
            Err(Error::invalid("station", s, "must be 1-64 printable ASCII characters, no leading or trailing space"))
        }
    }
}

impl TryFrom<String> for Station {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Station> for String {
    fn from(s: Station) -> String {
        s.0
    }
}

impl fmt::Display for Station {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One observation contributed by one partner. Immutable once stored; a
/// correction is a new report whose `supersedes` names the one it replaces.
///
/// Its JSON form is documented in `schemas/report.schema.json`; a stored
/// report's JSON is itself valid input.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Time-ordered id.
    pub id: ReportId,
    /// The partner that contributed it; it alone sets the marking.
    pub originator: PartnerId,
    /// When the vessel was observed.
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    /// One-sigma uncertainty of `observed_at`, seconds (tips are vague about time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_uncertainty_s: Option<f64>,
    /// Where.
    pub position: Position,
    /// One-sigma horizontal position uncertainty, metres.
    pub uncertainty_m: f64,
    /// Course over ground, degrees true, [0, 360).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_deg: Option<f64>,
    /// Speed over ground, knots, [0, 102.2].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kn: Option<f64>,
    /// How it was observed.
    pub source: SourceKind,
    /// What is known of the vessel's identity.
    #[serde(default, skip_serializing_if = "VesselDescriptors::is_empty")]
    pub vessel: VesselDescriptors,
    /// Free text, up to 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    /// The use conditions.
    pub marking: Marking,
    /// The earlier report, by the same originator, that this one corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<ReportId>,
    /// The receiving station it came through (an AIS feed's tag block `s:`).
    /// Omitted when absent, so reports stored before it existed keep their
    /// JSON, and with it their audited content hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<Station>,
}

/// A report as a partner submits it: the JSON form with `id`, `originator` and
/// `marking` optional. [`ReportDraft::validate`] turns it into a [`Report`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDraft {
    /// Partner-chosen id (must be UUIDv7); minted by the hub when absent.
    #[serde(default)]
    pub id: Option<ReportId>,
    /// Must equal the submitting partner when present.
    #[serde(default)]
    pub originator: Option<PartnerId>,
    /// See [`Report::observed_at`].
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    /// See [`Report::time_uncertainty_s`].
    #[serde(default)]
    pub time_uncertainty_s: Option<f64>,
    /// See [`Report::position`].
    pub position: Position,
    /// See [`Report::uncertainty_m`].
    pub uncertainty_m: f64,
    /// See [`Report::course_deg`].
    #[serde(default)]
    pub course_deg: Option<f64>,
    /// See [`Report::speed_kn`].
    #[serde(default)]
    pub speed_kn: Option<f64>,
    /// See [`Report::source`].
    pub source: SourceKind,
    /// See [`Report::vessel`].
    #[serde(default)]
    pub vessel: VesselDescriptors,
    /// See [`Report::remarks`].
    #[serde(default)]
    pub remarks: Option<String>,
    /// The originator's marking; the partner's default for `source` when absent.
    #[serde(default)]
    pub marking: Option<Marking>,
    /// See [`Report::supersedes`].
    #[serde(default)]
    pub supersedes: Option<ReportId>,
    /// See [`Report::station`].
    #[serde(default)]
    pub station: Option<Station>,
}

/// Largest position uncertainty accepted, metres: a tip can be vague, not continental.
pub const MAX_UNCERTAINTY_M: f64 = 500_000.0;
/// Largest time uncertainty accepted, seconds (one week).
pub const MAX_TIME_UNCERTAINTY_S: f64 = 7.0 * 86_400.0;
/// Longest remarks, characters.
pub const MAX_REMARKS_CHARS: usize = 2_000;
/// Default tolerance for clocks running ahead of the hub's.
pub const DEFAULT_FUTURE_SKEW: Duration = Duration::minutes(5);

/// What validation needs from outside the report: who submits it, its defaults, and the hub's clock.
#[derive(Debug)]
pub struct IngestContext<'a> {
    /// The partner submitting the batch (the CLI's `--as`, the API token's partner).
    pub submitter: &'a Partner,
    /// The hub's time now.
    pub now: OffsetDateTime,
    /// How far ahead of `now` an observation may be.
    pub max_future_skew: Duration,
    /// Mints ids for drafts that carry none.
    pub mint: ReportIdMint,
}

impl ReportDraft {
    /// Checks every field and fills in the hub's defaults.
    ///
    /// # Errors
    /// The first field that is wrong, by name, with its value and why.
    pub fn validate(self, ctx: &mut IngestContext<'_>) -> Result<Report, Error> {
        let submitter = &ctx.submitter.id;
        if let Some(claimed) = &self.originator
            && claimed != submitter
        {
            return Err(Error::OriginatorMismatch { claimed: claimed.to_string(), submitter: submitter.to_string() });
        }
        let earliest = time::macros::datetime!(2000-01-01 0:00 UTC);
        if self.observed_at > ctx.now + ctx.max_future_skew {
            return Err(Error::invalid("observed_at", rfc3339(self.observed_at), "is in the future"));
        }
        if self.observed_at < earliest {
            return Err(Error::invalid("observed_at", rfc3339(self.observed_at), "is before 2000-01-01"));
        }
        if let Some(u) = self.time_uncertainty_s
            && !(u.is_finite() && (0.0..=MAX_TIME_UNCERTAINTY_S).contains(&u))
        {
            return Err(Error::invalid("time_uncertainty_s", u, "must be between 0 and 604800"));
        }
        let position = Position::new(self.position.lat, self.position.lon).map_err(|e| match e {
            Error::Invalid { field: "lat", value, reason } => Error::Invalid { field: "position.lat", value, reason },
            Error::Invalid { field: "lon", value, reason } => Error::Invalid { field: "position.lon", value, reason },
            other => other,
        })?;
        let u = self.uncertainty_m;
        if !(u.is_finite() && u > 0.0 && u <= MAX_UNCERTAINTY_M) {
            return Err(Error::invalid("uncertainty_m", u, "must be greater than 0 and at most 500000"));
        }
        if let Some(c) = self.course_deg
            && !(c.is_finite() && (0.0..360.0).contains(&c))
        {
            return Err(Error::invalid("course_deg", c, "must be in [0, 360)"));
        }
        if let Some(s) = self.speed_kn
            && !(s.is_finite() && (0.0..=102.2).contains(&s))
        {
            return Err(Error::invalid("speed_kn", s, "must be in [0, 102.2]"));
        }
        self.vessel.validate()?;
        check_text("remarks", self.remarks.as_deref(), MAX_REMARKS_CHARS)?;
        let marking = match self.marking {
            Some(m) => m,
            None => ctx.submitter.marking_for(self.source).clone(),
        };
        marking.validate()?;
        let id = match self.id {
            Some(id) => id.scoped_to(submitter),
            None => ctx.mint.next_id(),
        };
        if self.supersedes == Some(id) {
            return Err(Error::invalid("supersedes", id, "a report cannot supersede itself"));
        }
        Ok(Report {
            id,
            originator: submitter.clone(),
            observed_at: self.observed_at,
            time_uncertainty_s: self.time_uncertainty_s,
            position,
            uncertainty_m: u,
            course_deg: self.course_deg,
            speed_kn: self.speed_kn,
            source: self.source,
            vessel: self.vessel,
            remarks: self.remarks,
            marking,
            supersedes: self.supersedes,
            station: self.station,
        })
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

#[cfg(feature = "test-util")]
mod builder {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(1);

    /// Builds a valid [`Report`] for tests: a GBR coastal-radar contact off the
    /// British Virgin Islands, releasable to CAN and USA-USCG for interdiction.
    #[derive(Debug, Clone)]
    pub struct ReportBuilder(Report);

    impl Report {
        /// Starts a builder (feature `test-util`). Each call gets a fresh id.
        ///
        /// # Panics
        /// Never on its fixed inputs.
        pub fn builder() -> ReportBuilder {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let mut random = [0u8; 10];
            random[2..].copy_from_slice(&n.to_be_bytes());
            #[expect(clippy::expect_used, reason = "fixed fixture values")]
            let originator: PartnerId = "GBR".parse().expect("fixture");
            ReportBuilder(Report {
                id: ReportId(uuid::Builder::from_unix_timestamp_millis(1_795_000_000_000, &random).into_uuid()),
                originator,
                observed_at: time::macros::datetime!(2026-11-20 12:00 UTC),
                time_uncertainty_s: None,
                position: Position { lat: 18.45, lon: -64.60 },
                uncertainty_m: 150.0,
                course_deg: Some(225.0),
                speed_kn: Some(32.0),
                source: SourceKind::CoastalRadar,
                vessel: VesselDescriptors::default(),
                remarks: None,
                marking: Marking::builder().to(&["CAN", "USA-USCG"]).purposes(&[crate::Purpose::Interdiction]).build(),
                supersedes: None,
                station: None,
            })
        }
    }

    impl ReportBuilder {
        /// Sets the originator.
        ///
        /// # Panics
        /// On an invalid partner id: fixtures only.
        pub fn originator(mut self, partner: &str) -> Self {
            #[expect(clippy::expect_used, reason = "test fixture with literal ids")]
            let p = partner.parse().expect("fixture partner id");
            self.0.originator = p;
            self
        }
        /// Sets the id.
        pub fn id(mut self, id: ReportId) -> Self {
            self.0.id = id;
            self
        }
        /// Sets the observation time.
        pub fn at(mut self, t: OffsetDateTime) -> Self {
            self.0.observed_at = t;
            self
        }
        /// Sets the position.
        pub fn position(mut self, lat: f64, lon: f64) -> Self {
            self.0.position = Position { lat, lon };
            self
        }
        /// Sets the position uncertainty.
        pub fn uncertainty_m(mut self, u: f64) -> Self {
            self.0.uncertainty_m = u;
            self
        }
        /// Sets course and speed.
        pub fn velocity(mut self, course_deg: Option<f64>, speed_kn: Option<f64>) -> Self {
            self.0.course_deg = course_deg;
            self.0.speed_kn = speed_kn;
            self
        }
        /// Sets the source kind.
        pub fn source(mut self, s: SourceKind) -> Self {
            self.0.source = s;
            self
        }
        /// Sets the vessel descriptors.
        pub fn vessel(mut self, v: VesselDescriptors) -> Self {
            self.0.vessel = v;
            self
        }
        /// Sets the marking.
        pub fn marking(mut self, m: Marking) -> Self {
            self.0.marking = m;
            self
        }
        /// Sets the remarks.
        pub fn remarks(mut self, r: &str) -> Self {
            self.0.remarks = Some(r.to_owned());
            self
        }
        /// Sets the receiving station.
        ///
        /// # Panics
        /// When `station` is not a valid [`Station`].
        pub fn station(mut self, station: &str) -> Self {
            #[expect(clippy::expect_used, reason = "test fixture input")]
            let s = station.parse().expect("a valid station id");
            self.0.station = Some(s);
            self
        }
        /// Makes it a correction of `earlier`.
        pub fn supersedes(mut self, earlier: ReportId) -> Self {
            self.0.supersedes = Some(earlier);
            self
        }
        /// The report.
        pub fn build(self) -> Report {
            self.0
        }
    }
}
#[cfg(feature = "test-util")]
pub use builder::ReportBuilder;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_v7_and_increase() {
        let mut mint = ReportIdMint::new(1_795_000_000_000, [0xff; 10]);
        let a = mint.next_id();
        let b = mint.next_id();
        assert!(a < b);
        assert_eq!(a.unix_millis(), 1_795_000_000_000);
        assert_eq!(a.to_string().parse::<ReportId>().unwrap(), a);
    }

    #[test]
    fn non_v7_ids_are_refused() {
        let err = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse::<ReportId>().unwrap_err();
        assert!(err.to_string().contains("UUIDv7"), "{err}");
    }
}
