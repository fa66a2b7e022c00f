//! The rules a batch must pass before anything of it is stored, and what
//! both backends do the same way to store one: its marking classes and its
//! receipt. A backend looks up what the rules need (whether the submitter is
//! registered, what is stored under the ids a batch names) and writes the rows.

use std::collections::{HashMap, HashSet};

use caveat_core::{Marking, PartnerId, Report, ReportId};

use crate::row::{encode, unsigned};
use crate::rules::check_registered;
use crate::{BatchReceipt, Error, Result};

/// Checked before a backend touches its database.
pub(crate) fn check_not_empty(reports: &[Report]) -> Result<()> {
    if reports.is_empty() { Err(Error::EmptyBatch) } else { Ok(()) }
}

/// The submitter must be registered, and every report its own.
pub(crate) fn check_submitter(submitter: &PartnerId, registered: bool, reports: &[Report]) -> Result<()> {
    check_registered(submitter, registered)?;
    match reports.iter().enumerate().find(|(_, r)| &r.originator != submitter) {
        Some((index, r)) => {
            Err(Error::NotSubmitter { index, originator: r.originator.clone(), submitter: submitter.clone() })
        }
        None => Ok(()),
    }
}

/// Every id a batch names, as a report's own or as the report it corrects,
/// once each: what a backend looks up to check a batch against the store
/// in one go.
pub(crate) fn named_ids(reports: &[Report]) -> Vec<ReportId> {
    let mut seen = HashSet::with_capacity(reports.len());
    reports.iter().flat_map(|r| std::iter::once(r.id).chain(r.supersedes)).filter(|id| seen.insert(*id)).collect()
}

/// The reports a batch corrects, once each: the least a backend looks up,
/// when the store's unique index on report ids tells it of stored ids.
pub(crate) fn targets(reports: &[Report]) -> Vec<ReportId> {
    let mut seen = HashSet::new();
    reports.iter().filter_map(|r| r.supersedes).filter(|id| seen.insert(*id)).collect()
}

/// What the store holds about a report a batch names: its originator and
/// whether it is already corrected.
pub(crate) struct Stored {
    pub(crate) originator: String,
    pub(crate) superseded: bool,
}

/// What [`Check`] knows of an id.
struct Known {
    /// By the submitter.
    mine: bool,
    superseded: bool,
}

/// Checks a batch's reports in batch order, so the first that breaks a rule
/// is named: the report it corrects must be one of the submitter's, stored
/// or earlier in the batch, and not corrected yet; then its own id must be
/// new. It knows of the store what the backend looked up (`stored`, by
/// [`named_ids`] or at least [`targets`]).
pub(crate) struct Check<'a> {
    submitter: &'a PartnerId,
    known: HashMap<ReportId, Known>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(submitter: &'a PartnerId, stored: HashMap<ReportId, Stored>, reports: usize) -> Self {
        let mut known = HashMap::with_capacity(stored.len() + reports);
        known.extend(
            stored
                .into_iter()
                .map(|(id, s)| (id, Known { mine: s.originator == submitter.as_str(), superseded: s.superseded })),
        );
        Check { submitter, known }
    }

    /// Checks report `index` against the store and the reports before it.
    pub(crate) fn report(&mut self, index: usize, r: &Report) -> Result<()> {
        if let Some(target) = r.supersedes {
            match self.known.get_mut(&target) {
                Some(k) if k.mine && !k.superseded => k.superseded = true,
                Some(k) if k.mine => return Err(Error::AlreadySuperseded { index, target }),
                _ => return Err(Error::SupersedesUnknown { index, target, originator: self.submitter.clone() }),
            }
        }
        if self.known.insert(r.id, Known { mine: true, superseded: false }).is_some() {
            return Err(Error::DuplicateId { index, id: r.id });
        }
        Ok(())
    }
}

/// Checks a whole batch, `stored` holding what the store has under its [`named_ids`].
pub(crate) fn check(submitter: &PartnerId, reports: &[Report], stored: HashMap<ReportId, Stored>) -> Result<()> {
    let mut check = Check::new(submitter, stored, reports.len());
    reports.iter().enumerate().try_for_each(|(index, r)| check.report(index, r))
}

/// A batch's distinct markings, each stored once as a marking class.
pub(crate) struct MarkingClasses<'a> {
    /// In order of first use: the order a backend finds or adds them in.
    pub(crate) distinct: Vec<&'a Marking>,
    ids: HashMap<&'a Marking, i64>,
}

