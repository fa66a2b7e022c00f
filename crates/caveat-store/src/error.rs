//! The one error type of `caveat-store`.

use caveat_core::{PartnerId, ReportId};

/// Why a store operation failed. A failed write stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A batch holds no reports.
    #[error("the batch holds no reports")]
    EmptyBatch,
    /// The partner is not registered (`caveat init` registers partners).
    #[error("report {index}: unknown partner {partner}")]
    UnknownPartner {
        /// 0-based position in the batch.
        index: usize,
        /// The partner.
        partner: PartnerId,
    },
    /// A report's originator is not the partner submitting the batch.
    #[error("report {index}: originator {originator} is not the submitting partner {submitter}")]
    NotSubmitter {
        /// 0-based position in the batch.
        index: usize,
        /// The report's originator.
        originator: PartnerId,
        /// The submitting partner.
        submitter: PartnerId,
    },
    /// A report id is already stored (reports are immutable; correct with `supersedes`).
    #[error("report {index}: id {id} is already stored")]
    DuplicateId {
        /// 0-based position in the batch.
        index: usize,
        /// The id.
        id: ReportId,
    },
    /// A correction names a report the store does not hold, or one by another originator.
    #[error("report {index}: supersedes {target}, which is not a stored report of {originator}")]
    SupersedesUnknown {
        /// 0-based position in the batch.
        index: usize,
        /// The report it claims to correct.
        target: ReportId,
        /// The correcting originator.
        originator: PartnerId,
    },
    /// A report was already corrected once; correct the correction instead.
    #[error("report {index}: {target} is already superseded by another report")]
    AlreadySuperseded {
        /// 0-based position in the batch.
        index: usize,
        /// The report already corrected.
        target: ReportId,
    },
    /// No such user.
    #[error("unknown user {user}")]
    UnknownUser {
        /// The user.
        user: caveat_core::UserId,
    },
    /// A user id already belongs to another partner.
    #[error("user {user} already acts for {partner}; a user acts for one partner only")]
    UserOfOtherPartner {
        /// The user.
        user: caveat_core::UserId,
        /// The partner it acts for.
        partner: String,
    },
    /// A case write conflicts with what is stored.
    #[error("case {case}: {message}")]
    CaseConflict {
        /// The case.
        case: caveat_core::CaseId,
        /// What conflicts.
        message: String,
    },
    /// A watch rule write conflicts with what is stored: its id is taken, it
    /// is gone, or it changed since its writer read it.
    #[error("rule {rule}: {message}")]
    RuleConflict {
        /// The rule.
        rule: crate::RuleId,
        /// What conflicts.
        message: String,
    },
    /// The owner already has the most rules the caller allows.
    #[error("this owner already has {limit} watch rules, the most allowed")]
    TooManyRules {
        /// The limit.
        limit: usize,
    },
    /// The database was written by a newer Caveat.
    #[error("the database schema is version {found}; this Caveat knows up to {supported}")]
    NewerSchema {
        /// Version found.
        found: i64,
        /// Newest version known.
        supported: i64,
    },
    /// A stored row could not be read back (the database was edited or is damaged).
    #[error("stored {what} at row {row} is unreadable: {message}")]
    Corrupt {
        /// What kind of row.
        what: &'static str,
        /// Its row id.
        row: i64,
        /// Why.
        message: String,
    },
    /// The database refused or failed the operation.
    #[error("database error while {context}: {message}")]
    Database {
        /// What the store was doing.
        context: &'static str,
        /// The database's message.
        message: String,
    },
    /// A SQLite store holds reports but the audit log's file beside it is gone.
    #[error(
        "the audit log {} is missing beside a store holding reports; restore it from the backup \
         taken with the database (a new, empty log would hide every use recorded so far)",
        path.display()
    )]
    AuditLogMissing {
        /// Where the log was expected.
        path: std::path::PathBuf,
    },
    /// The database cannot be reached now; retry later.
    #[error("the database is unavailable: {message}")]
    Unavailable {
        /// Why.
        message: String,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn db(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |e| Error::Database { context, message: e.to_string() }
    }
}
