//! Usage reports: every use of one originator's data, summarised and provable.

use std::collections::BTreeMap;
use std::ops::Range;

use caveat_core::{CaseId, PartnerId, Purpose};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::bundle::{AuditBundle, VerifiedBundle, verify_bundle};
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::completeness::{Completeness, UsageKey, tag_chain};
use crate::entry::{AuditEntry, Decision, OriginatorUse};
use crate::log::MerkleLog;
use crate::note::VerifierKey;
use crate::storage::LogStorage;

/// Uses of an originator's data by one (consumer partner, purpose, case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageLine {
    /// The consuming (or, for case steps, acting) partner.
    pub partner: PartnerId,
    /// The declared purpose; none for case steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The case, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
    /// Decisions that released the originator's reports.
    pub permits: u64,
    /// Decisions that withheld them.
    pub denies: u64,
    /// Reports released, summed over the permits.
    pub reports_permitted: u64,
    /// Reports withheld, summed over the denies.
    pub reports_denied: u64,
    /// Case steps that relied on the originator's reports.
    pub case_steps: u64,
}

/// Summarises the decisions and case steps among `entries` that used `originator`'s data.
///
/// Ingests, uploads, suspensions and resumes are the originator's own acts: they are
/// listed in a usage report's bundle but not counted here. Lines are sorted by
/// partner, purpose and case.
pub fn summarise(originator: &PartnerId, entries: &[(u64, AuditEntry)]) -> Vec<UsageLine> {
    type Key = (PartnerId, Option<Purpose>, Option<CaseId>);
    let mut lines: BTreeMap<Key, UsageLine> = BTreeMap::new();
    let mine =
        |uses: &[OriginatorUse]| uses.iter().filter(|u| &u.originator == originator).cloned().collect::<Vec<_>>();
    for (_, entry) in entries {
        let (key, uses, is_step) = match entry {
            AuditEntry::PolicyDecision(d) => {
                ((d.partner.clone(), Some(d.purpose), d.case), mine(&d.originators), false)
            }
            AuditEntry::CaseStep(s) => ((s.partner.clone(), None, Some(s.case)), mine(&s.originators), true),
            // Entries that use no reports: ingest, and the originator's own policy changes.
            AuditEntry::IngestBatch(_)
            | AuditEntry::PolicyUpload(_)
            | AuditEntry::Suspension(_)
            | AuditEntry::Resume(_)
            | AuditEntry::UsageTags(_)
            | AuditEntry::RuleChange(_)
            | AuditEntry::WitnessRefusal(_) => continue,
        };
        if uses.is_empty() {
            continue;
        }
        let line = lines.entry(key.clone()).or_insert_with(|| UsageLine {
            partner: key.0,
            purpose: key.1,
            case: key.2,
            permits: 0,
            denies: 0,
            reports_permitted: 0,
            reports_denied: 0,
            case_steps: 0,
        });
        if is_step {
            line.case_steps += 1;
        }
        for u in uses {
            match u.decision {
                Decision::Permit => {
                    line.permits += u64::from(!is_step);
                    line.reports_permitted += u.reports.count();
                }
                Decision::Deny => {
                    line.denies += u64::from(!is_step);
                    line.reports_denied += u.reports.count();
                }
            }
        }
    }
    lines.into_values().collect()
}

/// The indexes in `range` of entries touching `originator`, by reading each entry.
///
/// A linear scan, for small logs and tests; a store keeps an index by originator and
/// passes its indexes to [`UsageReport::build`] instead.
pub fn entries_touching<S: LogStorage>(
    log: &MerkleLog<S>,
    originator: &PartnerId,
    range: Range<u64>,
) -> Result<Vec<u64>, Error> {
    let mut out = Vec::new();
    for index in range.start..range.end.min(log.size()) {
        if decode_at(log, index)?.touches(originator) {
            out.push(index);
        }
    }
    Ok(out)
}

fn decode_at<S: LogStorage>(log: &MerkleLog<S>, index: u64) -> Result<AuditEntry, Error> {
    AuditEntry::from_bytes(&log.entry(index)?).map_err(|e| match e {
        Error::Entry { reason, .. } => Error::Entry { index: Some(index), reason },
        other => other,
    })
}

/// What one page of a complete usage report asks for (see [`UsageReport::build_page`]).
#[derive(Debug, Clone)]
pub struct UsagePage {
    /// The originator's key ([`Tagger::key`](crate::Tagger::key)).
    pub key: UsageKey,
    /// The log's last tag leaf ([`Tagger::last`](crate::Tagger::last)).
    pub last_tag: Option<u64>,
    /// The first entry index of the page.
    pub from: u64,
    /// Most entries listed.
    pub limit: usize,
}

