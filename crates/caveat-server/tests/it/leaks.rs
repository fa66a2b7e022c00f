//! Issue 14: no response, log entry or counter may depend on what the view may
//! not see. A model-based adversarial test in the Cedar style: random
//! partners' reports, markings, corrections, standing forbids (source-,
//! position- and time-conditioned), suspensions and other partners' cases; a
//! reference model of what CAN may use; every read path compared with the
//! model and, as a differential, with a second hub that also holds reports
//! (and cases) CAN may not see: the answers must be byte for byte the same,
//! and so must the number of audit entries each request adds.
//!
//! `CAVEAT_LEAK_CASES` sets the number of random worlds (default 3; the
//! longer run is `scripts/leak-model`), `CAVEAT_LEAK_SEED` the first seed.
//! Regression tests for each leak the issue names follow the model test.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caveat_core::{Marking, Purpose};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Hub, scoped};

/// SplitMix64: a seeded generator, so a failing world is replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[usize::try_from(self.below(xs.len() as u64)).unwrap()]
    }
}

const USERS: [(&str, &str); 4] = [("gbr", "GBR"), ("can", "CAN"), ("fra", "FRA"), ("uscg", "USA-USCG")];
const SOURCES: [&str; 4] = ["coastal-radar", "mpa-radar", "tip", "vessel"];

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// One submitted report as the model knows it.
#[derive(Clone)]
struct Line {
    user: &'static str,
    partner: &'static str,
    /// The id the hub stores (the supplied one, scoped to its partner).
    stored: String,
    supplied: String,
    json: String,
    marking: Marking,
    source: &'static str,
    lat: f64,
}

/// The standing rules of a world, the same in both hubs.
struct Rules {
    /// GBR forbids CAN its tips; with `north`, also its reports north of 18.5.
    north: bool,
    /// FRA suspends CAN for every purpose.
    fra_suspends_can: bool,
}

impl Rules {
    /// The reference model: may CAN use `l` for `purpose` (action `action`) now, without a case?
    fn may_use(&self, l: &Line, purpose: Purpose, export: bool, now: OffsetDateTime) -> bool {
        if l.partner == "CAN" {
            return true;
        }
        let m = &l.marking;
        let granted = m.releasable_to.contains(&"CAN".parse().unwrap())
            && m.purposes.contains(&purpose)
            && m.not_after.is_none_or(|t| now < t)
            && !m.requires_case
            && !(export && m.no_export);
        let forbidden = (l.partner == "GBR" && (l.source == "tip" || (self.north && l.lat > 18.5)))
            || (l.partner == "FRA" && self.fra_suspends_can);
        granted && !forbidden
    }

    /// Whether CAN may use `l` under no purpose and no case at all (an extra report must be so).
    fn hidden_from_can(&self, l: &Line, now: OffsetDateTime) -> bool {
        l.partner != "CAN"
            && Purpose::ALL.iter().all(|p| !self.may_use(l, *p, false, now))
            && !(l.marking.releasable_to.contains(&"CAN".parse().unwrap())
                && l.marking.requires_case
                && l.marking.not_after.is_none_or(|t| now < t)
                && !(l.partner == "GBR" && (l.source == "tip" || (self.north && l.lat > 18.5)))
                && !(l.partner == "FRA" && self.fra_suspends_can))
    }
}

fn marking(rng: &mut Rng, now: OffsetDateTime, partner: &str) -> Marking {
    let others: Vec<&str> = USERS.iter().map(|(_, p)| *p).filter(|p| *p != partner).collect();
    let to: Vec<&str> = others.iter().copied().filter(|_| rng.chance(60)).collect();
    let purposes: Vec<Purpose> = Purpose::ALL.iter().copied().filter(|_| rng.chance(50)).collect();
    let mut b = Marking::builder().to(&to).purposes(&purposes);
    match rng.below(10) {
        0..=1 => b = b.not_after(now + time::Duration::hours(2)),
        2 => b = b.not_after(now - time::Duration::minutes(20)),
        _ => {}
    }
    if rng.chance(10) {
        b = b.requires_case();
    }
    if rng.chance(20) {
        b = b.no_export();
    }
    b.build()
}

