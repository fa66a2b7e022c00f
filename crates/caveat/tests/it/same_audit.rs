//! Issue 15 item 2: the same policy change or ingest through the CLI and
//! through the API writes the same audit entries, field by field (but the
//! time, and so the digest of a stored policy event, and the acting user: the
//! CLI acts as `operator`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_audit::{AuditEntry, MerkleLog};
use caveat_store::{SqliteStore, Store};
use serde_json::Value;
use tower::ServiceExt;

use crate::{Hub, line, stderr, stdout};

const STANDING: &str = "forbid (principal in Caveat::Partner::\"FRA\", action, resource) when { resource.source == Caveat::Source::\"tip\" };";

/// The entries after the first `from`, without their time and user.
fn entries(db: &std::path::Path, from: u64) -> Vec<Value> {
    let store = SqliteStore::open(db).unwrap();
    let log = MerkleLog::open(store.audit_storage().unwrap()).unwrap();
    (from..log.size())
        .map(|i| {
            let e = AuditEntry::from_bytes(&log.entry(i).unwrap()).unwrap();
            let mut v = serde_json::to_value(e).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("at");
            o.remove("user");
            // A policy entry's event digest covers the stored event, which holds the time too.
            if let Some(event) = o.get_mut("event").and_then(Value::as_object_mut) {
                event.remove("digest");
            }
            v
        })
        .collect()
}

fn log_size(db: &std::path::Path) -> u64 {
    MerkleLog::open(SqliteStore::open(db).unwrap().audit_storage().unwrap()).unwrap().size()
}

#[test]
fn the_cli_and_the_api_write_the_same_audit_entries() {
    let cli = Hub::new();
    let start = log_size(&cli.db());
    let policy = cli.write("standing.cedar", STANDING);
    let batch = cli.write("b.ndjson", format!("{}\n{}\n", line(1, None), line(2, None)));
    let ok = |args: &[&str]| {
        let out = cli.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&["policy", "upload", "--as", "GBR", policy.to_str().unwrap()]);
    ok(&[
        "policy",
        "suspend",
        "--as",
        "GBR",
        "--partners",
        "CAN,FRA",
        "--purposes",
        "interdiction,monitoring",
        "--reason",
        "inquiry",
    ]);
    ok(&["policy", "suspend", "--as", "GBR", "--partners", "CAN", "--reason", "inquiry"]);
    ok(&["policy", "suspend", "--as", "GBR", "--reason", "all stop"]);
    ok(&["policy", "resume", "--as", "GBR", "2"]);
    ok(&["ingest", "--as", "GBR", batch.to_str().unwrap()]);
    let by_cli = entries(&cli.db(), start);

    let api = Hub::new();
    let start = log_size(&api.db());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(api.db()).unwrap());
        let admin = caveat_core::User {
            id: "admin@gbr".parse().unwrap(),
            partner: "GBR".parse().unwrap(),
            roles: [caveat_core::Role::PartnerAdmin, caveat_core::Role::Analyst].into(),
        };
        store.put_user(&admin).await.unwrap();
        let (token, hash) = caveat_server::new_token();
        store.add_token(&admin.id, hash, time::OffsetDateTime::now_utc()).await.unwrap();
        let key = caveat_audit::SigningKey::from_seed("caveat.test/audit", [3; 32]).unwrap();
        let app = caveat_server::app(caveat_server::AppState::open(store, key).await.unwrap());
        let send = |method: &str, path: &str, ctype: &str, body: String| {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", ctype)
                .body(Body::from(body))
                .unwrap();
            let (app, path) = (app.clone(), path.to_owned());
            async move {
                let res = app.oneshot(req).await.unwrap();
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
                assert!(status.is_success(), "{path}: {status} {}", String::from_utf8_lossy(&body));
                status
            }
        };
        send("PUT", "/v1/policy/standing", "text/plain", STANDING.into()).await;
        let json = "application/json";
        send(
            "POST",
            "/v1/suspensions",
            json,
            r#"{"partners":["CAN","FRA"],"purposes":["interdiction","monitoring"],"reason":"inquiry"}"#.into(),
        )
        .await;
        send("POST", "/v1/suspensions", json, r#"{"partners":["CAN"],"reason":"inquiry"}"#.into()).await;
        send("POST", "/v1/suspensions", json, r#"{"reason":"all stop"}"#.into()).await;
        assert_eq!(send("DELETE", "/v1/suspensions/2", json, String::new()).await, StatusCode::OK);
        send("POST", "/v1/reports", "application/x-ndjson", format!("{}\n{}\n", line(1, None), line(2, None))).await;
    });
    let by_api = entries(&api.db(), start);
    assert_eq!(by_cli.len(), 4 + 2 + 1 + 1 + 1, "one entry per (partner, purpose) suspended: {by_cli:#?}");
    assert_eq!(by_cli, by_api);
    // The CLI's suspension towards CAN alone names CAN (it named no one before).
    assert!(by_cli.iter().any(|e| e["kind"] == "suspension" && e["consumer"] == "CAN" && e.get("purpose").is_none()));
}
