//! Federation (issue 17): partners keep their reports on their own node and
//! release them to the hub per view key, under a signed receipt and a lease.
//!
//! Two roles, both in the same binary (docs/federation.md has the design):
//! - [`Node`]: a partner's own Caveat answering the hub's release requests. It
//!   decides every report with *its* policy (markings, standing policies,
//!   suspensions), records the release in *its* audit log, and answers with
//!   the permitted reports and a [`Receipt`] signed with its audit key.
//! - [`Federation`]: the hub's side. When a view is built or refreshed it asks
//!   every configured node for that view key through a [`NodeClient`] (the
//!   HTTP/mTLS client lives in the `caveat` binary: this crate has no HTTP),
//!   verifies each receipt against the node's pinned key, and holds the
//!   released reports per (node, view key) only until their lease expires.
//!   The view fuses them with the reports posted to the hub, and its audit
//!   entries cite each receipt relied on as the determining policy
//!   `release/<receipt id>`.
//!
//! Nothing here runs unless configured: a hub with no nodes behaves exactly as before.

mod hub;
mod node;
mod receipt;
mod reconcile;
mod statement;

use std::future::Future;
use std::pin::Pin;

use caveat_core::{BoundingBox, PartnerId, Purpose, Report, TimeWindow};
use caveat_policy::CaseFacts;
use serde::{Deserialize, Serialize};

pub use hub::{ASK_TIMEOUTS, DEFAULT_NODE_TIMEOUT, Federation, NodeLink, NodeStatus, Released};
pub(crate) use hub::{group_released, usable};
pub use node::{DEFAULT_LEASE, MAX_NOTICE_WAIT, Node, RELEASE_USER};
pub use receipt::{Receipt, ReceiptError, ReceiptId, Scope, content_digest};
pub use reconcile::{Flag, Issued, LEASE_PREFIX, RELEASE_PREFIX, Reconciliation, Use, reconcile};
pub use statement::{
    HubUsage, MAX_STATEMENT_PAGES, REPEAT_REFUSAL_EVERY, ReceiptStatement, Refusal, RefusalLog, STATEMENT_TIMEOUT,
    UsageFuture,
};

/// Most reports one release answer carries. Each report is about 0.5 KB of
/// JSON, so an answer stays under about 5 MB; more follow in further releases
/// (the answer says `more`).
pub const MAX_RELEASE_REPORTS: usize = 10_000;

/// Reports released per answer unless the request says (`limit`).
pub const DEFAULT_RELEASE_REPORTS: usize = 5_000;

/// Largest release request body the node reads, bytes (a request is a few
/// hundred bytes; case facts name at most a deployment's partners).
pub const MAX_RELEASE_REQUEST_BYTES: usize = 64 * 1024;

/// Largest release answer the hub reads, bytes: [`MAX_RELEASE_REPORTS`]
/// reports of the largest size a report may have (remarks of 2,000
/// characters, full descriptors) stay under it.
pub const MAX_RELEASE_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What the released reports may be used for at the hub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseAction {
    /// Fused into the view key's tracks (the node decides `fuse`).
    #[default]
    Fuse,
    /// Exported from the hub (the node decides `export`, so no-export data stays).
    Export,
}

impl ReleaseAction {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReleaseAction::Fuse => "fuse",
            ReleaseAction::Export => "export",
        }
    }

    /// The policy action the node decides.
    pub const fn policy_action(self) -> caveat_policy::Action {
        match self {
            ReleaseAction::Fuse => caveat_policy::Action::Fuse,
            ReleaseAction::Export => caveat_policy::Action::Export,
        }
    }
}

impl std::str::FromStr for ReleaseAction {
    type Err = ReceiptError;
    fn from_str(s: &str) -> Result<Self, ReceiptError> {
        match s {
            "fuse" => Ok(ReleaseAction::Fuse),
            "export" => Ok(ReleaseAction::Export),
            _ => Err(ReceiptError::Syntax { line: 7, reason: "action must be fuse or export" }),
        }
    }
}

/// `POST /v1/federation/release`: what the hub asks a node for. The hub is
/// identified by its client certificate (mutual TLS), not by a field here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The consumer partner of the view key.
    pub recipient: PartnerId,
    /// Its declared purpose.
    pub purpose: Purpose,
    /// The case of the view key with the facts the hub asserts (the node
    /// cannot check them: it decides on them and signs them into the receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseFacts>,
    /// Fuse (the default) or export.
    #[serde(default)]
    pub action: ReleaseAction,
    /// Only reports inside this box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<BoundingBox>,
    /// Only reports observed in this window (the node also applies its own
    /// 24-hour horizon, as views do).
    #[serde(default)]
    pub window: TimeWindow,
    /// The receipt id of the previous release for the same request: only
    /// reports stored since are released (`scope since`). Unknown, stale or
    /// another request's cursor: the node answers a full release instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Most reports in the answer (1..=[`MAX_RELEASE_REPORTS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The node's answer: the permitted reports and the signed receipt covering exactly them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseAnswer {
    /// The receipt, a C2SP signed note.
    pub receipt: String,
    /// The released reports.
    pub reports: Vec<Report>,
    /// Whether more permitted reports remain: ask again with `cursor` set to this receipt's id.
    pub more: bool,
}

/// Why a node could not be asked, or answered badly. Its data is then
/// unavailable for that view key until the next successful ask.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// No connection (refused, TLS failure, certificate not the pinned one).
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// No answer in time.
    #[error("node did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The node refused the request.
    #[error("node refused: HTTP {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its message, shortened.
        message: String,
    },
    /// The answer was larger than [`MAX_RELEASE_ANSWER_BYTES`].
    #[error("node answer over the size limit")]
    TooLarge,
    /// The answer is not a release, or its receipt does not verify or match.
    #[error("bad release: {0}")]
    Bad(String),
}

/// A future a [`NodeClient`] returns.
pub type NodeFuture<'a> = Pin<Box<dyn Future<Output = Result<ReleaseAnswer, NodeError>> + Send + 'a>>;

/// A future a [`NodeClient::notice`] returns: the node's policy version.
pub type NoticeFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, NodeError>> + Send + 'a>>;

/// `GET /v1/federation/notice` on a node: its policy version, as soon as it
/// differs from `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The node's policy version (any change, a suspension first of all,
    /// revokes everything the hub holds from the node).
    pub version: u64,
}

/// How the hub reaches one node. The `caveat` binary implements it over HTTPS
/// with mutual TLS; tests implement it in process.
pub trait NodeClient: Send + Sync + std::fmt::Debug {
    /// Sends one release request and returns the node's answer, unverified
    /// (the [`Federation`] checks the receipt against the node's pinned key).
    fn release<'a>(&'a self, request: &'a ReleaseRequest) -> NodeFuture<'a>;

    /// Waits (up to [`MAX_NOTICE_WAIT`]) for the node's policy version to
    /// differ from `after` and returns it (at once without `after`). A client
    /// that cannot watch refuses, and the hub learns of a suspension only at
    /// its next ask or, at worst, when the lease ends.
    fn notice(&self, after: Option<u64>) -> NoticeFuture<'_> {
        let _ = after;
        Box::pin(async { Err(NodeError::Refused { status: 404, message: "no revocation notices".into() }) })
    }
}

/// The partner every report of a node must come from (for the answer checks).
pub(crate) fn all_from(reports: &[Report], node: &PartnerId) -> bool {
    reports.iter().all(|r| &r.originator == node)
}