fn report_line(
    rng: &mut Rng,
    n: u64,
    user: &'static str,
    partner: &'static str,
    now: OffsetDateTime,
    supersedes: Option<&str>,
) -> Line {
    // Five vessels moving east; each report near one of them, so tracks mix originators.
    let vessel = rng.below(5);
    let step = rng.below(12);
    let lat = 18.2 + 0.1 * vessel as f64 + 0.0001 * rng.below(50) as f64;
    let lon = -64.9 + 0.002 * step as f64;
    let at = now - time::Duration::minutes(60) + time::Duration::seconds((step * 60 + rng.below(20)).cast_signed());
    let source = *rng.pick(&SOURCES);
    let m = marking(rng, now, partner);
    let supplied = format!("019ab000-0000-7000-8000-{n:012x}");
    let stored = scoped(&supplied, partner);
    let sup = supersedes.map(|s| format!(r#","supersedes":"{s}""#)).unwrap_or_default();
    let json = format!(
        r#"{{"id":"{supplied}","observed_at":"{}","position":{{"lat":{lat},"lon":{lon}}},"uncertainty_m":80,"source":"{source}","marking":{}{sup}}}"#,
        rfc3339(at),
        serde_json::to_string(&m).unwrap()
    );
    Line { user, partner, stored, supplied, json, marking: m, source, lat }
}

/// A random world: what both hubs hold, and what only the second holds.
struct World {
    rules: Rules,
    base: Vec<Line>,
    extra: Vec<Line>,
    /// The purpose CAN declares.
    purpose: Purpose,
}

fn world(seed: u64, now: OffsetDateTime) -> World {
    let mut rng = Rng(seed);
    let rules = Rules { north: rng.chance(50), fra_suspends_can: rng.chance(50) };
    let purpose = *rng.pick(&Purpose::ALL);
    let mut n = 1u64;
    let mut base: Vec<Line> = Vec::new();
    for _ in 0..24 {
        let (user, partner) = *rng.pick(&USERS);
        base.push(report_line(&mut rng, n, user, partner, now, None));
        n += 1;
    }
    // Corrections of the originator's own reports.
    for _ in 0..3 {
        let target = rng.pick(&base).clone();
        if base.iter().any(|l| l.json.contains(&target.stored)) {
            continue;
        }
        base.push(report_line(&mut rng, n, target.user, target.partner, now, Some(&target.stored)));
        n += 1;
    }
    let mut extra: Vec<Line> = Vec::new();
    let mut tries = 0;
    while extra.len() < 14 && tries < 2_000 {
        tries += 1;
        let (user, partner) = *rng.pick(&USERS[..]);
        if partner == "CAN" {
            continue;
        }
        // Now and then a hidden correction of a base report CAN may see.
        let corrects = if rng.chance(25) {
            base.iter()
                .filter(|b| b.partner == partner && !b.json.contains("supersedes"))
                .find(|b| !base.iter().chain(&extra).any(|x| x.json.contains(&b.stored)))
                .map(|b| b.stored.clone())
        } else {
            None
        };
        let l = report_line(&mut rng, 1_000 + tries, user, partner, now, corrects.as_deref());
        if rules.hidden_from_can(&l, now) {
            extra.push(l);
        }
    }
    World { rules, base, extra, purpose }
}

/// What one request answered: status, the headers a client reads, the body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Audit entries the request added.
    entries: u64,
}

async fn log_size(hub: &Hub) -> u64 {
    hub.state.hub().audit().checkpoint().await.unwrap().checkpoint().size()
}

async fn ask(hub: &Hub, req: Request<Body>) -> Answer {
    let before = log_size(hub).await;
    let res = caveat_server::app(hub.state.clone()).oneshot_ready(req).await;
    let status = res.status();
    let headers = ["content-type", "caveat-marking", "content-encoding", "retry-after"]
        .iter()
        .filter_map(|h| res.headers().get(*h).map(|v| ((*h).to_owned(), v.to_str().unwrap_or("?").to_owned())))
        .collect();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
    Answer { status, headers, body, entries: log_size(hub).await - before }
}

trait OneshotReady {
    async fn oneshot_ready(self, req: Request<Body>) -> axum::response::Response;
}

impl OneshotReady for axum::Router {
    async fn oneshot_ready(self, req: Request<Body>) -> axum::response::Response {
        use tower::ServiceExt;
        self.oneshot(req).await.unwrap()
    }
}

fn get(hub: &Hub, user: &str, path: &str, purpose: Option<Purpose>, case: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path).header("authorization", format!("Bearer {}", hub.token(user)));
    if let Some(p) = purpose {
        r = r.header("caveat-purpose", p.as_str());
    }
    if let Some(c) = case {
        r = r.header("caveat-case", c);
    }
    r.body(Body::empty()).unwrap()
}

