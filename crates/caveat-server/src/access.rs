//! The seam between the API and access decisions: which stored reports a
//! view key may use, for which action. Every data path (direct read, tracks,
//! exports, live updates) filters through here before anything else happens
//! (DESIGN.md invariant 2: fuse after filtering).

use caveat_core::{Report, ViewKey};
use time::OffsetDateTime;

/// What the caller does with the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read a report directly.
    Read,
    /// Fuse it into the caller's tracks.
    Fuse,
    /// Let it leave the hub in an export.
    Export,
}

/// Decides, per report, whether the view may use it.
///
/// TODO(#4): replace the marking reading below with caveat-policy (standing
/// policies, suspensions, case rules, cached per marking class).
#[derive(Debug, Default)]
pub struct Access;

impl Access {
    /// One decision per report, in order. Default deny: only what the
    /// originator's marking grants, or the originator's own data.
    pub fn decide(&self, key: &ViewKey, action: Action, reports: &[&Report], now: OffsetDateTime) -> Vec<bool> {
        reports
            .iter()
            .map(|r| {
                if r.originator == key.partner {
                    return true;
                }
                let m = &r.marking;
                m.grants(&key.partner, key.purpose, now)
                    && !m.requires_case
                    && !(action == Action::Export && m.no_export)
            })
            .collect()
    }
}
