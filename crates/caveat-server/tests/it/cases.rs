//! Issue 9 end to end through the HTTP API: a dark vessel detected from a GBR
//! radar report and a CAN patrol sighting; a USA-USCG case boards with
//! flag-state consent, seizes and detains; GBR's transparency report lists
//! exactly that use and verifies against a signed checkpoint.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::{Hub, Reply};

fn recent(mins_ago: i64) -> String {
    (time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::minutes(mins_ago))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn post(hub: &Hub, user: &str, path: &str, body: Value) -> Reply {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {}", hub.token(user)))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    hub.send(req).await
}

fn step(action: Value, relied_on: &[&str]) -> Value {
    let mut s = json!({ "at": recent(5), "position": {"lat": 17.95, "lon": -65.2},
            "unit": "USCGC Joseph Tezanos", "relied_on": relied_on });
    s["action"] = action;
    s
}

async fn submit_one(hub: &Hub, user: &str, line: String) -> String {
    let res = hub.submit(user, line).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    res.json()["ids"][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_uscg_interdiction_cites_gbr_and_can_and_gbr_can_prove_it() {
    interdiction(Hub::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uscg_interdiction_cites_gbr_and_can_and_gbr_can_prove_it_on_postgres() {
    if let Some(hub) = Hub::on_postgres("cases").await {
        interdiction(hub).await;
    }
}

async fn interdiction(hub: Hub) {
    let radar = submit_one(&hub, "gbr", format!(
        r#"{{"observed_at":"{}","position":{{"lat":18.3,"lon":-64.9}},"uncertainty_m":150,"course_deg":215,"speed_kn":35,"source":"coastal-radar","vessel":{{"vessel_type":"go-fast"}}}}"#,
        recent(60)
    )).await;
    let sighting = submit_one(&hub, "can", format!(
        r#"{{"observed_at":"{}","position":{{"lat":18.1,"lon":-65.1}},"uncertainty_m":60,"source":"mpa-eo","vessel":{{"vessel_type":"go-fast","engines":3,"persons_on_board":4,"length_m":11}}}}"#,
        recent(40)
    )).await;
    let fra_only = submit_one(
        &hub,
        "fra",
        format!(
            r#"{{"observed_at":"{}","position":{{"lat":18.0,"lon":-65.0}},"uncertainty_m":60,"source":"vessel"}}"#,
            recent(30)
        ),
    )
    .await;

    // Open the case citing both; FRA's report is not releasable to USA-USCG and cannot be cited.
    let refused = post(
        &hub,
        "uscg",
        "/v1/cases",
        json!({"participants": ["GBR", "CAN"], "detect": step(json!({"kind": "detect"}), &[&radar, &fra_only])}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.message());
    assert!(refused.message().contains(&fra_only));
    let opened = post(
        &hub,
        "uscg",
        "/v1/cases",
        json!({"participants": ["GBR", "CAN"], "detect": step(json!({"kind": "detect"}), &[&radar, &sighting])}),
    )
    .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.message());
    let case = opened.json()["id"].as_str().unwrap().to_owned();
    let steps = format!("/v1/cases/{case}/steps");

    // Boarding without interception, or without a legal basis, is refused.
    let early = post(
        &hub,
        "uscg",
        &steps,
        step(json!({"kind": "board", "legal_basis": {"kind": "agreement", "name": "US-VE"}}), &[]),
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.message());
    assert_eq!(
        post(&hub, "uscg", &steps, step(json!({"kind": "intercept"}), &[&sighting])).await.status,
        StatusCode::CREATED
    );
    let no_basis = post(&hub, "uscg", &steps, step(json!({"kind": "board"}), &[])).await;
    assert_eq!(no_basis.status, StatusCode::BAD_REQUEST, "{}", no_basis.message());
    for s in [
        json!({"kind": "board", "legal_basis": {"kind": "flag-state-consent", "flag_state": "VE", "reference": "MSG 311/2026", "granted_at": recent(10)}}),
        json!({"kind": "search"}),
        json!({"kind": "seize", "substance": "cocaine", "quantity_kg": 850.5, "packages": 34}),
        json!({"kind": "detain", "persons": 4, "nationalities": ["VE", "CO"], "rights_told_at": recent(4)}),
    ] {
        let res = post(&hub, "uscg", &steps, step(s, &[])).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    }

    // After GBR suspends USA-USCG, the case keeps the reference but shows no content.
    let res = post(&hub, "gbr", "/v1/suspensions", json!({"partners": ["USA-USCG"], "reason": "review"})).await;
    assert_eq!(res.status, StatusCode::CREATED);
    let shown = hub.get(&format!("/v1/cases/{case}"), "uscg", None).await.json();
    assert_eq!(shown["citations"][&radar]["status"], "withheld by its originator");
    assert!(shown["citations"][&radar].get("position").is_none());
    assert_eq!(shown["citations"][&sighting]["status"], "available");
    // And it can no longer be cited.
    let cited = post(
        &hub,
        "uscg",
        &steps,
        step(json!({"kind": "hand-over", "jurisdiction": "D. Puerto Rico", "handed_at": recent(1)}), &[&radar]),
    )
    .await;
    assert_eq!(cited.status, StatusCode::UNPROCESSABLE_ENTITY);

    // GBR's transparency report: exactly this case, its outcomes, provable.
    let t = hub.get("/v1/transparency", "gbr", None).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.message());
    let t = t.json();
    let cases = t["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["case"], case.as_str());
    let outcomes: Vec<&str> =
        cases[0]["outcomes"].as_array().unwrap().iter().map(|o| o["step"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["seize", "detain"]);
    let bundle: caveat_audit::AuditBundle = serde_json::from_value(t["proof"].clone()).unwrap();
    let verified = caveat_audit::verify_bundle(None, hub.state.hub().audit().verifier_key(), &bundle).unwrap();
    let steps_with_gbr: Vec<_> =
        verified.entries.iter().filter(|(_, e)| matches!(e, caveat_audit::AuditEntry::CaseStep(_))).collect();
    assert_eq!(steps_with_gbr.len(), 1, "one step (the detection) cited GBR's data");
    // The denied citation after the suspension is listed as a denied use.
    assert!(t["denied"].as_array().unwrap().iter().any(|l| l["partner"] == "USA-USCG"));
}
