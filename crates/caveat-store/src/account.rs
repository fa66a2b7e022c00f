//! Users, API tokens and the policy event log: what the hub must remember
//! besides reports. The store keeps policy events as opaque JSON; their
//! meaning belongs to `caveat-policy`.

use caveat_core::PartnerId;
use time::OffsetDateTime;

/// The SHA-256 of an API token. The store never sees the token itself.
pub type TokenHash = [u8; 32];

/// One entry of the policy event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEvent {
    /// Its position in the log: the policy version after it.
    pub version: u64,
    /// The originator whose policy it changes.
    pub originator: PartnerId,
    /// When it was recorded.
    pub at: OffsetDateTime,
    /// The event, as JSON (defined by `caveat-policy`).
    pub body: String,
}
