//! Watch rules as the store keeps them (issue 20): each rule's id, the partner
//! it belongs to, its owner, its version for optimistic concurrency, its
//! times, and the hub's JSON of the rest.
//!
//! The rule's content (areas, watchlists, event kinds) is the hub's, whose
//! kinds come from caveat-events, a crate the store may not depend on; the
//! store keeps it as JSON and owns only what it enforces: one version at a
//! time, and at most so many rules per owner.

use std::fmt;
use std::str::FromStr;

use caveat_core::{PartnerId, UserId};
use time::OffsetDateTime;

/// A watch rule's id: 16 random bytes, written `W-` and 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId([u8; 16]);

impl RuleId {
    /// The id of these bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> RuleId {
        RuleId(bytes)
    }

    /// Its bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("W-")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Why a text is not a rule id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rule id is `W-` and 32 lowercase hex digits")]
pub struct BadRuleId;

impl FromStr for RuleId {
    type Err = BadRuleId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix("W-").ok_or(BadRuleId)?;
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(BadRuleId);
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or(BadRuleId)?;
            *o = u8::from_str_radix(pair, 16).map_err(|_| BadRuleId)?;
        }
        Ok(RuleId(out))
    }
}

/// Who owns a rule within its partner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleOwner {
    /// One user, who alone manages it.
    User(UserId),
    /// The partner itself (its partner admins manage it).
    Partner,
}

/// A watch rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    /// Its id.
    pub id: RuleId,
    /// The partner it belongs to; it never changes.
    pub partner: PartnerId,
    /// Its owner; it never changes.
    pub owner: RuleOwner,
    /// 1 when created, one more at every update.
    pub version: u64,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
    /// The hub's JSON of the rest of the rule.
    pub body: String,
}