fn post(hub: &Hub, user: &str, path: &str, ctype: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {}", hub.token(user)))
        .header("content-type", ctype)
        .body(Body::from(body))
        .unwrap()
}

async fn load(hub: &Hub, world: &World, with_extra: bool) {
    let upload = if world.rules.north {
        "forbid (principal in Caveat::Partner::\"CAN\", action, resource) when { resource.source == Caveat::Source::\"tip\" || resource.position.lat.greaterThan(decimal(\"18.5\")) };"
    } else {
        "forbid (principal in Caveat::Partner::\"CAN\", action, resource) when { resource.source == Caveat::Source::\"tip\" };"
    };
    let req = Request::put("/v1/policy/standing")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .body(Body::from(upload))
        .unwrap();
    assert_eq!(hub.send(req).await.status, StatusCode::OK);
    if world.rules.fra_suspends_can {
        let fra_admin = hub.token("fra-admin").to_owned();
        let req = Request::post("/v1/suspensions")
            .header("authorization", format!("Bearer {fra_admin}"))
            .header("content-type", "application/json")
            .body(Body::from(r#"{"partners":["CAN"],"reason":"inquiry"}"#))
            .unwrap();
        let res = hub.send(req).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    }
    // One batch per report, in the world's order, so corrections follow their targets.
    let mut lines: Vec<&Line> = world.base.iter().collect();
    if with_extra {
        lines.extend(&world.extra);
    }
    for l in lines {
        let res = hub.submit(l.user, l.json.clone()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}: {}", l.json, res.message());
    }
    if with_extra {
        // Another partner's case, citing only its own reports.
        if let Some(own) = world.extra.iter().chain(&world.base).find(|l| l.partner == "GBR") {
            let body = json!({ "participants": ["FRA"], "detect": { "action": {"kind": "detect"}, "at": rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(5)),
                "position": {"lat": 18.3, "lon": -64.8}, "unit": "HMS Medway", "relied_on": [own.stored] } });
            let res = hub.send(post(hub, "gbr", "/v1/cases", "application/json", body.to_string())).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
        }
    }
}

/// The usage report with what legitimately differs (indexes, proofs, times) taken out.
///
/// Of the completeness proof (issue 18) only the key is kept: its range and its
/// tag leaves depend on how many entries the log holds, which, like the
/// checkpoint's size, is no secret; the tag leaves' columns for others are
/// masked under keys CAN does not hold (`caveat-audit`'s completeness tests show
/// they read as coin flips), and its own column follows its own entries.
fn usage_view(body: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    if let Some(c) = v.get_mut("completeness").and_then(Value::as_object_mut) {
        c.retain(|k, _| k == "key");
    }
    let bundle = if v.get("proof").is_some() { v["proof"].take() } else { v["bundle"].take() };
    let entries: Vec<Value> = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let data: Vec<u8> = serde_json::from_value::<caveat_audit::BundleEntry>(e.clone()).unwrap().data;
            let entry = caveat_audit::AuditEntry::from_bytes(&data).unwrap();
            let mut e = serde_json::to_value(entry).unwrap();
            e.as_object_mut().unwrap().remove("at");
            blank_cases(&mut e);
            e
        })
        .collect();
    blank_cases(&mut v);
    json!({ "rest": v, "entries": entries })
}

