//! The store conformance suite: behaviour every backend must show.

use std::collections::BTreeSet;

use caveat_core::{
    BoundingBox, Case, CaseId, CaseStatus, CaseStep, Marking, Partner, PartnerId, Position, Purpose, Report, ReportId,
    Role, StepAction, TimeWindow, User, VesselDescriptors,
};
use caveat_store::{BatchSubmission, Error, Reconciled, ReportQuery, RuleId, RuleOwner, Store, StoredRule, Superseded};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn partner(id: &str) -> Partner {
    Partner {
        id: id.parse().unwrap(),
        name: format!("{id} navy"),
        default_marking: Marking::builder().to(&["CAN"]).purposes(&[Purpose::Interdiction]).build(),
        ais_marking: None,
    }
}

fn pid(id: &str) -> PartnerId {
    id.parse().unwrap()
}

/// Everything observable about the stored reports, for before/after comparisons.
pub(crate) async fn snapshot(store: &dyn Store) -> Vec<(u64, ReportId, String)> {
    let q = ReportQuery { superseded: Superseded::Include, ..ReportQuery::default() };
    store
        .reports(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.seq, s.report.id, serde_json::to_string(&s.report).unwrap()))
        .collect()
}

pub(crate) async fn run_all(store: &dyn Store) {
    partners_round_trip(store).await;
    batches_are_all_or_nothing(store).await;
    corrections_supersede(store).await;
    stations_round_trip(store).await;
    queries_match_a_scan(store).await;
    cursor_pages_in_store_order(store).await;
    users_and_tokens(store).await;
    policy_events_are_ordered(store).await;
    cases_keep_their_steps(store).await;
    watch_rules_are_versioned(store).await;
    audit_log_is_durable_and_provable(store).await;
    batches_and_events_are_accounted_once(store).await;
}

