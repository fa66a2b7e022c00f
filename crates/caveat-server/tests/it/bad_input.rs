//! Issue 16 item 5: bad input is refused with the field named, and changes nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::Hub;

fn recent() -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::minutes(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn json_post(hub: &Hub, user: &str, path: &str, body: String) -> crate::Reply {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {}", hub.token(user)))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    hub.send(req).await
}

#[tokio::test]
async fn regression_16_saved_size_beyond_the_log_is_a_400_naming_its_size() {
    let hub = Hub::new().await;
    for path in ["/v1/usage?saved_size=999999", "/v1/transparency?saved_size=999999"] {
        let res = hub.get(path, "auditor", None).await;
        assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "bad_request".into()), "{path}");
        assert!(res.message().contains("saved_size") && res.message().contains("log's size"), "{}", res.message());
    }
}

#[tokio::test]
async fn regression_16_a_suspension_of_an_unknown_partner_or_with_control_characters_is_refused() {
    let hub = Hub::new().await;
    let before = hub.get("/v1/policy", "gbr", None).await.json()["version"].clone();
    let res =
        json_post(&hub, "gbr", "/v1/suspensions", json!({"partners": ["CNA"], "reason": "typo"}).to_string()).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "bad_request".into()));
    assert!(res.message().contains("field `partners`: unknown partner CNA"), "{}", res.message());
    let res =
        json_post(&hub, "gbr", "/v1/suspensions", json!({"partners": ["CAN"], "reason": "a\u{1b}[2Jb"}).to_string())
            .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.message());
    assert!(res.message().contains("field `reason`"), "{}", res.message());
    assert_eq!(hub.get("/v1/policy", "gbr", None).await.json()["version"], before, "nothing changed");
}

#[tokio::test]
async fn regression_16_a_marking_releasable_to_an_unknown_partner_is_refused() {
    let hub = Hub::new().await;
    let line = format!(
        r#"{{"observed_at":"{}","position":{{"lat":18.3,"lon":-64.8}},"uncertainty_m":80,"source":"coastal-radar","marking":{{"releasable_to":["CAN","XYZ"],"purposes":["interdiction"]}}}}"#,
        recent()
    );
    let res = hub.submit("gbr", format!("{}\n{line}\n", crate::line(18.2))).await;
    assert_eq!((res.status, res.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_report".into()));
    assert!(res.message().contains("line 2: field `marking.releasable_to`: unknown partner XYZ"), "{}", res.message());
    assert_eq!(hub.stored().await, 0);
}

#[tokio::test]
async fn regression_16_a_case_step_in_the_future_is_refused() {
    let hub = Hub::new().await;
    let res = hub.submit("uscg", crate::line(18.2)).await;
    let id = res.json()["ids"][0].as_str().unwrap().to_owned();
    let open = |at: &str| {
        json!({ "detect": { "action": {"kind": "detect"}, "at": at, "position": {"lat": 18.3, "lon": -64.8},
            "unit": "USCGC Stone", "relied_on": [id] } })
        .to_string()
    };
    let res = json_post(&hub, "uscg", "/v1/cases", open("2999-01-01T00:00:00Z")).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "bad_request".into()));
    assert!(res.message().contains("field `at`"), "{}", res.message());
    assert_eq!(hub.get("/v1/cases", "uscg", None).await.json()["cases"].as_array().unwrap().len(), 0);
    let res = json_post(&hub, "uscg", "/v1/cases", open(&recent())).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
}

/// Issue 15 item 5: axum's own rejections answer in the error envelope too.
#[tokio::test]
async fn regression_15_rejections_are_the_json_envelope() {
    let hub = Hub::new().await;
    for (path, code) in [("/v1/tracks?limit=abc", "bad_request"), ("/v1/tracks?bogus=1", "bad_request")] {
        let res = hub.get(path, "can", Some("interdiction")).await;
        assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, code.into()), "{path}");
        assert!(res.message().starts_with("query: "), "{}", res.message());
    }
    for (method, path) in [("DELETE", "/v1/tracks"), ("PATCH", "/healthz"), ("PUT", "/v1/reports")] {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", hub.token("can")))
            .body(Body::empty())
            .unwrap();
        let res = hub.send(req).await;
        assert_eq!((res.status, res.code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into()), "{path}");
    }
    // A body that breaks off (as a malformed chunk does) is the client's fault: 400, not 413.
    let broken = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(axum::body::Bytes::from(crate::line(18.2))),
        Err(std::io::Error::other("invalid chunk size line")),
    ]);
    let req = Request::post("/v1/reports")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .header("content-type", "application/x-ndjson")
        .body(Body::from_stream(broken))
        .unwrap();
    let res = hub.send(req).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "bad_request".into()), "{}", res.message());
    assert_eq!(hub.stored().await, 0);
}
