//! The row layout both backends share, and how a row's values become the
//! store's types: time columns, ids as 16-byte blobs, JSON bodies, and the
//! JSON of a report's remaining fields, so a body moves between the stores
//! unchanged. A backend reads the columns with its driver and hands the
//! values here, so a damaged row is reported alike by both.

use std::collections::{BTreeSet, HashMap};

use caveat_core::VesselDescriptors;
use caveat_core::{Case, CaseId, CaseStatus, CaseStep, Marking, Partner, Position, Report, ReportId, Role, User};
use time::OffsetDateTime;

use crate::{Error, PolicyEvent, Result, StoredReport};

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Observation times keep full precision (an i64 of nanoseconds lasts to 2262).
pub(crate) fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// A time stored by [`millis`]; `what` and `row` name it if it is out of range.
pub(crate) fn from_millis(ms: i64, what: &'static str, row: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| Error::Corrupt {
        what,
        row,
        message: e.to_string(),
    })
}

/// A stored count or number, which the schema keeps non-negative.
pub(crate) fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A number for an integer column (saturating: no count here nears 2^63).
pub(crate) fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// JSON for a body column; `context` says what was being encoded.
pub(crate) fn encode<T: serde::Serialize + ?Sized>(context: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Database { context, message: e.to_string() })
}

/// A report id stored as its 16 bytes.
pub(crate) fn blob_id(bytes: &[u8]) -> Option<ReportId> {
    <[u8; 16]>::try_from(bytes).ok().map(ReportId::from_bytes)
}

/// A partner's JSON body; `row` is what the backend numbers its rows by.
pub(crate) fn partner(row: i64, body: &str) -> Result<Partner> {
    serde_json::from_str(body).map_err(|e| Error::Corrupt { what: "partner", row, message: e.to_string() })
}

/// A user's roles, as the `roles` column holds them.
pub(crate) fn roles(user: &User) -> Result<String> {
    encode("encoding roles", &user.roles)
}

/// A user row: id, partner and the JSON of its roles.
pub(crate) fn user(id: &str, partner: &str, roles: &str) -> Result<User> {
    let corrupt = |m: String| Error::Corrupt { what: "user", row: 0, message: m };
    let roles: BTreeSet<Role> = serde_json::from_str(roles).map_err(|e| corrupt(e.to_string()))?;
    Ok(User {
        id: id.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
        partner: partner.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
        roles,
    })
}

/// A policy event row; the body stays opaque JSON.
pub(crate) fn policy_event(
    version: i64,
    originator: &str,
    at: i64,
    body: String,
    user: Option<&str>,
) -> Result<PolicyEvent> {
    let corrupt = |m: String| Error::Corrupt { what: "policy event", row: version, message: m };
    Ok(PolicyEvent {
        version: unsigned(version),
        originator: originator.parse().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
        at: from_millis(at, "policy event", version)?,
        body,
        user: user.map(str::parse).transpose().map_err(|e: caveat_core::Error| corrupt(e.to_string()))?,
    })
}

/// Marking classes read back, each decoded once however many reports share it.
#[derive(Default)]
pub(crate) struct Markings(HashMap<i64, Marking>);

impl Markings {
    pub(crate) fn contains(&self, id: i64) -> bool {
        self.0.contains_key(&id)
    }

    /// Decodes class `id` from its JSON body. `cited_by` is the report row
    /// that asked for it, when a backend reads classes one report at a time.
    pub(crate) fn decode(&mut self, id: i64, body: &str, cited_by: Option<i64>) -> Result<()> {
        let m: Marking = serde_json::from_str(body).map_err(|e| Error::Corrupt {
            what: "marking",
            row: id,
            message: match cited_by {
                Some(seq) => format!("{e} (report row {seq})"),
                None => e.to_string(),
            },
        })?;
        self.0.insert(id, m);
        Ok(())
    }

    /// The marking of report row `seq`, whose class is `id`.
    fn get(&self, id: i64, seq: i64) -> Result<Marking> {
        self.0.get(&id).cloned().ok_or_else(|| Error::Corrupt {
            what: "marking",
            row: seq,
            message: format!("class {id} is missing"),
        })
    }
}

/// Columns a report is read back from, in [`ReportRow`] order.
pub(crate) const REPORT_COLUMNS: &str = "r.seq, r.batch, (SELECT received_at FROM batches b WHERE b.id = r.batch), \
     r.id, r.originator, r.observed_at, r.lat, r.lon, r.source, r.marking, r.supersedes, r.body";

/// The index of the marking class among [`REPORT_COLUMNS`].
pub(crate) const MARKING_COLUMN: usize = 9;

/// One report row's values, as read by a backend's driver.
pub(crate) struct ReportRow<'a> {
    pub(crate) seq: i64,
    pub(crate) batch: i64,
    /// `None` when the report's batch row is gone.
    pub(crate) received_at: Option<i64>,
    pub(crate) id: &'a [u8],
    pub(crate) originator: &'a str,
    pub(crate) observed_at: i64,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) source: &'a str,
    pub(crate) marking: i64,
    pub(crate) supersedes: Option<&'a [u8]>,
    pub(crate) body: &'a str,
}