/// Issue 16: what the store keeps for the audit (who submitted a batch, where
/// its reports are, the audit's locators, the reconciled mark), and the log's
/// index, which refuses a second entry for one batch or policy event.
async fn batches_and_events_are_accounted_once(store: &dyn Store) {
    use caveat_audit::{AuditEntry, Hash, IngestBatch, MerkleLog, PolicyEventRef, ReportSet, StoreItem, Suspension};
    let reports: Vec<Report> = (0..3).map(|_| Report::builder().build()).collect();
    let by = BatchSubmission { user: Some("ana@gbr".parse().unwrap()), report_locators: vec![7; 24] };
    let at = NOW + Duration::milliseconds(5);
    let receipt = store.insert_batch_by(&pid("GBR"), &by, at, reports.clone()).await.unwrap();
    let listed = store.batches(receipt.batch - 1, 10).await.unwrap();
    let b = listed.first().unwrap();
    assert_eq!(
        (
            b.batch,
            b.partner.as_str(),
            b.partner_batch,
            b.received_at,
            b.count,
            b.user.as_ref().map(caveat_core::UserId::as_str)
        ),
        (receipt.batch, "GBR", receipt.partner_batch, at, 3, Some("ana@gbr"))
    );
    assert_eq!(b.seqs, Some((receipt.first_seq, receipt.last_seq)));
    assert_eq!(store.batch_report_locators(receipt.batch).await.unwrap(), Some(vec![7; 24]));
    let plain = store.insert_batch(&pid("GBR"), NOW, vec![Report::builder().build()]).await.unwrap();
    let listed = store.batches(receipt.batch, 10).await.unwrap();
    assert_eq!(listed.iter().map(|b| (b.batch, b.user.clone())).collect::<Vec<_>>(), [(plain.batch, None)]);
    assert_eq!(store.batch_report_locators(plain.batch).await.unwrap(), None);

    let v =
        store.append_policy_event_by(&pid("GBR"), Some(&"ana@gbr".parse().unwrap()), NOW, "{}".into()).await.unwrap();
    let event = store.policy_events(v - 1).await.unwrap();
    assert_eq!(event[0].user.as_ref().map(caveat_core::UserId::as_str), Some("ana@gbr"));

    let mark = store.reconciled().await.unwrap();
    store.set_reconciled(Reconciled { batches: mark.batches + 5, policy_events: mark.policy_events }).await.unwrap();
    store
        .set_reconciled(Reconciled { batches: mark.batches + 2, policy_events: mark.policy_events + 1 })
        .await
        .unwrap();
    assert_eq!(
        store.reconciled().await.unwrap(),
        Reconciled { batches: mark.batches + 5, policy_events: mark.policy_events + 1 },
        "the mark only rises"
    );

    let ingest = AuditEntry::IngestBatch(IngestBatch {
        at: NOW,
        partner: pid("GBR"),
        user: "ana@gbr".parse().unwrap(),
        reports: ReportSet::new(&reports.iter().map(|r| r.id).collect::<Vec<_>>()),
        batch: Some(receipt.partner_batch),
        content: Some(Hash::sha256(b"content")),
        recovered: false,
    });
    let suspension = |consumer: &str| {
        AuditEntry::Suspension(Suspension {
            at: NOW,
            originator: pid("GBR"),
            user: "ana@gbr".parse().unwrap(),
            suspension: format!("suspension/{v}").parse().unwrap(),
            consumer: Some(pid(consumer)),
            purpose: None,
            event: Some(PolicyEventRef { version: v, digest: Hash::sha256(b"event") }),
            recovered: false,
        })
    };
    let items = [
        StoreItem::Batch { partner: pid("GBR"), number: receipt.partner_batch },
        StoreItem::PolicyEvent { version: v },
        StoreItem::Batch { partner: pid("CAN"), number: receipt.partner_batch },
    ];
    let mut log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    assert_eq!(log.storage().accounted(&items).unwrap(), [None, None, None]);
    let start = log.size();
    // One event, several entries (a suspension towards two partners): one item.
    log.append_entries(&[ingest.clone(), suspension("CAN"), suspension("FRA")]).unwrap();
    assert_eq!(log.storage().accounted(&items).unwrap(), [Some(start), Some(start + 1), None]);
    let head = log.tree_head();
    assert!(log.append_entries(&[ingest]).is_err(), "a second entry for the batch is refused");
    assert!(log.append_entries(&[suspension("NLD")]).is_err(), "and for the event");
    log.reload().unwrap();
    assert_eq!(log.tree_head(), head, "a refused append leaves the log as it was");
    let read = log.storage().entries(start, start + 10).unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[1], log.entry(start + 1).unwrap());
}

async fn audit_log_is_durable_and_provable(store: &dyn Store) {
    use caveat_audit::{AuditEntry, MerkleLog, Resume, SigningKey, verify_bundle};
    let entry = |n: u64, who: &str| {
        AuditEntry::Resume(Resume {
            at: NOW + Duration::seconds(n.cast_signed()),
            originator: pid(who),
            user: "ana@gbr".parse().unwrap(),
            suspension: format!("s-{n}").parse().unwrap(),
            event: None,
            recovered: false,
        })
    };
    let mut log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    let start = log.size();
    let batch: Vec<AuditEntry> = (0..300).map(|n| entry(n, if n.is_multiple_of(3) { "FRA" } else { "GBR" })).collect();
    log.append_entries(&batch[..100]).unwrap();
    let key = SigningKey::from_seed("caveat.test/audit", [5; 32]).unwrap();
    let saved = log.sign_checkpoint(&key).unwrap();
    store.save_checkpoint(saved.checkpoint().size(), saved.to_string()).await.unwrap();
    log.append_entries(&batch[100..]).unwrap();
    let head = log.tree_head();
    drop(log);

    // Reopened from storage: same head, and proofs verify offline.
    let log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    assert_eq!(log.tree_head(), head);
    let (size, note) = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!((size, note.clone()), (start + 100, saved.to_string()));
    let fra = store.audit_entries_touching(&pid("FRA"), log.size(), 1_000).await.unwrap();
    assert_eq!(fra.len(), 100);
    assert!(fra.iter().all(|i| *i >= start && (i - start).is_multiple_of(3)));
    let now = log.sign_checkpoint(&key).unwrap();
    let bundle = caveat_audit::AuditBundle::build(&log, &now, Some(size), &fra).unwrap();
    let verified = verify_bundle(Some(&note), &key.verifier_key(), &bundle).unwrap();
    assert_eq!(verified.entries.len(), 100);
}

