//! Usage reports for an originator.

use caveat_audit::{Decision, Error, UsageLine, UsageReport, entries_touching};
use caveat_core::Purpose;

use crate::fixture::{case, hub_key, memory_log, partner};

#[test]
fn report_lists_and_summarises_each_use_and_verifies_offline() {
    let log = memory_log(40);
    let now = log.sign_checkpoint(&hub_key()).unwrap();
    let fra = partner("FRA");
    let touching = entries_touching(&log, &fra, 0..log.size()).unwrap();
    // FRA: its ingests (every 15th entry from 10), NLD's monitoring decisions (i % 5 == 2) and its suspensions (i % 5 == 4).
    assert!(touching.iter().all(|i| i % 5 == 2 || i % 5 == 4 || i % 15 == 10));
    let report = UsageReport::build(&log, &fra, &now, None, &touching).unwrap();
    assert_eq!(
        report.summary,
        vec![UsageLine {
            partner: partner("NLD"),
            purpose: Some(Purpose::Monitoring),
            case: None,
            permits: 0,
            denies: 8,
            reports_permitted: 0,
            reports_denied: 16,
            case_steps: 0,
        }]
    );
    let verified = report.verify(None, &hub_key().verifier_key()).unwrap();
    assert_eq!(verified.entries.len(), touching.len());

    // GBR's data went to USA-USCG for interdiction, to NLD for monitoring, and into a case.
    let gbr = partner("GBR");
    let touching = entries_touching(&log, &gbr, 0..log.size()).unwrap();
    let report = UsageReport::build(&log, &gbr, &now, Some(0), &touching).unwrap();
    let keys: Vec<_> = report.summary.iter().map(|l| (l.partner.as_str(), l.purpose, l.case)).collect();
    assert_eq!(
        keys,
        vec![
            ("NLD", Some(Purpose::Monitoring), None),
            ("USA-USCG", None, Some(case())),
            ("USA-USCG", Some(Purpose::Interdiction), None)
        ]
    );
    assert_eq!(report.summary[1].case_steps, 8);
    report.verify(None, &hub_key().verifier_key()).unwrap();
    let _ = Decision::Permit;
}

#[test]
fn doctored_reports_fail() {
    let log = memory_log(40);
    let now = log.sign_checkpoint(&hub_key()).unwrap();
    let fra = partner("FRA");
    // An entry that does not touch the originator cannot be put in its report.
    assert!(matches!(UsageReport::build(&log, &fra, &now, None, &[1]), Err(Error::NotTouching { index: 1, .. })));
    let touching = entries_touching(&log, &fra, 0..log.size()).unwrap();
    let mut report = UsageReport::build(&log, &fra, &now, None, &touching).unwrap();
    report.summary[0].denies = 1;
    assert!(matches!(report.verify(None, &hub_key().verifier_key()), Err(Error::SummaryMismatch)));
    // Nor can another originator's entry be slipped into the bundle.
    let mut report = UsageReport::build(&log, &fra, &now, None, &touching).unwrap();
    let foreign = caveat_audit::AuditBundle::build(&log, &now, None, &[1]).unwrap();
    report.bundle.entries.extend(foreign.entries);
    assert!(matches!(report.verify(None, &hub_key().verifier_key()), Err(Error::NotTouching { index: 1, .. })));
}
