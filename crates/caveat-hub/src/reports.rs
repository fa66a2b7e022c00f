//! A direct read of one report.

use std::sync::atomic::Ordering;

use caveat_core::{Report, ReportId, User, ViewKey};
use caveat_policy::Action;
use time::OffsetDateTime;

use crate::access::decision_uses;
use crate::{Error, Hub};

impl Hub {
    /// Report `id` (as the caller wrote it) if `key` may read it, else
    /// [`Error::NotFound`]; audited either way.
    ///
    /// A malformed id and an unknown one answer alike, after the same work as
    /// a forbidden one (one audit entry per partner), so neither the answer,
    /// the log's growth nor the counters tell a missing report from a withheld one.
    ///
    /// # Errors
    /// Not found or not permitted; the view names a case its partner is not
    /// in (decided first: the answer must not depend on whether the report
    /// exists); the store or the audit log fails.
    pub async fn report(&self, user: &User, key: &ViewKey, id: &str) -> Result<Report, Error> {
        let case = self.case_facts(key).await?;
        let now = OffsetDateTime::now_utc();
        let stored = match id.parse::<ReportId>() {
            Ok(id) => self.store.report(id).await?.map(|(s, _)| s.report),
            Err(_) => None,
        };
        let Some(report) = stored else {
            self.audit.append(self.access.entries(user, key, Action::Read, Vec::new(), now).await?).await?;
            return Err(Error::NotFound);
        };
        // A correction names the report it corrects only when the caller may read
        // that one too (same originator, so the decisions share one audit entry).
        let corrected = match report.supersedes {
            Some(t) => self.store.report(t).await?.map(|(s, _)| s.report),
            None => None,
        };
        let mut reports = vec![report];
        reports.extend(corrected);
        let decisions = self.access.decide(user, key, Action::Read, case, &reports, now).await?;
        let uses = decision_uses(&reports, &decisions);
        self.audit.append(self.access.entries(user, key, Action::Read, uses, now).await?).await?;
        let permitted = decisions.is_permitted(0);
        let corrected_visible = decisions.is_permitted(1);
        let Some(mut report) = reports.into_iter().next() else { return Err(Error::NotFound) };
        if permitted {
            self.metrics.decisions_permit.fetch_add(1, Ordering::Relaxed);
            if !corrected_visible {
                report.supersedes = None;
            }
            Ok(report)
        } else {
            self.metrics.decisions_deny.fetch_add(1, Ordering::Relaxed);
            Err(Error::NotFound)
        }
    }
}
