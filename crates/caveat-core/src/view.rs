//! View keys and case ids: who asks, for what, in which case.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::{Error, PartnerId, Purpose};

/// An interdiction case's id (a UUIDv7, so cases sort by opening time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(uuid::Uuid);

impl CaseId {
    /// From its 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        CaseId(uuid::Uuid::from_bytes(bytes))
    }
    /// Its 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
    /// A new id from a millisecond Unix time and 10 random bytes (the caller owns the clock and the randomness).
    pub fn generate(unix_millis: u64, random: [u8; 10]) -> Self {
        CaseId(uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid())
    }
}

impl FromStr for CaseId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        uuid::Uuid::try_parse(s).map(CaseId).map_err(|_| Error::invalid("case", s, "not a UUID"))
    }
}

impl TryFrom<String> for CaseId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<CaseId> for String {
    fn from(c: CaseId) -> String {
        c.to_string()
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// The (consumer partner, purpose, case) of a request. Everything a request may
/// see is a function of its view key and time (DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewKey {
    /// The consuming partner.
    pub partner: PartnerId,
    /// The declared purpose.
    pub purpose: Purpose,
    /// The case the request acts in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
}

impl ViewKey {
    /// A view key.
    pub fn new(partner: PartnerId, purpose: Purpose, case: Option<CaseId>) -> Self {
        ViewKey { partner, purpose, case }
    }
}

impl fmt::Display for ViewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.partner, self.purpose)?;
        if let Some(c) = &self.case {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}