/// Each entry that touched an originator's data, a summary of them, and the proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The originator reported on.
    pub originator: PartnerId,
    /// [`summarise`] of the entries.
    pub summary: Vec<UsageLine>,
    /// The entries with inclusion proofs against a signed checkpoint.
    pub bundle: AuditBundle,
    /// The proof that the entries are all of the originator's in a range of the
    /// log (absent in reports made before issue 18: inclusion only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<Completeness>,
    /// Where the next page starts, when this one stopped at its entry limit
    /// (ask again with `from` set to it; each page is complete over its range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

impl UsageReport {
    /// The report for `originator` over the entries at `indexes` (which must all touch
    /// it), proved against `checkpoint`, with a consistency proof from `saved_size`.
    pub fn build<S: LogStorage>(
        log: &MerkleLog<S>,
        originator: &PartnerId,
        checkpoint: &SignedCheckpoint,
        saved_size: Option<u64>,
        indexes: &[u64],
    ) -> Result<Self, Error> {
        let mut entries = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let entry = decode_at(log, index)?;
            if !entry.touches(originator) {
                return Err(Error::NotTouching { index, originator: originator.to_string() });
            }
            entries.push((index, entry));
        }
        entries.sort_by_key(|(i, _)| *i);
        let bundle = AuditBundle::build(log, checkpoint, saved_size, indexes)?;
        Ok(UsageReport {
            originator: originator.clone(),
            summary: summarise(originator, &entries),
            bundle,
            completeness: None,
            next: None,
        })
    }

    /// One page of `originator`'s report, proved complete: the entries of
    /// `touching` (ascending, all touching it) from `page.from`, at most
    /// `page.limit` of them, with the tag leaves from `page.last_tag` back that
    /// prove no other entry in the page's range touches it.
    ///
    /// Entries before the first tag leaf (a log written before issue 18, longer
    /// than [`RESUME_SCAN`](crate::RESUME_SCAN)) come in pages of their own
    /// without a completeness proof, as before. `next` says where the following
    /// page starts when this one stopped at its limit or at the start of tagging.
    ///
    /// # Errors
    /// As [`UsageReport::build`], or a tag leaf cannot be read.
    pub fn build_page<S: LogStorage>(
        log: &MerkleLog<S>,
        originator: &PartnerId,
        checkpoint: &SignedCheckpoint,
        saved_size: Option<u64>,
        page: &UsagePage,
        touching: &[u64],
    ) -> Result<Self, Error> {
        let size = checkpoint.checkpoint().size();
        let from = page.from;
        let limit = page.limit.max(1);
        let chain = match page.last_tag {
            Some(last) => tag_chain(log, last, size, from)?,
            None => Vec::new(),
        };
        let mut leaves = Vec::with_capacity(chain.len());
        for &index in &chain {
            if let AuditEntry::UsageTags(t) = decode_at(log, index)? {
                leaves.push((index, t.from, t.to));
            }
        }
        let in_range = |lo: u64, hi: u64| touching.iter().copied().filter(move |&i| lo <= i && i < hi);
        let (Some(&(_, first_from, _)), Some(&(_, _, tagged_to))) = (leaves.first(), leaves.last()) else {
            // No tag leaf at all: inclusion only.
            let listed: Vec<u64> = in_range(from, size).take(limit).collect();
            let next = (listed.len() == limit).then(|| listed.last().map_or(from, |l| l + 1));
            let mut report = Self::build(log, originator, checkpoint, saved_size, &listed)?;
            report.next = next;
            return Ok(report);
        };
        if from < first_from {
            // Before tagging began: inclusion only, up to where it began.
            let listed: Vec<u64> = in_range(from, first_from).take(limit).collect();
            let next = if listed.len() == limit { listed.last().map_or(from, |l| l + 1) } else { first_from };
            let mut report = Self::build(log, originator, checkpoint, saved_size, &listed)?;
            report.next = Some(next);
            return Ok(report);
        }
        let end = tagged_to.max(from);
        let mut listed: Vec<u64> = in_range(from, end).take(limit + 1).collect();
        let (to, next) = if listed.len() > limit {
            listed.truncate(limit);
            let to = listed.last().map_or(from, |l| l + 1);
            (to, Some(to))
        } else {
            (end, None)
        };
        // And the tag leaf at the range's end, if that is where one sits: no
        // tag covers the last tag leaf until another is written (which would
        // need another, for ever), so a reader checking up to a checkpoint
        // that ends in one (a partner's witness, issue 18) learns from its
        // inclusion proof here that the entry it was not told about is a tag
        // leaf, which touches no one.
        let needed: Vec<u64> = leaves
            .iter()
            .filter(|&&(i, lo, hi)| (lo < to.max(from + 1) && hi > from) || i == to)
            .map(|&(i, _, _)| i)
            .collect();
        let mut report = Self::build(log, originator, checkpoint, saved_size, &listed)?;
        report.completeness = Some(Completeness::build(log, size, &needed, from, to, page.key.clone())?);
        report.next = next;
        Ok(report)
    }

    /// Checks the report offline: the bundle (see [`verify_bundle`]), that every entry
    /// touches the originator, that the summary is what the entries add up to, and,
    /// when the report carries one, its [`Completeness`] proof (see
    /// [`Completeness::verify`]): the entries are exactly the originator's in its range.
    pub fn verify(&self, saved: Option<&str>, key: &VerifierKey) -> Result<VerifiedBundle, Error> {
        let verified = verify_bundle(saved, key, &self.bundle)?;
        if let Some(completeness) = &self.completeness {
            // The bundle's own order, not the sorted one: a reordered report is refused.
            let listed: Vec<u64> = self.bundle.entries.iter().map(|e| e.index).collect();
            completeness.verify(&self.originator, &verified.checkpoint, &listed)?;
        }
        if let Some((index, _)) = verified.entries.iter().find(|(_, e)| !e.touches(&self.originator)) {
            return Err(Error::NotTouching { index: *index, originator: self.originator.to_string() });
        }
        if summarise(&self.originator, &verified.entries) != self.summary {
            return Err(Error::SummaryMismatch);
        }
        Ok(verified)
    }
}

