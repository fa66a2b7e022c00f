//! The row layout both backends share: time columns and the JSON of a
//! report's remaining fields, so a body moves between the stores unchanged.

use caveat_core::{Report, VesselDescriptors};
use time::OffsetDateTime;

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Observation times keep full precision (an i64 of nanoseconds lasts to 2262).
pub(crate) fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
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
        }
    }
}
