//! The audit writer: one thread owns the Merkle log and appends every
//! request's entries durably before the request may answer (invariant 5).
//!
//! Concurrent requests are batched into one append (group commit): a request
//! waits for at most one fsync, and the log sees large batches under load.
//!
//! The writer also keeps the chain of tag leaves that makes usage reports
//! provably complete (issue 18, `caveat_audit::Tagger`): a tag leaf after every
//! [`TAG_EVERY`] entries, and before each usage report so the report is complete
//! to the end of the log. No timer: an entry left untagged by a crash is tagged
//! by the next writer to open the log, which reads back to the last tag leaf.

use std::ops::Range;
use std::sync::mpsc;

use caveat_audit::{
    AuditEntry, ConsistencyProof, InclusionProof, MerkleLog, SignedCheckpoint, SigningKey, StoreItem, Tagger,
    UsagePage, UsageReport, VerifierKey,
};
use caveat_core::PartnerId;
use caveat_store::AuditStorage;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::Error;

/// Most requests folded into one append.
const MAX_GROUP: usize = 512;

/// A tag leaf is written once this many entries are untagged: at 6 partners
/// about 3 bytes an entry of what an originator fetches to check completeness
/// (the leaf and its inclusion proof; `cargo bench -p caveat-audit --bench
/// completeness`, `docs/audit.md`).
pub(crate) const TAG_EVERY: usize = 1024;

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Command {
    Append(Vec<AuditEntry>, Reply<Range<u64>>),
    Checkpoint(Reply<SignedCheckpoint>),
    Size(Reply<u64>),
    Inclusion(u64, u64, Reply<InclusionProof>),
    Consistency(u64, u64, Reply<ConsistencyProof>),
    Usage {
        originator: PartnerId,
        indexes: Vec<u64>,
        saved_size: Option<u64>,
        checkpoint: Option<SignedCheckpoint>,
        from: u64,
        limit: usize,
        reply: Reply<UsageReport>,
    },
    FlushTags(Reply<()>),
    Accounted(Vec<StoreItem>, Reply<Vec<Option<u64>>>),
}

/// Handle to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Command>,
    verifier: VerifierKey,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditLog({})", self.verifier)
    }
}

impl AuditLog {
    /// Opens the log over `storage` and starts its writer thread.
    /// `partners` each get a column in every tag leaf.
    ///
    /// # Errors
    /// The stored log cannot be read.
    pub fn start(storage: AuditStorage, key: SigningKey, partners: Vec<PartnerId>) -> Result<AuditLog, Error> {
        let verifier = key.verifier_key();
        let log = MerkleLog::open(storage).map_err(|e| Error::internal("opening the audit log", &e))?;
        let mut tagger = Tagger::new(&key, partners);
        tagger.resume(&log).map_err(|e| Error::internal("reading the audit log's tag leaves", &e))?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("caveat-audit".into())
            .spawn(move || run(log, &key, tagger, &rx))
            .map_err(|e| Error::internal("starting the audit writer", &e))?;
        Ok(AuditLog { tx, verifier })
    }

