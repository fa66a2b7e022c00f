//! Every path a consumer can read through (direct report, derived track,
//! export, audit) shows exactly what its view key may use, and a suspension
//! applies to the very next request on all of them.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_core::{Marking, Purpose, Report};
use caveat_fusion::{FusionConfig, fuse};
use serde_json::Value;

use crate::Hub;

/// A vessel seen every 30 s by alternating partners, and a second one by FRA alone.
/// Observations an hour ago: views look back a day from now.
fn line(id_n: u64, lat: f64, lon: f64, secs: u64, marking: Option<&str>) -> String {
    let m = marking.map(|m| format!(r#","marking":{m}"#)).unwrap_or_default();
    let base = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::hours(1);
    let at = (base + time::Duration::seconds(secs.cast_signed()))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!(
        r#"{{"id":"019ab000-0000-7000-8000-{id_n:012x}","observed_at":"{at}","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":50,"source":"coastal-radar"{m}}}"#
    )
}

async fn scene(hub: &Hub) {
    let mut gbr = String::new();
    let mut can = String::new();
    for k in 0..20u64 {
        let lon = -64.6 + 0.003 * k as f64;
        let l = line(k + 1, 18.4, lon, 30 * k, None);
        let to = if k % 2 == 0 { &mut gbr } else { &mut can };
        to.push_str(&l);
        to.push('\n');
    }
    // A GBR report that may not be exported.
    gbr.push_str(&line(
        100,
        18.4,
        -64.6 + 0.003 * 20.0,
        600,
        Some(r#"{"releasable_to":["CAN","FRA"],"purposes":["interdiction","search-and-rescue"],"no_export":true}"#),
    ));
    gbr.push('\n');
    let mut fra = String::new();
    for k in 0..10u64 {
        fra.push_str(&line(200 + k, 17.9, -63.0 + 0.003 * k as f64, 30 * k, None));
        fra.push('\n');
    }
    for (user, body) in [("gbr", gbr), ("can", can), ("fra", fra)] {
        let res = hub.submit(user, body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    }
}

/// The reference reading of who may use what: the marking, or one's own data.
fn may_use(r: &Report, partner: &str, purpose: Purpose) -> bool {
    r.originator.as_str() == partner
        || r.marking.grants(&partner.parse().unwrap(), purpose, time::OffsetDateTime::now_utc())
}

async fn all_reports(hub: &Hub) -> Vec<Report> {
    hub.store.reports(&caveat_store::ReportQuery::default()).await.unwrap().into_iter().map(|s| s.report).collect()
}

async fn tracks(hub: &Hub, user: &str, purpose: &str) -> Vec<serde_json::Value> {
    let res = hub.get("/v1/tracks?limit=5000", user, Some(purpose)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.message());
    res.json()["tracks"].as_array().unwrap().clone()
}

async fn lineages(hub: &Hub, user: &str, purpose: &str) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for t in tracks(hub, user, purpose).await {
        let id = t["id"].as_str().unwrap();
        let detail = hub.get(&format!("/v1/tracks/{id}"), user, Some(purpose)).await.json();
        let mut ids: Vec<String> =
            detail["lineage"].as_array().unwrap().iter().map(|l| l["report_id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        out.insert(ids);
    }
    out
}

/// Invariant 2, differentially: each view equals fusion run on exactly its permitted subset.
async fn each_view_equals_fusion_of_its_permitted_subset_on(hub: Hub) {
    scene(&hub).await;
    let all = all_reports(&hub).await;
    for (user, partner) in [("can", "CAN"), ("fra", "FRA"), ("gbr", "GBR")] {
        for purpose in Purpose::ALL {
            let subset: Vec<Report> = all.iter().filter(|r| may_use(r, partner, purpose)).cloned().collect();
            let want: BTreeSet<Vec<String>> = fuse(&subset, &FusionConfig::default())
                .unwrap()
                .into_iter()
                .map(|t| t.lineage.sorted().iter().map(ToString::to_string).collect())
                .collect();
            let got = lineages(&hub, user, purpose.as_str()).await;
            assert_eq!(got, want, "{partner} / {purpose}");
        }
    }
}

async fn a_suspension_applies_to_the_next_request_on_every_path_on(hub: Hub) {
    scene(&hub).await;
    let gbr_report = crate::scoped("019ab000-0000-7000-8000-000000000001", "GBR");
    let has_gbr =
        |ts: &[serde_json::Value]| ts.iter().any(|t| t["originators"].as_array().unwrap().iter().any(|o| o == "GBR"));
    assert!(has_gbr(&tracks(&hub, "can", "interdiction").await));
    assert_eq!(hub.get(&format!("/v1/reports/{gbr_report}"), "can", Some("interdiction")).await.status, StatusCode::OK);

    let req = Request::post("/v1/suspensions")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"partners":["CAN"],"reason":"leak inquiry"}"#))
        .unwrap();
    let res = hub.send(req).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    let sid = res.json()["id"].as_str().unwrap().to_owned();

    // The very next request, through every path.
    assert!(!has_gbr(&tracks(&hub, "can", "interdiction").await));
    assert_eq!(
        hub.get(&format!("/v1/reports/{gbr_report}"), "can", Some("interdiction")).await.status,
        StatusCode::NOT_FOUND
    );
    let export = hub.get("/v1/export?format=ndjson", "can", Some("interdiction")).await;
    assert!(!String::from_utf8_lossy(&export.body).contains("\"originator\":\"GBR\""));
    // FRA is not suspended: still sees GBR's data.
    assert!(has_gbr(&tracks(&hub, "fra", "search-and-rescue").await));

    let req = Request::delete(format!("/v1/suspensions/{sid}"))
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .body(Body::empty())
        .unwrap();
    assert_eq!(hub.send(req).await.status, StatusCode::OK);
    assert!(has_gbr(&tracks(&hub, "can", "interdiction").await));

    // Only a partner admin suspends, and only its own data.
    let req = Request::post("/v1/suspensions")
        .header("authorization", format!("Bearer {}", hub.token("can")))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"partners":["GBR"],"reason":"x"}"#))
        .unwrap();
    assert_eq!(hub.send(req).await.status, StatusCode::FORBIDDEN);
}

async fn exports_withhold_no_export_data_and_carry_the_combined_marking_on(hub: Hub) {
    scene(&hub).await;
    let no_export = crate::scoped("019ab000-0000-7000-8000-000000000064", "GBR");
    let no_export = no_export.as_str();
    let ndjson = hub.get("/v1/export?format=ndjson", "can", Some("interdiction")).await;
    let text = String::from_utf8_lossy(&ndjson.body).to_string();
    assert!(!text.contains(no_export), "a no-export report left the hub");
    // The export says what it left out of the view, and whose it was.
    let withheld: Value = serde_json::from_slice(ndjson.headers["caveat-withheld"].as_bytes()).unwrap();
    assert_eq!(withheld, serde_json::json!({"reports": 1, "by_originator": {"GBR": 1}}));
    // Under monitoring nothing of GBR's is in CAN's view, so nothing is withheld, and nothing is named.
    let none = hub.get("/v1/export?format=geojson", "can", Some("monitoring")).await;
    let withheld: Value = serde_json::from_slice(none.headers["caveat-withheld"].as_bytes()).unwrap();
    assert_eq!(withheld, serde_json::json!({"reports": 0, "by_originator": {}}));
    assert!(text.contains(&crate::scoped("019ab000-0000-7000-8000-000000000001", "GBR")));
    // Tracks inside the hub still use it.
    let lineage = lineages(&hub, "can", "interdiction").await;
    assert!(lineage.iter().any(|l| l.iter().any(|id| id == no_export)));

    let geo = hub.get("/v1/export?format=geojson", "can", Some("interdiction")).await.json();
    assert_eq!(geo["type"], "FeatureCollection");
    let marking: Marking = serde_json::from_value(geo["caveat:marking"].clone()).unwrap();
    assert!(marking.purposes.contains(&Purpose::Interdiction) && !marking.no_export);
    let kml = hub.get("/v1/export?format=kml", "can", Some("interdiction")).await;
    assert!(String::from_utf8_lossy(&kml.body).contains("<kml"));
    let bad = hub.get("/v1/export?format=shapefile", "can", Some("interdiction")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

async fn usage_reports_list_each_use_and_verify_offline_on(hub: Hub) {
    scene(&hub).await;
    tracks(&hub, "can", "interdiction").await;
    let gbr_report = crate::scoped("019ab000-0000-7000-8000-000000000001", "GBR");
    hub.get(&format!("/v1/reports/{gbr_report}"), "fra", Some("prosecution")).await; // denied
    let res = hub.get("/v1/usage", "gbr", None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.message());
    let report: caveat_audit::UsageReport = serde_json::from_slice(&res.body).unwrap();
    let key = hub.state.hub().audit().verifier_key().clone();
    let verified = report.verify(None, &key).unwrap();
    assert!(!verified.entries.is_empty());
    let can = report
        .summary
        .iter()
        .find(|l| l.partner.as_str() == "CAN" && l.purpose == Some(Purpose::Interdiction))
        .unwrap();
    assert!(can.permits >= 1);
    let fra =
        report.summary.iter().find(|l| l.partner.as_str() == "FRA" && l.purpose == Some(Purpose::Prosecution)).unwrap();
    assert!(fra.denies >= 1, "denied attempts are listed too");
    // Every entry in GBR's report is about GBR's data only.
    for (_, e) in &verified.entries {
        assert!(e.originators().iter().all(|o| o.as_str() == "GBR"), "{e:?}");
    }
    // An analyst cannot read the usage report.
    assert_eq!(hub.get("/v1/usage", "can", None).await.status, StatusCode::FORBIDDEN);
}

async fn an_unknown_case_or_one_not_joined_is_refused_without_revealing_which_on(hub: Hub) {
    scene(&hub).await;
    let req = Request::get("/v1/tracks")
        .header("authorization", format!("Bearer {}", hub.token("can")))
        .header("caveat-purpose", "interdiction")
        .header("caveat-case", "019ab000-0000-7000-8000-0000000000ff")
        .body(Body::empty())
        .unwrap();
    let res = hub.send(req).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_REQUEST, "unknown_case".into()));
}

#[tokio::test]
async fn each_view_equals_fusion_of_its_permitted_subset() {
    each_view_equals_fusion_of_its_permitted_subset_on(Hub::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_view_equals_fusion_of_its_permitted_subset_on_postgres() {
    if let Some(hub) = Hub::on_postgres("each_view_equals_fus").await {
        each_view_equals_fusion_of_its_permitted_subset_on(hub).await;
    }
}

#[tokio::test]
async fn a_suspension_applies_to_the_next_request_on_every_path() {
    a_suspension_applies_to_the_next_request_on_every_path_on(Hub::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_applies_to_the_next_request_on_every_path_on_postgres() {
    if let Some(hub) = Hub::on_postgres("a_suspension_applies").await {
        a_suspension_applies_to_the_next_request_on_every_path_on(hub).await;
    }
}

#[tokio::test]
async fn exports_withhold_no_export_data_and_carry_the_combined_marking() {
    exports_withhold_no_export_data_and_carry_the_combined_marking_on(Hub::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_withhold_no_export_data_and_carry_the_combined_marking_on_postgres() {
    if let Some(hub) = Hub::on_postgres("exports_withhold_no_").await {
        exports_withhold_no_export_data_and_carry_the_combined_marking_on(hub).await;
    }
}

#[tokio::test]
async fn usage_reports_list_each_use_and_verify_offline() {
    usage_reports_list_each_use_and_verify_offline_on(Hub::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reports_list_each_use_and_verify_offline_on_postgres() {
    if let Some(hub) = Hub::on_postgres("usage_reports_list_e").await {
        usage_reports_list_each_use_and_verify_offline_on(hub).await;
    }
}

#[tokio::test]
async fn an_unknown_case_or_one_not_joined_is_refused_without_revealing_which() {
    an_unknown_case_or_one_not_joined_is_refused_without_revealing_which_on(Hub::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_case_or_one_not_joined_is_refused_without_revealing_which_on_postgres() {
    if let Some(hub) = Hub::on_postgres("an_unknown_case_or_o").await {
        an_unknown_case_or_one_not_joined_is_refused_without_revealing_which_on(hub).await;
    }
}

/// A client that takes gzip gets the same page compressed (once per view
/// version, shared by every request for it); one that refuses it gets it plain.
#[tokio::test]
async fn track_pages_are_gzipped_for_clients_that_take_it() {
    use std::io::Read as _;
    let hub = Hub::new().await;
    scene(&hub).await;
    let plain = hub.get("/v1/tracks?trail=5", "can", Some("interdiction")).await;
    assert_eq!(plain.status, StatusCode::OK);
    let ask = |enc: &'static str| {
        Request::get("/v1/tracks?trail=5")
            .header("authorization", format!("Bearer {}", hub.token("can")))
            .header("caveat-purpose", "interdiction")
            .header("accept-encoding", enc)
            .body(Body::empty())
            .unwrap()
    };
    let res = app_response(&hub, ask("br;q=1.0, gzip;q=0.8")).await;
    assert_eq!(res.0.get("content-encoding").unwrap(), "gzip");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(res.1.as_slice()).read_to_end(&mut json).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&json).unwrap(), plain.json());
    assert!(!plain.json()["tracks"].as_array().unwrap().is_empty());
    let refused = app_response(&hub, ask("gzip;q=0, identity")).await;
    assert!(refused.0.get("content-encoding").is_none());
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&refused.1).unwrap(), plain.json());
}

async fn app_response(hub: &Hub, req: Request<Body>) -> (axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt as _;
    let res = caveat_server::app(hub.state.clone()).oneshot(req).await.unwrap();
    let headers = res.headers().clone();
    (headers, axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec())
}

/// A page may be served from the previous rendering of its view while a new
/// version renders, but never across a suspension: the page right after one
/// holds nothing of the suspending originator, even when the view was busy
/// folding new reports in just before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_earlier_rendering_outlives_a_suspension() {
    let hub = Hub::new().await;
    scene(&hub).await;
    let page = || async { hub.get("/v1/tracks?limit=5000", "can", Some("interdiction")).await.json() };
    let gbr_in = |v: &serde_json::Value| {
        v["tracks"].as_array().unwrap().iter().any(|t| t["originators"].as_array().unwrap().iter().any(|o| o == "GBR"))
    };
    assert!(gbr_in(&page().await));
    // More reports of both: the next fold publishes a new version of the same epoch,
    // which may first be answered from the earlier rendering.
    let more = |first: u64, n: u64| {
        (0..n).map(|k| line(first + k, 18.5, -64.5 + 0.003 * k as f64, 30 * k, None) + "\n").collect::<String>()
    };
    assert_eq!(hub.submit("gbr", more(500, 10)).await.status, StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert!(gbr_in(&page().await));
    assert_eq!(hub.submit("can", more(600, 10)).await.status, StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let req = Request::post("/v1/suspensions")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"partners":["CAN"],"reason":"leak inquiry"}"#))
        .unwrap();
    assert_eq!(hub.send(req).await.status, StatusCode::CREATED);
    for _ in 0..5 {
        assert!(!gbr_in(&page().await));
    }
}

/// Issue 16 item 4: views are bounded in number and dropped when idle; a
/// dropped view is built again, the same, on its next request.
#[tokio::test]
async fn regression_16_views_are_bounded_and_evicted_when_idle() {
    let limits = caveat_server::Limits {
        max_views: 2,
        view_idle: std::time::Duration::from_millis(300),
        ..caveat_server::Limits::default()
    };
    let hub = Hub::with_limits(limits).await;
    scene(&hub).await;
    let open = || async {
        let res = tower::ServiceExt::oneshot(
            caveat_server::operator_app(hub.state.clone()),
            Request::get("/metrics").body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        let text =
            String::from_utf8(axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
        text.lines().find_map(|l| l.strip_prefix("caveat_open_views ")).unwrap().parse::<u64>().unwrap()
    };
    let first = lineages(&hub, "can", "interdiction").await;
    for purpose in ["search-and-rescue", "monitoring", "prosecution"] {
        tracks(&hub, "can", purpose).await;
        assert!(open().await <= 2, "at most two views are kept");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    tracks(&hub, "fra", "search-and-rescue").await;
    assert_eq!(open().await, 1, "idle views were dropped");
    assert_eq!(lineages(&hub, "can", "interdiction").await, first, "a dropped view is built again alike");
}

/// Issue 16 item 4: the views' estimated memory is bounded: past the budget
/// the least recently used go (the one asked for is served regardless), the
/// estimate is a gauge, and a view dropped for memory is built again alike.
#[tokio::test]
async fn regression_16_views_are_bounded_in_memory() {
    let limits = caveat_server::Limits { view_memory_bytes: 1, ..caveat_server::Limits::default() };
    let hub = Hub::with_limits(limits).await;
    scene(&hub).await;
    let metric = |name: &'static str| {
        let state = hub.state.clone();
        async move {
            let res = tower::ServiceExt::oneshot(
                caveat_server::operator_app(state),
                Request::get("/metrics").body(Body::empty()).unwrap(),
            )
            .await
            .unwrap();
            let text =
                String::from_utf8(axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
                .unwrap()
                .parse::<u64>()
                .unwrap()
        }
    };
    let first = lineages(&hub, "can", "interdiction").await;
    assert!(metric("caveat_view_memory_bytes").await > 1, "a built view is counted");
    for purpose in ["search-and-rescue", "monitoring"] {
        assert!(!tracks(&hub, "can", purpose).await.is_empty());
        assert_eq!(metric("caveat_open_views").await, 1, "one view over the budget is kept: the one asked for");
    }
    assert_eq!(lineages(&hub, "can", "interdiction").await, first, "a view dropped for memory is built again alike");
}

/// `at` gives the picture as it was then: positions, trails and originators
/// cut at T, tracks not yet seen left out; a time that is not one is refused.
/// Each track also says how it was observed and how sure its position is.
#[tokio::test]
async fn the_picture_as_of_a_time_stops_there() {
    use time::format_description::well_known::Rfc3339;
    let hub = Hub::new().await;
    scene(&hub).await;
    let now = time::OffsetDateTime::now_utc();
    let get_at = |t: time::OffsetDateTime| format!("/v1/tracks?trail=200&at={}", t.format(&Rfc3339).unwrap());
    let live = hub.get("/v1/tracks?trail=200", "can", Some("interdiction")).await.json();
    let live = live["tracks"].as_array().unwrap().clone();
    assert!(!live.is_empty());
    for t in &live {
        assert_eq!(t["sources"], serde_json::json!(["coastal-radar"]), "{t}");
        let u = &t["uncertainty"];
        let (major, minor) = (u["semi_major_m"].as_f64().unwrap(), u["semi_minor_m"].as_f64().unwrap());
        assert!(major >= minor && minor > 0.0, "{u}");
        assert!((0.0..180.0).contains(&u["orientation_deg"].as_f64().unwrap()), "{u}");
    }
    let points = |ts: &[serde_json::Value]| ts.iter().map(|t| t["trail"].as_array().unwrap().len()).sum::<usize>();

    // Five minutes into the hour-old scene: part of the first vessel's reports, part of FRA's.
    let at = now - time::Duration::hours(1) + time::Duration::seconds(300);
    let past = hub.get(&get_at(at), "can", Some("interdiction")).await;
    assert_eq!(past.status, StatusCode::OK, "{}", past.message());
    let past = past.json()["tracks"].as_array().unwrap().clone();
    assert!(!past.is_empty());
    assert!(points(&past) < points(&live), "a trail cut at T is shorter than now's");
    for t in &past {
        let updated = time::OffsetDateTime::parse(t["updated_at"].as_str().unwrap(), &Rfc3339).unwrap();
        assert!(updated <= at, "{t}");
        let trail = t["trail"].as_array().unwrap();
        assert!(!trail.is_empty());
        for p in trail {
            assert!(time::OffsetDateTime::parse(p["t"].as_str().unwrap(), &Rfc3339).unwrap() <= at, "{p}");
        }
        let last = trail.last().unwrap();
        for axis in ["lat", "lon"] {
            let (a, b) = (t["position"][axis].as_f64().unwrap(), last[axis].as_f64().unwrap());
            assert!((a - b).abs() < 1e-5, "the position at T is the newest trail point then: {a} vs {b}");
        }
        // Originators are those of the reports up to T.
        let by: BTreeSet<&str> = trail.iter().filter_map(|p| p["originator"].as_str()).collect();
        let said: BTreeSet<&str> = t["originators"].as_array().unwrap().iter().filter_map(|o| o.as_str()).collect();
        assert_eq!(by, said);
    }

    // Before the first report: nothing yet.
    let before = hub.get(&get_at(now - time::Duration::hours(2)), "can", Some("interdiction")).await;
    assert!(before.json()["tracks"].as_array().unwrap().is_empty());

    // Not a time: refused, naming the parameter.
    let bad = hub.get("/v1/tracks?at=yesterday", "can", Some("interdiction")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.message().contains("`at`"), "{}", bad.message());
}
