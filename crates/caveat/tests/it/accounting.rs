//! Issue 16's check after a crash: every stored batch has exactly one ingest
//! entry in the audit log, every ingest entry names a stored batch, and
//! `caveat audit verify-store` finds the store matching the log.

use std::collections::{BTreeMap, HashSet};

use caveat_audit::{AuditEntry, MerkleLog};
use caveat_store::{ReportQuery, SqliteStore, Store, Superseded};

use crate::{Hub, stderr, stdout};

/// What the store and the log hold, after the check passed.
#[derive(Debug)]
pub(crate) struct Accounting {
    /// Batches stored.
    pub(crate) batches: usize,
    /// Ingest entries in the log.
    pub(crate) entries: usize,
    /// Of them, written on a later start (recovered after a kill).
    pub(crate) recovered: usize,
    /// Policy events stored, each with its entries.
    pub(crate) policy_events: usize,
    /// Of them, recovered.
    pub(crate) recovered_policy_events: usize,
    /// Every stored report id.
    pub(crate) report_ids: HashSet<String>,
}

/// Checks the hub's store (SQLite, or the PostgreSQL URL) against its audit log; panics on any mismatch.
pub(crate) fn check(hub: &Hub, postgres: Option<&str>) -> Accounting {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let acc = rt.block_on(async {
        let store: Box<dyn Store> = match postgres {
            Some(db) => Box::new(caveat_store::PostgresStore::connect(db).await.unwrap()),
            None => Box::new(SqliteStore::open(hub.db()).unwrap()),
        };
        let mut stored = Vec::new();
        loop {
            let page = store.batches(stored.last().map_or(0, |(b, _, _)| *b), 1_000).await.unwrap();
            if page.is_empty() {
                break;
            }
            stored.extend(page.into_iter().map(|b| (b.batch, b.partner.to_string(), b.partner_batch)));
        }
        let log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
        let (mut ingests, mut recovered) = (BTreeMap::<(String, u64), Vec<u64>>::new(), 0);
        let (mut events, mut recovered_events) = (BTreeMap::<u64, u64>::new(), 0);
        for (i, bytes) in (0..).zip(log.storage().entries(0, log.size()).unwrap()) {
            match AuditEntry::from_bytes(&bytes).unwrap() {
                AuditEntry::IngestBatch(e) => {
                    let n = e.batch.expect("every ingest entry of this hub names its batch");
                    ingests.entry((e.partner.to_string(), n)).or_default().push(i);
                    recovered += usize::from(e.recovered);
                }
                AuditEntry::PolicyUpload(caveat_audit::PolicyUpload { event, recovered: r, .. })
                | AuditEntry::Resume(caveat_audit::Resume { event, recovered: r, .. })
                | AuditEntry::Suspension(caveat_audit::Suspension { event, recovered: r, .. }) => {
                    let v = event.expect("every policy entry names its event").version;
                    if events.insert(v, i).is_none() {
                        recovered_events += usize::from(r);
                    }
                }
                _ => {}
            }
        }
        for (batch, partner, number) in &stored {
            match ingests.get(&(partner.clone(), *number)).map(Vec::as_slice) {
                Some([_]) => {}
                Some(more) => panic!("store batch {batch} ({partner} {number}) has {} ingest entries", more.len()),
                None => panic!("store batch {batch} ({partner} {number}) has no ingest entry"),
            }
        }
        let named: HashSet<(String, u64)> = stored.iter().map(|(_, p, n)| (p.clone(), *n)).collect();
        for (key, entries) in &ingests {
            assert!(named.contains(key), "ingest entry {entries:?} names {key:?}, which is not stored");
        }
        let stored_events: Vec<u64> = store.policy_events(0).await.unwrap().iter().map(|e| e.version).collect();
        assert_eq!(stored_events, events.keys().copied().collect::<Vec<_>>(), "policy events vs their entries");
        let q = ReportQuery { superseded: Superseded::Include, ..ReportQuery::default() };
        let mut report_ids = HashSet::new();
        let mut cursor = None;
        loop {
            let page = store.reports(&ReportQuery { after_seq: cursor, ..q.clone() }).await.unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(last.seq);
            report_ids.extend(page.into_iter().map(|s| s.report.id.to_string()));
        }
        Accounting {
            batches: stored.len(),
            entries: ingests.values().map(Vec::len).sum(),
            recovered,
            policy_events: stored_events.len(),
            recovered_policy_events: recovered_events,
            report_ids,
        }
    });
    let out = hub.command_on(postgres, &["audit", "verify-store"]).output().unwrap();
    assert!(out.status.success(), "verify-store: {}{}", stdout(&out), stderr(&out));
    acc
}
