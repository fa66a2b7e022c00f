//! The crate's one error type.

use caveat_core::{CaseId, PartnerId};

use crate::{PolicyVersion, SuspensionId};

/// Why a policy change or a decision request was refused.
///
/// Upload errors name the originator, the policy (its `@id` annotation, or its
/// position in the uploaded text as `#1`, `#2`, ...) and the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The uploaded text is not Cedar.
    #[error("standing policy of {originator} does not parse: {message}")]
    Parse {
        /// The uploader.
        originator: PartnerId,
        /// Cedar's message, shortened.
        message: String,
    },
    /// The uploaded text is larger than the hub accepts.
    #[error("standing policy of {originator} is {bytes} bytes; at most {limit} are accepted")]
    TooLarge {
        /// The uploader.
        originator: PartnerId,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The uploaded text nests brackets deeper than the hub accepts.
    #[error("standing policy of {originator} nests brackets {depth} deep; at most {limit} are accepted")]
    TooDeep {
        /// The uploader.
        originator: PartnerId,
        /// The depth found.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A policy in the uploaded text has more operators than the hub accepts.
    #[error("a standing policy of {originator} has {operators} operators; at most {limit} are accepted")]
    TooComplex {
        /// The uploader.
        originator: PartnerId,
        /// How many it has.
        operators: usize,
        /// The limit.
        limit: usize,
    },
    /// The uploaded text holds more policies than the hub accepts.
    #[error("standing policy of {originator} holds {count} policies; at most {limit} are accepted")]
    TooManyPolicies {
        /// The uploader.
        originator: PartnerId,
        /// How many it holds.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A policy could affect something other than a forbid over the uploader's own reports.
    #[error("standing policy {policy} of {originator} is out of scope: {part}")]
    OutOfScope {
        /// The uploader.
        originator: PartnerId,
        /// The policy's name (`@id`) or position (`#n`).
        policy: String,
        /// The part at fault and why.
        part: String,
    },
    /// A policy does not validate against the schema (unknown attribute, wrong type, ...).
    #[error("standing policy {policy} of {originator} does not match the schema: {message}")]
    Schema {
        /// The uploader.
        originator: PartnerId,
        /// The policy's name (`@id`) or position (`#n`).
        policy: String,
        /// Cedar's validation message.
        message: String,
    },
    /// A policy's `@id` is not a short name of `a-z 0-9 - _ .`, or is used twice.
    #[error("standing policy name {name:?} of {originator} is {reason}")]
    PolicyName {
        /// The uploader.
        originator: PartnerId,
        /// The name, shortened.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A suspension names an empty set of partners or purposes (it would suspend nothing).
    #[error("suspension by {originator} names no {field}; leave it out to mean all")]
    EmptySuspension {
        /// The originator.
        originator: PartnerId,
        /// `partners` or `purposes`.
        field: &'static str,
    },
    /// A suspension names its own originator among the suspended partners.
    #[error("suspension by {originator} names {originator} itself; an originator always may use its own reports")]
    SelfSuspension {
        /// The originator.
        originator: PartnerId,
    },
    /// A suspension's reason is empty or longer than the limit.
    #[error("suspension reason is {chars} characters; 1 to {limit} are accepted")]
    Reason {
        /// Its length.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// A suspension's reason holds a control character (a line break, a tab, an escape).
    #[error("field `reason`: character {position} is a control character; write the reason on one line of text")]
    ReasonText {
        /// 1-based position of the first control character.
        position: usize,
    },
    /// No such suspension.
    #[error("no suspension {id}")]
    UnknownSuspension {
        /// The id asked for.
        id: SuspensionId,
    },
    /// The suspension belongs to another originator.
    #[error("suspension {id} belongs to {owner}, not {originator}")]
    NotYourSuspension {
        /// The suspension.
        id: SuspensionId,
        /// Its originator.
        owner: PartnerId,
        /// Who asked to resume it.
        originator: PartnerId,
    },
    /// The suspension was already resumed.
    #[error("suspension {id} was already resumed")]
    AlreadyResumed {
        /// The suspension.
        id: SuspensionId,
    },
    /// A change does not follow the current version (another process moved on, or one was missed).
    #[error("change for version {got} does not follow version {current}")]
    VersionGap {
        /// The version held.
        current: PolicyVersion,
        /// The change's version.
        got: PolicyVersion,
    },
    /// The request's view key names a case but the facts given are for another case (or absent).
    #[error("view key names case {view:?} but case facts are for {facts:?}")]
    CaseMismatch {
        /// The view key's case.
        view: Option<CaseId>,
        /// The facts' case.
        facts: Option<CaseId>,
    },
    /// A time cannot be expressed as a Cedar datetime (years 0000 to 9999).
    #[error("{field} {value} is outside the years 0000-9999")]
    TimeRange {
        /// Which time.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// An action name that is not one of `read`, `fuse`, `export`, `cite`, `audit`.
    #[error("unknown action {value:?}")]
    UnknownAction {
        /// The value, shortened.
        value: String,
    },
    /// The Cedar engine refused an input the crate built (a bug in this crate: report it).
    #[error("policy engine refused {what}: {message}")]
    Engine {
        /// What was being built.
        what: &'static str,
        /// Cedar's message, shortened.
        message: String,
    },
}

/// Shortens outside text carried in an error to at most 200 characters.
pub(crate) fn shorten(s: impl std::fmt::Display) -> String {
    let s = s.to_string();
    if s.chars().count() <= 200 {
        s
    } else {
        let mut t: String = s.chars().take(199).collect();
        t.push('…');
        t
    }
}