    /// The hub's public key, in C2SP vkey form.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command, context: &str) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).map_err(|e| Error::internal(context, &e))?;
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::internal(context, &e)),
            Err(e) => Err(Error::internal(context, &e)),
        }
    }

    /// Appends entries durably; returns the indexes of those appended.
    ///
    /// An entry accounting for a stored batch or policy event that the log
    /// already accounts for is not appended again: another hub process on the
    /// same database, starting after a crash, may have recovered it first
    /// (see `recover.rs`). The range then covers only the entries appended.
    pub async fn append(&self, entries: Vec<AuditEntry>) -> Result<Range<u64>, Error> {
        if entries.is_empty() {
            return Ok(0..0);
        }
        self.ask(|r| Command::Append(entries, r), "writing the audit log").await
    }

    /// For each item, the index of the entry accounting for it, if the log has one.
    pub async fn accounted(&self, items: Vec<StoreItem>) -> Result<Vec<Option<u64>>, Error> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.ask(|r| Command::Accounted(items, r), "reading the audit index").await
    }

    /// A checkpoint of the log as it is now, signed by the hub.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, Error> {
        self.ask(Command::Checkpoint, "signing a checkpoint").await
    }

    /// The number of entries.
    pub async fn tree_size(&self) -> Result<u64, Error> {
        self.ask(Command::Size, "reading the audit log's size").await
    }

    /// An inclusion proof of entry `index` in the tree of `size`.
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, Error> {
        self.ask(|r| Command::Inclusion(index, size, r), "building an inclusion proof").await
    }

    /// A consistency proof from `old` to `new`.
    pub async fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, Error> {
        self.ask(|r| Command::Consistency(old, new, r), "building a consistency proof").await
    }

    /// One page of `originator`'s usage report: at most `limit` of `indexes`
    /// (every entry touching it, ascending) from index `from`, proved against
    /// `checkpoint` (a cosigned one) or else a fresh one, and proved complete
    /// over its range (`caveat_audit::UsageReport::build_page`).
    pub async fn usage(
        &self,
        originator: PartnerId,
        indexes: Vec<u64>,
        saved_size: Option<u64>,
        checkpoint: Option<SignedCheckpoint>,
        from: u64,
        limit: usize,
    ) -> Result<UsageReport, Error> {
        self.ask(
            |reply| Command::Usage { originator, indexes, saved_size, checkpoint, from, limit, reply },
            "building a usage report",
        )
        .await
    }

    /// Writes the tag leaves covering every entry so far (none when all are
    /// covered): a usage report's checkpoint taken after this is complete to its end.
    pub async fn flush_tags(&self) -> Result<(), Error> {
        self.ask(Command::FlushTags, "writing the audit log's tag leaves").await
    }
}

fn run(mut log: MerkleLog<AuditStorage>, key: &SigningKey, mut tagger: Tagger, rx: &mpsc::Receiver<Command>) {
    let text = |e: caveat_audit::Error| e.to_string();
    while let Ok(first) = rx.recv() {
        let mut pending = vec![first];
        while pending.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(c) => pending.push(c),
                Err(_) => break,
            }
        }
        // Appends in the group become one durable batch.
        let mut appends: Vec<(Vec<AuditEntry>, Reply<Range<u64>>)> = Vec::new();
        let mut others = Vec::new();
        for c in pending {
            match c {
                Command::Append(entries, reply) => appends.push((entries, reply)),
                other => others.push(other),
            }
        }
        if !appends.is_empty() {
            append_group(&mut log, &mut tagger, appends);
        }
        if tagger.untagged() >= TAG_EVERY {
            // A failure here is retried at the next append or report, after the
            // tagger re-reads the log; the entries themselves are durable.
            let _retried_later = tagger.flush(&mut log, OffsetDateTime::now_utc());
        }
        for c in others {
            // `is_ok` is false only when the requester went away and no longer needs the answer.
            let _delivered = match c {
                Command::Append(..) => true,
                Command::Accounted(items, r) => {
                    r.send(log.storage().accounted(&items).map_err(|e| e.to_string())).is_ok()
                }
                Command::Checkpoint(r) => r.send(log.sign_checkpoint(key).map_err(text)).is_ok(),
                Command::Size(r) => r.send(Ok(log.size())).is_ok(),
                Command::Inclusion(i, s, r) => r.send(log.inclusion_proof(i, s).map_err(text)).is_ok(),
                Command::Consistency(a, b, r) => r.send(log.consistency_proof(a, b).map_err(text)).is_ok(),
                Command::Usage { originator, indexes, saved_size, checkpoint, from, limit, reply } => {
                    let page = UsagePage { key: tagger.key(&originator), last_tag: tagger.last(), from, limit };
                    reply
                        .send(
                            checkpoint
                                .map_or_else(|| log.sign_checkpoint(key), Ok)
                                .and_then(|cp| {
                                    UsageReport::build_page(&log, &originator, &cp, saved_size, &page, &indexes)
                                })
                                .map_err(text),
                        )
                        .is_ok()
                }
                Command::FlushTags(r) => {
                    r.send(tagger.flush(&mut log, OffsetDateTime::now_utc()).map(|_| ()).map_err(text)).is_ok()
                }
            };
        }
    }
}