/// What [`verify_pages`] proved about a run of usage report pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPages {
    /// The last page's checkpoint; save it for next time.
    pub checkpoint: Checkpoint,
    /// The entries of every page, by index.
    pub entries: Vec<(u64, AuditEntry)>,
    /// The range over which the pages are proved complete, if any page carries a proof.
    pub complete: Option<Range<u64>>,
    /// Entries listed on pages without a completeness proof (inclusion only).
    pub inclusion_only: usize,
}

/// Checks consecutive pages of one originator's usage report: each page as
/// [`UsageReport::verify`] does, the first against `saved` and each later one
/// against the page before (so their checkpoints are consistent), and that the
/// complete pages' ranges follow one another without a gap.
///
/// # Errors
/// The first page that fails, its error; [`Error::Incomplete`] when the pages
/// are of different originators, leave a range out, or a page without a
/// completeness proof follows one with.
pub fn verify_pages(saved: Option<&str>, key: &VerifierKey, pages: &[UsageReport]) -> Result<VerifiedPages, Error> {
    let mut run = PageRun::default();
    let mut entries = Vec::new();
    let mut checkpoint = None;
    let mut previous: Option<&str> = saved;
    for page in pages {
        let verified = page.verify(previous, key)?;
        run.push(page, verified.entries.len())?;
        entries.extend(verified.entries);
        checkpoint = Some(verified.checkpoint);
        previous = Some(&page.bundle.checkpoint);
    }
    let checkpoint = checkpoint.ok_or_else(|| Error::Incomplete { reason: "there are no pages".to_owned() })?;
    Ok(VerifiedPages { checkpoint, entries, complete: run.complete(), inclusion_only: run.inclusion_only() })
}

/// Follows a run of verified pages of one originator's usage report: the
/// complete pages' ranges must follow one another without a gap. For a
/// verifier that checks each page its own way (e.g. against a witness quorum)
/// and then hands it here; [`verify_pages`] does both.
#[derive(Debug, Clone, Default)]
pub struct PageRun {
    originator: Option<PartnerId>,
    pages: usize,
    complete: Option<Range<u64>>,
    inclusion_only: usize,
}

impl PageRun {
    /// Adds the next page, already verified, which listed `entries` entries.
    ///
    /// # Errors
    /// [`Error::Incomplete`] when the page is of another originator, does not
    /// start where the complete pages before it ended, or has no completeness
    /// proof after pages that had one.
    pub fn push(&mut self, page: &UsageReport, entries: usize) -> Result<(), Error> {
        let bad = |reason: String| Error::Incomplete { reason };
        self.pages += 1;
        let number = self.pages;
        match &self.originator {
            Some(first) if *first != page.originator => {
                return Err(bad(format!("page {number} is {}'s report, page 1 is {first}'s", page.originator)));
            }
            Some(_) => {}
            None => self.originator = Some(page.originator.clone()),
        }
        match (&page.completeness, &mut self.complete) {
            (Some(c), Some(range)) => {
                if c.from != range.end {
                    return Err(bad(format!(
                        "page {number} starts at entry {}, but the pages before end at entry {}: entries {}..{} are in no page",
                        c.from,
                        range.end,
                        range.end.min(c.from),
                        range.end.max(c.from)
                    )));
                }
                range.end = c.to;
            }
            (Some(c), None) => self.complete = Some(c.from..c.to),
            (None, Some(_)) => {
                return Err(bad(format!("page {number} has no completeness proof, but the pages before it do")));
            }
            (None, None) => self.inclusion_only += entries,
        }
        Ok(())
    }

    /// The range the pages so far are proved complete over.
    pub fn complete(&self) -> Option<Range<u64>> {
        self.complete.clone()
    }

    /// Entries listed on pages without a completeness proof.
    pub fn inclusion_only(&self) -> usize {
        self.inclusion_only
    }
}