impl<'a> MarkingClasses<'a> {
    pub(crate) fn of(reports: &'a [Report]) -> Self {
        let mut distinct = Vec::new();
        let mut seen: HashSet<&Marking> = HashSet::new();
        let mut last: Option<&Marking> = None;
        for r in reports {
            // Consecutive reports usually share a marking: compare before hashing.
            if last != Some(&r.marking) && seen.insert(&r.marking) {
                distinct.push(&r.marking);
            }
            last = Some(&r.marking);
        }
        MarkingClasses { distinct, ids: HashMap::new() }
    }

    /// The JSON a class is stored and found by.
    pub(crate) fn body(m: &Marking) -> Result<String> {
        encode("encoding a report", m)
    }

    /// Records the class id the backend found or added for `m`.
    pub(crate) fn set(&mut self, m: &'a Marking, id: i64) {
        self.ids.insert(m, id);
    }

    /// The class of each report, in batch order.
    pub(crate) fn ids(&self, reports: &[Report]) -> Vec<i64> {
        let mut last: Option<(&Marking, i64)> = None;
        reports
            .iter()
            .map(|r| {
                let id = match last {
                    Some((m, id)) if *m == r.marking => id,
                    _ => self.ids.get(&r.marking).copied().unwrap_or_default(),
                };
                last = Some((&r.marking, id));
                id
            })
            .collect()
    }
}

/// The receipt of a stored batch whose reports hold `first_seq` up to `last_seq`.
pub(crate) fn receipt(batch: i64, partner_batch: i64, count: usize, first_seq: i64, last_seq: i64) -> BatchReceipt {
    BatchReceipt {
        batch: unsigned(batch),
        partner_batch: unsigned(partner_batch),
        count,
        first_seq: unsigned(first_seq),
        last_seq: unsigned(last_seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbr() -> PartnerId {
        "GBR".parse().unwrap()
    }

    fn stored(originator: &str, superseded: bool) -> Stored {
        Stored { originator: originator.into(), superseded }
    }

    /// The first report to break a rule is named, whichever rule it is.
    #[test]
    fn the_first_offending_report_is_named() {
        let kept = Report::builder().build();
        let fix = Report::builder().supersedes(kept.id).build();
        let again = Report::builder().supersedes(kept.id).build();
        let dup = Report::builder().id(fix.id).build();
        let known = || HashMap::from([(kept.id, stored("GBR", false))]);
        let batch = vec![fix.clone(), again.clone(), dup.clone()];
        assert!(matches!(check(&gbr(), &batch, known()), Err(Error::AlreadySuperseded { index: 1, .. })));
        let batch = vec![fix.clone(), dup];
        assert!(matches!(check(&gbr(), &batch, known()), Err(Error::DuplicateId { index: 1, .. })));
        let theirs = HashMap::from([(kept.id, stored("CAN", false))]);
        assert!(matches!(
            check(&gbr(), std::slice::from_ref(&fix), theirs),
            Err(Error::SupersedesUnknown { index: 0, .. })
        ));
        let done = HashMap::from([(kept.id, stored("GBR", true))]);
        assert!(matches!(
            check(&gbr(), std::slice::from_ref(&fix), done),
            Err(Error::AlreadySuperseded { index: 0, .. })
        ));
        // A correction of a report earlier in the same batch is fine.
        let chained = Report::builder().supersedes(fix.id).build();
        check(&gbr(), &[fix, chained], known()).unwrap();
    }

    #[test]
    fn named_ids_are_listed_once() {
        let a = Report::builder().build();
        let b = Report::builder().supersedes(a.id).build();
        let c = Report::builder().supersedes(a.id).build();
        assert_eq!(named_ids(&[a.clone(), b.clone(), c.clone()]), [a.id, b.id, c.id]);
        assert_eq!(targets(&[a.clone(), b, c]), [a.id]);
    }

    #[test]
    fn each_report_gets_its_marking_class() {
        let other = Marking::builder().to(&["CAN"]).build();
        let reports = vec![
            Report::builder().build(),
            Report::builder().build(),
            Report::builder().marking(other.clone()).build(),
            Report::builder().build(),
        ];
        let mut classes = MarkingClasses::of(&reports);
        assert_eq!(classes.distinct, [&reports[0].marking, &other]);
        classes.set(&reports[0].marking, 7);
        classes.set(&reports[2].marking, 8);
        assert_eq!(classes.ids(&reports), [7, 7, 8, 7]);
    }
}
