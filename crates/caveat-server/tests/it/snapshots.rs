//! Snapshots (insta) of representative responses and of every error code's
//! envelope, each first checked against the OpenAPI document. Volatile
//! values are redacted: times (observations are relative to now, since views
//! look back a day), case ids (random), and the audit log's checkpoint,
//! entry bytes and hashes (they hash those times). Report and track ids are
//! not: the reports are submitted with ids of their own, and the stored ids
//! are derived from them.
//!
//! A change of shape fails here; accept it with `INSTA_UPDATE=always cargo
//! test -p caveat-server --test it snapshots` (or `cargo insta review`) and
//! commit the `.snap` files with the change.

use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use caveat_server::{ApiError, ErrorCode, Limits};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt;

use crate::{Hub, Reply};

/// The scene's clock: one "now" for the whole test run, so the times of its
/// reports (and the tracks fused from them) keep their intervals to the second.
static NOW: LazyLock<OffsetDateTime> = LazyLock::new(|| OffsetDateTime::now_utc().replace_nanosecond(0).unwrap());

fn at(mins_ago: i64) -> String {
    (*NOW - time::Duration::minutes(mins_ago)).format(&Rfc3339).unwrap()
}

/// A report line of `n`'s own id, `mins_ago` minutes ago, along the way of
/// one vessel making 20 kn due west.
fn report(n: u64, mins_ago: i64, source: &str, extra: &str) -> String {
    let lon = -64.6 - 0.005_85 * (40 - mins_ago) as f64;
    format!(
        r#"{{"id":"019ab000-0000-7000-8000-{n:012x}","observed_at":"{}","position":{{"lat":18.4,"lon":{lon:.4}}},"uncertainty_m":100,"course_deg":270,"speed_kn":20,"source":"{source}"{extra}}}"#,
        at(mins_ago)
    )
}

