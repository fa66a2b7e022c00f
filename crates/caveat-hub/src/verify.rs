//! `verify-store`: the stored reports and policy history checked against the
//! audit log (issue 16), for operators (`caveat audit verify-store`) and, by
//! partner, for originators.
//!
//! The log is read first, whole, and its entries are hashed again into the
//! tree its stored nodes (and the hub's last saved signed checkpoint) commit
//! to, so entries edited to match an edited store are caught too. Then every
//! stored batch is read in store order and its reports hashed as at ingest
//! (`caveat_audit::BatchContent`): a batch must have exactly one ingest entry
//! whose report ids and content root match, and every ingest entry must name
//! a stored batch. Policy events likewise, by version and body digest. A
//! report that no longer matches is named with the per-report locators the
//! store kept beside its batch; a missing one by its place in the batch (and
//! its id when the entry lists the ids, as it does for small batches).
//!
//! Entries written before issue 16 name no batch: such batches are matched
//! by partner and report ids (their content was never committed to), and
//! counted apart. Because the log is read before the store and an entry is
//! only written after its batch commits, an entry naming a batch the store
//! lacks is never a race; a batch the log lacks may be (a live hub between
//! its commit and its entry), so the log's new tail is read again before
//! one is reported.
//!
//! The check writes nothing: unlike opening a hub, it does not recover a
//! missing entry, so what it reports is what it found.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use caveat_audit::{
    AuditEntry, Hash, MerkleLog, ReportSet, SignedCheckpoint, TreeBuilder, VerifierKey, policy_event_digest,
};
use caveat_core::{PartnerId, ReportId};
use caveat_policy::PolicyChange;
use caveat_store::{AuditStorage, MAX_PAGE, ReportQuery, Store, StoredBatch, Superseded};

use crate::{Error, Hub};

/// Most mismatches one check lists (the first, in store order).
pub const MAX_MISMATCHES: usize = 100;
/// Entries read from the log at a time.
const ENTRY_PAGE: u64 = 1_000;
/// Batches listed at a time.
const BATCH_PAGE: usize = 1_000;
/// How often the log's tail is read again for batches or events it lacked.
const TAIL_LOOKS: usize = 3;

/// What a check of the store against the audit log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreVerification {
    /// Entries of the log checked.
    pub log_size: u64,
    /// The size of the hub's last saved signed checkpoint the log was checked against, if any.
    pub checkpoint: Option<u64>,
    /// Batches checked.
    pub batches: u64,
    /// Reports checked.
    pub reports: u64,
    /// Policy events checked.
    pub policy_events: u64,
    /// Batches whose entry was recovered after a crash (appended on a later start).
    pub recovered_batches: u64,
    /// Policy events whose entries were recovered after a crash.
    pub recovered_policy_events: u64,
    /// Batches logged before entries named their batch and content: matched by report ids only.
    pub legacy_batches: u64,
    /// Policy events logged before entries named their event: matched by policy text, suspension id or resumption.
    pub legacy_policy_events: u64,
    /// What does not match, in store order (the log itself, batches, entries
    /// naming no stored batch, policy events, entries naming no stored
    /// event), at most [`MAX_MISMATCHES`].
    pub mismatches: Vec<StoreMismatch>,
}

impl StoreVerification {
    /// Whether the store and the log match.
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A batch as the partner knows it: its partner and its number among that partner's batches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchName {
    /// The partner.
    pub partner: PartnerId,
    /// Its number among the partner's batches.
    pub number: u64,
}

impl fmt::Display for BatchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} batch {}", self.partner, self.number)
    }
}

