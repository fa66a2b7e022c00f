//! Issue 16: every stored batch and policy event has exactly one entry in the
//! audit log, across a crash and across hub processes, and the entry commits
//! to what the store holds.

use std::sync::Arc;

use caveat_audit::{AuditEntry, IngestBatch, MerkleLog, ReportSet, SigningKey};
use caveat_core::{Marking, Partner, PartnerId, Purpose, Report, VesselDescriptors};
use caveat_hub::{Actor, Batch, Hub, Recovered, StoreMismatch};
use caveat_store::{BatchSubmission, Reconciled, SqliteStore, Store};
use time::macros::{datetime, offset};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let f = Fixture { dir: tempfile::tempdir().unwrap() };
        let store = f.store();
        for id in ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS"] {
            let p = Partner {
                id: id.parse().unwrap(),
                name: id.into(),
                default_marking: Marking::originator_only(),
                ais_marking: None,
            };
            store.put_partner(&p).await.unwrap();
        }
        f
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(self.dir.path().join("hub.db")).unwrap())
    }

    async fn hub(&self) -> Hub {
        Hub::open(self.store(), key()).await.unwrap()
    }

    /// Every entry of the log, decoded.
    fn entries(&self) -> Vec<AuditEntry> {
        let log = MerkleLog::open(self.store().audit_storage().unwrap()).unwrap();
        (0..log.size()).map(|i| AuditEntry::from_bytes(&log.entry(i).unwrap()).unwrap()).collect()
    }

    fn ingest_entries(&self) -> Vec<IngestBatch> {
        self.entries()
            .into_iter()
            .filter_map(|e| match e {
                AuditEntry::IngestBatch(i) => Some(i),
                _ => None,
            })
            .collect()
    }
}

fn key() -> SigningKey {
    SigningKey::from_seed("caveat.test/audit", [3; 32]).unwrap()
}

fn gbr() -> PartnerId {
    "GBR".parse().unwrap()
}

fn ana() -> Actor {
    Actor { partner: gbr(), user: "ana@gbr".parse().unwrap() }
}

/// Reports whose JSON a store does not give back byte for byte: times with
/// offsets and nanoseconds, signed zeros, a marking's not-after with an offset.
fn awkward_reports() -> Vec<Report> {
    let marking = Marking::builder()
        .to(&["CAN"])
        .purposes(&[Purpose::Interdiction])
        .not_after(datetime!(2026-12-01 09:30:00.000_000_123 +05:30))
        .build();
    let vessel =
        VesselDescriptors { name: Some("Ñandú \"II\"".into()), length_m: Some(12.345_678_9), ..Default::default() };
    vec![
        Report::builder().at(datetime!(2026-11-20 03:14:15.123_456_789 -04:00)).position(-0.0, -0.0).build(),
        Report::builder()
            .position(17.999_999_999_999_996, -64.1)
            .velocity(Some(-0.0), Some(0.1 + 0.2))
            .vessel(vessel)
            .marking(marking)
            .remarks("line one\nline two")
            .build(),
        Report::builder().at(datetime!(2026-11-20 12:00 UTC).to_offset(offset!(+1))).build(),
    ]
}

#[tokio::test]
async fn what_ingest_hashes_is_what_the_store_gives_back() {
    let f = Fixture::new().await;
    let hub = f.hub().await;
    let done =
        hub.ingest(&ana(), datetime!(2026-11-20 12:00:00.5 UTC), Batch::numbered(awkward_reports())).await.unwrap();
    let entries = f.ingest_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].batch, Some(done.receipt.partner_batch));
    assert!(entries[0].content.is_some() && !entries[0].recovered);
    let v = hub.verify_store(None).await.unwrap();
    assert!(v.is_clean(), "{:?}", v.mismatches);
    assert_eq!((v.batches, v.reports, v.recovered_batches, v.legacy_batches), (1, 3, 0, 0));
}

/// A suspension's stored event body, as the hub writes it.
fn suspension_body(version: u64) -> String {
    let mut p = caveat_policy::Policies::new().unwrap();
    for _ in 1..version {
        p.upload(&gbr(), "", datetime!(2026-11-20 11:00 UTC)).unwrap();
    }
    let (_, change) = p
        .suspend(&gbr(), Some(["CAN".parse().unwrap()].into()), None, "inquiry", datetime!(2026-11-20 12:00 UTC))
        .unwrap();
    serde_json::to_string(&change).unwrap()
}

