//! The one error type of `caveat-sim`.

use std::path::PathBuf;

/// Why a scenario could not be built or written.
///
/// Each variant names where the problem is: the CSV line and column of a
/// trajectory file, the configuration field, or the file being written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A row of a trajectory CSV could not be read.
    #[error("trajectory CSV line {line}, column `{field}`: {reason} (got {value:?})")]
    Csv {
        /// 1-based line number (the header is line 1).
        line: u64,
        /// Column name.
        field: &'static str,
        /// The offending value, shortened to at most 64 characters.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The trajectory CSV lacks a column the simulator needs.
    #[error("trajectory CSV header lacks column `{column}`")]
    MissingColumn {
        /// The missing column.
        column: &'static str,
    },
    /// Reading the trajectory input failed.
    #[error("reading trajectories")]
    Read(#[source] std::io::Error),
    /// A configuration value is out of range.
    #[error("scenario config `{field}`: {reason} (got {value})")]
    Config {
        /// The field, e.g. `duration`.
        field: &'static str,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A partner of the configuration does not validate.
    #[error("scenario config `partners`: partner {id} is invalid")]
    Partner {
        /// The partner's id.
        id: String,
        /// Why, from `caveat-core`.
        #[source]
        source: caveat_core::Error,
    },
    /// The fleet holds no vessel inside the scenario region.
    #[error("no vessel of the fleet lies inside the scenario region")]
    EmptyFleet,
    /// Writing scenario output failed.
    #[error("writing {}", path.display())]
    Write {
        /// The file (or `-` for a caller's writer).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Serialising a value to JSON failed.
    #[error("serialising {what} to JSON")]
    Json {
        /// What was being written.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    pub(crate) fn config(field: &'static str, value: impl std::fmt::Display, reason: &'static str) -> Self {
        Error::Config { field, value: value.to_string(), reason }
    }

    pub(crate) fn csv(line: u64, field: &'static str, value: &str, reason: &'static str) -> Self {
        Error::Csv { line, field, value: value.chars().take(64).collect(), reason }
    }
}
