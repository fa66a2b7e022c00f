//! The crate's one error type.

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A threshold out of its range: the field (dotted path) and the value as given.
    #[error("event config `{field}` = {value}: {reason}")]
    BadConfig {
        /// The field, e.g. `encounter.max_distance_m`.
        field: String,
        /// The offending value, shortened.
        value: String,
        /// What range it must be in.
        reason: &'static str,
    },
}

impl Error {
    pub(crate) fn bad(field: impl Into<String>, value: impl std::fmt::Display, reason: &'static str) -> Self {
        let mut value = value.to_string();
        value.truncate(64);
        Error::BadConfig { field: field.into(), value, reason }
    }
}
