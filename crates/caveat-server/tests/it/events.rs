//! Issue 20: a view's events are computed from its permitted subset alone,
//! vanish with a suspension on the next request, are retracted (not deleted)
//! when late data undoes them, and every delivery is audited.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_audit::{AuditEntry, MerkleLog, ReportSet};
use caveat_core::{Purpose, Report};
use caveat_events::{Detector, EventConfig};
use caveat_fusion::{FusionConfig, fuse};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::Hub;

/// Three hours ago, to the second: views look back a day.
fn base() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::hours(3)
}

/// One report line: `minute` after `base`, AIS with `mmsi` or coastal radar without.
fn line(base: OffsetDateTime, n: u64, minute: i64, lat: f64, lon: f64, mmsi: Option<u32>) -> String {
    let at = (base + Duration::minutes(minute)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (source, vessel) = match mmsi {
        Some(m) => ("ais", format!(r#","vessel":{{"mmsi":"{m}"}}"#)),
        None => ("coastal-radar", String::new()),
    };
    format!(
        r#"{{"id":"019ab000-0000-7000-8000-{n:012x}","observed_at":"{at}","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":20,"source":"{source}"{vessel}}}"#
    ) + "\n"
}

/// Drifting east at about 0.5 kn, a report a minute for `minutes` from `from`.
fn drift(base: OffsetDateTime, n0: u64, from: i64, minutes: i64, lat: f64, lon: f64, mmsi: Option<u32>) -> String {
    (from..from + minutes)
        .map(|m| line(base, n0 + m.cast_unsigned(), m, lat, lon + 0.000_15 * m as f64, mmsi))
        .collect()
}

/// GBR's AIS: two vessels meeting for 45 minutes (an encounter), and a third
/// that CAN's radar sees a contact without AIS alongside (a dark rendezvous).
async fn scene(hub: &Hub, base: OffsetDateTime) {
    let gbr = drift(base, 1_000, 0, 45, 16.5, -64.0, Some(232_000_001))
        + &drift(base, 2_000, 0, 45, 16.5015, -64.0, Some(232_000_002))
        + &drift(base, 3_000, 0, 45, 16.0, -63.0, Some(232_000_003));
    let can = drift(base, 4_000, 0, 45, 16.0018, -63.0, None);
    for (user, body) in [("gbr", gbr), ("can", can)] {
        let res = hub.submit(user, body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    }
}

pub(crate) fn config() -> EventConfig {
    let mut c = EventConfig::skylight();
    c.gap.min_gap = Duration::minutes(30);
    c
}

async fn events(hub: &Hub, user: &str, purpose: &str) -> Vec<Value> {
    let res = hub.get("/v1/events", user, Some(purpose)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.message());
    res.json()["events"].as_array().unwrap().clone()
}

/// What identifies an event's content: id, kind, state, reports, marking.
fn digest(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| format!("{} {} {} {} {}", e["id"], e["kind"], e["state"], e["reports"], e["marking"]))
        .collect()
}

fn may_use(r: &Report, partner: &str, purpose: Purpose) -> bool {
    r.originator.as_str() == partner || r.marking.grants(&partner.parse().unwrap(), purpose, OffsetDateTime::now_utc())
}

/// Views fold new reports in at most once a second: ask until `ok` or give up.
async fn eventually(hub: &Hub, user: &str, purpose: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..60 {
        let e = events(hub, user, purpose).await;
        if ok(&e) {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    events(hub, user, purpose).await
}

fn kinds(events: &[Value]) -> BTreeSet<String> {
    events.iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

/// A vessel silent for 40 minutes (minutes 10 to 50), and two that meet for
/// 25 minutes (from minute 20): a gap, and no encounter yet.
pub(crate) fn silent_and_short_meeting(base: OffsetDateTime) -> String {
    let mut gbr = String::new();
    for m in (0..=10i64).chain(50..=60) {
        gbr.push_str(&line(base, 10_000 + m.cast_unsigned(), m, 16.0, -62.0 + 0.01 * m as f64, Some(232_000_009)));
    }
    gbr += &drift(base, 20_000, 20, 25, 16.5, -64.0, Some(232_000_001));
    gbr + &drift(base, 21_000, 20, 25, 16.5015, -64.0, Some(232_000_002))
}

/// Late reports for [`silent_and_short_meeting`]: the silent vessel was heard
/// at minute 30 after all, and the two met from minute 10, not 20.
pub(crate) fn late_reports(base: OffsetDateTime) -> String {
    let late = line(base, 10_030, 30, 16.0, -62.0 + 0.3, Some(232_000_009));
    late + &drift(base, 20_000, 10, 10, 16.5, -64.0, Some(232_000_001))
        + &drift(base, 21_000, 10, 10, 16.5015, -64.0, Some(232_000_002))
}

#[tokio::test]
async fn a_views_events_equal_detection_over_its_permitted_subset_alone() {
    let hub = Hub::new().await;
    hub.state.hub().set_event_config(config()).unwrap();
    let base = base();
    scene(&hub, base).await;
    let all: Vec<Report> =
        hub.store.reports(&caveat_store::ReportQuery::default()).await.unwrap().into_iter().map(|s| s.report).collect();
    let detector = Detector::new(config()).unwrap();
    let mut seen = BTreeSet::new();
    for (user, partner) in [("gbr", "GBR"), ("can", "CAN"), ("fra", "FRA"), ("uscg", "USA-USCG")] {
        for purpose in Purpose::ALL {
            let subset: Vec<Report> = all.iter().filter(|r| may_use(r, partner, purpose)).cloned().collect();
            let tracks = fuse(&subset, &FusionConfig::default()).unwrap();
            let refs: Vec<&caveat_fusion::Track> = tracks.iter().collect();
            let reports: Vec<&Report> = subset.iter().collect();
            let want: BTreeSet<String> = detector
                .detect(&refs, &reports, OffsetDateTime::now_utc())
                .into_iter()
                .map(|e| {
                    let kind = serde_json::to_value(caveat_hub::EventKindName::from(e.kind)).unwrap();
                    format!(
                        "{} {} \"active\" {} {}",
                        Value::String(e.id.to_string()),
                        kind,
                        serde_json::to_value(&e.reports).unwrap(),
                        serde_json::to_value(&e.marking).unwrap()
                    )
                })
                .collect();
            let got = digest(&events(&hub, user, purpose.as_str()).await);
            assert_eq!(got, want, "{partner} / {purpose}");
            seen.extend(kinds(&events(&hub, user, purpose.as_str()).await));
        }
    }
    // The scene is not empty: both kinds of meeting were found by someone.
    assert!(seen.contains("encounter") && seen.contains("dark-rendezvous"), "{seen:?}");
    // FRA (search and rescue) may not use CAN's radar: no dark rendezvous for it.
    assert!(!kinds(&events(&hub, "fra", "search-and-rescue").await).contains("dark-rendezvous"));
}

#[tokio::test]
async fn a_suspension_removes_every_event_resting_on_the_suspended_data_on_the_next_request() {
    let hub = Hub::new().await;
    hub.state.hub().set_event_config(config()).unwrap();
    scene(&hub, base()).await;
    let before = events(&hub, "uscg", "interdiction").await;
    let gbr_events =
        |es: &[Value]| es.iter().filter(|e| e["originators"].as_array().unwrap().iter().any(|o| o == "GBR")).count();
    assert!(gbr_events(&before) >= 2, "{before:?}");

    // Delivered events are audited as reads of exactly the reports they rest on.
    let log = MerkleLog::open(hub.store.audit_storage().unwrap()).unwrap();
    let last: Vec<AuditEntry> = (log.size().saturating_sub(8)..log.size())
        .map(|i| AuditEntry::from_bytes(&log.entry(i).unwrap()).unwrap())
        .collect();
    let audited: BTreeSet<(String, u64, String)> = last
        .iter()
        .filter_map(|e| match e {
            AuditEntry::PolicyDecision(d) if d.user.as_str() == "uscg" => Some(d),
            _ => None,
        })
        .flat_map(|d| {
            d.originators
                .iter()
                .map(|u| (u.originator.to_string(), u.reports.count(), format!("{:?}", u.reports.digest())))
        })
        .collect();
    let delivered: BTreeSet<String> = before
        .iter()
        .flat_map(|e| e["reports"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()))
        .collect();
    let all = hub.store.reports(&caveat_store::ReportQuery::default()).await.unwrap();
    let want: BTreeSet<(String, u64, String)> = ["GBR", "CAN"]
        .into_iter()
        .map(|o| {
            let ids: Vec<caveat_core::ReportId> = all
                .iter()
                .filter(|s| s.report.originator.as_str() == o && delivered.contains(&s.report.id.to_string()))
                .map(|s| s.report.id)
                .collect();
            let set = ReportSet::new(&ids);
            (o.to_owned(), set.count(), format!("{:?}", set.digest()))
        })
        .collect();
    assert_eq!(audited, want, "one permit per originator, of exactly the reports the events rest on");

    let req = Request::post("/v1/suspensions")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"partners":["USA-USCG"],"reason":"leak inquiry"}"#))
        .unwrap();
    let res = hub.send(req).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    // The very next request: nothing resting on GBR's data, not even as retracted.
    let after = events(&hub, "uscg", "interdiction").await;
    assert_eq!(gbr_events(&after), 0, "{after:?}");
    assert!(after.iter().all(|e| !before.iter().any(|b| b["id"] == e["id"] && b["originators"] != e["originators"])));
    // Others still see them.
    assert!(gbr_events(&events(&hub, "can", "interdiction").await) >= 2);
}

#[tokio::test]
async fn a_late_report_retracts_a_gap_and_raises_an_encounter_with_its_true_start() {
    let hub = Hub::new().await;
    hub.state.hub().set_event_config(config()).unwrap();
    // The newest data a minute old, so only the gap in the middle is a gap.
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::minutes(61);
    assert_eq!(hub.submit("gbr", silent_and_short_meeting(base)).await.status, StatusCode::CREATED);
    let first = events(&hub, "can", "interdiction").await;
    let gap: Vec<&Value> = first.iter().filter(|e| e["kind"] == "ais-gap").collect();
    assert_eq!(gap.len(), 1, "{first:?}");
    let gap_id = gap[0]["id"].clone();
    assert!(!kinds(&first).contains("encounter"));

    assert_eq!(hub.submit("gbr", late_reports(base)).await.status, StatusCode::CREATED);
    let after = eventually(&hub, "can", "interdiction", |es| kinds(es).contains("encounter")).await;
    let retracted = after.iter().find(|e| e["id"] == gap_id).expect("the gap is kept, as retracted");
    assert_eq!(retracted["state"], "retracted");
    assert!(retracted["retracted_at"].is_string());
    let enc = after.iter().find(|e| e["kind"] == "encounter").unwrap();
    assert_eq!(enc["state"], "active");
    let start =
        OffsetDateTime::parse(enc["start"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!(start <= base + Duration::minutes(11), "the true start, not when it was raised: {start}");
    assert!(enc["raised_at"].as_str().unwrap() > enc["start"].as_str().unwrap());
    // Asking for active ones only leaves the retraction out.
    let active = hub.get("/v1/events?active_only=true", "can", Some("interdiction")).await.json();
    assert!(active["events"].as_array().unwrap().iter().all(|e| e["state"] == "active"));
    // A bad kind is refused, naming the query field.
    let bad = hub.get("/v1/events?kind=teleport", "can", Some("interdiction")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.message().contains("kind"));
}

/// The events an SSE body has sent so far (`event: event` frames), read until
/// `ok` holds of everything received or `ms` pass.
async fn read_stream(
    body: &mut axum::body::BodyDataStream,
    got: &mut Vec<Value>,
    ms: u64,
    ok: impl Fn(&[Value]) -> bool,
) -> bool {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
    let mut text = String::new();
    while !ok(got) {
        let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await else { return false };
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let frame: String = text.drain(..end + 2).collect();
            if frame.lines().any(|l| l == "event: event") {
                let data: String = frame.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                got.push(serde_json::from_str(&data).unwrap());
            }
        }
    }
    true
}

#[tokio::test]
async fn the_event_stream_sends_raised_and_retracted_events_and_nothing_the_view_may_no_longer_use() {
    use tower::ServiceExt;
    let hub = Hub::new().await;
    hub.state.hub().set_event_config(config()).unwrap();
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::minutes(61);
    // As in the retraction test: a gap, and two vessels that meet for too short a time.
    assert_eq!(hub.submit("gbr", silent_and_short_meeting(base)).await.status, StatusCode::CREATED);

    let open = |user: &str, query: &str| {
        Request::get(format!("/v1/events/stream{query}"))
            .header("authorization", format!("Bearer {}", hub.token(user)))
            .header("caveat-purpose", "interdiction")
            .body(Body::empty())
            .unwrap()
    };
    // A bad kind and a missing purpose are refused before any stream opens.
    let bad = caveat_server::app(hub.state.clone()).oneshot(open("can", "?kind=teleport")).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let res = caveat_server::app(hub.state.clone()).oneshot(open("can", "")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body().into_data_stream();
    let mut got = Vec::new();
    assert!(read_stream(&mut body, &mut got, 5_000, |g| g.iter().any(|e| e["kind"] == "ais-gap")).await, "{got:?}");
    let gap_id = got.iter().find(|e| e["kind"] == "ais-gap").unwrap()["id"].clone();
    assert!(got.iter().all(|e| e["state"] == "active"));
    assert!(!kinds(&got).contains("encounter"));

    // Late data: the gap is retracted and the encounter raised, each sent once.
    assert_eq!(hub.submit("gbr", late_reports(base)).await.status, StatusCode::CREATED);
    let retracted_and_raised = |g: &[Value]| {
        g.iter().any(|e| e["id"] == gap_id && e["state"] == "retracted")
            && g.iter().any(|e| e["kind"] == "encounter" && e["state"] == "active")
    };
    assert!(read_stream(&mut body, &mut got, 8_000, retracted_and_raised).await, "{got:?}");
    let mut ids: Vec<String> = got.iter().map(|e| format!("{} {}", e["id"], e["state"])).collect();
    let sent = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sent, "each change is sent once: {got:?}");

    // GBR suspends CAN: nothing resting on GBR's data is sent again, not even as a retraction.
    let n = got.len();
    let req = Request::post("/v1/suspensions")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"partners":["CAN"],"reason":"inquiry"}"#))
        .unwrap();
    assert_eq!(hub.send(req).await.status, StatusCode::CREATED);
    read_stream(&mut body, &mut got, 2_500, |_| false).await;
    assert_eq!(got.len(), n, "events sent after the suspension: {:?}", &got[n..]);
    assert!(events(&hub, "can", "interdiction").await.is_empty());
}
