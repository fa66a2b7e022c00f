//! A direct read of one report.

use std::sync::atomic::Ordering;

use caveat_core::{Report, ReportId, User, ViewKey};
use caveat_policy::{Action, CaseFacts};
use time::OffsetDateTime;

use crate::access::{DecisionGroups, decision_uses, uses_of};
use crate::federation::group_released;
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
        let parsed = id.parse::<ReportId>().ok();
        let stored = match parsed {
            Some(id) => self.store.report(id).await?.map(|(s, _)| s.report),
            None => None,
        };
        let Some(report) = stored else {
            return self.released_report(user, key, case, parsed, now).await;
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

    /// A read of a report not posted to the hub: the same rule as tracks
    /// (issue 17). Only a report a node released to this very view key and
    /// the hub holds under a live lease can be read, decided again by the
    /// hub's policy, and the read's audit entry cites the receipt. Anything
    /// else (never released, released to another key, lease ended, revoked)
    /// answers as an unknown id does, after the same audit.
    async fn released_report(
        &self,
        user: &User,
        key: &ViewKey,
        case: Option<CaseFacts>,
        id: Option<ReportId>,
        now: OffsetDateTime,
    ) -> Result<Report, Error> {
        let ids: Vec<ReportId> = id.into_iter().collect();
        let (mut released, receipts) = self.released_among(key, case.as_ref(), &ids, now).await;
        let decisions = self.access.decide(user, key, Action::Read, case, &released, now).await?;
        let mut groups = DecisionGroups::new();
        group_released(&mut groups, &released, &receipts, &decisions);
        self.audit.append(self.access.entries(user, key, Action::Read, uses_of(&groups), now).await?).await?;
        let held = !released.is_empty();
        let Some(mut report) = released.pop().filter(|_| decisions.is_permitted(0)) else {
            if held {
                self.metrics.decisions_deny.fetch_add(1, Ordering::Relaxed);
            }
            return Err(Error::NotFound);
        };
        self.metrics.decisions_permit.fetch_add(1, Ordering::Relaxed);
        // The corrected report is not looked up among released ones: naming it
        // would tell the caller an id it has not been shown under this lease.
        report.supersedes = None;
        Ok(report)
    }
}