impl ReportRow<'_> {
    /// The stored report; `markings` must hold its class.
    pub(crate) fn decode(self, markings: &Markings) -> Result<StoredReport> {
        let seq = self.seq;
        let corrupt = |what: &'static str, message: String| Error::Corrupt { what, row: seq, message };
        let id = blob_id(self.id).ok_or_else(|| corrupt("report id", "not 16 bytes".into()))?;
        let supersedes = match self.supersedes {
            Some(b) => Some(blob_id(b).ok_or_else(|| corrupt("supersedes", "not 16 bytes".into()))?),
            None => None,
        };
        let details: Details = serde_json::from_str(self.body).map_err(|e| corrupt("report", e.to_string()))?;
        let report = Report {
            id,
            originator: self
                .originator
                .parse()
                .map_err(|e: caveat_core::Error| corrupt("originator", e.to_string()))?,
            observed_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.observed_at))
                .map_err(|e| corrupt("observed_at", e.to_string()))?,
            time_uncertainty_s: details.time_uncertainty_s,
            position: Position { lat: self.lat, lon: self.lon },
            uncertainty_m: details.uncertainty_m,
            course_deg: details.course_deg,
            speed_kn: details.speed_kn,
            source: self.source.parse().map_err(|e: caveat_core::Error| corrupt("source", e.to_string()))?,
            vessel: details.vessel,
            remarks: details.remarks,
            marking: markings.get(self.marking, seq)?,
            supersedes,
            station: details.station,
        };
        let received = self.received_at.ok_or_else(|| corrupt("batch", "missing".into()))?;
        Ok(StoredReport {
            seq: unsigned(seq),
            batch: unsigned(self.batch),
            received_at: from_millis(received, "timestamp", seq)?,
            report,
        })
    }
}

/// The id of the correction of `stored`, from the column `by_id` reads after
/// [`REPORT_COLUMNS`].
pub(crate) fn corrected_by(stored: &StoredReport, bytes: Option<&[u8]>) -> Result<Option<ReportId>> {
    bytes
        .map(|b| {
            blob_id(b).ok_or_else(|| Error::Corrupt {
                what: "report id",
                row: signed(stored.seq),
                message: "not 16 bytes".into(),
            })
        })
        .transpose()
}

/// JSON for a case's columns; steps are rows of their own.
pub(crate) fn encode_case<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    encode("encoding a case", v)
}

/// What the `cases` row keeps of a case: everything but its steps.
pub(crate) fn case_head(case: &Case) -> Case {
    Case { steps: Vec::new(), ..case.clone() }
}

/// The `status` column, which SQL can read without the JSON body.
pub(crate) fn case_status(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Open => "open",
        CaseStatus::Closed => "closed",
    }
}

fn corrupt_case(message: String) -> Error {
    Error::Corrupt { what: "case", row: 0, message }
}

/// A case row's JSON body, without its steps.
pub(crate) fn case(body: &str) -> Result<Case> {
    serde_json::from_str(body).map_err(|e| corrupt_case(e.to_string()))
}

/// A `case_steps` row's JSON body.
pub(crate) fn case_step(body: &str) -> Result<CaseStep> {
    serde_json::from_str(body).map_err(|e| corrupt_case(e.to_string()))
}

/// A case id stored as its 16 bytes.
pub(crate) fn case_id(bytes: &[u8]) -> Result<CaseId> {
    <[u8; 16]>::try_from(bytes).map(CaseId::from_bytes).map_err(|_| Error::Corrupt {
        what: "case id",
        row: 0,
        message: "not 16 bytes".into(),
    })
}

/// The part of a report not held in its own columns. Keeping the row small
/// matters: every byte is written twice (WAL, then checkpoint), and row size
/// set the ingest rate more than anything else measured.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) time_uncertainty_s: Option<f64>,
    pub(crate) uncertainty_m: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) course_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) speed_kn: Option<f64>,
    #[serde(default, skip_serializing_if = "VesselDescriptors::is_empty")]
    pub(crate) vessel: VesselDescriptors,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) remarks: Option<String>,
    /// Absent from rows written before reports had a station, and from reports without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) station: Option<caveat_core::Station>,
}

/// [`Details`] borrowed from a report, for writing without copying its strings.
#[derive(serde::Serialize)]
pub(crate) struct DetailsRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time_uncertainty_s: Option<f64>,
    uncertainty_m: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    course_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed_kn: Option<f64>,
    #[serde(skip_serializing_if = "VesselDescriptors::is_empty")]
    vessel: &'a VesselDescriptors,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    station: Option<&'a str>,
}

impl<'a> DetailsRef<'a> {
    pub(crate) fn of(r: &'a Report) -> Self {
        DetailsRef {
            time_uncertainty_s: r.time_uncertainty_s,
            uncertainty_m: r.uncertainty_m,
            course_deg: r.course_deg,
            speed_kn: r.speed_kn,
            vessel: &r.vessel,
            remarks: r.remarks.as_deref(),
            station: r.station.as_ref().map(caveat_core::Station::as_str),
        }
    }

    /// The JSON of the report's `body` column.
    pub(crate) fn encode(r: &'a Report) -> Result<String> {
        encode("encoding a report", &DetailsRef::of(r))
    }
}