/// Replaces every RFC 3339 time with `[time]`, and each of `ids` with its name.
fn redact(v: &mut Value, ids: &[(&str, &str)]) {
    match v {
        Value::String(s) => {
            if OffsetDateTime::parse(s, &Rfc3339).is_ok() {
                *s = "[time]".into();
            } else if let Some((_, name)) = ids.iter().find(|(id, _)| id == s) {
                *s = (*name).to_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| redact(x, ids)),
        Value::Object(map) => map.values_mut().for_each(|x| redact(x, ids)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A proof bundle's checkpoint, entry bytes and paths hash the times of the entries.
fn redact_bundle(bundle: &mut Value) {
    bundle["checkpoint"] = "[signed checkpoint]".into();
    for e in bundle["entries"].as_array_mut().unwrap() {
        e["data"] = "[entry bytes]".into();
        e["path"] = "[hashes]".into();
    }
}

async fn request(
    hub: &Hub,
    user: Option<&str>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(u) = user {
        req = req.header("authorization", format!("Bearer {}", hub.token(u)));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    hub.send(req.body(body).unwrap()).await
}

async fn json_post(hub: &Hub, user: &str, path: &str, body: &Value) -> Reply {
    let headers = [("content-type", "application/json")];
    request(hub, Some(user), "POST", path, &headers, Body::from(body.to_string())).await
}

/// Every representative response of a small scene: two partners' reports of
/// one vessel, a standing policy and a suspension, a case citing a report,
/// and what the originator's audit shows of it.
#[tokio::test]
async fn representative_responses_conform_and_keep_their_shape() {
    let hub = Hub::new().await;
    let interdiction = [("caveat-purpose", "interdiction")];

    let me = hub.get("/v1/me", "can", None).await.conforming("get", "/v1/me");
    insta::assert_json_snapshot!("me", me);

    let gbr: String = (0..4)
        .map(|n| {
            report(n + 1, 40 - 10 * n.cast_signed(), "coastal-radar", r#","vessel":{"name":"SEA ROVER","flag":"PA"}"#)
                + "\n"
        })
        .collect();
    let res = hub.submit("gbr", gbr).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    insta::assert_json_snapshot!("batch_receipt", res.conforming("post", "/v1/reports"));
    let can: String = [(11, 35), (12, 15)].map(|(n, ago)| report(n, ago, "mpa-radar", "") + "\n").concat();
    assert_eq!(hub.submit("can", can).await.status, StatusCode::CREATED);

    let mut page = hub.get("/v1/tracks?trail=3", "can", Some("interdiction")).await.conforming("get", "/v1/tracks");
    let track_id = page["tracks"][0]["id"].as_str().unwrap().to_owned();
    redact(&mut page, &[]);
    insta::assert_json_snapshot!("tracks_page", page);

    let path = format!("/v1/tracks/{track_id}");
    let mut track = hub.get(&path, "can", Some("interdiction")).await.conforming("get", "/v1/tracks/{id}");
    let report_id = track["lineage"][0]["report_id"].as_str().unwrap().to_owned();
    redact(&mut track, &[]);
    insta::assert_json_snapshot!("track", track);

    let path = format!("/v1/reports/{report_id}");
    let mut one = hub.get(&path, "can", Some("interdiction")).await.conforming("get", "/v1/reports/{id}");
    redact(&mut one, &[]);
    insta::assert_json_snapshot!("report", one);

    let forbid = r#"forbid (principal in Caveat::Partner::"CAN", action, resource) when { resource.source == Caveat::Source::"tip" };"#;
    let res = request(&hub, Some("gbr"), "PUT", "/v1/policy/standing", &[], Body::from(forbid)).await;
    insta::assert_json_snapshot!("standing_uploaded", res.conforming("put", "/v1/policy/standing"));
    let body = json!({"partners": ["FRA"], "purposes": ["search-and-rescue"], "reason": "inquiry"});
    let mut issued = json_post(&hub, "gbr", "/v1/suspensions", &body).await.conforming("post", "/v1/suspensions");
    let suspension = issued["id"].as_str().unwrap().to_owned();
    redact(&mut issued, &[]);
    insta::assert_json_snapshot!("suspension_issued", issued);
    let mut policy = hub.get("/v1/policy", "gbr", None).await.conforming("get", "/v1/policy");
    redact(&mut policy, &[]);
    insta::assert_json_snapshot!("policy", policy);
    let path = format!("/v1/suspensions/{suspension}");
    let resumed = request(&hub, Some("gbr"), "DELETE", &path, &[], Body::empty()).await;
    insta::assert_json_snapshot!("resumed", resumed.conforming("delete", "/v1/suspensions/{id}"));

    let step = json!({"action": {"kind": "detect"}, "at": at(2), "position": {"lat": 18.4, "lon": -64.9},
        "unit": "USCGC Joseph Tezanos", "relied_on": [report_id]});
    let body = json!({"participants": ["GBR"], "track": track_id, "detect": step});
    let opened = json_post(&hub, "uscg", "/v1/cases", &body).await.conforming("post", "/v1/cases");
    let case_id = opened["id"].as_str().unwrap().to_owned();
    let ids = [(case_id.as_str(), "[case id]")];
    let step = json!({"action": {"kind": "monitor"}, "at": at(1), "position": {"lat": 18.4, "lon": -65.0},
        "unit": "USCGC Joseph Tezanos", "relied_on": []});
    let mut added = json_post(&hub, "uscg", &format!("/v1/cases/{case_id}/steps"), &step)
        .await
        .conforming("post", "/v1/cases/{id}/steps");
    redact(&mut added, &ids);
    insta::assert_json_snapshot!("step_added", added);
    let mut case = hub.get(&format!("/v1/cases/{case_id}"), "uscg", None).await.conforming("get", "/v1/cases/{id}");
    redact(&mut case, &ids);
    insta::assert_json_snapshot!("case", case);
    let mut cases = hub.get("/v1/cases", "gbr", None).await.conforming("get", "/v1/cases");
    redact(&mut cases, &ids);
    insta::assert_json_snapshot!("cases", cases);

    let usage = hub.get("/v1/usage", "gbr", None).await;
    // The audit types' schemas in caveat-hub read the real JSON as strictly as the document states it.
    serde_json::from_value::<caveat_hub::audit_schema::UsageReport>(usage.json()).unwrap();
    let mut usage = usage.conforming("get", "/v1/usage");
    redact(&mut usage, &ids);
    redact_bundle(&mut usage["bundle"]);
    // The key follows from the hub's (random) audit key, the tag leaf holds its time.
    usage["completeness"]["key"] = "[usage key]".into();
    for t in usage["completeness"]["tags"].as_array_mut().unwrap() {
        t["data"] = "[tag leaf bytes]".into();
        t["path"] = "[hashes]".into();
    }
    insta::assert_json_snapshot!("usage", usage);
    let mut report = hub.get("/v1/transparency", "gbr", None).await.conforming("get", "/v1/transparency");
    redact(&mut report, &ids);
    redact_bundle(&mut report["proof"]);
    insta::assert_json_snapshot!("transparency", report);

    let size = usage["bundle"]["entries"].as_array().unwrap().len() + 3;
    let inclusion = hub.get(&format!("/v1/audit/proof/inclusion?index=1&size={size}"), "gbr", None).await;
    let proof = inclusion.json();
    serde_json::from_value::<caveat_hub::audit_schema::InclusionProof>(proof.clone()).unwrap();
    inclusion.conforming("get", "/v1/audit/proof/inclusion");
    assert_eq!(
        (proof["leaf_index"].as_u64(), proof["tree_size"].as_u64()),
        (Some(1), Some(u64::try_from(size).unwrap()))
    );
    let consistency = hub.get(&format!("/v1/audit/proof/consistency?from=2&to={size}"), "gbr", None).await;
    serde_json::from_value::<caveat_hub::audit_schema::ConsistencyProof>(consistency.json()).unwrap();
    consistency.conforming("get", "/v1/audit/proof/consistency");
    // A witness's read: the same page, proved against the hub's own checkpoint.
    let witnessing = hub.get("/v1/usage?witnessing=true", "gbr", None).await.conforming("get", "/v1/usage");
    assert_eq!(witnessing["bundle"]["entries"].as_array().map(Vec::len), Some(size - 3), "{witnessing}");
    // No witnesses configured: none listed.
    let witnesses = hub.get("/v1/audit/witnesses", "gbr", None).await.conforming("get", "/v1/audit/witnesses");
    assert_eq!(witnesses, serde_json::json!([]));

    let export = request(&hub, Some("can"), "GET", "/v1/export?format=geojson", &interdiction, Body::empty()).await;
    let mut export = export.conforming("get", "/v1/export");
    redact(&mut export, &[]);
    insta::assert_json_snapshot!("export_geojson", export);

    let demo = caveat_server::DemoUser {
        user: "ana@can".parse().unwrap(),
        partner: "CAN".parse().unwrap(),
        roles: vec![caveat_core::Role::Analyst],
        token: "cvt_demo".into(),
    };
    let app = caveat_server::app(hub.state.clone().with_demo_users(vec![demo]));
    let res = app.oneshot(Request::get("/v1/demo/users").body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
    insta::assert_json_snapshot!("demo_users", Reply { status, headers, body }.conforming("get", "/v1/demo/users"));
}

/// One real request that gets each code (`unavailable` and `internal` need a
/// broken store: their envelopes are the errors' own), each checked against
/// its operation's document and snapshotted together.
#[tokio::test]
async fn every_error_code_has_its_envelope() {
    let hub =
        Hub::with_limits(Limits { max_body_bytes: 2048, body_timeout: Duration::from_secs(1), ..Limits::default() })
            .await;
    let line = report(1, 5, "coastal-radar", "");
    let ndjson = [("content-type", "application/x-ndjson")];
    let purpose = |p| [("caveat-purpose", p)];
    let mut envelopes = serde_json::Map::new();
    let mut record = |code: ErrorCode, res: Reply, method: &str, path: &str| {
        assert_eq!(res.status, code.status(), "{code}: {}", String::from_utf8_lossy(&res.body));
        let body = res.conforming(method, path);
        assert_eq!(body["error"]["code"], code.as_str());
        envelopes.insert(code.as_str().to_owned(), json!({ "status": res.status.as_u16(), "body": body }));
    };

    record(ErrorCode::Unauthenticated, request(&hub, None, "GET", "/v1/me", &[], Body::empty()).await, "get", "/v1/me");
    let res = request(&hub, Some("auditor"), "POST", "/v1/reports", &ndjson, Body::from(line.clone())).await;
    record(ErrorCode::ForbiddenRole, res, "post", "/v1/reports");
    record(ErrorCode::PurposeRequired, hub.get("/v1/tracks", "can", None).await, "get", "/v1/tracks");
    record(ErrorCode::UnknownPurpose, hub.get("/v1/tracks", "can", Some("strike")).await, "get", "/v1/tracks");
    let res = hub.get("/v1/tracks?bbox=1,2,3", "can", Some("interdiction")).await;
    record(ErrorCode::BadRequest, res, "get", "/v1/tracks");
    let case = [("caveat-purpose", "interdiction"), ("caveat-case", "019ab000-0000-7000-8000-000000000001")];
    let res = request(&hub, Some("can"), "GET", "/v1/tracks", &case, Body::empty()).await;
    record(ErrorCode::UnknownCase, res, "get", "/v1/tracks");
    let res = hub.submit("gbr", format!("{line}\n{}", line.replace("18.4", "98.4"))).await;
    record(ErrorCode::InvalidReport, res, "post", "/v1/reports");
    let res = request(
        &hub,
        Some("gbr"),
        "PUT",
        "/v1/policy/standing",
        &[],
        Body::from("permit (principal, action, resource);"),
    )
    .await;
    record(ErrorCode::InvalidPolicy, res, "put", "/v1/policy/standing");
    let res = request(&hub, Some("can"), "GET", "/v1/tracks/t-none", &purpose("interdiction"), Body::empty()).await;
    record(ErrorCode::NotFound, res, "get", "/v1/tracks/{id}");
    record(
        ErrorCode::MethodNotAllowed,
        request(&hub, Some("can"), "PATCH", "/v1/me", &[], Body::empty()).await,
        "get",
        "/v1/me",
    );
    let stalled = Body::from_stream(futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>());
    let headers = [("content-type", "application/x-ndjson"), ("content-length", "1000")];
    let res = request(&hub, Some("gbr"), "POST", "/v1/reports", &headers, stalled).await;
    record(ErrorCode::RequestTimeout, res, "post", "/v1/reports");
    let big = format!("{line}\n").repeat(40);
    record(ErrorCode::PayloadTooLarge, hub.submit("gbr", big).await, "post", "/v1/reports");
    let csv = [("content-type", "text/csv")];
    let res = request(&hub, Some("gbr"), "POST", "/v1/reports", &csv, Body::from(line.clone())).await;
    record(ErrorCode::UnsupportedMediaType, res, "post", "/v1/reports");
    assert_eq!(hub.submit("gbr", line.clone()).await.status, StatusCode::CREATED);
    record(ErrorCode::Conflict, hub.submit("gbr", line.clone()).await, "post", "/v1/reports");
    for (code, error) in [(ErrorCode::Unavailable, ApiError::Unavailable), (ErrorCode::Internal, ApiError::Internal)] {
        let res = error.into_response();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
        record(code, Reply { status, headers, body }, "get", "/v1/tracks");
    }

    let mut covered: Vec<&str> = envelopes.keys().map(String::as_str).collect();
    covered.sort_unstable();
    let mut all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    all.sort_unstable();
    assert_eq!(covered, all, "every code has its envelope here");
    insta::assert_json_snapshot!("errors", Value::Object(envelopes));
}