async fn cases_keep_their_steps(store: &dyn Store) {
    let id = CaseId::generate(1_795_000_000_000, [4; 10]);
    let cited = Report::builder().build().id;
    let step = |action: StepAction| CaseStep {
        action,
        at: NOW,
        position: Position { lat: 17.9, lon: -65.5 },
        unit: "HMS Medway".into(),
        relied_on: vec![cited],
        recorded_by: "ana@gbr".parse().unwrap(),
    };
    let case = Case {
        id,
        lead: pid("GBR"),
        participants: [pid("GBR"), pid("CAN")].into(),
        track: Some("t-1".into()),
        vessel: VesselDescriptors::default(),
        status: CaseStatus::Open,
        opened_at: NOW,
        steps: vec![step(StepAction::Detect)],
    };
    store.create_case(&case).await.unwrap();
    assert!(matches!(store.create_case(&case).await, Err(Error::CaseConflict { .. })));
    store.append_case_step(id, 1, &step(StepAction::Monitor)).await.unwrap();
    // A stale writer that read one step loses.
    assert!(matches!(
        store.append_case_step(id, 1, &step(StepAction::Intercept)).await,
        Err(Error::CaseConflict { .. })
    ));
    let got = store.case(id).await.unwrap().unwrap();
    assert_eq!(got.steps.len(), 2);
    assert_eq!(got.steps[1], step(StepAction::Monitor));
    store.append_case_step(id, 2, &step(StepAction::Close { outcome: "lost contact".into() })).await.unwrap();
    assert_eq!(store.case(id).await.unwrap().unwrap().status, CaseStatus::Closed);
    assert_eq!(store.cases_of(&pid("CAN")).await.unwrap().len(), 1);
    assert!(store.cases_of(&pid("FRA")).await.unwrap().is_empty());
    assert_eq!(store.case(CaseId::generate(1, [9; 10])).await.unwrap(), None);
}

async fn users_and_tokens(store: &dyn Store) {
    let ana = User { id: "ana@gbr".parse().unwrap(), partner: pid("GBR"), roles: [Role::Analyst].into() };
    store.put_user(&ana).await.unwrap();
    let moved = User { partner: pid("CAN"), ..ana.clone() };
    assert!(matches!(store.put_user(&moved).await, Err(Error::UserOfOtherPartner { .. })));
    let ghost = User { id: "x@nld".parse().unwrap(), partner: pid("NLD"), roles: BTreeSet::new() };
    assert!(matches!(store.put_user(&ghost).await, Err(Error::UnknownPartner { .. })));

    let (t1, t2) = ([1u8; 32], [2u8; 32]);
    store.add_token(&ana.id, t1, NOW).await.unwrap();
    store.add_token(&ana.id, t2, NOW).await.unwrap();
    assert!(matches!(store.add_token(&"nobody".parse().unwrap(), [3; 32], NOW).await, Err(Error::UnknownUser { .. })));
    assert_eq!(store.user_by_token(t1).await.unwrap(), Some(ana.clone()));
    assert_eq!(store.user_by_token([9; 32]).await.unwrap(), None);
    assert_eq!(store.revoke_tokens(&ana.id, NOW).await.unwrap(), 2);
    assert_eq!(store.user_by_token(t1).await.unwrap(), None);
    assert_eq!(store.user_by_token(t2).await.unwrap(), None);
    assert_eq!(store.users(Some(&pid("GBR"))).await.unwrap(), vec![ana]);
    assert!(store.users(Some(&pid("CAN"))).await.unwrap().is_empty());
}