#[tokio::test]
async fn what_a_crash_left_unaudited_gets_its_entry_on_the_next_open() {
    let f = Fixture::new().await;
    drop(f.hub().await);
    // What a process killed after its commits and before its entries leaves.
    let store = f.store();
    let by = BatchSubmission { user: Some(ana().user), report_locators: Vec::new() };
    let reports = awkward_reports();
    let receipt = store.insert_batch_by(&gbr(), &by, datetime!(2026-11-20 12:00 UTC), reports.clone()).await.unwrap();
    store.insert_batch(&gbr(), datetime!(2026-11-20 12:01 UTC), vec![Report::builder().build()]).await.unwrap();
    let at = datetime!(2026-11-20 12:00 UTC);
    let v = store.append_policy_event_by(&gbr(), Some(&ana().user), at, suspension_body(1)).await.unwrap();
    assert_eq!(v, 1);
    let before = caveat_hub::verify_store(store.as_ref(), None, None).await.unwrap();
    assert_eq!(before.mismatches.len(), 3, "{:?}", before.mismatches);
    assert!(matches!(&before.mismatches[0], StoreMismatch::BatchNotInLog { batch, reports: 3 } if batch.number == 1));
    assert!(matches!(before.mismatches[2], StoreMismatch::PolicyEventNotInLog { version: 1, .. }));

    let hub = f.hub().await;
    assert_eq!(hub.recovered(), Recovered { batches: 2, policy_events: 1, unrecoverable: 0 });
    let ingests = f.ingest_entries();
    assert_eq!(ingests.len(), 2);
    assert!(ingests.iter().all(|e| e.recovered));
    assert_eq!((ingests[0].batch, ingests[0].user.as_str()), (Some(receipt.partner_batch), "ana@gbr"));
    assert_eq!(ingests[0].reports, ReportSet::new(&reports.iter().map(|r| r.id).collect::<Vec<_>>()));
    assert_eq!(ingests[1].user.as_str(), caveat_hub::RECOVERY_USER, "the store did not record who sent it");
    let suspensions: Vec<_> =
        f.entries().into_iter().filter(|e| matches!(e, AuditEntry::Suspension(s) if s.recovered)).collect();
    assert_eq!(suspensions.len(), 1);
    let v = hub.verify_store(None).await.unwrap();
    assert!(v.is_clean(), "{:?}", v.mismatches);
    assert_eq!((v.recovered_batches, v.recovered_policy_events), (2, 1));
    assert_eq!(f.store().reconciled().await.unwrap(), Reconciled { batches: 2, policy_events: 1 });

    // Opening again finds nothing more to recover.
    let size = f.entries().len();
    drop(hub);
    assert_eq!(f.hub().await.recovered(), Recovered::default());
    assert_eq!(f.entries().len(), size);
}

/// Two hub processes on one database: one stores a batch and is about to
/// audit it when the other starts and recovers it. The batch ends with one
/// entry, whichever appends first.
#[tokio::test]
async fn a_batch_another_process_recovered_is_not_audited_twice() {
    let f = Fixture::new().await;
    let live = f.hub().await;
    let entry = |partner_batch: u64, reports: &[Report]| {
        AuditEntry::IngestBatch(IngestBatch {
            at: datetime!(2026-11-20 12:00 UTC),
            partner: gbr(),
            user: ana().user,
            reports: ReportSet::new(&reports.iter().map(|r| r.id).collect::<Vec<_>>()),
            batch: Some(partner_batch),
            content: Some(caveat_audit::BatchContent::of(reports).unwrap().root),
            recovered: false,
        })
    };
    for _ in 0..2 {
        // The live process's commit...
        let reports = vec![Report::builder().build(), Report::builder().build()];
        let receipt =
            live.store().insert_batch(&gbr(), datetime!(2026-11-20 12:00 UTC), reports.clone()).await.unwrap();
        // ...then another process starts and recovers it...
        assert_eq!(f.hub().await.recovered().batches, 1);
        // ...then the live process appends its own entry.
        let appended = live.audit().append(vec![entry(receipt.partner_batch, &reports)]).await.unwrap();
        assert!(appended.is_empty(), "dropped: the batch has its entry");
        // The live log now knows the log's edge: the second round's refusal
        // comes from the index (a duplicate), not from a stale size.
    }
    let ingests = f.ingest_entries();
    assert_eq!(ingests.iter().map(|e| e.batch.unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert!(ingests.iter().all(|e| e.recovered));
    assert!(live.verify_store(None).await.unwrap().is_clean());
}

/// A log from before issue 16: its ingest entries name no batch and commit to
/// ids only. Such batches are matched by ids, and never recovered again.
#[tokio::test]
async fn batches_logged_before_issue_16_are_matched_by_their_ids() {
    let f = Fixture::new().await;
    let store = f.store();
    let reports = vec![Report::builder().build()];
    store.insert_batch(&gbr(), datetime!(2026-11-20 12:00 UTC), reports.clone()).await.unwrap();
    let mut log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    let old = AuditEntry::IngestBatch(IngestBatch {
        at: datetime!(2026-11-20 12:00 UTC),
        partner: gbr(),
        user: "operator".parse().unwrap(),
        reports: ReportSet::new(&[reports[0].id]),
        batch: None,
        content: None,
        recovered: false,
    });
    log.append_entries(&[old]).unwrap();
    drop(log);
    // The migration to schema 7 sets the mark to what was stored.
    store.set_reconciled(Reconciled { batches: 1, policy_events: 0 }).await.unwrap();
    let hub = f.hub().await;
    assert_eq!(hub.recovered(), Recovered::default());
    let v = hub.verify_store(None).await.unwrap();
    assert!(v.is_clean(), "{:?}", v.mismatches);
    assert_eq!((v.batches, v.legacy_batches), (1, 1));
    // Only one originator's part.
    let can = hub.verify_store(Some(&"CAN".parse().unwrap())).await.unwrap();
    assert_eq!((can.batches, can.is_clean()), (0, true));
}
