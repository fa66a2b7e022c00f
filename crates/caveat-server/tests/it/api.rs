//! Authentication, purposes, batches and errors through the API.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_server::Limits;

use crate::{Hub, line};

#[tokio::test]
async fn health_and_openapi_describe_every_route() {
    let hub = Hub::new().await;
    let res = hub.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!((res.status, res.body.as_slice()), (StatusCode::OK, &b"ok"[..]));
    let doc = hub.send(Request::get("/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(String::from_utf8(doc.body.clone()).unwrap(), caveat_server::openapi_json(), "served as generated");
    // Routes are registered with their operations (utoipa-axum), so none is
    // undocumented; and each documented operation is routed: its path answers
    // a method it does not take with 405 (an unknown path is 404), and its own
    // method with something else.
    let doc = doc.json();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 31);
    for (path, item) in paths {
        let concrete = path.replace("{id}", "019ab000-0000-7000-8000-000000000001");
        let res = hub.send(Request::patch(&concrete).body(Body::empty()).unwrap()).await;
        assert_eq!((res.status, res.code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into()), "{path}");
        for method in item.as_object().unwrap().keys() {
            let req = Request::builder().method(method.to_uppercase().as_str()).uri(&concrete);
            let res = hub.send(req.body(Body::empty()).unwrap()).await;
            assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    let res = hub.send(Request::patch("/v1/nothing-here").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_are_required_and_revocable() {
    let hub = Hub::new().await;
    let res = hub.send(Request::get("/v1/me").body(Body::empty()).unwrap()).await;
    assert_eq!((res.status, res.code()), (StatusCode::UNAUTHORIZED, "unauthenticated".into()));
    let res =
        hub.send(Request::get("/v1/me").header("authorization", "Bearer cvt_00").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let me = hub.get("/v1/me", "can", None).await.json();
    assert_eq!(me["partner"], "CAN");
    // The sighting form starts from the partner's own default marking.
    assert_eq!(me["default_marking"]["releasable_to"], serde_json::json!(["GBR", "USA-USCG"]));
    assert_eq!(me["default_marking"]["purposes"], serde_json::json!(["interdiction"]));
    assert_eq!(me["ais_marking"], serde_json::Value::Null);
    hub.store.revoke_tokens(&"can".parse().unwrap(), time::OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(hub.get("/v1/me", "can", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_purpose_no_data() {
    let hub = Hub::new().await;
    let id = hub.submit("gbr", line(18.0)).await.json()["ids"][0].as_str().unwrap().to_owned();
    let path = format!("/v1/reports/{id}");
    let res = hub.get(&path, "can", None).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "purpose_required".into()));
    let res = hub.get(&path, "can", Some("strike")).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "unknown_purpose".into()));
    let res = hub.get(&path, "can", Some("interdiction")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["originator"], "GBR");
}

/// A report the view may not read answers exactly like one that does not exist.
#[tokio::test]
async fn denied_reads_are_indistinguishable_from_missing_ones() {
    let hub = Hub::new().await;
    let id = hub.submit("gbr", line(18.0)).await.json()["ids"][0].as_str().unwrap().to_owned();
    let missing = "019ab000-0000-7000-8000-000000000099";
    let denied = [
        hub.get(&format!("/v1/reports/{id}"), "can", Some("monitoring")).await, // purpose not granted
        hub.get(&format!("/v1/reports/{id}"), "fra", Some("prosecution")).await, // purpose not granted
        hub.get(&format!("/v1/reports/{missing}"), "can", Some("interdiction")).await,
        hub.get("/v1/reports/not-a-uuid", "can", Some("interdiction")).await,
    ];
    for res in &denied {
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(res.body, denied[0].body);
    }
    // Its originator still reads it under any purpose.
    assert_eq!(hub.get(&format!("/v1/reports/{id}"), "gbr", Some("monitoring")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_batches_are_refused_whole_with_the_line_and_field() {
    let hub = Hub::with_limits(Limits { max_body_bytes: 4096, ..Limits::default() }).await;
    let good = line(18.0);
    let cases = [
        (format!("{good}\n{{\"observed_at\":"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_report", "line 2: field"),
        (
            format!("{good}\n{}", line(99.0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            "line 2: field `position.lat`",
        ),
        (
            good.replace("\"source\"", "\"colour\":1,\"source\""),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            "unknown field `colour`",
        ),
        (
            good.replacen('{', "{\"originator\":\"CAN\",", 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            "submitted as GBR",
        ),
        (String::new(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_report", "no reports"),
        (format!("{good}\n").repeat(40), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "limit of 4096 bytes"),
    ];
    for (body, status, code, words) in cases {
        let res = hub.submit("gbr", body).await;
        assert_eq!((res.status, res.code()), (status, code.to_owned()), "{}", res.message());
        assert!(res.message().contains(words), "{} should contain {words}", res.message());
    }
    let res = hub
        .send(
            Request::post("/v1/reports")
                .header("authorization", format!("Bearer {}", hub.token("gbr")))
                .header("content-type", "text/csv")
                .body(Body::from(good.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!((res.status, res.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type".into()));
    assert_eq!(hub.stored().await, 0, "a refused batch stores nothing");

    let dup = good.replacen('{', "{\"id\":\"019ab000-0000-7000-8000-000000000009\",", 1);
    let res = hub.submit("gbr", format!("{good}\n{dup}\n")).await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(res.json()["count"], 2);
    // The same partner's own id again: refused as a duplicate.
    let res = hub.submit("gbr", format!("{good}\n{dup}\n")).await;
    assert_eq!((res.status, res.code()), (StatusCode::CONFLICT, "conflict".into()));
    assert!(res.message().contains("line 2: field `id`"), "{}", res.message());
    assert_eq!(hub.stored().await, 2);
    let res = hub.submit("auditor", good).await;
    assert_eq!((res.status, res.code()), (StatusCode::FORBIDDEN, "forbidden_role".into()));
}

/// Issue 21: the receiving station a report came through (an AIS tag block's
/// `s:`) is named in its track's lineage; a report without one names none.
#[tokio::test]
async fn lineage_names_the_receiving_station() {
    let hub = Hub::new().await;
    let now = time::OffsetDateTime::now_utc();
    let at = |mins: i64| {
        (now - time::Duration::minutes(mins)).format(&time::format_description::well_known::Rfc3339).unwrap()
    };
    let report = |mins: i64, lon: f64, station: &str| {
        format!(
            r#"{{"observed_at":"{}","position":{{"lat":18.4,"lon":{lon}}},"uncertainty_m":10,"course_deg":270,"speed_kn":10,"source":"ais","vessel":{{"mmsi":"205125000"}}{station}}}"#,
            at(mins)
        ) + "\n"
    };
    let body = report(10, -64.60, r#","station":"rORBCOMM008""#) + &report(5, -64.614, "");
    let res = hub.submit("gbr", body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    let page = hub.get("/v1/tracks", "can", Some("interdiction")).await.json();
    let tracks = page["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1, "{page}");
    let id = tracks[0]["id"].as_str().unwrap();
    let detail = hub.get(&format!("/v1/tracks/{id}"), "can", Some("interdiction")).await.json();
    let lineage = detail["lineage"].as_array().unwrap();
    assert_eq!(lineage.len(), 2, "{detail}");
    let stations: Vec<Option<&str>> = lineage.iter().map(|l| l.get("station").map(|s| s.as_str().unwrap())).collect();
    assert!(stations.contains(&Some("rORBCOMM008")) && stations.contains(&None), "{detail}");

    // A station that is no valid id is refused like any bad field.
    let res = hub.submit("gbr", report(4, -64.62, r#","station":" padded ""#)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.message());
    assert!(res.message().contains("station"), "{}", res.message());
}