/// One way the store and the audit log disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreMismatch {
    /// The log's entries do not hash to the tree its nodes or its saved checkpoint commit to.
    LogAltered {
        /// How.
        detail: String,
    },
    /// A stored report differs from what its batch's entry committed to.
    ReportChanged {
        /// The report, as stored.
        report: ReportId,
        /// Its batch.
        batch: BatchName,
        /// Its place in the batch (0-based).
        position: u64,
        /// The ingest entry.
        entry: u64,
    },
    /// A report of a batch is no longer stored.
    ReportMissing {
        /// Its id, when the entry lists the batch's ids (batches of up to 16 reports).
        report: Option<ReportId>,
        /// Its batch.
        batch: BatchName,
        /// Its place in the batch (0-based).
        position: u64,
        /// The store sequence number it had, when known.
        seq: Option<u64>,
        /// The ingest entry.
        entry: u64,
    },
    /// A stored report its batch's entry does not include.
    ReportAdded {
        /// The report.
        report: ReportId,
        /// The batch it is stored in.
        batch: BatchName,
        /// The ingest entry.
        entry: u64,
    },
    /// A stored report names a batch that is not stored, or lies apart from its batch.
    ReportOutsideBatch {
        /// The report.
        report: ReportId,
        /// The store's (hub-wide) batch number it names.
        store_batch: u64,
    },
    /// A batch's reports differ from its entry, and which report cannot be
    /// told (the store's per-report locators were altered too, or are missing).
    BatchChanged {
        /// The batch.
        batch: BatchName,
        /// The ingest entry.
        entry: u64,
        /// What differs.
        detail: String,
    },
    /// A stored batch that no ingest entry names.
    BatchNotInLog {
        /// The batch.
        batch: BatchName,
        /// How many reports it holds.
        reports: u64,
    },
    /// An ingest entry naming a batch that is not stored.
    BatchNotStored {
        /// The batch the entry names (`number` 0 for an entry from before issue 16, which names none).
        batch: BatchName,
        /// How many reports the entry says it held.
        reports: u64,
        /// The entry.
        entry: u64,
    },
    /// Two entries account for one batch or policy event.
    AccountedTwice {
        /// What.
        item: String,
        /// The first entry.
        first: u64,
        /// The second.
        second: u64,
    },
    /// A stored policy event differs from what its entries recorded.
    PolicyEventChanged {
        /// The policy version.
        version: u64,
        /// The (first) entry.
        entry: u64,
    },
    /// A stored policy event that no entry records.
    PolicyEventNotInLog {
        /// The policy version.
        version: u64,
        /// Whose policy it changed.
        originator: PartnerId,
    },
    /// Entries recording a policy event that is not stored.
    PolicyEventNotStored {
        /// The policy version, when the entry names it (every suspension does).
        version: Option<u64>,
        /// Whose policy.
        originator: PartnerId,
        /// The (first) entry.
        entry: u64,
    },
    /// A stored row cannot be read back at all.
    Unreadable {
        /// The store's description.
        detail: String,
    },
}

impl fmt::Display for StoreMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreMismatch::LogAltered { detail } => write!(f, "the audit log itself does not verify: {detail}"),
            StoreMismatch::ReportChanged { report, batch, position, entry } => write!(
                f,
                "report {report} ({batch}, report {} of the batch) differs from what ingest entry {entry} recorded",
                position + 1
            ),
            StoreMismatch::ReportMissing { report, batch, position, seq, entry } => {
                write!(f, "report ")?;
                if let Some(id) = report {
                    write!(f, "{id} ")?;
                }
                write!(f, "{} of {batch}", position + 1)?;
                if let Some(s) = seq {
                    write!(f, " (seq {s})")?;
                }
                write!(f, " is missing from the store; ingest entry {entry} recorded it")
            }
            StoreMismatch::ReportAdded { report, batch, entry } => {
                write!(f, "report {report} is stored in {batch} but ingest entry {entry} does not include it")
            }
            StoreMismatch::ReportOutsideBatch { report, store_batch } => {
                write!(f, "report {report} names store batch {store_batch}, which is not stored or not beside it")
            }
            StoreMismatch::BatchChanged { batch, entry, detail } => {
                write!(f, "{batch} differs from ingest entry {entry}: {detail}")
            }
            StoreMismatch::BatchNotInLog { batch, reports } => {
                write!(f, "{batch} ({reports} reports) is stored but no ingest entry names it")
            }
            StoreMismatch::BatchNotStored { batch, reports, entry } => {
                if batch.number == 0 {
                    write!(
                        f,
                        "ingest entry {entry} records a batch of {reports} reports of {} that is not stored",
                        batch.partner
                    )
                } else {
                    write!(f, "ingest entry {entry} records {batch} ({reports} reports), which is not stored")
                }
            }
            StoreMismatch::AccountedTwice { item, first, second } => {
                write!(f, "{item} has two entries in the log: {first} and {second}")
            }
            StoreMismatch::PolicyEventChanged { version, entry } => {
                write!(f, "policy event {version} differs from what entry {entry} recorded")
            }
            StoreMismatch::PolicyEventNotInLog { version, originator } => {
                write!(f, "policy event {version} ({originator}) is stored but no entry records it")
            }
            StoreMismatch::PolicyEventNotStored { version, originator, entry } => match version {
                Some(v) => write!(f, "entry {entry} records policy event {v} ({originator}), which is not stored"),
                None => write!(f, "entry {entry} records a policy change by {originator} that is not stored"),
            },
            StoreMismatch::Unreadable { detail } => write!(f, "the store cannot be read back: {detail}"),
        }
    }
}

