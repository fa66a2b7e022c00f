//! The crate's one error type.

use caveat_core::ReportId;

/// Why a report could not be fused.
///
/// Messages name the report id and the field: they are for the hub's log.
/// The server must not pass them to a view that cannot see the report
/// (DESIGN.md invariant 2 covers error text).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A field is out of the range fusion can work with (core validation normally
    /// catches this first; `Report`'s fields are public, so fusion checks again).
    #[error("report {id}: {field} is {value}: {reason}")]
    InvalidReport {
        /// The report.
        id: ReportId,
        /// The field, e.g. `uncertainty_m`.
        field: &'static str,
        /// The offending value, shortened.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// One picture holds reports from more originators than its provenance sets can track.
    #[error("report {id}: a picture tracks at most {max} originators")]
    TooManyOriginators {
        /// The report that would have added one more.
        id: ReportId,
        /// The limit.
        max: usize,
    },
}

impl Error {
    pub(crate) fn invalid(
        id: ReportId,
        field: &'static str,
        value: impl std::fmt::Display,
        reason: &'static str,
    ) -> Self {
        let mut value = value.to_string();
        value.truncate(64);
        Error::InvalidReport { id, field, value, reason }
    }
}
