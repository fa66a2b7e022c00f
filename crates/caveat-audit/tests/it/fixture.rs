//! Builders shared by the integration tests.

use caveat_audit::{
    Action, AuditEntry, CaseStep, CaseStepKind, Decision, IngestBatch, MemoryStorage, MerkleLog, OriginatorUse,
    PolicyDecision, PolicyId, ReportSet, Resume, SigningKey, Suspension,
};
use caveat_core::{CaseId, PartnerId, Purpose, ReportId, ReportIdMint};
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) const ORIGIN: &str = "caveat.example/audit";

pub(crate) fn hub_key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, [42; 32]).unwrap()
}

pub(crate) fn partner(id: &str) -> PartnerId {
    id.parse().unwrap()
}

pub(crate) fn at(minute: i64) -> OffsetDateTime {
    datetime!(2026-11-23 12:00 UTC) + time::Duration::minutes(minute)
}

pub(crate) fn report_ids(seed: u8, n: usize) -> Vec<ReportId> {
    let mut mint = ReportIdMint::new(1_795_000_000_000, [seed; 10]);
    (0..n).map(|_| mint.next_id()).collect()
}

pub(crate) fn case() -> CaseId {
    CaseId::generate(1_795_000_000_000, [5; 10])
}

/// One originator's share: `n` reports, the decision, one determining policy.
pub(crate) fn share(originator: &str, decision: Decision, n: usize) -> OriginatorUse {
    OriginatorUse {
        originator: partner(originator),
        reports: ReportSet::new(&report_ids(originator.len() as u8, n)),
        decision,
        determining_policies: vec![PolicyId::try_from(format!("{}-standing", originator.to_lowercase())).unwrap()],
    }
}

pub(crate) fn decision(minute: i64, consumer: &str, purpose: Purpose, shares: Vec<OriginatorUse>) -> AuditEntry {
    AuditEntry::PolicyDecision(PolicyDecision {
        at: at(minute),
        user: "watch@x".parse().unwrap(),
        partner: partner(consumer),
        purpose,
        case: None,
        action: Action::Read,
        originators: shares,
    })
}

pub(crate) fn ingest(minute: i64, originator: &str, n: usize) -> AuditEntry {
    AuditEntry::IngestBatch(IngestBatch {
        at: at(minute),
        partner: partner(originator),
        user: "feed@x".parse().unwrap(),
        reports: ReportSet::new(&report_ids(minute as u8, n)),
        batch: None,
        content: None,
        recovered: false,
    })
}

pub(crate) fn case_step(minute: i64, acting: &str, step: CaseStepKind, shares: Vec<OriginatorUse>) -> AuditEntry {
    AuditEntry::CaseStep(CaseStep {
        at: at(minute),
        case: case(),
        partner: partner(acting),
        user: "boarding@x".parse().unwrap(),
        step,
        originators: shares,
    })
}

pub(crate) fn suspension(minute: i64, originator: &str, consumer: &str) -> AuditEntry {
    AuditEntry::Suspension(Suspension {
        at: at(minute),
        originator: partner(originator),
        user: "admin@x".parse().unwrap(),
        suspension: "susp-1".parse().unwrap(),
        consumer: Some(partner(consumer)),
        purpose: None,
        event: None,
        recovered: false,
    })
}

pub(crate) fn resume(minute: i64, originator: &str) -> AuditEntry {
    AuditEntry::Resume(Resume {
        at: at(minute),
        originator: partner(originator),
        user: "admin@x".parse().unwrap(),
        suspension: "susp-1".parse().unwrap(),
        event: None,
        recovered: false,
    })
}

/// `n` varied entries touching GBR, FRA and NLD, deterministic.
pub(crate) fn entries(n: usize) -> Vec<AuditEntry> {
    (0..n)
        .map(|i| {
            let m = i as i64;
            match i % 5 {
                0 => ingest(m, ["GBR", "FRA", "NLD"][i % 3], 1 + i % 40),
                1 => decision(m, "USA-USCG", Purpose::Interdiction, vec![share("GBR", Decision::Permit, 3 + i % 4)]),
                2 => decision(
                    m,
                    "NLD",
                    Purpose::Monitoring,
                    vec![share("FRA", Decision::Deny, 2), share("GBR", Decision::Permit, 20)],
                ),
                3 => case_step(m, "USA-USCG", CaseStepKind::Board, vec![share("GBR", Decision::Permit, 2)]),
                _ => suspension(m, "FRA", "NLD"),
            }
        })
        .collect()
}

/// A log in memory holding `entries(n)`, appended in batches of 7.
pub(crate) fn memory_log(n: usize) -> MerkleLog<MemoryStorage> {
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    for chunk in entries(n).chunks(7) {
        log.append_entries(chunk).unwrap();
    }
    log
}