/// Case ids are random per hub: the same case is "CASE" in both.
fn blank_cases(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "case" && x.is_string() {
                    *x = Value::from("CASE");
                } else if k == "at" {
                    *x = Value::Null;
                } else {
                    blank_cases(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(blank_cases),
        _ => {}
    }
}

/// Every read path CAN has, asked of `hub`; `cases` maps the hub's case ids to stable names.
async fn reads(hub: &Hub, world: &World, probe_ids: &[String]) -> Vec<(String, Answer)> {
    let p = Some(world.purpose);
    let mut out: Vec<(String, Answer)> = Vec::new();
    let tracks = ask(hub, get(hub, "can", "/v1/tracks", p, None)).await;
    let page: Value = serde_json::from_slice(&tracks.body).unwrap();
    out.push(("tracks".into(), tracks));
    let mut cursor: Option<String> = None;
    for i in 0..4 {
        let path = match &cursor {
            Some(c) => format!("/v1/tracks?limit=2&trail=3&cursor={c}"),
            None => "/v1/tracks?limit=2&trail=3&bbox=-65,18,-64,19".into(),
        };
        let a = ask(hub, get(hub, "can", &path, p, None)).await;
        cursor = serde_json::from_slice::<Value>(&a.body).unwrap()["next_cursor"].as_str().map(str::to_owned);
        out.push((format!("tracks page {i}"), a));
        if cursor.is_none() {
            break;
        }
    }
    for t in page["tracks"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        out.push((format!("track {id}"), ask(hub, get(hub, "can", &format!("/v1/tracks/{id}"), p, None)).await));
    }
    // Every format the hub can write, so a new one is leak-tested without touching this test.
    for f in caveat_hub::export::Format::ALL.map(caveat_hub::export::Format::name) {
        out.push((format!("export {f}"), ask(hub, get(hub, "can", &format!("/v1/export?format={f}"), p, None)).await));
    }
    for id in probe_ids {
        out.push((format!("report {id}"), ask(hub, get(hub, "can", &format!("/v1/reports/{id}"), p, None)).await));
    }
    let no_case = "019ab000-0000-7000-8000-0000000000ff";
    for id in probe_ids.iter().take(3) {
        let a = ask(hub, get(hub, "can", &format!("/v1/reports/{id}"), p, Some(no_case))).await;
        out.push((format!("report {id} in an unknown case"), a));
    }
    out.push(("tracks in an unknown case".into(), ask(hub, get(hub, "can", "/v1/tracks", p, Some(no_case))).await));
    out.push(("live in an unknown case".into(), ask(hub, get(hub, "can", "/v1/live", p, Some(no_case))).await));
    out.push(("cases".into(), ask(hub, get(hub, "canwatch", "/v1/cases", None, None)).await));
    out.push(("policy".into(), ask(hub, get(hub, "can", "/v1/policy", None, None)).await));
    out.push(("me".into(), ask(hub, get(hub, "can", "/v1/me", None, None)).await));
    out.push(("metrics".into(), ask(hub, Request::get("/metrics").body(Body::empty()).unwrap()).await));
    out
}

/// A case of CAN's citing reports CAN may cite, then a step citing hidden and unknown ids too.
async fn case_work(hub: &Hub, world: &World, hidden: &[String]) -> Vec<(String, Answer)> {
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::new();
    let citable: Vec<&Line> = world
        .base
        .iter()
        .filter(|l| l.partner == "CAN" || world.rules.may_use(l, Purpose::Interdiction, false, now))
        .take(2)
        .collect();
    let cite: Vec<&str> = citable.iter().map(|l| l.stored.as_str()).collect();
    let at = rfc3339(now - time::Duration::minutes(3));
    let open = json!({ "detect": { "action": {"kind": "detect"}, "at": at, "position": {"lat": 18.3, "lon": -64.8},
        "unit": "CCGS Corporal McLaren", "relied_on": cite } });
    let opened = ask(hub, post(hub, "canwatch", "/v1/cases", "application/json", open.to_string())).await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&opened.body));
    let case = serde_json::from_slice::<Value>(&opened.body).unwrap()["id"].as_str().unwrap().to_owned();
    out.push(("open case".into(), Answer { body: Vec::new(), ..opened }));
    let mut bad: Vec<String> = cite.iter().map(|s| (*s).to_owned()).collect();
    bad.extend(hidden.iter().take(2).cloned());
    bad.push("019ab000-0000-7000-8000-00000000abcd".into());
    let step = json!({ "action": {"kind": "monitor"}, "at": at, "position": {"lat": 18.3, "lon": -64.8},
        "unit": "CCGS Corporal McLaren", "relied_on": bad });
    let path = format!("/v1/cases/{case}/steps");
    out.push((
        "step citing hidden and unknown ids".into(),
        ask(hub, post(hub, "canwatch", &path, "application/json", step.to_string())).await,
    ));
    let mut shown = ask(hub, get(hub, "canwatch", &format!("/v1/cases/{case}"), None, None)).await;
    shown.body = String::from_utf8(shown.body).unwrap().replace(&case, "CASE").replace(&at, "AT").into_bytes();
    shown.body = normalise_times(&shown.body);
    out.push(("case".into(), shown));
    let mut in_case = ask(hub, get(hub, "canwatch", "/v1/tracks", Some(Purpose::Interdiction), Some(&case))).await;
    in_case.body = normalise_times(&in_case.body);
    out.push(("tracks in the case".into(), in_case));
    out
}