async fn policy_events_are_ordered(store: &dyn Store) {
    let start = store.policy_events(0).await.unwrap().last().map_or(0, |e| e.version);
    let v1 = store.append_policy_event(&pid("GBR"), NOW, r#"{"a":1}"#.into()).await.unwrap();
    let v2 = store.append_policy_event(&pid("FRA"), NOW, r#"{"b":2}"#.into()).await.unwrap();
    assert!(start < v1 && v1 < v2);
    assert!(matches!(
        store.append_policy_event(&pid("NLD"), NOW, "{}".into()).await,
        Err(Error::UnknownPartner { .. })
    ));
    let after = store.policy_events(v1).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].version, after[0].originator.as_str(), after[0].body.as_str()), (v2, "FRA", r#"{"b":2}"#));
}

async fn partners_round_trip(store: &dyn Store) {
    for id in ["GBR", "CAN", "FRA"] {
        store.put_partner(&partner(id)).await.unwrap();
    }
    assert_eq!(store.partner(&pid("CAN")).await.unwrap(), Some(partner("CAN")));
    assert_eq!(store.partner(&pid("NLD")).await.unwrap(), None);
    let mut renamed = partner("FRA");
    renamed.name = "Marine nationale".into();
    store.put_partner(&renamed).await.unwrap();
    let ids: Vec<String> = store.partners().await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(ids, ["CAN navy", "Marine nationale", "GBR navy"], "ordered by id: CAN, FRA, GBR");
}

async fn batches_are_all_or_nothing(store: &dyn Store) {
    let before = snapshot(store).await;
    let good: Vec<Report> = (0..10).map(|_| Report::builder().build()).collect();

    // A duplicate inside the batch: nothing stored.
    let mut dup = good.clone();
    dup[7] = Report::builder().id(good[2].id).build();
    match store.insert_batch(&pid("GBR"), NOW, dup).await {
        Err(Error::DuplicateId { index: 7, id }) => assert_eq!(id, good[2].id),
        other => panic!("expected a duplicate at 7, got {other:?}"),
    }
    assert_eq!(snapshot(store).await, before);

    // Another originator's report in GBR's batch: nothing stored.
    let mut foreign = good.clone();
    foreign[9] = Report::builder().originator("CAN").build();
    assert!(matches!(store.insert_batch(&pid("GBR"), NOW, foreign).await, Err(Error::NotSubmitter { index: 9, .. })));
    assert!(matches!(store.insert_batch(&pid("NLD"), NOW, vec![]).await, Err(Error::EmptyBatch)));
    let nld = vec![Report::builder().originator("NLD").build()];
    assert!(matches!(store.insert_batch(&pid("NLD"), NOW, nld).await, Err(Error::UnknownPartner { .. })));
    assert_eq!(snapshot(store).await, before);

    let receipt = store.insert_batch(&pid("GBR"), NOW, good.clone()).await.unwrap();
    assert_eq!(receipt.count, 10);
    assert_eq!(receipt.last_seq - receipt.first_seq, 9);

    // Re-sending an acknowledged report is refused, not silently duplicated.
    let again = vec![Report::builder().build(), good[0].clone()];
    assert!(matches!(store.insert_batch(&pid("GBR"), NOW, again).await, Err(Error::DuplicateId { index: 1, .. })));
    let (stored, corrected) = store.report(good[4].id).await.unwrap().unwrap();
    assert_eq!((stored.report, corrected, stored.received_at), (good[4].clone(), None, NOW));

    // Batches are numbered per partner too (issue 14): CAN's first is its 1,
    // whatever GBR sent; GBR's next follows GBR's last.
    let gbr_next = store.insert_batch(&pid("GBR"), NOW, vec![Report::builder().build()]).await.unwrap();
    assert_eq!(gbr_next.partner_batch, receipt.partner_batch + 1);
    let can = store.insert_batch(&pid("CAN"), NOW, vec![Report::builder().originator("CAN").build()]).await.unwrap();
    assert_eq!(can.partner_batch, 1);
    assert!(can.batch > gbr_next.batch, "the store's own number is hub-wide");
}

async fn corrections_supersede(store: &dyn Store) {
    let original = Report::builder().remarks("first look").build();
    store.insert_batch(&pid("GBR"), NOW, vec![original.clone()]).await.unwrap();
    let before = snapshot(store).await;

    let by_other = Report::builder().originator("CAN").supersedes(original.id).build();
    assert!(matches!(
        store.insert_batch(&pid("CAN"), NOW, vec![by_other]).await,
        Err(Error::SupersedesUnknown { index: 0, .. })
    ));
    let unknown = Report::builder().supersedes(Report::builder().build().id).build();
    assert!(matches!(store.insert_batch(&pid("GBR"), NOW, vec![unknown]).await, Err(Error::SupersedesUnknown { .. })));
    assert_eq!(snapshot(store).await, before);

    let fix = Report::builder().remarks("second look").supersedes(original.id).build();
    store.insert_batch(&pid("GBR"), NOW, vec![fix.clone()]).await.unwrap();
    let twice = Report::builder().supersedes(original.id).build();
    assert!(matches!(
        store.insert_batch(&pid("GBR"), NOW, vec![twice]).await,
        Err(Error::AlreadySuperseded { index: 0, .. })
    ));

    // The original is kept, unchanged, and points at its correction.
    let (kept, corrected_by) = store.report(original.id).await.unwrap().unwrap();
    assert_eq!((kept.report, corrected_by), (original.clone(), Some(fix.id)));
    let latest = store.reports(&ReportQuery::default()).await.unwrap();
    assert!(latest.iter().all(|s| s.report.id != original.id));
    assert!(latest.iter().any(|s| s.report.id == fix.id));
    let all = ReportQuery { superseded: Superseded::Include, ..ReportQuery::default() };
    assert!(store.reports(&all).await.unwrap().iter().any(|s| s.report.id == original.id));
}

/// Issue 21: a report's receiving station is kept; a report without one is
/// stored and read back with no `station` at all, so its JSON (and the content
/// hash an ingest entry commits to) is what it was before the field existed.
async fn stations_round_trip(store: &dyn Store) {
    let with = Report::builder().station("rORBCOMM008").build();
    let without = Report::builder().build();
    store.insert_batch(&pid("GBR"), NOW, vec![with.clone(), without.clone()]).await.unwrap();
    let (got, _) = store.report(with.id).await.unwrap().unwrap();
    assert_eq!(got.report, with);
    assert_eq!(got.report.station.as_ref().map(caveat_core::Station::as_str), Some("rORBCOMM008"));
    let (got, _) = store.report(without.id).await.unwrap().unwrap();
    assert_eq!(got.report, without);
    assert!(!serde_json::to_string(&got.report).unwrap().contains("station"));
}

async fn queries_match_a_scan(store: &dyn Store) {
    // A deterministic spread of reports over the eastern Caribbean and a day.
    let base = datetime!(2026-11-20 0:00 UTC);
    let mut batch = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..400 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let lat = 14.0 + (x % 6000) as f64 / 1000.0;
        let lon = -70.0 + ((x >> 16) % 12000) as f64 / 1000.0;
        let at = base + Duration::seconds(((x >> 32) % 86_400).cast_signed());
        let originator = if x.is_multiple_of(3) { "FRA" } else { "GBR" };
        batch.push((originator, Report::builder().originator(originator).position(lat, lon).at(at).build()));
    }
    for who in ["GBR", "FRA"] {
        let mine: Vec<Report> = batch.iter().filter(|(o, _)| *o == who).map(|(_, r)| r.clone()).collect();
        store.insert_batch(&pid(who), NOW, mine).await.unwrap();
    }
    let everything = store.reports(&ReportQuery::default()).await.unwrap();
    let queries = [
        ReportQuery { bbox: Some(BoundingBox::new(16.0, -66.0, 18.5, -62.0).unwrap()), ..ReportQuery::default() },
        ReportQuery {
            window: TimeWindow { from: Some(base + Duration::hours(3)), to: Some(base + Duration::hours(9)) },
            ..ReportQuery::default()
        },
        ReportQuery {
            bbox: Some(BoundingBox::new(15.0, -69.0, 19.0, -61.0).unwrap()),
            window: TimeWindow { from: Some(base + Duration::hours(12)), to: None },
            originator: Some(pid("FRA")),
            ..ReportQuery::default()
        },
    ];
    for q in queries {
        let got: Vec<ReportId> = store.reports(&q).await.unwrap().into_iter().map(|s| s.report.id).collect();
        let want: Vec<ReportId> = everything
            .iter()
            .filter(|s| q.bbox.is_none_or(|b| b.contains(s.report.position)))
            .filter(|s| q.window.contains(s.report.observed_at))
            .filter(|s| q.originator.as_ref().is_none_or(|o| *o == s.report.originator))
            .map(|s| s.report.id)
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "{q:?}");
        assert_eq!(store.count_reports(&q).await.unwrap(), want.len() as u64);
    }
}

