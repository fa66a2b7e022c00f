//! Issue 20 item 5: watch rules (CRUD on both stores, who may see and change
//! them, refusals naming the field) and the alerts they raise per view
//! (area entry and speed, harbour suppression, no re-fire until cleared,
//! suspension, nothing another view may not see).

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_audit::{AuditEntry, MerkleLog, RuleChangeKind};
use caveat_core::{Position, Purpose, Report, Role};
use caveat_events::EventConfig;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::{Hub, Reply};

impl Hub {
    async fn rule_request(&self, method: &str, path: &str, user: &str, body: Option<Value>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token(user)))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.send(req).await
    }
}

/// A box in lon/lat as a closed GeoJSON ring.
fn square(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]})
}

fn rule(name: &str) -> Value {
    json!({"name": name, "area": square(-64.0, 16.4, -63.9, 16.6), "kinds": ["area-entry"]})
}

async fn crud_on(mut hub: Hub) {
    hub.add_user("gbr2", "GBR", &[Role::Analyst]).await;
    hub.add_user("canadmin", "CAN", &[Role::PartnerAdmin]).await;

    // A user's own rule: only that user sees it (not its partner admin, not another partner).
    let own = hub.rule_request("POST", "/v1/rules", "gbr2", Some(rule("own"))).await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.message());
    let own = own.conforming("post", "/v1/rules");
    assert_eq!((own["version"].as_u64(), own["owner_user"].as_str()), (Some(1), Some("gbr2")));
    assert_eq!(own["recipients"], json!([{"user": "gbr2"}]), "the owner by default");
    let own_path = format!("/v1/rules/{}", own["id"].as_str().unwrap());
    assert_eq!(hub.rule_request("GET", &own_path, "gbr2", None).await.status, StatusCode::OK);
    for other in ["gbr", "can", "canadmin"] {
        assert_eq!(hub.rule_request("GET", &own_path, other, None).await.status, StatusCode::NOT_FOUND, "{other}");
    }

    // A partner rule: made by a partner admin; its recipients see it, only admins of that partner change it.
    let mut partner_rule = rule("partner");
    partner_rule["owner"] = json!("partner");
    partner_rule["recipients"] = json!([{"partner": "GBR"}]);
    let refused = hub.rule_request("POST", "/v1/rules", "can", Some(partner_rule.clone())).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "forbidden_role".into()));
    let made = hub.rule_request("POST", "/v1/rules", "gbr", Some(partner_rule.clone())).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.message());
    let made = made.json();
    assert_eq!(made["owner_user"], Value::Null);
    let path = format!("/v1/rules/{}", made["id"].as_str().unwrap());
    assert_eq!(hub.rule_request("GET", &path, "gbr2", None).await.status, StatusCode::OK);
    let mut change = partner_rule.clone();
    change.as_object_mut().unwrap().remove("owner");
    change["version"] = json!(1);
    change["name"] = json!("renamed");
    // An analyst alerted by it may read it, not change it.
    let put = hub.rule_request("PUT", &path, "gbr2", Some(change.clone())).await;
    assert_eq!(put.status, StatusCode::FORBIDDEN, "{}", put.message());
    assert_eq!(hub.rule_request("DELETE", &path, "gbr2", None).await.status, StatusCode::FORBIDDEN);
    // Another partner's admin, and anyone guessing ids, find nothing there.
    for (method, body) in [("GET", None), ("PUT", Some(change.clone())), ("DELETE", None)] {
        let r = hub.rule_request(method, &path, "canadmin", body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method}: {}", r.message());
    }
    for guess in ["/v1/rules/W-00000000000000000000000000000000", "/v1/rules/1", "/v1/rules/W-zz"] {
        assert_eq!(hub.rule_request("GET", guess, "gbr", None).await.status, StatusCode::NOT_FOUND, "{guess}");
    }

    // Optimistic concurrency: an update from version 1 makes 2; a second from 1 is stale and changes nothing.
    let put = hub.rule_request("PUT", &path, "gbr", Some(change.clone())).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.message());
    assert_eq!(put.conforming("put", "/v1/rules/{id}")["version"], 2);
    change["name"] = json!("stale");
    let stale = hub.rule_request("PUT", &path, "gbr", Some(change.clone())).await;
    assert_eq!((stale.status, stale.code()), (StatusCode::CONFLICT, "conflict".into()));
    let got = hub.rule_request("GET", &path, "gbr", None).await.conforming("get", "/v1/rules/{id}");
    assert_eq!((got["name"].as_str(), got["version"].as_u64()), (Some("renamed"), Some(2)));
    let mut no_version = change.clone();
    no_version.as_object_mut().unwrap().remove("version");
    let r = hub.rule_request("PUT", &path, "gbr", Some(no_version)).await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.message().starts_with("field `version`"), "{}", r.message());

    // Listing: the admin sees its partner's rule, not the analyst's own one.
    let listed = hub.rule_request("GET", "/v1/rules", "gbr", None).await.conforming("get", "/v1/rules");
    let names: Vec<&str> = listed["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["renamed"]);
    let listed = hub.rule_request("GET", "/v1/rules", "can", None).await.json();
    assert!(listed["rules"].as_array().unwrap().is_empty());

    // Bad rules are refused naming the field, and store nothing.
    let mut bowtie = rule("bowtie");
    bowtie["area"] =
        json!({"type": "Polygon", "coordinates": [[[-64, 16], [-63, 17], [-63, 16], [-64, 17], [-64, 16]]]});
    let mut unknown = rule("unknown");
    unknown["kinds"] = json!(["area-entry", "teleport"]);
    let mut absurd = rule("absurd");
    absurd["kinds"] = json!(["speed-in-area"]);
    absurd["speed"] = json!({"min_kn": 40, "max_kn": 20, "min_duration_s": 60});
    let mut far = rule("far");
    far["area"] = square(-64.0, 16.4, -63.9, 96.6);
    for (body, field) in [
        (bowtie, "field `area.coordinates[0][0]`: self-intersecting"),
        (unknown, "field `kinds[1]`: unknown variant `teleport`"),
        (absurd, "field `speed.min_kn`"),
        (far, "field `area.coordinates[0][2]`: latitude 96.6"),
        (json!({"name": "empty"}), "field `kinds`: an empty rule"),
    ] {
        let r = hub.rule_request("POST", "/v1/rules", "gbr", Some(body)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request".into()));
        assert!(r.message().starts_with(field), "{} lacks {field}", r.message());
    }
    assert_eq!(hub.store.rules_of(&"GBR".parse().unwrap()).await.unwrap().len(), 2);

    // Delete: a stale version is refused; then it is gone.
    let r = hub.rule_request("DELETE", &format!("{path}?version=1"), "gbr", None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        hub.rule_request("DELETE", &format!("{path}?version=2"), "gbr", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(hub.rule_request("GET", &path, "gbr", None).await.status, StatusCode::NOT_FOUND);

    // Every change is in the audit log, by whom, at which version.
    let log = MerkleLog::open(hub.store.audit_storage().unwrap()).unwrap();
    let changes: Vec<(String, RuleChangeKind, u64)> = (0..log.size())
        .filter_map(|i| match AuditEntry::from_bytes(&log.entry(i).unwrap()).unwrap() {
            AuditEntry::RuleChange(c) => Some((c.user.to_string(), c.change, c.version)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("gbr2".into(), RuleChangeKind::Created, 1),
            ("gbr".into(), RuleChangeKind::Created, 1),
            ("gbr".into(), RuleChangeKind::Updated, 2),
            ("gbr".into(), RuleChangeKind::Deleted, 2),
        ]
    );
}

#[tokio::test]
async fn rules_are_managed_by_their_owner_on_sqlite() {
    crud_on(Hub::new().await).await;
}

#[tokio::test]
async fn rules_are_managed_by_their_owner_on_postgres() {
    let Some(hub) = Hub::on_postgres("rules_crud").await else { return };
    crud_on(hub).await;
}

/// Three hours ago, to the second: views look back a day.
fn base() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::hours(3)
}

/// An AIS report line of `mmsi` at `minute` after `base`, reporting `speed_kn`.
fn ais(base: OffsetDateTime, n: u64, minute: i64, lat: f64, lon: f64, mmsi: u32, speed_kn: f64) -> String {
    let at = (base + Duration::minutes(minute)).format(&time::format_description::well_known::Rfc3339).unwrap();
    format!(
        r#"{{"id":"019ab000-0000-7000-8000-{n:012x}","observed_at":"{at}","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":20,"source":"ais","speed_kn":{speed_kn},"vessel":{{"mmsi":"{mmsi}"}}}}"#
    ) + "\n"
}

/// `minutes` reports, one a minute, of vessel `(mmsi, reported knots)` moving east from
/// `(lat, lon)` by `step` degrees a minute.
fn run_east(
    base: OffsetDateTime,
    n0: u64,
    minutes: i64,
    (lat, lon): (f64, f64),
    step: f64,
    (mmsi, kn): (u32, f64),
) -> String {
    (0..minutes).map(|m| ais(base, n0 + m.cast_unsigned(), m, lat, lon + step * m as f64, mmsi, kn)).collect()
}

async fn alerts(hub: &Hub, user: &str, purpose: &str) -> Vec<Value> {
    let res = hub.get("/v1/alerts", user, Some(purpose)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.message());
    res.conforming("get", "/v1/alerts")["alerts"].as_array().unwrap().clone()
}

async fn create(hub: &Hub, user: &str, body: Value) -> String {
    let r = hub.rule_request("POST", "/v1/rules", user, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.message());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// A harbour at (16.5, -64.0), the shore point encounters keep away from.
fn harbour_config() -> EventConfig {
    EventConfig { shore: vec![Position { lat: 16.5, lon: -64.0 }], ..EventConfig::skylight() }
}

#[tokio::test]
async fn an_area_entry_and_speed_rule_alerts_and_a_vessel_moored_in_harbour_only_when_asked() {
    let hub = Hub::new().await;
    hub.state.hub().set_event_config(harbour_config()).unwrap();
    let base = base();
    // A go-fast at 30 kn (0.0087 degrees of longitude a minute at 16 N) crossing into the box
    // far from the harbour, and a moored vessel swinging at 0.3 kn across the harbour's box edge.
    let fast = run_east(base, 1_000, 40, (16.0, -64.1), 0.0087, (232_000_050, 30.0));
    let moored = run_east(base, 2_000, 60, (16.5, -64.003), 0.000_1, (232_000_060, 0.3));
    assert_eq!(hub.submit("gbr", fast + &moored).await.status, StatusCode::CREATED);

    let sea = json!({
        "name": "go-fasts in the box",
        "area": square(-64.0, 15.9, -63.5, 16.1),
        "kinds": ["area-entry", "speed-in-area"],
        "speed": {"min_kn": 25, "max_kn": 60, "min_duration_s": 300},
    });
    let sea = create(&hub, "gbr", sea).await;
    let port = create(
        &hub,
        "gbr",
        json!({"name": "harbour", "area": square(-64.0, 16.4, -63.9, 16.6), "kinds": ["area-entry"]}),
    )
    .await;
    let port_all = create(
        &hub,
        "gbr",
        json!({"name": "harbour, moored too", "area": square(-64.0, 16.4, -63.9, 16.6), "kinds": ["area-entry"], "include_harbour": true}),
    )
    .await;

    let got = alerts(&hub, "gbr", "interdiction").await;
    let of = |rule: &str| got.iter().filter(|a| a["rule"] == rule).collect::<Vec<_>>();
    let at_sea = of(&sea);
    assert_eq!(at_sea.len(), 1, "one alert for the go-fast (its speed run joins its entry): {got:?}");
    let a = at_sea[0];
    // Whichever starts first fires it: the speed run's one-minute grid may begin just before the entry point.
    assert!(a["kind"] == "area-entry" || a["kind"] == "speed-in-area", "{a}");
    assert_eq!(a["state"], "active");
    assert!(a["events"].as_array().unwrap().len() >= 2, "the entry and the speed run: {a}");
    assert_eq!(a["originators"], json!(["GBR"]));
    assert!(a["marking"].is_object() && !a["reports"].as_array().unwrap().is_empty());
    assert!(of(&port).is_empty(), "a moored vessel in harbour does not alert: {got:?}");
    assert_eq!(of(&port_all).len(), 1, "unless the rule asks: {got:?}");
    // A rule's alerts go to its recipients only: another GBR user is not alerted by gbr's rules.
    let mut hub = hub;
    hub.add_user("gbr3", "GBR", &[Role::Analyst]).await;
    assert!(alerts(&hub, "gbr3", "interdiction").await.is_empty());
}

#[tokio::test]
async fn an_alert_does_not_fire_again_until_the_vessel_has_left_the_area() {
    let hub = Hub::new().await;
    let base = base();
    // Back and forth across lon -64.0 (a sine, at most about 6.5 kn): in at minutes 20 and 60, out at 40.
    let zigzag: String = (0..80i64)
        .map(|m| {
            let lon = -64.0 + 0.012 * (std::f64::consts::TAU * (m - 20) as f64 / 40.0).sin();
            ais(base, 5_000 + m.cast_unsigned(), m, 16.5, lon, 232_000_070, 6.0)
        })
        .collect();
    assert_eq!(hub.submit("gbr", zigzag).await.status, StatusCode::CREATED);
    let id =
        create(&hub, "gbr", json!({"name": "box", "area": square(-64.0, 16.4, -63.9, 16.6), "kinds": ["area-entry"]}))
            .await;
    let got = alerts(&hub, "gbr", "interdiction").await;
    let mine: Vec<&Value> = got.iter().filter(|a| a["rule"] == id.as_str()).collect();
    assert!(mine.len() >= 2, "it fires again after leaving: {got:?}");
    // Per vessel (track), each alert cleared before the next fired.
    let mut by_track: std::collections::BTreeMap<String, Vec<&Value>> = std::collections::BTreeMap::new();
    for a in &mine {
        by_track.entry(a["tracks"].to_string()).or_default().push(a);
    }
    assert!(by_track.values().any(|v| v.len() >= 2), "one vessel alerted twice: {got:?}");
    for list in by_track.values() {
        for pair in list.windows(2) {
            let cleared = pair[0]["cleared_at"].as_str().expect("an earlier alert has cleared");
            assert!(pair[1]["start"].as_str().unwrap() > cleared, "fired again only after clearing: {pair:?}");
        }
    }
    // Nothing fires twice for one passage: each alert is one entry (the vessel left between).
    assert!(mine.iter().all(|a| a["events"].as_array().unwrap().len() == 1), "{mine:?}");
    // Asking again gives the same alerts (derivation is stable).
    let again = alerts(&hub, "gbr", "interdiction").await;
    assert_eq!(got.iter().map(|a| &a["id"]).collect::<Vec<_>>(), again.iter().map(|a| &a["id"]).collect::<Vec<_>>());
}

fn may_use(r: &Report, partner: &str, purpose: Purpose) -> bool {
    r.originator.as_str() == partner || r.marking.grants(&partner.parse().unwrap(), purpose, OffsetDateTime::now_utc())
}

/// The alert events an SSE body has sent, read until `ok` holds or `ms` pass.
async fn read_alerts(
    body: &mut axum::body::BodyDataStream,
    got: &mut Vec<Value>,
    ms: u64,
    ok: impl Fn(&[Value]) -> bool,
) {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
    let mut text = String::new();
    while !ok(got) {
        let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await else { return };
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let frame: String = text.drain(..end + 2).collect();
            if frame.lines().any(|l| l == "event: alert") {
                let data: String = frame.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                got.push(serde_json::from_str(&data).unwrap());
            }
        }
    }
}

#[tokio::test]
async fn alerts_rest_only_on_what_the_view_may_use_and_go_with_a_suspension() {
    use tower::ServiceExt;
    let hub = Hub::new().await;
    let base = base();
    // GBR's vessel (interdiction and search and rescue for USCG) and FRA's (search and rescue, not to USCG).
    let gbr = run_east(base, 7_000, 30, (16.5, -64.01), 0.001, (232_000_080, 6.0));
    let fra = run_east(base, 8_000, 30, (16.45, -64.01), 0.001, (227_000_090, 6.0));
    assert_eq!(hub.submit("gbr", gbr).await.status, StatusCode::CREATED);
    assert_eq!(hub.submit("fra", fra).await.status, StatusCode::CREATED);
    let box_rule = json!({"name": "box", "area": square(-64.0, 16.4, -63.9, 16.6), "kinds": ["area-entry"]});
    create(&hub, "uscg", box_rule.clone()).await;
    create(&hub, "can", box_rule).await;

    let all: Vec<Report> =
        hub.store.reports(&caveat_store::ReportQuery::default()).await.unwrap().into_iter().map(|s| s.report).collect();
    for (user, partner) in [("uscg", "USA-USCG"), ("can", "CAN")] {
        for purpose in [Purpose::Interdiction, Purpose::SearchAndRescue] {
            let got = alerts(&hub, user, purpose.as_str()).await;
            for a in &got {
                for id in a["reports"].as_array().unwrap() {
                    let r = all.iter().find(|r| r.id.to_string() == id.as_str().unwrap()).unwrap();
                    assert!(may_use(r, partner, purpose), "{partner}/{purpose} alerted on {id}, which it may not use");
                }
            }
            let originators: BTreeSet<String> =
                got.iter().flat_map(|a| a["originators"].as_array().unwrap().iter().map(ToString::to_string)).collect();
            // CAN may use FRA's data for search and rescue only; USCG never.
            let fra_seen = originators.contains("\"FRA\"");
            assert_eq!(
                fra_seen,
                partner == "CAN" && purpose == Purpose::SearchAndRescue,
                "{partner}/{purpose}: {got:?}"
            );
        }
    }
    assert!(!alerts(&hub, "uscg", "interdiction").await.is_empty());

    // The stream sends the alert, then nothing resting on GBR's data once GBR suspends USCG.
    let open = Request::get("/v1/alerts/stream")
        .header("authorization", format!("Bearer {}", hub.token("uscg")))
        .header("caveat-purpose", "interdiction")
        .body(Body::empty())
        .unwrap();
    let res = caveat_server::app(hub.state.clone()).oneshot(open).await.unwrap();
    assert_eq!((res.status(), &res.headers()["content-type"]), (StatusCode::OK, &"text/event-stream".parse().unwrap()));
    let mut body = res.into_body().into_data_stream();
    let mut got = Vec::new();
    read_alerts(&mut body, &mut got, 5_000, |g| !g.is_empty()).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let req = Request::post("/v1/suspensions")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"partners":["USA-USCG"],"reason":"inquiry"}"#))
        .unwrap();
    assert_eq!(hub.send(req).await.status, StatusCode::CREATED);
    // The very next request has none of them, not even as retracted.
    assert!(alerts(&hub, "uscg", "interdiction").await.is_empty());
    read_alerts(&mut body, &mut got, 2_500, |_| false).await;
    assert_eq!(got.len(), 1, "alerts sent after the suspension: {:?}", &got[1..]);
}

#[tokio::test]
async fn a_retracted_event_retracts_its_alert() {
    let hub = Hub::new().await;
    hub.state.hub().set_event_config(crate::events::config()).unwrap();
    // As in the events' retraction test: a 40-minute AIS silence that a late report fills.
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::minutes(61);
    assert_eq!(hub.submit("gbr", crate::events::silent_and_short_meeting(base)).await.status, StatusCode::CREATED);
    let rule =
        create(&hub, "can", json!({"name": "dark", "kinds": ["ais-gap"], "watchlist": {"mmsis": [232_000_009]}})).await;
    let first = alerts(&hub, "can", "interdiction").await;
    assert_eq!(first.len(), 1, "{first:?}");
    let alert = &first[0];
    assert_eq!((alert["rule"].as_str(), alert["kind"].as_str()), (Some(rule.as_str()), Some("ais-gap")));
    assert_eq!(alert["mmsis"], json!([232_000_009]));

    assert_eq!(hub.submit("gbr", crate::events::late_reports(base)).await.status, StatusCode::CREATED);
    let mut after = Vec::new();
    for _ in 0..60 {
        after = alerts(&hub, "can", "interdiction").await;
        if after.iter().any(|a| a["id"] == alert["id"] && a["state"] == "retracted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let retracted = after.iter().find(|a| a["id"] == alert["id"]).expect("kept, as retracted");
    assert_eq!(retracted["state"], "retracted", "{after:?}");
    assert!(retracted["retracted_at"].is_string());
    let active = hub.get("/v1/alerts?active_only=true", "can", Some("interdiction")).await.json();
    assert!(active["alerts"].as_array().unwrap().iter().all(|a| a["state"] == "active"), "{active}");
}

#[tokio::test]
async fn an_owner_holds_at_most_the_rule_limit() {
    let hub = Hub::new().await;
    for n in 0..caveat_hub::MAX_RULES_PER_OWNER {
        create(&hub, "can", rule(&format!("r{n}"))).await;
    }
    let over = hub.rule_request("POST", "/v1/rules", "can", Some(rule("one more"))).await;
    assert_eq!((over.status, over.code()), (StatusCode::BAD_REQUEST, "bad_request".into()));
    assert!(over.message().starts_with("field `owner`: the owner already has 100 rules"), "{}", over.message());
    // The limit is the owner's: another user of the same partner still may.
    create(&hub, "canwatch", rule("theirs")).await;
}