/// Case open and step times are the hub's clock: blank every RFC 3339 time of "now".
fn normalise_times(body: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else { return body.to_vec() };
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if k == "opened_at" || k == "at" {
                        *x = Value::Null;
                    } else {
                        walk(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// The two hubs of a world: in memory (SQLite), or on the PostgreSQL test
/// server (`CAVEAT_TEST_POSTGRES`) when `postgres` names the schemas' prefix.
async fn two_hubs(world: &World, postgres: Option<&str>) -> Option<(Hub, Hub)> {
    let (mut a, mut b) = match postgres {
        None => (Hub::new().await, Hub::new().await),
        Some(name) => (Hub::on_postgres(&format!("{name}_a")).await?, Hub::on_postgres(&format!("{name}_b")).await?),
    };
    for hub in [&mut a, &mut b] {
        hub.add_user("fra-admin", "FRA", &[caveat_core::Role::PartnerAdmin]).await;
    }
    load(&a, world, false).await;
    load(&b, world, true).await;
    Some((a, b))
}

async fn check_world(seed: u64, postgres: Option<&str>) {
    let now = OffsetDateTime::now_utc();
    let w = world(seed, now);
    let Some((a, b)) = two_hubs(&w, postgres).await else { return };
    let hidden: Vec<String> = w.extra.iter().map(|l| l.stored.clone()).collect();
    let mut probe: Vec<String> = w.base.iter().map(|l| l.stored.clone()).collect();
    probe.extend(hidden.iter().cloned());
    probe.push("019ab000-0000-7000-8000-00000000beef".into());
    probe.push("not-a-uuid".into());

    for hub in [&a, &b] {
        model_check(seed, hub, &w, now).await;
    }
    // The differential: the hub holding more answers exactly alike.
    let (ra, rb) = (reads(&a, &w, &probe).await, reads(&b, &w, &probe).await);
    compare(seed, &ra, &rb);
    let (ca, cb) = (case_work(&a, &w, &hidden).await, case_work(&b, &w, &hidden).await);
    compare(seed, &ca, &cb);
    // Submitting another partner's (hidden) report id stores CAN's own report alike.
    if let Some(h) = w.extra.first() {
        let line = h.json.replace(&format!(r#""source":"{}""#, h.source), r#""source":"coastal-radar""#);
        let line = line.split(r#","marking""#).next().unwrap().to_owned() + "}";
        let sa = ask(&a, post(&a, "can", "/v1/reports", "application/x-ndjson", line.clone())).await;
        let sb = ask(&b, post(&b, "can", "/v1/reports", "application/x-ndjson", line)).await;
        assert_eq!(sa.status, StatusCode::CREATED, "seed {seed}: {}", String::from_utf8_lossy(&sa.body));
        compare(seed, &[("submit reusing a hidden id".into(), sa)], &[("submit reusing a hidden id".into(), sb)]);
        assert_ne!(h.stored, scoped(&h.supplied, "CAN"));
    }
    // The usage and transparency reports CAN's auditor reads list the same entries.
    for path in ["/v1/usage", "/v1/transparency"] {
        let (ua, ub) =
            (ask(&a, get(&a, "auditor", path, None, None)).await, ask(&b, get(&b, "auditor", path, None, None)).await);
        assert_eq!((ua.status, ua.entries), (ub.status, ub.entries), "seed {seed}: {path}");
        assert_eq!(usage_view(&ua.body), usage_view(&ub.body), "seed {seed}: {path}");
    }
}

/// The reference model: each direct read, the export and every track's lineage, as the rules say.
async fn model_check(seed: u64, a: &Hub, w: &World, now: OffsetDateTime) {
    // The model: each direct read answers exactly as the reference says.
    for l in &w.base {
        let got = ask(a, get(a, "can", &format!("/v1/reports/{}", l.stored), Some(w.purpose), None)).await;
        let want = w.rules.may_use(l, w.purpose, false, now);
        assert_eq!(got.status == StatusCode::OK, want, "seed {seed}: read of {} ({})", l.stored, l.json);
    }
    let export = ask(a, get(a, "can", "/v1/export?format=ndjson", Some(w.purpose), None)).await;
    let exported: BTreeSet<String> = String::from_utf8(export.body)
        .unwrap()
        .lines()
        .map(|x| serde_json::from_str::<Value>(x).unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    let want: BTreeSet<String> =
        w.base.iter().filter(|l| w.rules.may_use(l, w.purpose, true, now)).map(|l| l.stored.clone()).collect();
    assert_eq!(exported, want, "seed {seed}: export");
    let tracks = ask(a, get(a, "can", "/v1/tracks?trail=200", Some(w.purpose), None)).await;
    let permitted: BTreeSet<String> =
        w.base.iter().filter(|l| w.rules.may_use(l, w.purpose, false, now)).map(|l| l.stored.clone()).collect();
    for t in serde_json::from_slice::<Value>(&tracks.body).unwrap()["tracks"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let detail: Value = serde_json::from_slice(
            &ask(a, get(a, "can", &format!("/v1/tracks/{id}"), Some(w.purpose), None)).await.body,
        )
        .unwrap();
        for r in detail["lineage"].as_array().unwrap() {
            let rid = r["report_id"].as_str().unwrap();
            assert!(permitted.contains(rid), "seed {seed}: track {id} holds {rid}, which CAN may not use");
        }
    }
}

fn compare(seed: u64, a: &[(String, Answer)], b: &[(String, Answer)]) {
    assert_eq!(a.len(), b.len(), "seed {seed}: a different number of reads");
    for ((what, x), (_, y)) in a.iter().zip(b) {
        assert_eq!(
            (x.status, &x.headers, x.entries),
            (y.status, &y.headers, y.entries),
            "seed {seed}: {what}: {} vs {}",
            String::from_utf8_lossy(&x.body),
            String::from_utf8_lossy(&y.body)
        );
        assert!(
            x.body == y.body,
            "seed {seed}: {what}:\n{}\nvs\n{}",
            String::from_utf8_lossy(&x.body),
            String::from_utf8_lossy(&y.body)
        );
    }
}

#[tokio::test]
async fn what_can_may_not_see_changes_no_answer_and_no_count() {
    let cases: u64 = std::env::var("CAVEAT_LEAK_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let first: u64 = std::env::var("CAVEAT_LEAK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    for seed in first..first + cases {
        check_world(seed, None).await;
    }
}

#[tokio::test]
async fn what_can_may_not_see_changes_no_answer_and_no_count_on_postgres() {
    let first: u64 = std::env::var("CAVEAT_LEAK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    check_world(first, Some("leaks")).await;
}

/// Leak 1: FRA and GBR each release a report to NLD's stand-in (USA-USCG
/// here); its watch officer cites both in a case; GBR's usage and transparency
/// reports hold GBR's share only.
#[tokio::test]
async fn regression_14_case_steps_are_audited_per_originator() {
    let mut hub = Hub::new().await;
    hub.add_user("gbr-auditor", "GBR", &[caveat_core::Role::Auditor]).await;
    let now = OffsetDateTime::now_utc();
    let at = rfc3339(now - time::Duration::minutes(10));
    let only_uscg = r#"{"releasable_to":["USA-USCG"],"purposes":["interdiction"]}"#;
    let mut ids = BTreeMap::new();
    for (user, n) in [("gbr", 1), ("fra", 2)] {
        let line = format!(
            r#"{{"id":"019ab000-0000-7000-8000-{n:012x}","observed_at":"{at}","position":{{"lat":18.3,"lon":-64.8}},"uncertainty_m":80,"source":"coastal-radar","marking":{only_uscg}}}"#
        );
        let res = hub.submit(user, line).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
        ids.insert(user, res.json()["ids"][0].as_str().unwrap().to_owned());
    }
    let open = json!({ "detect": { "action": {"kind": "detect"}, "at": at, "position": {"lat": 18.3, "lon": -64.8},
        "unit": "USCGC Stone", "relied_on": [ids["gbr"], ids["fra"]] } });
    let res = hub.send(post(&hub, "uscg", "/v1/cases", "application/json", open.to_string())).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.message());
    for path in ["/v1/usage", "/v1/transparency"] {
        let res = hub.get(path, "gbr-auditor", None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.message());
        let text = String::from_utf8_lossy(&usage_view(&res.body)["entries"].to_string().into_bytes()).to_string();
        assert!(text.contains("case-step"), "{path}: GBR's share of the step is listed: {text}");
        assert!(!text.contains("\"FRA\""), "{path}: FRA's share leaked to GBR: {text}");
        assert!(!String::from_utf8_lossy(&res.body).contains(&ids["fra"][..8]) || !res.body.is_empty());
    }
}

/// Leak 2: a standing forbid naming a user is refused at upload, with the reason.
#[tokio::test]
async fn regression_14_a_forbid_naming_a_user_is_refused() {
    let hub = Hub::new().await;
    let req = Request::put("/v1/policy/standing")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .body(Body::from("forbid (principal == Caveat::User::\"uscg\", action, resource);"))
        .unwrap();
    let res = hub.send(req).await;
    assert_eq!((res.status, res.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy".into()));
    assert!(res.message().contains("names the user"), "{}", res.message());
}

/// Leak 3: a view built before a standing policy's time condition starts to
/// hold is rebuilt once it does.
#[tokio::test]
async fn regression_14_a_time_conditioned_forbid_reaches_open_views() {
    let hub = Hub::new().await;
    let at = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let line = format!(
        r#"{{"observed_at":"{at}","position":{{"lat":18.3,"lon":-64.8}},"uncertainty_m":80,"source":"coastal-radar"}}"#
    );
    assert_eq!(hub.submit("gbr", line).await.status, StatusCode::CREATED);
    let from = OffsetDateTime::now_utc() + time::Duration::milliseconds(1_500);
    let text = format!(
        "forbid (principal, action, resource) when {{ context.time > datetime(\"{}\") }};",
        from.format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap()
    );
    let req = Request::put("/v1/policy/standing")
        .header("authorization", format!("Bearer {}", hub.token("gbr")))
        .body(Body::from(text))
        .unwrap();
    let res = hub.send(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.message());
    let count = |r: crate::Reply| r.json()["tracks"].as_array().unwrap().len();
    assert_eq!(count(hub.get("/v1/tracks", "can", Some("interdiction")).await), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1_700)).await;
    assert_eq!(count(hub.get("/v1/tracks", "can", Some("interdiction")).await), 0, "the forbid holds now");
}

/// Side channels: a report read in a case the caller is not in answers
/// `unknown_case` whether or not the report exists; a miss adds as many audit
/// entries as a refusal; `/metrics` is not on the partners' API; batch numbers
/// are the partner's own.
#[tokio::test]
async fn regression_14_misses_look_like_refusals() {
    let hub = Hub::new().await;
    let at = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let hidden = format!(
        r#"{{"observed_at":"{at}","position":{{"lat":18.3,"lon":-64.8}},"uncertainty_m":80,"source":"coastal-radar","marking":{{"releasable_to":[],"purposes":[]}}}}"#
    );
    let res = hub.submit("gbr", format!("{hidden}\n")).await;
    assert_eq!(res.json()["batch"], 1);
    let id = res.json()["ids"][0].as_str().unwrap().to_owned();
    assert_eq!(hub.submit("gbr", hidden.clone()).await.json()["batch"], 2);
    let res = hub.submit("can", hidden.clone()).await;
    assert_eq!(res.json()["batch"], 1, "CAN's first batch is its batch 1, whatever GBR sent");

    let missing = "019ab000-0000-7000-8000-00000000beef";
    let case = Some("019ab000-0000-7000-8000-0000000000ff");
    let p = Some(Purpose::Interdiction);
    let (x, y) = (
        ask(&hub, get(&hub, "can", &format!("/v1/reports/{id}"), p, case)).await,
        ask(&hub, get(&hub, "can", &format!("/v1/reports/{missing}"), p, case)).await,
    );
    assert_eq!((x.status, &x.body), (y.status, &y.body));
    assert_eq!(x.status, StatusCode::BAD_REQUEST);
    let (x, y) = (
        ask(&hub, get(&hub, "can", &format!("/v1/reports/{id}"), p, None)).await,
        ask(&hub, get(&hub, "can", &format!("/v1/reports/{missing}"), p, None)).await,
    );
    assert_eq!((x.status, &x.body, x.entries), (y.status, &y.body, y.entries));
    assert_eq!(x.status, StatusCode::NOT_FOUND);
    let metrics = hub.send(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(metrics.status, StatusCode::NOT_FOUND, "metrics are the operator's, on their own listener");
    let ops = caveat_server::operator_app(hub.state.clone())
        .oneshot_ready(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(ops.status(), StatusCode::OK);
}

/// Side channel: a live stream sends an event only when the caller's own view changed.
#[tokio::test]
async fn regression_14_live_events_only_for_the_callers_changes() {
    use futures_util::StreamExt;
    let hub = Hub::new().await;
    let at = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let line = |marking: &str| {
        format!(
            r#"{{"observed_at":"{at}","position":{{"lat":18.3,"lon":-64.8}},"uncertainty_m":80,"source":"coastal-radar"{marking}}}"#
        )
    };
    let res = caveat_server::app(hub.state.clone())
        .oneshot_ready(get(&hub, "can", "/v1/live", Some(Purpose::Interdiction), None))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body().into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: view"));
    async fn next(body: &mut axum::body::BodyDataStream, ms: u64) -> Option<Result<axum::body::Bytes, axum::Error>> {
        tokio::time::timeout(std::time::Duration::from_millis(ms), body.next()).await.ok().flatten()
    }
    // Only reports CAN may not see arrive: nothing is sent, across the follow-up notice too.
    assert_eq!(
        hub.submit("gbr", line(r#","marking":{"releasable_to":[],"purposes":[]}"#)).await.status,
        StatusCode::CREATED
    );
    assert!(next(&mut body, 1_600).await.is_none(), "an event for a change CAN cannot see");
    // A report CAN may see: an event.
    assert_eq!(hub.submit("gbr", line("")).await.status, StatusCode::CREATED);
    let got = next(&mut body, 3_000).await.expect("an event for CAN's own change").unwrap();
    assert!(String::from_utf8_lossy(&got).contains("event: view"), "{got:?}");
}