async fn cursor_pages_in_store_order(store: &dyn Store) {
    let all = store.reports(&ReportQuery::default()).await.unwrap();
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let q = ReportQuery { after_seq: cursor, limit: Some(37), ..ReportQuery::default() };
        let page = store.reports(&q).await.unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(last.seq);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// Issue 20: watch rules, versioned (a stale writer is refused and changes
/// nothing), listed per partner, limited per owner.
async fn watch_rules_are_versioned(store: &dyn Store) {
    let rule = |n: u8, owner: RuleOwner| StoredRule {
        id: RuleId::from_bytes([n; 16]),
        partner: pid("GBR"),
        owner,
        version: 1,
        created_at: NOW + time::Duration::seconds(i64::from(n)),
        updated_at: NOW + time::Duration::seconds(i64::from(n)),
        body: format!("{{\"name\":\"r{n}\"}}"),
    };
    let ana = RuleOwner::User("ana@gbr".parse().unwrap());
    let a = rule(1, ana.clone());
    store.create_rule(&a, 2).await.unwrap();
    assert!(matches!(store.create_rule(&a, 2).await, Err(Error::RuleConflict { .. })));
    store.create_rule(&rule(2, ana.clone()), 2).await.unwrap();
    // The limit is per owner: ana is full, the partner is not.
    assert!(matches!(store.create_rule(&rule(3, ana.clone()), 2).await, Err(Error::TooManyRules { limit: 2 })));
    store.create_rule(&rule(4, RuleOwner::Partner), 2).await.unwrap();
    let ghost = StoredRule { partner: pid("XXX"), ..rule(5, RuleOwner::Partner) };
    assert!(matches!(store.create_rule(&ghost, 2).await, Err(Error::RuleConflict { .. })));
    assert_eq!(store.rule(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.rule(RuleId::from_bytes([3; 16])).await.unwrap(), None);

    let v2 = StoredRule {
        version: 2,
        updated_at: NOW + time::Duration::minutes(5),
        body: "{\"name\":\"renamed\"}".into(),
        // Partner, owner and creation stay as stored whatever the writer says.
        owner: RuleOwner::Partner,
        ..a.clone()
    };
    store.update_rule(&v2).await.unwrap();
    let stale = StoredRule { body: "{\"name\":\"stale\"}".into(), ..v2.clone() };
    assert!(matches!(store.update_rule(&stale).await, Err(Error::RuleConflict { .. })));
    let got = store.rule(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.version, got.body.as_str(), &got.owner, got.created_at),
        (2, "{\"name\":\"renamed\"}", &ana, a.created_at)
    );
    assert_eq!(got.updated_at, NOW + time::Duration::minutes(5));

    let listed: Vec<RuleId> = store.rules_of(&pid("GBR")).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(listed, vec![a.id, RuleId::from_bytes([2; 16]), RuleId::from_bytes([4; 16])]);
    assert!(store.rules_of(&pid("CAN")).await.unwrap().is_empty());

    assert!(matches!(store.delete_rule(a.id, 1).await, Err(Error::RuleConflict { .. })));
    store.delete_rule(a.id, 2).await.unwrap();
    assert_eq!(store.rule(a.id).await.unwrap(), None);
    assert!(matches!(store.delete_rule(a.id, 2).await, Err(Error::RuleConflict { .. })));
    // A deleted rule frees its owner's place.
    store.create_rule(&rule(3, ana), 2).await.unwrap();
}