impl Hub {
    /// Checks the stored reports and policy history against this hub's audit
    /// log (all partners', or `only` one's). See [`verify_store`].
    ///
    /// # Errors
    /// The store or the log cannot be read.
    pub async fn verify_store(&self, only: Option<&PartnerId>) -> Result<StoreVerification, Error> {
        verify_store(self.store.as_ref(), Some(self.audit.verifier_key()), only).await
    }
}

/// What an ingest entry recorded, by the batch it names.
#[derive(Debug, Clone)]
struct Recorded {
    entry: u64,
    reports: ReportSet,
    content: Option<Hash>,
    recovered: bool,
}

/// What policy entries recorded, by version.
#[derive(Debug, Clone)]
struct RecordedEvent {
    first: u64,
    last: u64,
    originator: PartnerId,
    digest: Hash,
    recovered: bool,
}

/// Legacy (pre-issue-16) policy entries, by what identifies their event.
#[derive(Debug, Default)]
struct LegacyPolicy {
    /// (originator, SHA-256 of the text) -> entries.
    uploads: HashMap<(PartnerId, Hash), Vec<u64>>,
    /// suspension id -> (originator, first entry).
    suspensions: BTreeMap<String, (PartnerId, u64)>,
    /// (originator, suspension id) -> entry.
    resumes: HashMap<(PartnerId, String), u64>,
}

/// What the log says, read once.
#[derive(Debug, Default)]
struct LogView {
    batches: HashMap<BatchName, Recorded>,
    /// Pre-issue-16 ingest entries: (partner, report-id digest, count) -> entries.
    legacy_batches: HashMap<(PartnerId, Hash, u64), Vec<u64>>,
    events: BTreeMap<u64, RecordedEvent>,
    legacy_events: LegacyPolicy,
}

/// A sort key for mismatches: section, then the store's or the log's number.
type Keyed = ((u8, u64), StoreMismatch);

struct Check<'a> {
    store: &'a dyn Store,
    only: Option<&'a PartnerId>,
    log: LogView,
    out: StoreVerification,
    found: Vec<Keyed>,
    /// Batches the log lacked, kept to look for their entries in the log's new tail.
    pending_batches: BTreeMap<BatchName, (u64, ReportSet, Hash)>,
    pending_events: BTreeMap<u64, (PartnerId, Hash)>,
    tree: TreeBuilder,
}

/// Checks the stored reports and policy history of `store` against its audit
/// log, for every partner or `only` one, and the log against its tree and
/// against the last checkpoint the hub saved (signed by `key`, when given).
/// Writes nothing.
///
/// # Errors
/// The store or the log cannot be read (a row that cannot be decoded is a
/// mismatch, [`StoreMismatch::Unreadable`], not an error).
pub async fn verify_store(
    store: &dyn Store,
    key: Option<&VerifierKey>,
    only: Option<&PartnerId>,
) -> Result<StoreVerification, Error> {
    let mut check = Check {
        store,
        only,
        log: LogView::default(),
        out: StoreVerification::default(),
        found: Vec::new(),
        pending_batches: BTreeMap::new(),
        pending_events: BTreeMap::new(),
        tree: TreeBuilder::new(),
    };
    let saved = store.latest_checkpoint().await?;
    let log = open_log(store)?;
    check.read_log(&log, 0, saved.as_ref().map(|(size, _)| *size), key, saved.as_ref().map(|(_, n)| n.as_str()))?;
    drop(log);
    check.batches().await?;
    check.policy_events().await?;
    check.look_at_the_tail().await?;
    check.finish();
    Ok(check.out)
}

