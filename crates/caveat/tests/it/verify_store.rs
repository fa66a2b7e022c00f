//! Issue 16 item 2: a report edited or deleted in caveat.db, or a policy
//! event deleted, no longer verifies: `caveat audit verify-store` fails and
//! names it. Untouched, it passes.

use crate::{Hub, line, stderr, stdout, stored_id};

/// A hub with a small batch (1-5: the entry lists its ids), a larger one
/// (6-35) and a suspension.
fn hub() -> Hub {
    let hub = Hub::new();
    let small: String = (1..=5).map(|n| line(n, None) + "\n").collect();
    let large: String = (6..=35).map(|n| line(n, None) + "\n").collect();
    let (small, large) = (hub.write("small.ndjson", small), hub.write("large.ndjson", large));
    for args in [
        &["ingest", "--as", "GBR", small.to_str().unwrap(), large.to_str().unwrap()][..],
        &["policy", "suspend", "--as", "GBR", "--partners", "CAN", "--reason", "inquiry"][..],
    ] {
        let out = hub.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    hub
}

/// Runs SQL on the hub's database with its append-only triggers dropped, as someone editing the file would.
fn tamper(hub: &Hub, sql: &str) {
    let c = rusqlite::Connection::open(hub.db()).unwrap();
    c.execute_batch(
        "DROP TRIGGER reports_append_only_update; DROP TRIGGER reports_append_only_delete;
         DROP TRIGGER policy_events_append_only_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
}

/// `caveat audit verify-store`'s exit and what it said.
fn verify(hub: &Hub) -> (bool, String) {
    let out = hub.run(&["audit", "verify-store"]);
    (out.status.success(), format!("{}{}", stdout(&out), stderr(&out)))
}

fn hex_id(n: u64) -> String {
    stored_id(n, "GBR").replace('-', "")
}

#[test]
fn an_untouched_store_verifies() {
    let hub = hub();
    let (ok, said) = verify(&hub);
    assert!(ok, "{said}");
    assert!(said.contains("OK: 2 batches (35 reports) and 1 policy events match the audit log"), "{said}");
    let out = hub.run(&["audit", "verify-store", "--partner", "CAN"]);
    assert!(out.status.success() && stdout(&out).contains("OK: 0 batches"), "{}", stdout(&out));
}

#[test]
fn an_edited_latitude_is_named() {
    let hub = hub();
    tamper(&hub, &format!("UPDATE reports SET lat = lat + 0.01 WHERE id = x'{}';", hex_id(20)));
    let (ok, said) = verify(&hub);
    assert!(!ok, "{said}");
    let want = format!("report {} (GBR batch 2, report 15 of the batch) differs", stored_id(20, "GBR"));
    assert!(said.contains(&want), "{said}");
}

#[test]
fn a_deleted_report_is_named() {
    let hub = hub();
    tamper(&hub, &format!("DELETE FROM reports WHERE id = x'{}';", hex_id(3)));
    let (ok, said) = verify(&hub);
    assert!(!ok, "{said}");
    let want = format!("report {} 3 of GBR batch 1 (seq 3) is missing from the store", stored_id(3, "GBR"));
    assert!(said.contains(&want), "{said}");
    // In a batch too large for its entry to list ids: named by its place.
    let hub = self::hub();
    tamper(&hub, &format!("DELETE FROM reports WHERE id = x'{}';", hex_id(30)));
    let (ok, said) = verify(&hub);
    assert!(!ok && said.contains("report 25 of GBR batch 2 (seq 30) is missing"), "{said}");
}

#[test]
fn a_deleted_suspension_is_named() {
    let hub = hub();
    tamper(&hub, "DELETE FROM policy_events WHERE version = 1;");
    let (ok, said) = verify(&hub);
    assert!(!ok, "{said}");
    assert!(said.contains("records policy event 1 (GBR), which is not stored"), "{said}");
}

#[test]
fn a_missing_audit_log_is_refused_not_replaced() {
    let hub = hub();
    std::fs::remove_file(hub.path("caveat.db.audit")).unwrap();
    for args in [&["audit", "verify-store"][..], &["audit", "checkpoint"][..]] {
        let out = hub.run(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("is missing beside a store holding reports"), "{}", stderr(&out));
    }
    assert!(!hub.path("caveat.db.audit").exists(), "no new empty log was made");
}
