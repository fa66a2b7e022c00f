//! Partners, the users who act for them, and their roles.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::{Error, Marking, SourceKind};

/// A member organisation's id, e.g. `GBR`, `USA-USCG`, `JIATFS`.
///
/// 2 to 32 characters: upper-case ASCII letters and digits, with single hyphens
/// between them. Checked once here so every layer above can trust it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartnerId(String);

impl PartnerId {
    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PartnerId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let ok_len = (2..=32).contains(&s.len());
        let ok_chars = s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        let ok_hyphens = !s.starts_with('-') && !s.ends_with('-') && !s.contains("--");
        if ok_len && ok_chars && ok_hyphens {
            Ok(PartnerId(s.to_owned()))
        } else {
            Err(Error::invalid(
                "partner",
                s,
                "partner ids are 2-32 upper-case letters, digits and single inner hyphens",
            ))
        }
    }
}

impl TryFrom<String> for PartnerId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<PartnerId> for String {
    fn from(p: PartnerId) -> String {
        p.0
    }
}

impl fmt::Display for PartnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member organisation and its standing defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// Its id.
    pub id: PartnerId,
    /// Human name, e.g. "Royal Navy (United Kingdom)".
    pub name: String,
    /// The marking applied to its reports that carry none.
    pub default_marking: Marking,
    /// The marking applied to AIS it feeds in, when different from `default_marking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ais_marking: Option<Marking>,
}

impl Partner {
    /// The default marking this partner applies to a report of `source`.
    pub fn marking_for(&self, source: SourceKind) -> &Marking {
        match (source, &self.ais_marking) {
            (SourceKind::Ais, Some(m)) => m,
            _ => &self.default_marking,
        }
    }

    /// Checks the name and markings (a partner file is outside input too).
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() || self.name.chars().count() > 128 {
            return Err(Error::invalid("name", &self.name, "must be 1-128 characters"));
        }
        self.default_marking.validate()?;
        if let Some(m) = &self.ais_marking {
            m.validate()?;
        }
        Ok(())
    }
}

/// A user's id: 1-64 characters of lower-case letters, digits, `.`, `_`, `-`, `@`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UserId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if ok {
            Ok(UserId(s.to_owned()))
        } else {
            Err(Error::invalid("user", s, "user ids are 1-64 of a-z 0-9 . _ - @"))
        }
    }
}

impl TryFrom<String> for UserId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<UserId> for String {
    fn from(u: UserId) -> String {
        u.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user may do for its partner.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads the picture, submits reports.
    Analyst,
    /// Runs the watch: reads, opens cases.
    WatchOfficer,
    /// Records boarding, seizure and detention steps.
    BoardingOfficer,
    /// Reads the audit log and usage reports.
    Auditor,
    /// Sets the partner's standing policy and suspensions.
    PartnerAdmin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] =
        [Role::Analyst, Role::WatchOfficer, Role::BoardingOfficer, Role::Auditor, Role::PartnerAdmin];

    /// The wire name, e.g. `partner-admin`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::WatchOfficer => "watch-officer",
            Role::BoardingOfficer => "boarding-officer",
            Role::Auditor => "auditor",
            Role::PartnerAdmin => "partner-admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| Error::invalid("role", s, "unknown role"))
    }
}

/// A person or system acting for exactly one partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The partner it acts for; it can never act for another.
    pub partner: PartnerId,
    /// What it may do.
    pub roles: BTreeSet<Role>,
}

impl User {
    /// Whether the user holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_ids() {
        for ok in ["GBR", "USA-USCG", "JIATFS", "NL2"] {
            assert_eq!(ok.parse::<PartnerId>().unwrap().as_str(), ok);
        }
        for bad in ["", "G", "gbr", "-GBR", "GBR-", "USA--USCG", "GB R", "ÄBC"] {
            let err = bad.parse::<PartnerId>().unwrap_err();
            assert_eq!(err.field(), Some("partner"), "{bad}");
        }
    }

    #[test]
    fn user_ids_and_roles() {
        assert!("ana.smith@gbr".parse::<UserId>().is_ok());
        assert!("Ana".parse::<UserId>().is_err());
        assert_eq!("partner-admin".parse::<Role>().unwrap(), Role::PartnerAdmin);
        assert!("admiral".parse::<Role>().is_err());
    }
}