fn open_log(store: &dyn Store) -> Result<MerkleLog<AuditStorage>, Error> {
    MerkleLog::open(store.audit_storage()?).map_err(|e| Error::internal("opening the audit log", &e))
}

fn entry_name(partner: &PartnerId, number: u64) -> BatchName {
    BatchName { partner: partner.clone(), number }
}

impl Check<'_> {
    fn mismatch(&mut self, key: (u8, u64), m: StoreMismatch) {
        self.found.push((key, m));
    }

    fn wanted(&self, partner: &PartnerId) -> bool {
        self.only.is_none_or(|o| o == partner)
    }

    /// Reads entries `from..log.size()`, hashing them into the tree and
    /// noting what each records; checks the tree against the log's root at
    /// the end, and against the saved checkpoint on the way.
    fn read_log(
        &mut self,
        log: &MerkleLog<AuditStorage>,
        from: u64,
        checkpoint: Option<u64>,
        key: Option<&VerifierKey>,
        note: Option<&str>,
    ) -> Result<(), Error> {
        let size = log.size();
        let mut at = from;
        let checkpoint_root = match (checkpoint, key, note) {
            (Some(size), Some(key), Some(note)) if size <= log.size() => match SignedCheckpoint::open(note, key) {
                Ok(cp) => Some((size, cp.checkpoint().root())),
                Err(e) => {
                    let detail = format!("the saved checkpoint of size {size} is not signed by this hub's key: {e}");
                    self.mismatch((0, 0), StoreMismatch::LogAltered { detail });
                    None
                }
            },
            _ => None,
        };
        if checkpoint_root.is_some() {
            self.out.checkpoint = checkpoint;
        }
        while at < size {
            let to = (at + ENTRY_PAGE).min(size);
            let page = log.storage().entries(at, to).map_err(|e| Error::internal("reading the audit log", &e))?;
            if page.len() as u64 != to - at {
                let detail = format!("entry {} is not stored", at + page.len() as u64);
                self.mismatch((0, 1), StoreMismatch::LogAltered { detail });
                return Ok(());
            }
            for (index, bytes) in (at..).zip(&page) {
                self.tree.push(bytes);
                if let Some((cp_size, root)) = checkpoint_root
                    && self.tree.size() == cp_size
                    && self.tree.root() != root
                {
                    let detail = format!("entries 0-{} do not hash to the saved checkpoint's root", cp_size - 1);
                    self.mismatch((0, 2), StoreMismatch::LogAltered { detail });
                }
                // Bytes that are no entry of ours record nothing in the store; the tree covers them.
                if let Ok(entry) = AuditEntry::from_bytes(bytes) {
                    self.note_entry(index, entry);
                }
            }
            at = to;
        }
        if self.tree.root() != log.root() {
            let detail = format!("its {size} entries do not hash to the root its stored tree nodes give");
            self.mismatch((0, 3), StoreMismatch::LogAltered { detail });
        }
        self.out.log_size = size;
        Ok(())
    }

    fn note_entry(&mut self, index: u64, entry: AuditEntry) {
        match entry {
            AuditEntry::IngestBatch(e) => {
                if !self.wanted(&e.partner) {
                    return;
                }
                let Some(number) = e.batch else {
                    let key = (e.partner, e.reports.digest(), e.reports.count());
                    self.log.legacy_batches.entry(key).or_default().push(index);
                    return;
                };
                let name = entry_name(&e.partner, number);
                if let Some(first) = self.log.batches.get(&name) {
                    let m = StoreMismatch::AccountedTwice { item: name.to_string(), first: first.entry, second: index };
                    self.mismatch((2, index), m);
                    return;
                }
                let recorded =
                    Recorded { entry: index, reports: e.reports, content: e.content, recovered: e.recovered };
                self.log.batches.insert(name, recorded);
            }
            AuditEntry::PolicyUpload(e) => {
                self.note_policy(index, &e.partner, e.event, e.recovered, || {
                    PolicyKey::Upload(e.partner.clone(), e.policy_digest)
                });
            }
            AuditEntry::Suspension(e) => {
                let id = e.suspension.as_str().to_owned();
                self.note_policy(index, &e.originator, e.event, e.recovered, || PolicyKey::Suspension(id));
            }
            AuditEntry::Resume(e) => {
                let id = e.suspension.as_str().to_owned();
                let who = e.originator.clone();
                self.note_policy(index, &e.originator, e.event, e.recovered, || PolicyKey::Resume(who, id));
            }
            // Tag leaves (issue 18) account for nothing in the store.
            // Rule changes (issue 20) are accounted for by their entry alone: rules are mutable state.
            // A witness's refusals (issue 18 item 2) are records of the node's own, not of its store.
            AuditEntry::PolicyDecision(_)
            | AuditEntry::CaseStep(_)
            | AuditEntry::UsageTags(_)
            | AuditEntry::RuleChange(_)
            | AuditEntry::WitnessRefusal(_) => {}
        }
    }

    fn note_policy(
        &mut self,
        index: u64,
        originator: &PartnerId,
        event: Option<caveat_audit::PolicyEventRef>,
        recovered: bool,
        legacy: impl FnOnce() -> PolicyKey,
    ) {
        if !self.wanted(originator) {
            return;
        }
        let Some(event) = event else {
            let legacy_events = &mut self.log.legacy_events;
            match legacy() {
                PolicyKey::Upload(p, digest) => legacy_events.uploads.entry((p, digest)).or_default().push(index),
                PolicyKey::Suspension(id) => {
                    legacy_events.suspensions.entry(id).or_insert((originator.clone(), index));
                }
                PolicyKey::Resume(p, id) => {
                    legacy_events.resumes.insert((p, id), index);
                }
            }
            return;
        };
        match self.log.events.get_mut(&event.version) {
            // A suspension's entries for one event come together, in one append.
            Some(r) if r.last + 1 == index && r.digest == event.digest => r.last = index,
            Some(r) => {
                let first = r.first;
                let item = format!("policy event {}", event.version);
                self.mismatch((4, index), StoreMismatch::AccountedTwice { item, first, second: index });
            }
            None => {
                let recorded = RecordedEvent {
                    first: index,
                    last: index,
                    originator: originator.clone(),
                    digest: event.digest,
                    recovered,
                };
                self.log.events.insert(event.version, recorded);
            }
        }
    }

    /// Every stored batch with its reports, in store order.
    async fn batches(&mut self) -> Result<(), Error> {
        let mut rows = BatchRows { after: 0, page: Vec::new().into_iter(), done: false };
        let mut group: Option<Group> = None;
        let mut cursor = None;
        let mut last_closed = 0u64;
        loop {
            let q = ReportQuery {
                superseded: Superseded::Include,
                after_seq: cursor,
                limit: Some(MAX_PAGE),
                ..ReportQuery::default()
            };
            let page = match self.store.reports(&q).await {
                Ok(p) => p,
                Err(caveat_store::Error::Corrupt { what, row, message }) => {
                    let detail = format!("stored {what} at row {row}: {message}");
                    self.mismatch((1, 0), StoreMismatch::Unreadable { detail });
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            let Some(last) = page.last() else { break };
            cursor = Some(last.seq);
            for s in page {
                if group.as_ref().is_some_and(|g| g.batch != s.batch)
                    && let Some(g) = group.take()
                {
                    last_closed = self.close(&mut rows, g, last_closed).await?;
                }
                let g = group.get_or_insert_with(|| Group { batch: s.batch, reports: Vec::new() });
                let leaf = caveat_audit::report_leaf(&s.report).map_err(|e| Error::internal("hashing a report", &e))?;
                g.reports.push((s.seq, s.report.id, leaf));
            }
        }
        if let Some(g) = group.take() {
            self.close(&mut rows, g, last_closed).await?;
        }
        while let Some(b) = rows.next(self.store).await? {
            self.check_batch(&b, &[]).await?;
        }
        Ok(())
    }

    /// Checks a run of reports of one store batch, after the batches before
    /// it that hold no report. Returns the batch number closed.
    async fn close(&mut self, rows: &mut BatchRows, g: Group, last_closed: u64) -> Result<u64, Error> {
        if g.batch <= last_closed {
            // Stored apart from the rest of its batch (its batch column was edited).
            if let Some((_, id, _)) = g.reports.first() {
                self.mismatch((1, g.batch), StoreMismatch::ReportOutsideBatch { report: *id, store_batch: g.batch });
            }
            return Ok(last_closed);
        }
        while let Some(b) = rows.peek(self.store).await? {
            if b.batch >= g.batch {
                break;
            }
            let b = b.clone();
            rows.skip();
            self.check_batch(&b, &[]).await?;
        }
        match rows.peek(self.store).await? {
            Some(b) if b.batch == g.batch => {
                let b = b.clone();
                rows.skip();
                self.check_batch(&b, &g.reports).await?;
            }
            _ => {
                if let Some((_, id, _)) = g.reports.first() {
                    let m = StoreMismatch::ReportOutsideBatch { report: *id, store_batch: g.batch };
                    self.mismatch((1, g.batch), m);
                }
            }
        }
        Ok(g.batch)
    }

    /// Checks one stored batch and its reports (seq, id, leaf hash) against its entry.
    async fn check_batch(&mut self, b: &StoredBatch, reports: &[(u64, ReportId, Hash)]) -> Result<(), Error> {
        if !self.wanted(&b.partner) {
            return Ok(());
        }
        self.out.batches += 1;
        self.out.reports += reports.len() as u64;
        let mut tree = TreeBuilder::new();
        for (_, _, leaf) in reports {
            tree.push_leaf_hash(*leaf);
        }
        let ids: Vec<ReportId> = reports.iter().map(|(_, id, _)| *id).collect();
        let set = ReportSet::new(&ids);
        let name = entry_name(&b.partner, b.partner_batch);
        let key = (1, b.batch);
        let Some(recorded) = self.log.batches.remove(&name) else {
            let legacy = (b.partner.clone(), set.digest(), set.count());
            if let Some(entries) = self.log.legacy_batches.get_mut(&legacy)
                && entries.pop().is_some()
            {
                self.out.legacy_batches += 1;
                return Ok(());
            }
            self.pending_batches.insert(name, (b.batch, set, tree.root()));
            return Ok(());
        };
        if recorded.recovered {
            self.out.recovered_batches += 1;
        }
        let matches = recorded.reports == set && recorded.content.is_none_or(|c| c == tree.root());
        if !matches {
            let m = self.locate(b, &name, reports, &recorded).await?;
            self.mismatch(key, m);
        }
        Ok(())
    }

    /// Names the first report of a batch that does not match its entry.
    async fn locate(
        &self,
        b: &StoredBatch,
        name: &BatchName,
        reports: &[(u64, ReportId, Hash)],
        recorded: &Recorded,
    ) -> Result<StoreMismatch, Error> {
        let entry = recorded.entry;
        let position = |i: usize| i as u64;
        // The entry lists small batches' ids: a missing one is named by them.
        let missing_id = |stored: &[ReportId]| recorded.reports.ids().iter().find(|id| !stored.contains(id)).copied();
        let stored_ids: Vec<ReportId> = reports.iter().map(|(_, id, _)| *id).collect();
        // A gap in the batch's seq range is a deleted report.
        if let Some((first, last)) = b.seqs {
            let mut expected = first;
            for (i, (seq, _, _)) in reports.iter().enumerate() {
                if *seq != expected {
                    return Ok(StoreMismatch::ReportMissing {
                        report: missing_id(&stored_ids),
                        batch: name.clone(),
                        position: position(i),
                        seq: Some(expected),
                        entry,
                    });
                }
                expected += 1;
            }
            if expected <= last {
                return Ok(StoreMismatch::ReportMissing {
                    report: missing_id(&stored_ids),
                    batch: name.clone(),
                    position: position(reports.len()),
                    seq: Some(expected),
                    entry,
                });
            }
        }
        let locators = self.store.batch_report_locators(b.batch).await?.unwrap_or_default();
        let width = caveat_audit::REPORT_LOCATOR_BYTES;
        let kept: Vec<&[u8]> = locators.chunks_exact(width).collect();
        if !kept.is_empty() && locators.len() % width == 0 {
            for (i, (_, id, leaf)) in reports.iter().enumerate() {
                let Some(want) = kept.get(i) else {
                    return Ok(StoreMismatch::ReportAdded { report: *id, batch: name.clone(), entry });
                };
                if caveat_audit::locator(leaf) != *want {
                    // Deleted (the next one's locator is here) or changed.
                    if kept.get(i + 1).is_some_and(|next| caveat_audit::locator(leaf) == *next) {
                        return Ok(StoreMismatch::ReportMissing {
                            report: missing_id(&stored_ids),
                            batch: name.clone(),
                            position: position(i),
                            seq: None,
                            entry,
                        });
                    }
                    return Ok(StoreMismatch::ReportChanged {
                        report: *id,
                        batch: name.clone(),
                        position: position(i),
                        entry,
                    });
                }
            }
            if kept.len() > reports.len() {
                return Ok(StoreMismatch::ReportMissing {
                    report: missing_id(&stored_ids),
                    batch: name.clone(),
                    position: position(reports.len()),
                    seq: None,
                    entry,
                });
            }
        }
        let detail = if recorded.reports.count() == reports.len() as u64 {
            "its reports' content or ids differ, and the store's per-report locators do not say which report".into()
        } else {
            format!("it holds {} reports; the entry recorded {}", reports.len(), recorded.reports.count())
        };
        Ok(StoreMismatch::BatchChanged { batch: name.clone(), entry, detail })
    }

    /// Every stored policy event against the entries recording it.
    async fn policy_events(&mut self) -> Result<(), Error> {
        let events = match self.store.policy_events(0).await {
            Ok(e) => e,
            Err(caveat_store::Error::Corrupt { what, row, message }) => {
                let detail = format!("stored {what} at row {row}: {message}");
                self.mismatch((3, 0), StoreMismatch::Unreadable { detail });
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        for e in events {
            if !self.wanted(&e.originator) {
                continue;
            }
            self.out.policy_events += 1;
            let digest = policy_event_digest(&e.body);
            match self.log.events.remove(&e.version) {
                Some(r) => {
                    if r.recovered {
                        self.out.recovered_policy_events += 1;
                    }
                    if r.digest != digest || r.originator != e.originator {
                        let m = StoreMismatch::PolicyEventChanged { version: e.version, entry: r.first };
                        self.mismatch((3, e.version), m);
                    }
                }
                None => {
                    if self.legacy_event(&e.originator, e.version, &e.body) {
                        self.out.legacy_policy_events += 1;
                    } else {
                        self.pending_events.insert(e.version, (e.originator.clone(), digest));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether an entry from before issue 16 records this event (and takes it).
    fn legacy_event(&mut self, originator: &PartnerId, version: u64, body: &str) -> bool {
        let Ok(change) = serde_json::from_str::<PolicyChange>(body) else { return false };
        let legacy = &mut self.log.legacy_events;
        match change {
            PolicyChange::Upload { text, .. } => legacy
                .uploads
                .get_mut(&(originator.clone(), Hash::sha256(text.as_bytes())))
                .is_some_and(|entries| entries.pop().is_some()),
            PolicyChange::Suspend { .. } => legacy.suspensions.remove(&format!("suspension/{version}")).is_some(),
            PolicyChange::Resume { id, .. } => {
                legacy.resumes.remove(&(originator.clone(), format!("suspension/{id}"))).is_some()
            }
        }
    }

    /// Reads entries appended since the log was read, for batches and events
    /// it lacked: a live hub may have been between a commit and its entry.
    async fn look_at_the_tail(&mut self) -> Result<(), Error> {
        for look in 0..TAIL_LOOKS {
            if self.pending_batches.is_empty() && self.pending_events.is_empty() {
                return Ok(());
            }
            if look > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            let log = open_log(self.store)?;
            if log.size() <= self.out.log_size {
                continue;
            }
            let from = self.out.log_size;
            // The tail is read into a view of its own: what it records about
            // anything but the pending batches and events is newer than the
            // store as read, and the main view still holds what the log
            // recorded of batches the store lacks.
            let main = std::mem::take(&mut self.log);
            self.read_log(&log, from, None, None, None)?;
            let mut tail = std::mem::replace(&mut self.log, main);
            for (name, (store_batch, set, root)) in std::mem::take(&mut self.pending_batches) {
                match tail.batches.remove(&name) {
                    Some(r) if r.reports == set && r.content.is_none_or(|c| c == root) => {
                        self.out.recovered_batches += u64::from(r.recovered);
                    }
                    Some(r) => {
                        let detail = "its reports differ from what its entry recorded".to_owned();
                        let m = StoreMismatch::BatchChanged { batch: name, entry: r.entry, detail };
                        self.mismatch((1, store_batch), m);
                    }
                    None => {
                        self.pending_batches.insert(name, (store_batch, set, root));
                    }
                }
            }
            for (version, (originator, digest)) in std::mem::take(&mut self.pending_events) {
                match tail.events.remove(&version) {
                    Some(r) if r.digest == digest => self.out.recovered_policy_events += u64::from(r.recovered),
                    Some(r) => {
                        self.mismatch((3, version), StoreMismatch::PolicyEventChanged { version, entry: r.first });
                    }
                    None => {
                        self.pending_events.insert(version, (originator, digest));
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) {
        for (name, (store_batch, set, _)) in std::mem::take(&mut self.pending_batches) {
            let m = StoreMismatch::BatchNotInLog { batch: name, reports: set.count() };
            self.found.push(((1, store_batch), m));
        }
        for (version, (originator, _)) in std::mem::take(&mut self.pending_events) {
            self.found.push(((3, version), StoreMismatch::PolicyEventNotInLog { version, originator }));
        }
        let log = std::mem::take(&mut self.log);
        for (batch, r) in log.batches {
            let m = StoreMismatch::BatchNotStored { batch, reports: r.reports.count(), entry: r.entry };
            self.found.push(((2, r.entry), m));
        }
        for ((partner, _, count), entries) in log.legacy_batches {
            for entry in entries {
                let m = StoreMismatch::BatchNotStored { batch: entry_name(&partner, 0), reports: count, entry };
                self.found.push(((2, entry), m));
            }
        }
        for (version, r) in log.events {
            let m = StoreMismatch::PolicyEventNotStored {
                version: Some(version),
                originator: r.originator,
                entry: r.first,
            };
            self.found.push(((4, r.first), m));
        }
        for (id, (originator, entry)) in log.legacy_events.suspensions {
            // Only ids the hub writes name a stored event.
            let version = id.strip_prefix("suspension/").and_then(|v| v.parse().ok());
            if version.is_some() {
                self.found.push(((4, entry), StoreMismatch::PolicyEventNotStored { version, originator, entry }));
            }
        }
        for ((originator, _), entries) in log.legacy_events.uploads {
            for entry in entries {
                let m = StoreMismatch::PolicyEventNotStored { version: None, originator: originator.clone(), entry };
                self.found.push(((4, entry), m));
            }
        }
        for ((originator, id), entry) in log.legacy_events.resumes {
            if id.starts_with("suspension/") {
                self.found.push(((4, entry), StoreMismatch::PolicyEventNotStored { version: None, originator, entry }));
            }
        }
        let mut found = std::mem::take(&mut self.found);
        found.sort_by_key(|(k, _)| *k);
        self.out.mismatches = found.into_iter().map(|(_, m)| m).take(MAX_MISMATCHES).collect();
    }
}

/// What identifies a legacy policy entry's event.
enum PolicyKey {
    Upload(PartnerId, Hash),
    Suspension(String),
    Resume(PartnerId, String),
}

/// A run of one store batch's reports: (seq, id, leaf hash) each.
struct Group {
    batch: u64,
    reports: Vec<(u64, ReportId, Hash)>,
}

/// The stored batches, paged, with one row of look-ahead.
struct BatchRows {
    after: u64,
    page: std::vec::IntoIter<StoredBatch>,
    done: bool,
}

impl BatchRows {
    async fn fill(&mut self, store: &dyn Store) -> Result<(), Error> {
        if self.page.as_slice().is_empty() && !self.done {
            let page = store.batches(self.after, BATCH_PAGE).await?;
            match page.last() {
                Some(last) => self.after = last.batch,
                None => self.done = true,
            }
            self.page = page.into_iter();
        }
        Ok(())
    }

    async fn peek(&mut self, store: &dyn Store) -> Result<Option<&StoredBatch>, Error> {
        self.fill(store).await?;
        Ok(self.page.as_slice().first())
    }

    fn skip(&mut self) {
        self.page.next();
    }

    async fn next(&mut self, store: &dyn Store) -> Result<Option<StoredBatch>, Error> {
        self.fill(store).await?;
        Ok(self.page.next())
    }
}
