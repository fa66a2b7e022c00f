//! The one error type of `caveat-core`.

/// Why a value from outside (a partner's report, a configuration file) was refused.
///
/// Every variant names where the problem is (line, field) and carries the
/// offending value, shortened, so an operator can find and fix line 48,211 of
/// a feed without guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field holds a value outside what the domain allows.
    #[error("field `{field}`: {reason} (got {value})")]
    Invalid {
        /// Dotted path of the field, e.g. `vessel.mmsi`.
        field: &'static str,
        /// The offending value, shortened to at most 64 characters.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The report names an originator other than the partner submitting it.
    #[error("field `originator`: report says {claimed} but it is submitted as {submitter}")]
    OriginatorMismatch {
        /// The originator written in the report.
        claimed: String,
        /// The partner the batch is submitted as.
        submitter: String,
    },
    /// The JSON could not be read as a report.
    #[error("{}{message}", if path.is_empty() { String::new() } else { format!("field `{path}`: ") })]
    Json {
        /// Path of the field where reading stopped (`vessel.mmsi`), or empty.
        path: String,
        /// What went wrong, from the JSON reader.
        message: String,
    },
    /// A line is not UTF-8.
    #[error("not valid UTF-8 (first bad byte at column {column})")]
    NotUtf8 {
        /// 1-based byte column of the first invalid byte.
        column: usize,
    },
    /// A line is longer than the limit.
    #[error("line is {len} bytes, over the limit of {limit}")]
    LineTooLong {
        /// Its length.
        len: usize,
        /// The limit, [`crate::MAX_LINE_BYTES`].
        limit: usize,
    },
    /// A batch holds no reports.
    #[error("the batch holds no reports")]
    EmptyBatch,
    /// A batch holds more reports than allowed.
    #[error("the batch holds more than {limit} reports")]
    BatchTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// Two reports in one batch share an id.
    #[error("field `id`: {id} already used on line {first_line}")]
    DuplicateInBatch {
        /// The id.
        id: String,
        /// Line of its first use.
        first_line: u64,
    },
    /// An error on one line of an NDJSON batch.
    #[error("line {line}: {source}")]
    AtLine {
        /// 1-based line number.
        line: u64,
        /// What is wrong on it.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, value: impl std::fmt::Display, reason: &'static str) -> Self {
        Error::Invalid { field, value: shorten(&value.to_string()), reason }
    }

    /// The dotted field path this error is about, when it is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::OriginatorMismatch { .. } => Some("originator"),
            Error::DuplicateInBatch { .. } => Some("id"),
            Error::Json { path, .. } if !path.is_empty() => Some(path),
            Error::AtLine { source, .. } => source.field(),
            _ => None,
        }
    }

    /// The 1-based line this error is on, for errors in a batch.
    pub fn line(&self) -> Option<u64> {
        match self {
            Error::AtLine { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Shortens a value for an error message so a hostile 10 MB string cannot flood logs.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    // Numbers read better bare: (got -3), not (got "-3").
    if s.len() <= MAX && s.parse::<f64>().is_ok() {
        return s.to_owned();
    }
    if s.chars().count() <= MAX {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(MAX).collect();
    format!("{head:?}…")
}
