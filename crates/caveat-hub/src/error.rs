//! The hub's one error type: what a use-case refuses, and why, in words that
//! name the field at fault but never depend on data the caller may not see.
//! Adapters (the HTTP API, the CLI) map each variant to their own form; the
//! match there is exhaustive, so a new variant is a compile error where it
//! must be answered.

/// Why a use-case did not happen. Nothing was changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something in the request is malformed; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// A submitted report is invalid (or may not be cited); the message names the line and field.
    #[error("{0}")]
    InvalidReport(String),
    /// An uploaded standing policy was refused; the message names the policy and the part at fault.
    #[error("{0}")]
    InvalidPolicy(String),
    /// The view names a case its partner does not take part in (or none that exists: alike by design).
    #[error("header Caveat-Case: no case of your partner has this id")]
    UnknownCase,
    /// Not there, or not visible to this view: the two are indistinguishable by design.
    #[error("not found")]
    NotFound,
    /// The caller may see this but not do it: it needs the role named.
    #[error("this needs the role {0}")]
    Forbidden(&'static str),
    /// The request conflicts with stored state (a report id already stored, a case step out of turn).
    #[error("{0}")]
    Conflict(String),
    /// The database is unreachable; retry.
    #[error("the hub's database is unavailable; retry shortly")]
    Unavailable,
    /// Anything else; detail logged, not returned.
    #[error("internal error")]
    Internal,
}

impl Error {
    /// Logs an internal failure and returns the generic error for it.
    pub fn internal(context: &str, e: &dyn std::fmt::Display) -> Error {
        eprintln!("caveat-hub: internal error while {context}: {e}");
        Error::Internal
    }
}

impl From<caveat_store::Error> for Error {
    fn from(e: caveat_store::Error) -> Self {
        match e {
            caveat_store::Error::Unavailable { message } => {
                eprintln!("caveat-hub: database unavailable: {message}");
                Error::Unavailable
            }
            other => Error::internal("using the store", &other),
        }
    }
}
