//! Issue 18 item 5: `caveat audit verify` proves a usage export complete, and
//! catches an entry left out of it because its row in the hub's index of who
//! each entry touches was deleted, or the entry and its row both were.

use crate::{Hub, line, stderr, stdout};

/// A hub where GBR ingested two batches and suspended CAN, and CAN ingested one.
fn hub() -> Hub {
    let hub = Hub::new();
    let gbr1 = hub.write("gbr1.ndjson", (1..=3).map(|n| line(n, None) + "\n").collect::<String>());
    let gbr2 = hub.write("gbr2.ndjson", (4..=9).map(|n| line(n, None) + "\n").collect::<String>());
    let can = hub.write("can.ndjson", (10..=12).map(|n| line(n, None) + "\n").collect::<String>());
    for args in [
        &["ingest", "--as", "GBR", gbr1.to_str().unwrap()][..],
        &["ingest", "--as", "CAN", can.to_str().unwrap()][..],
        &["ingest", "--as", "GBR", gbr2.to_str().unwrap()][..],
        &["policy", "suspend", "--as", "GBR", "--partners", "CAN", "--reason", "inquiry"][..],
    ] {
        let out = hub.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    hub
}

/// Exports GBR's usage report and verifies it: (exit ok, what verify said, the export's entry indexes).
fn export_and_verify(hub: &Hub, name: &str, extra: &[&str]) -> (bool, String, Vec<u64>) {
    let path = hub.path(name);
    let mut args = vec!["audit", "export", "--partner", "GBR", "--out", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = hub.run(&args);
    assert!(out.status.success(), "export: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let indexes =
        report["bundle"]["entries"].as_array().unwrap().iter().map(|e| e["index"].as_u64().unwrap()).collect();
    let key = stdout(&hub.run(&["audit", "key"])).trim().to_owned();
    let out = hub.run(&["audit", "verify", "--key", &key, path.to_str().unwrap()]);
    (out.status.success(), format!("{}{}", stdout(&out), stderr(&out)), indexes)
}

/// Runs SQL on the hub's audit database (`caveat.db.audit`), as someone editing the file would.
fn sql(hub: &Hub, sql: &str) {
    let c = rusqlite::Connection::open(caveat_store::SqliteStore::audit_path(hub.db())).unwrap();
    c.execute_batch(sql).unwrap();
}

#[test]
fn an_untouched_export_is_complete() {
    let hub = hub();
    let (ok, said, indexes) = export_and_verify(&hub, "gbr.json", &[]);
    assert!(ok, "{said}");
    assert_eq!(indexes.len(), 3, "two ingests and a suspension: {indexes:?}");
    assert!(said.contains("COMPLETE: every entry touching GBR's data in log entries 0.."), "{said}");
    assert!(said.contains("entries carry GBR's tag, all listed"), "{said}");
}

/// Each of GBR's entries in turn loses its index row: the hub's export leaves
/// it out, and the originator's check names it.
#[test]
fn a_deleted_index_row_is_caught_for_every_entry() {
    let hub = hub();
    let (_, _, indexes) = export_and_verify(&hub, "before.json", &[]);
    for index in indexes {
        sql(&hub, &format!("DELETE FROM audit_originators WHERE originator = 'GBR' AND idx = {index};"));
        let (ok, said, listed) = export_and_verify(&hub, "after.json", &[]);
        assert!(!listed.contains(&index));
        assert!(!ok, "{said}");
        assert!(said.contains("VERIFICATION FAILED"), "{said}");
        assert!(said.contains(&format!("entry {index} touches GBR")) && said.contains("leaves it out"), "{said}");
        sql(&hub, &format!("INSERT INTO audit_originators (originator, idx) VALUES ('GBR', {index});"));
    }
    let (ok, said, _) = export_and_verify(&hub, "restored.json", &[]);
    assert!(ok, "{said}");
}

/// The entry itself deleted from the log with its row (the append-only
/// trigger dropped first, as someone editing the file would): still caught,
/// by the tag leaf written before.
#[test]
fn a_deleted_entry_and_its_row_are_caught() {
    let hub = hub();
    let (_, _, indexes) = export_and_verify(&hub, "before.json", &[]);
    let first = indexes[0];
    sql(
        &hub,
        &format!(
            "DROP TRIGGER audit_entries_no_delete;
             DELETE FROM audit_entries WHERE idx = {first};
             DELETE FROM audit_originators WHERE originator = 'GBR' AND idx = {first};"
        ),
    );
    let (ok, said, _) = export_and_verify(&hub, "after.json", &[]);
    assert!(!ok, "{said}");
    assert!(said.contains(&format!("entry {first} touches GBR")), "{said}");
}

/// Pages of one entry each verify together; leaving one out is caught.
#[test]
fn pages_verify_together_and_a_missing_page_is_caught() {
    let hub = hub();
    let mut pages = Vec::new();
    let mut from = 0;
    loop {
        let name = format!("page{}.json", pages.len());
        let from_text = from.to_string();
        let (ok, said, _) = export_and_verify(&hub, &name, &["--limit", "1", "--from", &from_text]);
        assert!(ok, "{said}");
        let path = hub.path(&name);
        let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        pages.push(path);
        match report["next"].as_u64() {
            Some(n) => from = n,
            None => break,
        }
    }
    assert!(pages.len() >= 3, "{pages:?}");
    let key = stdout(&hub.run(&["audit", "key"])).trim().to_owned();
    let mut args = vec!["audit", "verify", "--key", &key];
    args.extend(pages.iter().map(|p| p.to_str().unwrap()));
    let out = hub.run(&args);
    assert!(out.status.success() && stdout(&out).contains("COMPLETE"), "{}{}", stdout(&out), stderr(&out));
    args.remove(5);
    let out = hub.run(&args);
    assert!(!out.status.success() && stderr(&out).contains("are in no page"), "{}{}", stdout(&out), stderr(&out));
}