/// Tries to append a group this many times before giving up.
const APPEND_ATTEMPTS: usize = 4;

/// Appends a group of requests' entries as one durable batch and answers each request.
///
/// An append fails when another writer (a second hub process, the CLI) has
/// appended since this one last looked, or when an entry accounts for a batch
/// or policy event the log already accounts for (the store's index refuses a
/// second, see caveat-store). Either way the log's edge is read again, entries
/// already accounted for are dropped, and the rest tried again: each stored
/// batch and event ends with exactly one entry, whoever wrote it.
fn append_group(
    log: &mut MerkleLog<AuditStorage>,
    tagger: &mut Tagger,
    mut appends: Vec<(Vec<AuditEntry>, Reply<Range<u64>>)>,
) {
    drop_repeats(&mut appends);
    let mut last_error = String::new();
    for attempt in 0..APPEND_ATTEMPTS {
        if attempt > 0 {
            // Someone else appended: the tagger re-reads the log before its next leaf.
            tagger.invalidate();
            if let Err(e) = log.reload() {
                last_error = e.to_string();
                continue;
            }
            if let Err(e) = drop_accounted(log, &mut appends) {
                last_error = e.to_string();
                continue;
            }
        }
        let all: Vec<AuditEntry> = appends.iter().flat_map(|(e, _)| e.iter().cloned()).collect();
        match log.append_entries(&all) {
            Ok(_) => {
                tagger.appended(log, &all);
                let mut at = log.size() - all.len() as u64;
                for (entries, reply) in appends {
                    let n = entries.len() as u64;
                    let _delivered = reply.send(Ok(at..at + n)).is_ok();
                    at += n;
                }
                return;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    for (_, reply) in appends {
        let _delivered = reply.send(Err(last_error.clone())).is_ok();
    }
}

/// Drops, from every request but the first to name it, entries accounting for
/// a store item an earlier request of the group accounts for (the store's
/// index would refuse the whole group). Several entries of one request may
/// share an item: a suspension's entries all record its one event.
fn drop_repeats(appends: &mut [(Vec<AuditEntry>, Reply<Range<u64>>)]) {
    let mut seen: std::collections::HashSet<StoreItem> = std::collections::HashSet::new();
    for (entries, _) in appends.iter_mut() {
        let mine: std::collections::HashSet<StoreItem> = entries.iter().filter_map(AuditEntry::store_item).collect();
        entries.retain(|e| e.store_item().is_none_or(|item| !seen.contains(&item)));
        seen.extend(mine);
    }
}

/// Drops entries accounting for items the log already accounts for.
fn drop_accounted(
    log: &MerkleLog<AuditStorage>,
    appends: &mut [(Vec<AuditEntry>, Reply<Range<u64>>)],
) -> std::io::Result<()> {
    let items: Vec<StoreItem> = appends.iter().flat_map(|(e, _)| e.iter().filter_map(AuditEntry::store_item)).collect();
    if items.is_empty() {
        return Ok(());
    }
    let found = log.storage().accounted(&items)?;
    let done: std::collections::HashSet<StoreItem> =
        items.into_iter().zip(found).filter_map(|(item, f)| f.map(|_| item)).collect();
    for (entries, _) in appends.iter_mut() {
        entries.retain(|e| e.store_item().is_none_or(|item| !done.contains(&item)));
    }
    Ok(())
}
