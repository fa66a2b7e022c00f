//! Declared purposes and source kinds: closed sets, so they are enums.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// What a consumer declares it will use data for, on every request.
///
/// Never implied: a request without a purpose sees nothing (DESIGN.md, default deny).
/// Deliberately absent: anything to do with weapons or strike targeting.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Intercepting, boarding and seizing: law enforcement at sea.
    Interdiction,
    /// Saving life at sea.
    SearchAndRescue,
    /// Navigation safety, pollution, traffic.
    MaritimeSafety,
    /// Building a criminal case for trial.
    Prosecution,
    /// Watching the maritime picture without acting on it.
    Monitoring,
}

impl Purpose {
    /// Every purpose, in a stable order.
    pub const ALL: [Purpose; 5] = [
        Purpose::Interdiction,
        Purpose::SearchAndRescue,
        Purpose::MaritimeSafety,
        Purpose::Prosecution,
        Purpose::Monitoring,
    ];

    /// The wire name, e.g. `search-and-rescue`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::Interdiction => "interdiction",
            Purpose::SearchAndRescue => "search-and-rescue",
            Purpose::MaritimeSafety => "maritime-safety",
            Purpose::Prosecution => "prosecution",
            Purpose::Monitoring => "monitoring",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Purpose {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::invalid("purpose", s, "unknown purpose"))
    }
}

/// How a report was observed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A vessel's own AIS transmission.
    Ais,
    /// A shore radar site.
    CoastalRadar,
    /// A maritime patrol aircraft's radar.
    MpaRadar,
    /// A maritime patrol aircraft's electro-optical sighting.
    MpaEo,
    /// A sighting from a ship (cutter, frigate).
    Vessel,
    /// Human intelligence: a tip, usually late and vague.
    Tip,
}

impl SourceKind {
    /// Every source kind, in a stable order.
    pub const ALL: [SourceKind; 6] = [
        SourceKind::Ais,
        SourceKind::CoastalRadar,
        SourceKind::MpaRadar,
        SourceKind::MpaEo,
        SourceKind::Vessel,
        SourceKind::Tip,
    ];

    /// The wire name, e.g. `coastal-radar`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SourceKind::Ais => "ais",
            SourceKind::CoastalRadar => "coastal-radar",
            SourceKind::MpaRadar => "mpa-radar",
            SourceKind::MpaEo => "mpa-eo",
            SourceKind::Vessel => "vessel",
            SourceKind::Tip => "tip",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::invalid("source", s, "unknown source kind"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>().unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        for k in SourceKind::ALL {
            assert_eq!(k.as_str().parse::<SourceKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("strike".parse::<Purpose>().is_err());
    }
}
