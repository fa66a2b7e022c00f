//! Federation in process (issue 17): a hub asking two partner nodes (GBR,
//! NLD) through an in-memory `NodeClient` shows every view key exactly the
//! tracks a hub holding all the same reports directly shows; what a node
//! releases is only what its policy permits; uses cite receipts the node
//! issued; a node down, slow or lying leaves the others' data in place.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::default_trait_access,
    clippy::items_after_statements,
    clippy::same_functions_in_if_condition,
    reason = "tests fail loudly; small fixture numbers"
)]

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use caveat_audit::{AuditEntry, Decision, SigningKey};
use caveat_core::{
    BoundingBox, CaseId, Marking, Partner, PartnerId, Position, Purpose, Report, ReportId, SourceKind, User, ViewKey,
};
use caveat_hub::federation::{
    Federation, Node, NodeClient, NodeError, NodeFuture, NodeLink, NoticeFuture, Receipt, ReleaseAction, ReleaseAnswer,
    ReleaseRequest, Scope,
};
use caveat_hub::{Actor, Batch, Hub, TrackQuery};
use caveat_policy::CaseFacts;
use caveat_store::Store as _;
use time::{Duration, OffsetDateTime};

const PARTNERS: [&str; 6] = ["GBR", "CAN", "NLD", "FRA", "USA-USCG", "JIATFS"];
const NODES: [&str; 2] = ["GBR", "NLD"];

fn p(s: &str) -> PartnerId {
    s.parse().unwrap()
}

/// A small deterministic generator (the test needs no statistical quality).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn marking(rng: &mut Rng, originator: &str, now: OffsetDateTime) -> Marking {
    let mut m = Marking::originator_only();
    for q in PARTNERS.iter().filter(|q| **q != originator) {
        if rng.chance(65) {
            m.releasable_to.insert(p(q));
        }
    }
    for purpose in Purpose::ALL {
        if rng.chance(60) {
            m.purposes.insert(purpose);
        }
    }
    m.requires_case = rng.chance(10);
    m.no_export = rng.chance(30);
    if rng.chance(10) {
        m.not_after = Some(now - Duration::minutes(5));
    } else if rng.chance(10) {
        m.not_after = Some(now + Duration::hours(3));
    }
    m
}

/// A UUIDv7 from a millisecond time and 10 random bytes.
fn uuid_v7(ms: u64, random: [u8; 10]) -> ReportId {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    ReportId::from_bytes(b)
}

/// Six vessels crossing the eastern Caribbean, each seen every three minutes
/// by one partner or another, with markings drawn per partner and stretch.
fn world(seed: u64, now: OffsetDateTime) -> Vec<Report> {
    let mut rng = Rng(seed | 1);
    let mut markings = std::collections::HashMap::new();
    let mut out = Vec::new();
    let mut n = 0u64;
    for v in 0..6u64 {
        let (lat0, lon0) = (15.5 + v as f64 * 0.4, -65.0 + v as f64 * 0.3);
        let (dlat, dlon) = (0.002 * (v as f64 - 2.5), 0.003);
        for k in 0..24u64 {
            let originator = PARTNERS[((v * 7 + k * 3 + rng.below(2)) % 6) as usize];
            let m = markings.entry((originator, k / 8)).or_insert_with(|| marking(&mut rng, originator, now)).clone();
            n += 1;
            let mut random = [0u8; 10];
            random[2..].copy_from_slice(&n.to_be_bytes());
            let t = now.replace_nanosecond(0).unwrap() - Duration::minutes(75) + Duration::minutes(3 * k as i64);
            let ms = u64::try_from(t.unix_timestamp()).unwrap() * 1000;
            out.push(Report {
                id: uuid_v7(ms, random),
                originator: p(originator),
                observed_at: t,
                time_uncertainty_s: None,
                position: Position { lat: lat0 + dlat * k as f64, lon: lon0 + dlon * k as f64 },
                uncertainty_m: 150.0,
                course_deg: Some(80.0),
                speed_kn: Some(12.0),
                source: SourceKind::CoastalRadar,
                vessel: Default::default(),
                remarks: None,
                marking: m,
                supersedes: None,
                station: None,
            });
        }
    }
    out
}

async fn hub(seed: u8) -> Hub {
    let store = caveat_store::SqliteStore::open_in_memory().unwrap();
    for id in PARTNERS {
        store
            .put_partner(&Partner {
                id: p(id),
                name: format!("{id} test partner"),
                default_marking: Marking::originator_only(),
                ais_marking: None,
            })
            .await
            .unwrap();
    }
    let key = SigningKey::from_seed("caveat.test/audit", [seed; 32]).unwrap();
    Hub::open(Arc::new(store), key).await.unwrap()
}

fn actor(partner: &str) -> Actor {
    Actor { partner: p(partner), user: format!("admin@{}", partner.to_lowercase()).parse().unwrap() }
}

fn user(partner: &str) -> User {
    User {
        id: format!("analyst@{}", partner.to_lowercase()).parse().unwrap(),
        partner: p(partner),
        roles: Default::default(),
    }
}

async fn ingest(hub: &Hub, reports: &[Report], originator: &str) {
    let mine: Vec<Report> = reports.iter().filter(|r| r.originator.as_str() == originator).cloned().collect();
    if !mine.is_empty() {
        hub.ingest(&actor(originator), OffsetDateTime::now_utc(), Batch::numbered(mine)).await.unwrap();
    }
}

/// The same standing rules at a node and at the direct hub.
async fn policies(hub: &Hub, originator: &str) {
    let now = OffsetDateTime::now_utc();
    match originator {
        "GBR" => {
            caveat_hub::suspend(hub, &actor("GBR"), Some([p("FRA")].into()), None, "inquiry", now).await.unwrap();
        }
        "NLD" => {
            let text = "forbid (principal in Caveat::Partner::\"CAN\", action, resource) when { resource.position.lat.greaterThan(decimal(\"16.5\")) };";
            caveat_hub::upload_standing(hub, &actor("NLD"), text, now).await.unwrap();
        }
        _ => {}
    }
}

/// An in-process node; or one refusing, slow, or tampering with its answer;
/// or one whose revocation notices the hub never gets (`Deaf`).
#[derive(Debug)]
enum Local {
    Node(Arc<Node>),
    Deaf(Arc<Node>),
    Down,
    Slow(Arc<Node>),
    Tamper(Arc<Node>),
    /// Answers while the flag is up, else is unreachable (a node going down).
    Switch(Arc<Node>, Arc<std::sync::atomic::AtomicBool>),
}

async fn answer(node: &Node, request: &ReleaseRequest) -> Result<ReleaseAnswer, NodeError> {
    node.release(request.clone(), OffsetDateTime::now_utc())
        .await
        .map_err(|e| NodeError::Refused { status: 400, message: e.to_string() })
}

impl NodeClient for Local {
    fn release<'a>(&'a self, request: &'a ReleaseRequest) -> NodeFuture<'a> {
        Box::pin(async move {
            match self {
                Local::Node(n) | Local::Deaf(n) => answer(n, request).await,
                Local::Switch(n, up) if up.load(std::sync::atomic::Ordering::SeqCst) => answer(n, request).await,
                Local::Switch(..) => Err(NodeError::Unreachable("node down".into())),
                Local::Down => Err(NodeError::Unreachable("connection refused".into())),
                Local::Slow(n) => {
                    tokio::time::sleep(StdDuration::from_secs(5)).await;
                    answer(n, request).await
                }
                Local::Tamper(n) => {
                    let mut a = answer(n, request).await?;
                    if let Some(r) = a.reports.first_mut() {
                        r.position.lat += 0.01; // no longer what the receipt digests
                    }
                    Ok(a)
                }
            }
        })
    }

    fn notice(&self, after: Option<u64>) -> NoticeFuture<'_> {
        Box::pin(async move {
            match self {
                Local::Node(n) => n
                    .notice(after, caveat_hub::federation::MAX_NOTICE_WAIT)
                    .await
                    .map_err(|e| NodeError::Refused { status: 409, message: e.to_string() }),
                _ => Err(NodeError::Refused { status: 404, message: "no notices".into() }),
            }
        })
    }
}

struct World {
    reports: Vec<Report>,
    direct: Hub,
    fed: Hub,
    nodes: Vec<Arc<Node>>,
}

fn node_key(i: usize) -> SigningKey {
    SigningKey::from_seed("caveat.node/audit", [10 + i as u8; 32]).unwrap()
}

/// A direct hub holding everything; a federated hub holding the posted
/// partners' reports and asking GBR's and NLD's nodes (wrapped by `wrap`).
async fn build(seed: u64, wrap: impl Fn(&str, Arc<Node>) -> Local) -> World {
    build_leased(seed, Duration::minutes(10), wrap).await
}

/// As [`build`], with nodes granting `lease`.
async fn build_leased(seed: u64, lease: Duration, wrap: impl Fn(&str, Arc<Node>) -> Local) -> World {
    let now = OffsetDateTime::now_utc();
    let reports = world(seed, now);
    let direct = hub(1).await;
    for o in PARTNERS {
        ingest(&direct, &reports, o).await;
        policies(&direct, o).await;
    }
    let fed = hub(2).await;
    for o in PARTNERS.iter().filter(|o| !NODES.contains(o)) {
        ingest(&fed, &reports, o).await;
    }
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    for (i, o) in NODES.iter().enumerate() {
        let node_hub = hub(10 + i as u8).await;
        ingest(&node_hub, &reports, o).await;
        policies(&node_hub, o).await;
        let node = Arc::new(Node::new(node_hub, p(o), node_key(i), lease));
        nodes.push(node.clone());
        links.push(NodeLink { partner: p(o), key: node_key(i).verifier_key(), client: Arc::new(wrap(o, node)) });
    }
    fed.federate(Federation::new(links, StdDuration::from_secs(1)));
    World { reports, direct, fed, nodes }
}

async fn tracks(hub: &Hub, key: &ViewKey) -> serde_json::Value {
    let q = TrackQuery { limit: Some(5_000), trail: Some(200), ..TrackQuery::default() };
    let page = hub.track_page(&user(key.partner.as_str()), key, q).await.unwrap();
    serde_json::from_slice(&page.body).unwrap()
}

/// The first view key (of a partner running no node) whose direct view uses all of `partners`' data.
async fn key_using(direct: &Hub, partners: &[&str]) -> ViewKey {
    for partner in PARTNERS.iter().filter(|q| !NODES.contains(q)) {
        for purpose in Purpose::ALL {
            let key = ViewKey::new(p(partner), purpose, None);
            let o = originators(&tracks(direct, &key).await);
            if partners.iter().all(|q| o.contains(*q)) {
                return key;
            }
        }
    }
    panic!("no view uses {partners:?}: change the seed");
}

fn originators(v: &serde_json::Value) -> BTreeSet<String> {
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["originators"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_owned()))
        .collect()
}

/// (a) For every partner and purpose, the federated view equals the direct one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_views_equal_direct_views_for_every_partner_and_purpose() {
    for seed in [7] {
        let w = build(seed, |_, n| Local::Node(n)).await;
        let mut with_node_data = 0;
        for partner in PARTNERS {
            for purpose in Purpose::ALL {
                let key = ViewKey::new(p(partner), purpose, None);
                let (d, f) = (tracks(&w.direct, &key).await, tracks(&w.fed, &key).await);
                assert_eq!(f, d, "seed {seed}, view {key}");
                let o = originators(&d);
                with_node_data += usize::from(o.contains("GBR") || o.contains("NLD"));
            }
        }
        assert!(with_node_data >= 10, "seed {seed}: only {with_node_data} views used node data");
        for s in w.fed.federation_status() {
            assert!(s.available, "{s:?}");
        }
        assert!(!w.reports.is_empty());
    }
}

/// Each use of a node's reports at the hub cites a receipt that node issued
/// for the same recipient and purpose, and the node's log records the release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_uses_cite_receipts_the_node_logged() {
    let w = build(99, |_, n| Local::Node(n)).await;
    for partner in ["CAN", "USA-USCG", "JIATFS"] {
        tracks(&w.fed, &ViewKey::new(p(partner), Purpose::Interdiction, None)).await;
    }
    type Use = (PartnerId, Purpose, u64, Vec<String>);
    let permits = |entries: &[caveat_audit::BundleEntry]| -> Vec<Use> {
        let mut out = Vec::new();
        for e in entries {
            if let AuditEntry::PolicyDecision(d) = AuditEntry::from_bytes(&e.data).unwrap() {
                for u in d.originators.iter().filter(|u| u.decision == Decision::Permit) {
                    let cited: Vec<String> = u
                        .determining_policies
                        .iter()
                        .filter_map(|p| p.as_str().strip_prefix("release/").map(str::to_owned))
                        .collect();
                    out.push((d.partner.clone(), d.purpose, u.reports.count(), cited));
                }
            }
        }
        out
    };
    for (node, o) in w.nodes.iter().zip(NODES) {
        let hub_report = w.fed.usage_report(p(o), None).await.unwrap();
        let node_report = node.hub().usage_report(p(o), None).await.unwrap();
        let issued: HashSet<(PartnerId, Purpose, String)> = permits(&node_report.bundle.entries)
            .into_iter()
            .flat_map(|(partner, purpose, _, cited)| cited.into_iter().map(move |c| (partner.clone(), purpose, c)))
            .collect();
        assert!(!issued.is_empty(), "{o}: the node logged no release");
        let mut uses = 0;
        for (partner, purpose, count, cited) in permits(&hub_report.bundle.entries) {
            if count == 0 {
                continue;
            }
            assert_eq!(cited.len(), 1, "{o}: a use of {count} reports cites {cited:?}");
            assert!(
                issued.contains(&(partner.clone(), purpose, cited[0].clone())),
                "{o}: receipt {} was not issued for {partner}/{purpose}",
                cited[0]
            );
            uses += 1;
        }
        assert!(uses > 0, "{o}: no hub use of its data");
    }
}

/// The reference model of a node's decision: the marking (with the case facts
/// the hub asserts), the originator's own rights, and the test's standing rules.
fn model_permits(r: &Report, req: &ReleaseRequest, now: OffsetDateTime) -> bool {
    if r.originator == req.recipient {
        return true;
    }
    let m = &r.marking;
    let in_case = req.case.as_ref().is_some_and(|c| c.open && c.takes_part(&req.recipient));
    let export_ok = req.action == ReleaseAction::Fuse || !m.no_export;
    let standing = match r.originator.as_str() {
        "GBR" => req.recipient.as_str() != "FRA",
        "NLD" => !(req.recipient.as_str() == "CAN" && r.position.lat > 16.5),
        _ => true,
    };
    m.grants(&req.recipient, req.purpose, now) && (!m.requires_case || in_case) && export_ok && standing
}

fn request(recipient: &str, purpose: Purpose) -> ReleaseRequest {
    ReleaseRequest {
        recipient: p(recipient),
        purpose,
        case: None,
        action: ReleaseAction::Fuse,
        bbox: None,
        window: Default::default(),
        cursor: None,
        limit: None,
    }
}

/// (e) A node never releases a report its policy denies, whatever the request
/// says: every recipient (an unknown one too), purpose, case facts the hub
/// asserts, action, box, cursor (garbage, another request's) and limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_releases_only_what_its_policy_permits_through_every_parameter() {
    let w = build(4242, |_, n| Local::Node(n)).await;
    let node = &w.nodes[0];
    let verifier = node_key(0).verifier_key();
    let gbr: Vec<&Report> = w.reports.iter().filter(|r| r.originator.as_str() == "GBR").collect();
    let case = |open, lead: &str, with: &[&str]| CaseFacts {
        id: CaseId::generate(1, [3; 10]),
        open,
        lead: p(lead),
        participants: with.iter().map(|x| p(x)).collect(),
    };
    let first = node.release(request("CAN", Purpose::Monitoring), OffsetDateTime::now_utc()).await.unwrap();
    let other_cursor = Receipt::open(&first.receipt, &verifier).unwrap().id.to_string();
    let unknown = node.release(request("ZZZ", Purpose::Interdiction), OffsetDateTime::now_utc()).await;
    assert!(unknown.is_err(), "a recipient that is no partner of the node is refused");
    let recipients = ["CAN", "NLD", "FRA", "USA-USCG", "JIATFS", "GBR"];
    let cases = [
        None,
        Some(case(true, "CAN", &["FRA", "NLD"])),
        Some(case(false, "CAN", &["FRA"])),
        Some(case(true, "JIATFS", &[])),
    ];
    let boxes = [
        None,
        Some(BoundingBox::new(-90.0, -180.0, 90.0, 180.0).unwrap()),
        Some(BoundingBox::new(15.0, -66.0, 17.0, -63.0).unwrap()),
    ];
    let cursors =
        [None, Some("r-00000000000000000000000000000000".to_owned()), Some("garbage".to_owned()), Some(other_cursor)];
    let mut checked = 0;
    let mut released = 0;
    for recipient in recipients {
        for purpose in Purpose::ALL {
            for (ci, case) in cases.iter().enumerate() {
                {
                    // Not every combination of action, box, cursor and limit: they rotate.
                    let n = checked;
                    let action = [ReleaseAction::Fuse, ReleaseAction::Export][(n / 2) % 2];
                    let req = ReleaseRequest {
                        case: case.clone(),
                        action,
                        bbox: boxes[(n + ci) % boxes.len()],
                        cursor: cursors[n % cursors.len()].clone(),
                        limit: Some([1, 3, 10_000][n % 3]),
                        ..request(recipient, purpose)
                    };
                    let now = OffsetDateTime::now_utc();
                    let answer = node.release(req.clone(), now).await.unwrap();
                    let in_box = |r: &Report| req.bbox.is_none_or(|b| b.contains(r.position));
                    for r in &answer.reports {
                        assert!(model_permits(r, &req, now), "released {} against policy for {req:?}", r.id);
                        assert!(r.originator.as_str() == "GBR" && in_box(r));
                    }
                    let expected = gbr.iter().filter(|r| model_permits(r, &req, now) && in_box(r)).count();
                    let limit = req.limit.unwrap();
                    let receipt = Receipt::open(&answer.receipt, &verifier).unwrap();
                    // Every cursor here is unknown or another request's: full releases only.
                    assert_eq!(receipt.scope, Scope::Full, "{req:?}");
                    assert_eq!(answer.reports.len(), expected.min(limit), "{req:?}");
                    assert_eq!(answer.more, expected > limit, "{req:?}");
                    assert!(receipt.covers(&answer.reports));
                    assert_eq!(
                        (receipt.recipient.as_str(), receipt.purpose, &receipt.case),
                        (recipient, purpose, case)
                    );
                    released += answer.reports.len();
                    checked += 1;
                }
            }
        }
    }
    assert!(released > 0 && checked == recipients.len() * 5 * cases.len());
    // Limits out of range and malformed boxes are refused, not clamped into a release.
    for limit in [0, 10_001] {
        let req = ReleaseRequest { limit: Some(limit), ..request("CAN", Purpose::Interdiction) };
        assert!(node.release(req, OffsetDateTime::now_utc()).await.is_err());
    }
    let bad_box = BoundingBox { min_lat: 20.0, min_lon: -60.0, max_lat: 10.0, max_lon: -70.0 };
    let req = ReleaseRequest { bbox: Some(bad_box), ..request("CAN", Purpose::Interdiction) };
    assert!(node.release(req, OffsetDateTime::now_utc()).await.is_err());
    // A cursor continues its own request only, and releases what is new.
    let req = request("CAN", Purpose::Interdiction);
    let full = node.release(req.clone(), OffsetDateTime::now_utc()).await.unwrap();
    let id = Receipt::open(&full.receipt, &verifier).unwrap().id;
    let next =
        node.release(ReleaseRequest { cursor: Some(id.to_string()), ..req }, OffsetDateTime::now_utc()).await.unwrap();
    let next_receipt = Receipt::open(&next.receipt, &verifier).unwrap();
    assert_eq!(next_receipt.scope, Scope::Since(id));
    assert!(next.reports.is_empty() && !next.more);
}

/// A suspension at the node makes its next release full, and the hub's next
/// answer (within a second) loses the suspended data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_at_the_node_reaches_the_hubs_next_answer() {
    let w = build(31, |_, n| Local::Node(n)).await;
    let key = key_using(&w.direct, &["GBR"]).await;
    let before = tracks(&w.fed, &key).await;
    assert!(originators(&before).contains("GBR"));
    let node_hub = w.nodes[0].hub();
    let now = OffsetDateTime::now_utc();
    let towards = Some([key.partner.clone()].into());
    caveat_hub::suspend(node_hub, &actor("GBR"), towards.clone(), None, "inquiry", now).await.unwrap();
    // The hub asks a key's nodes again at most once a second.
    tokio::time::sleep(StdDuration::from_millis(1_100)).await;
    let after = tracks(&w.fed, &key).await;
    assert!(!originators(&after).contains("GBR"), "GBR-derived tracks survived the suspension at GBR's node");
    caveat_hub::suspend(&w.direct, &actor("GBR"), towards, None, "inquiry", now).await.unwrap();
    assert_eq!(after, tracks(&w.direct, &key).await);
}

/// (b) The revocation notice: a suspension at the node drops what the hub
/// holds from it before the hub's next answer, well inside the second in which
/// the hub would not ask the node again by itself; a hub deaf to notices still
/// shows the suspended data then (and loses it only at its next ask or lease end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_notice_drops_the_data_before_the_next_answer() {
    for deaf in [false, true] {
        let w = build(31, |_, n| if deaf { Local::Deaf(n) } else { Local::Node(n) }).await;
        let key = key_using(&w.direct, &["GBR"]).await;
        // Let the notice requests open (each node answers the first at once).
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        let watching = w.fed.federation_status().iter().all(|s| s.watching);
        assert_eq!(watching, !deaf, "{:?}", w.fed.federation_status());
        // Build the view, then let it fall due, so the next request asks the
        // nodes at its start: the hub will not ask again for a second after.
        assert!(originators(&tracks(&w.fed, &key).await).contains("GBR"));
        tokio::time::sleep(StdDuration::from_millis(1_100)).await;
        let asked = std::time::Instant::now();
        assert!(originators(&tracks(&w.fed, &key).await).contains("GBR"));
        let towards = Some([key.partner.clone()].into());
        let now = OffsetDateTime::now_utc();
        caveat_hub::suspend(w.nodes[0].hub(), &actor("GBR"), towards.clone(), None, "inquiry", now).await.unwrap();
        tokio::time::sleep(StdDuration::from_millis(150)).await;
        let elapsed = asked.elapsed();
        assert!(elapsed < StdDuration::from_millis(950), "too slow to tell the notice from an ask: {elapsed:?}");
        let after = tracks(&w.fed, &key).await;
        assert_eq!(originators(&after).contains("GBR"), deaf, "deaf {deaf}");
        if !deaf {
            caveat_hub::suspend(&w.direct, &actor("GBR"), towards, None, "inquiry", now).await.unwrap();
            assert_eq!(after, tracks(&w.direct, &key).await);
            let gbr = w.fed.federation_status().into_iter().find(|s| s.partner.as_str() == "GBR").unwrap();
            assert_eq!(gbr.revocations, 1, "{gbr:?}");
        }
    }
}

/// A node down, slow or tampering: the hub answers within its timeout, with
/// exactly what a hub holding everyone's reports but that node's shows, and
/// records which node is unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_down_slow_or_lying_leaves_the_others_data() {
    for bad in ["down", "slow", "tamper"] {
        let w = build(7, |o, n| match (o, bad) {
            ("NLD", "down") => Local::Down,
            ("NLD", "slow") => Local::Slow(n),
            ("NLD", "tamper") => Local::Tamper(n),
            _ => Local::Node(n),
        })
        .await;
        let without_nld = hub(3).await;
        for o in PARTNERS.iter().filter(|o| **o != "NLD") {
            ingest(&without_nld, &w.reports, o).await;
            policies(&without_nld, o).await;
        }
        let key = key_using(&w.direct, &["GBR", "NLD"]).await;
        let started = std::time::Instant::now();
        let v = tracks(&w.fed, &key).await;
        assert!(started.elapsed() < StdDuration::from_secs(3), "{bad}: the hub waited {:?}", started.elapsed());
        assert_eq!(v, tracks(&without_nld, &key).await, "{bad}: {key}");
        let o = originators(&v);
        assert!(!o.contains("NLD"), "{bad}: NLD's data is shown: {o:?}");
        let status = w.fed.federation_status();
        let nld = status.iter().find(|s| s.partner.as_str() == "NLD").unwrap();
        assert!(!nld.available && nld.last_error.is_some(), "{bad}: {nld:?}");
        assert!(status.iter().find(|s| s.partner.as_str() == "GBR").unwrap().available);
    }
}

fn entries(report: &caveat_audit::UsageReport) -> Vec<(u64, AuditEntry)> {
    report.bundle.entries.iter().map(|e| (e.index, AuditEntry::from_bytes(&e.data).unwrap())).collect()
}

/// (c) A hub deaf to revocation notices that goes on using GBR's data after a
/// suspension at GBR's node, and a test double of a hub that keeps data past
/// its lease, cites receipts never issued or for another scope, or cites none:
/// GBR's reconciliation (its node's log against the hub's verified usage
/// export) catches each such use, and passes every honest one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_catches_each_use_a_hub_makes_past_a_revocation_or_lease() {
    use caveat_audit::{PolicyId, verify_bundle};
    use caveat_hub::federation::{Flag, reconcile};
    let w = build(31, |_, n| Local::Deaf(n)).await;
    let gbr = p("GBR");
    let key = key_using(&w.direct, &["GBR"]).await;
    assert!(originators(&tracks(&w.fed, &key).await).contains("GBR"));
    let honest = w.fed.usage_report(gbr.clone(), None).await.unwrap();
    let honest_entries = entries(&honest);

    // GBR suspends towards the view's partner at its own node; the deaf hub
    // answers again within the second, still from what it holds.
    let suspended = OffsetDateTime::now_utc();
    let towards = Some([key.partner.clone()].into());
    caveat_hub::suspend(w.nodes[0].hub(), &actor("GBR"), towards, None, "inquiry", suspended).await.unwrap();
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    // Unless the first answer took over a second (a loaded machine), the hub
    // does not ask again yet and, deaf, answers from what it holds.
    let deaf_showed = originators(&tracks(&w.fed, &key).await).contains("GBR");

    // The test double: further uses of an honest entry's data, logged as they happened.
    let template = honest_entries
        .iter()
        .find_map(|(_, e)| match e {
            AuditEntry::PolicyDecision(d)
                if d.partner == key.partner
                    && d.originators.iter().any(|u| {
                        u.originator == gbr
                            && u.decision == Decision::Permit
                            && u.reports.count() > 0
                            && u.determining_policies.iter().any(|p| p.as_str().starts_with("release/"))
                    }) =>
            {
                Some(d.clone())
            }
            _ => None,
        })
        .expect("an honest use of GBR's released data");
    let retime = |at: OffsetDateTime, edit: &dyn Fn(&mut caveat_audit::PolicyDecision)| {
        let mut d = template.clone();
        d.at = at;
        edit(&mut d);
        AuditEntry::PolicyDecision(d)
    };
    let cites = |d: &mut caveat_audit::PolicyDecision, f: &dyn Fn(&str) -> Option<String>| {
        for u in d.originators.iter_mut().filter(|u| u.originator == gbr) {
            u.determining_policies = u
                .determining_policies
                .iter()
                .filter_map(|p| f(p.as_str()))
                .map(|s| s.parse::<PolicyId>().unwrap())
                .collect();
        }
    };
    let other_purpose = Purpose::ALL.into_iter().find(|q| *q != key.purpose).unwrap();
    let doctored = [
        ("revoked", retime(suspended + Duration::seconds(30), &|_| {})),
        ("expired", retime(template.at + Duration::minutes(11), &|_| {})),
        (
            "not-issued",
            retime(template.at, &|d| {
                cites(d, &|p| {
                    Some(if p.starts_with("release/") {
                        "release/r-0123456789abcdef0123456789abcdef".into()
                    } else {
                        p.into()
                    })
                });
            }),
        ),
        ("no-receipt", retime(template.at, &|d| cites(d, &|p| (!p.starts_with("release/")).then(|| p.into())))),
        ("other-purpose", retime(template.at, &|d| d.purpose = other_purpose)),
        (
            "other-recipient",
            retime(template.at, &|d| d.partner = p(if key.partner.as_str() == "CAN" { "JIATFS" } else { "CAN" })),
        ),
    ];
    let first = w.fed.audit().append(doctored.iter().map(|(_, e)| e.clone()).collect()).await.unwrap().start;

    let export = w.fed.usage_report(gbr.clone(), None).await.unwrap();
    let verified = verify_bundle(None, w.fed.audit().verifier_key(), &export.bundle).unwrap();
    let node_report = w.nodes[0].hub().usage_report(gbr.clone(), None).await.unwrap();
    let r = reconcile(&gbr, &entries(&node_report), &verified.entries, Duration::ZERO);
    assert!(!r.issued.is_empty() && r.issued.iter().all(|i| i.lease_expires.is_some()), "{:?}", r.issued);

    let honest_indexes: HashSet<u64> = honest_entries.iter().map(|(i, _)| *i).collect();
    let mut late = 0;
    for u in &r.uses {
        if honest_indexes.contains(&u.hub_index) {
            assert!(u.flags.is_empty(), "an honest use is flagged: {u:?}");
        } else if u.hub_index < first && deaf_showed {
            // The deaf hub's answer after the suspension, from the old receipts.
            assert!(u.flags.iter().all(|f| matches!(f, Flag::Revoked { .. })) && !u.flags.is_empty(), "{u:?}");
            late += 1;
        } else if u.hub_index < first {
            // It asked again: a new receipt, issued under the suspension, covers it.
            assert!(u.flags.is_empty(), "{u:?}");
        }
    }
    assert!(late >= 1 || !deaf_showed, "the deaf hub's use after the suspension is not listed");
    for (k, (what, _)) in doctored.iter().enumerate() {
        let u = r.uses.iter().find(|u| u.hub_index == first + k as u64).unwrap_or_else(|| panic!("{what}: not listed"));
        let caught = match *what {
            "revoked" => u.flags == [Flag::Revoked { receipt: u.receipts[0].clone(), revoked: suspended }],
            "expired" => u.flags.iter().any(|f| matches!(f, Flag::Expired { .. })),
            "not-issued" => matches!(u.flags.as_slice(), [Flag::NotIssued { .. }]),
            "no-receipt" => u.flags == [Flag::NoReceipt],
            "other-purpose" => matches!(u.flags.as_slice(), [Flag::OtherScope { what, .. }] if what == "purpose"),
            "other-recipient" => matches!(u.flags.as_slice(), [Flag::OtherScope { what, .. }] if what == "recipient"),
            _ => unreachable!(),
        };
        assert!(caught, "{what}: {:?}", u.flags);
    }
    // Nothing of another originator is listed.
    assert!(verified.entries.iter().all(|(_, e)| e.touches(&gbr)));
}

/// The ids in an NDJSON export.
async fn exported(hub: &Hub, key: &ViewKey) -> BTreeSet<String> {
    let e = hub.export(&user(key.partner.as_str()), key, caveat_hub::export::Format::Ndjson).await.unwrap();
    String::from_utf8(e.body.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
        .collect()
}

/// (a, b) for exports: an export of a federated view holds exactly what the
/// direct hub's export holds (so a node's no-export data stays home: the node
/// decides `export`), each use of released data cites an export receipt the
/// node issued, the originator's reconciliation passes them, and a
/// suspension at the node applies to the very next export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_released_data_need_an_export_receipt_and_follow_a_suspension() {
    use caveat_hub::federation::reconcile;
    let w = build(7, |_, n| Local::Node(n)).await;
    let mut with_node_data = 0;
    for partner in PARTNERS.iter().filter(|q| !NODES.contains(q)) {
        for purpose in Purpose::ALL {
            let key = ViewKey::new(p(partner), purpose, None);
            let (d, f) = (exported(&w.direct, &key).await, exported(&w.fed, &key).await);
            assert_eq!(f, d, "{key}");
            let from_nodes = w
                .reports
                .iter()
                .filter(|r| NODES.contains(&r.originator.as_str()))
                .any(|r| d.contains(&r.id.to_string()));
            with_node_data += usize::from(from_nodes);
        }
    }
    assert!(with_node_data >= 5, "only {with_node_data} exports hold node data");
    for (node, o) in w.nodes.iter().zip(NODES) {
        let hub_report = w.fed.usage_report(p(o), None).await.unwrap();
        let verified = caveat_audit::verify_bundle(None, w.fed.audit().verifier_key(), &hub_report.bundle).unwrap();
        let node_entries = entries(&node.hub().usage_report(p(o), None).await.unwrap());
        let r = reconcile(&p(o), &node_entries, &verified.entries, Duration::ZERO);
        let exports: Vec<_> = r.uses.iter().filter(|u| u.action == caveat_audit::Action::Export).collect();
        assert!(!exports.is_empty(), "{o}: no export use");
        assert!(r.flagged().next().is_none(), "{o}: {:?}", r.flagged().collect::<Vec<_>>());
        assert!(r.issued.iter().any(|i| i.action == caveat_audit::Action::Export));
    }
    let key = key_using(&w.direct, &["GBR"]).await;
    let gbr_ids: HashSet<String> =
        w.reports.iter().filter(|r| r.originator.as_str() == "GBR").map(|r| r.id.to_string()).collect();
    assert!(exported(&w.fed, &key).await.iter().any(|id| gbr_ids.contains(id)), "{key}: no GBR data exported");
    let towards = Some([key.partner.clone()].into());
    caveat_hub::suspend(w.nodes[0].hub(), &actor("GBR"), towards, None, "inquiry", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let after = exported(&w.fed, &key).await;
    assert!(!after.iter().any(|id| gbr_ids.contains(id)), "GBR's data exported after its suspension");
}

/// A detect step at the position of `report`, citing it.
fn detect_citing(report: &Report) -> caveat_hub::NewStep {
    caveat_hub::NewStep {
        action: caveat_core::StepAction::Detect,
        at: OffsetDateTime::now_utc() - Duration::minutes(1),
        position: report.position,
        unit: "HMCS Test".into(),
        relied_on: vec![report.id],
    }
}

fn new_case(report: &Report) -> caveat_hub::NewCase {
    caveat_hub::NewCase {
        participants: BTreeSet::new(),
        track: None,
        vessel: Default::default(),
        detect: detect_citing(report),
    }
}

/// (b) for cases, and direct reads: a case at the hub may cite a report that
/// GBR's node released for that very case (the step's audit entry cites the
/// receipt, and GBR's reconciliation passes it), a direct read of it works
/// only under a view key it was released to, and a suspension at GBR's node
/// withholds it in the case, and refuses the read, on the hub's next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_and_reads_of_released_reports_follow_the_receipt_and_a_suspension() {
    use caveat_hub::federation::reconcile;
    let w = build(31, |_, n| Local::Node(n)).await;
    let gbr: Vec<&Report> = w.reports.iter().filter(|r| r.originator.as_str() == "GBR").collect();
    // The first (partner, GBR report) a case at the direct hub may cite.
    let mut found = None;
    'search: for partner in PARTNERS.iter().filter(|q| !NODES.contains(q)) {
        for r in &gbr {
            if w.direct.open_case(&user(partner), new_case(r)).await.is_ok() {
                found = Some((*partner, (*r).clone()));
                break 'search;
            }
        }
    }
    let (partner, cited) = found.expect("no GBR report may be cited by any partner: change the seed");
    let u = user(partner);
    let case = w.fed.open_case(&u, new_case(&cited)).await.expect("citing a released report");
    let case_key = ViewKey::new(p(partner), Purpose::Interdiction, Some(case));
    let detail = w.fed.case(&u, &case.to_string()).await.unwrap();
    assert!(
        matches!(detail.citations.get(&cited.id), Some(caveat_hub::Citation::Available { .. })),
        "{:?}",
        detail.citations
    );
    let read = w.fed.report(&u, &case_key, &cited.id.to_string()).await.expect("a read under the case's key");
    assert_eq!(read.id, cited.id);
    assert_eq!(read.position, cited.position);
    // A direct read of a GBR report under any view key works at the federated
    // hub exactly when it works at the direct hub (the same rule as tracks).
    let mut reads = [0, 0];
    for q in PARTNERS.iter().filter(|q| !NODES.contains(q)) {
        for purpose in Purpose::ALL {
            let key = ViewKey::new(p(q), purpose, None);
            for r in gbr.iter().take(12) {
                let d = w.direct.report(&user(q), &key, &r.id.to_string()).await.ok();
                let f = w.fed.report(&user(q), &key, &r.id.to_string()).await.ok();
                assert_eq!(f.is_some(), d.is_some(), "{key}: read of {}", r.id);
                reads[usize::from(d.is_some())] += 1;
                if let (Some(f), Some(d)) = (f, d) {
                    assert_eq!(f.position, d.position);
                }
            }
        }
    }
    assert!(reads[0] > 0 && reads[1] > 0, "{reads:?}");
    let unknown = w.fed.report(&u, &case_key, &uuid_v7(1, [9; 10]).to_string()).await.unwrap_err();
    assert!(matches!(unknown, caveat_hub::Error::NotFound), "{unknown:?}");
    // An id no node released (nor posted) cannot be cited.
    let mut bogus = cited.clone();
    bogus.id = uuid_v7(2, [7; 10]);
    let mut step = detect_citing(&bogus);
    step.action = caveat_core::StepAction::Monitor;
    let err = w.fed.add_step(&u, &case.to_string(), step).await;
    assert!(matches!(err, Err(caveat_hub::Error::InvalidReport(_))), "{err:?}");
    // Every use of GBR's data (the citation, the case reads, the report read)
    // cites a receipt GBR's node issued for this case, and GBR reconciles clean.
    let hub_report = w.fed.usage_report(p("GBR"), None).await.unwrap();
    let verified = caveat_audit::verify_bundle(None, w.fed.audit().verifier_key(), &hub_report.bundle).unwrap();
    let node_entries = entries(&w.nodes[0].hub().usage_report(p("GBR"), None).await.unwrap());
    let r = reconcile(&p("GBR"), &node_entries, &verified.entries, Duration::ZERO);
    let in_case: Vec<_> = r.uses.iter().filter(|u| u.case == Some(case)).collect();
    assert!(in_case.iter().any(|u| u.action == caveat_audit::Action::Cite), "{in_case:?}");
    assert!(in_case.iter().any(|u| u.action == caveat_audit::Action::Read), "{in_case:?}");
    assert!(in_case.iter().all(|u| u.receipts.len() == 1), "{in_case:?}");
    assert!(r.flagged().next().is_none(), "{:?}", r.flagged().collect::<Vec<_>>());
    // GBR suspends the partner at its own node: the notice reaches the hub,
    // and the next request shows the citation withheld and refuses the read.
    let towards = Some([p(partner)].into());
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    caveat_hub::suspend(w.nodes[0].hub(), &actor("GBR"), towards, None, "inquiry", OffsetDateTime::now_utc())
        .await
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let detail = w.fed.case(&u, &case.to_string()).await.unwrap();
    assert!(matches!(detail.citations.get(&cited.id), Some(caveat_hub::Citation::Withheld)), "{:?}", detail.citations);
    let gone = w.fed.report(&u, &case_key, &cited.id.to_string()).await.unwrap_err();
    assert!(matches!(gone, caveat_hub::Error::NotFound), "{gone:?}");
    // And a new step can no longer cite it.
    let mut again = detect_citing(&cited);
    again.action = caveat_core::StepAction::Monitor;
    assert!(matches!(w.fed.add_step(&u, &case.to_string(), again).await, Err(caveat_hub::Error::InvalidReport(_))));
}

/// The lease for cases: a case citing a report GBR's node released shows it
/// while the lease runs; once GBR's node is gone and the lease has run out,
/// the case's next request shows it withheld and a direct read refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_citation_is_withheld_once_its_lease_ends() {
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let w = build_leased(31, Duration::seconds(3), |_, n| Local::Switch(n, up.clone())).await;
    let gbr: Vec<&Report> = w.reports.iter().filter(|r| r.originator.as_str() == "GBR").collect();
    let mut found = None;
    'search: for partner in PARTNERS.iter().filter(|q| !NODES.contains(q)) {
        for r in &gbr {
            if let Ok(case) = w.fed.open_case(&user(partner), new_case(r)).await {
                found = Some((*partner, (*r).clone(), case));
                break 'search;
            }
        }
    }
    let (partner, cited, case) = found.expect("no GBR report may be cited: change the seed");
    let u = user(partner);
    let case_key = ViewKey::new(p(partner), Purpose::Interdiction, Some(case));
    let detail = w.fed.case(&u, &case.to_string()).await.unwrap();
    assert!(matches!(detail.citations.get(&cited.id), Some(caveat_hub::Citation::Available { .. })));
    up.store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(StdDuration::from_millis(3_200)).await;
    let detail = w.fed.case(&u, &case.to_string()).await.unwrap();
    assert!(matches!(detail.citations.get(&cited.id), Some(caveat_hub::Citation::Withheld)), "{:?}", detail.citations);
    let gone = w.fed.report(&u, &case_key, &cited.id.to_string()).await.unwrap_err();
    assert!(matches!(gone, caveat_hub::Error::NotFound), "{gone:?}");
    // GBR's node back: the next asks release it again, and the case shows it.
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    loop {
        let detail = w.fed.case(&u, &case.to_string()).await.unwrap();
        if matches!(detail.citations.get(&cited.id), Some(caveat_hub::Citation::Available { .. })) {
            break;
        }
        assert!(started.elapsed() < StdDuration::from_secs(8), "the citation did not come back with the node");
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
}

/// A lease ends with nothing else happening: both nodes go quiet (no ask
/// reaches them, no notice comes, nothing new is held), and the first request
/// after the lease end serves none of their released data: exactly the view
/// of a hub that only ever had the posted partners' reports. Before the end
/// the held data is still served. The hub publishes released data only when
/// it changes, so this checks that the lease end alone is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_after_the_lease_end_serves_none_of_the_released_data() {
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let lease = StdDuration::from_secs(3);
    let w = build_leased(31, Duration::seconds(3), |_, n| Local::Switch(n, up.clone())).await;
    let posted_only = hub(3).await;
    for o in PARTNERS.iter().filter(|o| !NODES.contains(o)) {
        ingest(&posted_only, &w.reports, o).await;
    }
    let key = key_using(&w.direct, &["GBR", "NLD"]).await;
    assert!(originators(&tracks(&w.fed, &key).await).contains("GBR"));
    // The receipts were issued before this instant: their leases end by `released + lease`.
    let released = std::time::Instant::now();
    up.store(false, std::sync::atomic::Ordering::SeqCst);
    // Past the ask interval: this request's asks fail (the nodes then rest
    // for 5 s, past the lease end), and the data held under the live leases
    // is still served.
    tokio::time::sleep(StdDuration::from_millis(1_100)).await;
    let o = originators(&tracks(&w.fed, &key).await);
    assert!(o.contains("GBR") && o.contains("NLD"), "held data dropped before its lease end: {o:?}");
    let status = w.fed.federation_status();
    assert!(status.iter().all(|s| !s.available && s.reports_held > 0), "{status:?}");
    tokio::time::sleep(
        (released + lease + StdDuration::from_millis(200)).saturating_duration_since(std::time::Instant::now()),
    )
    .await;
    let after = tracks(&w.fed, &key).await;
    let o = originators(&after);
    assert!(!o.contains("GBR") && !o.contains("NLD"), "released data served past its lease end: {o:?}");
    assert_eq!(after, tracks(&posted_only, &key).await);
    let status = w.fed.federation_status();
    assert!(status.iter().all(|s| s.reports_held == 0), "{status:?}");
}

/// GBR's node answering in pages of `page` reports, each after `delay`; with
/// `stall`, the pages after the first never come (within 5 s).
#[derive(Debug)]
struct Paged {
    node: Arc<Node>,
    page: usize,
    delay: StdDuration,
    stall: bool,
}

impl NodeClient for Paged {
    fn release<'a>(&'a self, request: &'a ReleaseRequest) -> NodeFuture<'a> {
        Box::pin(async move {
            let later = request.cursor.is_some();
            tokio::time::sleep(if self.stall && later { StdDuration::from_secs(5) } else { self.delay }).await;
            answer(&self.node, &ReleaseRequest { limit: Some(self.page), ..request.clone() }).await
        })
    }
}

/// The hub's `timeout` bounds each page of a node's answer, not the whole
/// answer: a full release in several pages that together take longer than the
/// timeout still arrives (before, every such ask timed out and began again,
/// for ever); a page that does not come in time, or an answer whose pages
/// together take longer than four timeouts, leaves the node's data
/// unavailable and the view answered without it, within that bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_timeout_bounds_each_page_and_four_of_them_the_whole_answer() {
    // A 2 s timeout: margins for a loaded machine.
    let cases =
        [("slow pages", 3, 800, false), ("a stalled page", 3, 0, true), ("too many slow pages", 1, 1_800, false)];
    for (what, page, delay_ms, stall) in cases {
        let reports = world(7, OffsetDateTime::now_utc());
        let direct = hub(1).await;
        for o in PARTNERS {
            ingest(&direct, &reports, o).await;
            policies(&direct, o).await;
        }
        let fed = hub(2).await;
        for o in PARTNERS.iter().filter(|o| **o != "GBR") {
            ingest(&fed, &reports, o).await;
            policies(&fed, o).await;
        }
        let node_hub = hub(10).await;
        ingest(&node_hub, &reports, "GBR").await;
        policies(&node_hub, "GBR").await;
        let node = Arc::new(Node::new(node_hub, p("GBR"), node_key(0), Duration::minutes(10)));
        let client = Paged { node: node.clone(), page, delay: StdDuration::from_millis(delay_ms), stall };
        let link = NodeLink { partner: p("GBR"), key: node_key(0).verifier_key(), client: Arc::new(client) };
        fed.federate(Federation::new(vec![link], StdDuration::from_secs(2)));
        let key = key_using(&direct, &["GBR"]).await;
        let released = answer(&node, &request(key.partner.as_str(), key.purpose)).await.unwrap().reports.len();
        // Enough reports for pages: three or more of 3, or at least five of 1.
        assert!(released > 2 * page && released >= 5, "{what}: only {released} reports: change the seed");
        let started = std::time::Instant::now();
        let v = tracks(&fed, &key).await;
        let took = started.elapsed();
        let gbr = fed.federation_status().into_iter().next().unwrap();
        if what == "slow pages" {
            // At least three pages of 800 ms: longer than the 2 s timeout in all.
            assert!(took > StdDuration::from_millis(2_300), "{what}: {took:?}");
            assert!(gbr.available, "{what}: {gbr:?}");
            assert_eq!(v, tracks(&direct, &key).await, "{what}");
        } else {
            // One timeout; the cap of four (8 s) against eight or more pages of 1.8 s.
            let bound = if stall { StdDuration::from_secs(4) } else { StdDuration::from_secs(11) };
            assert!(took < bound, "{what}: the hub waited {took:?}");
            assert!(
                !gbr.available && gbr.last_error.as_deref().is_some_and(|e| e.contains("did not answer")),
                "{what}: {gbr:?}"
            );
            assert!(!originators(&v).contains("GBR"), "{what}");
        }
    }
}

/// GBR's node as a witness of the hub's log, in process: its statement reads
/// the hub's usage report for GBR (proved against the checkpoint it is asked
/// to cosign) and its node's own log.
#[derive(Debug)]
struct NodeWitness(Arc<caveat_audit::Witness<caveat_audit::MemoryWitnessStore>>);

impl caveat_hub::witnessing::WitnessClient for NodeWitness {
    fn add_checkpoint(&self, body: String) -> caveat_hub::witnessing::WitnessFuture<'_> {
        use caveat_hub::witnessing::{WitnessAnswer, WitnessClientError};
        let witness = self.0.clone();
        Box::pin(async move {
            // As `caveat witness serve` does: the check and the durable save off the async threads.
            let answer = tokio::task::spawn_blocking(move || {
                let req: caveat_audit::AddCheckpoint = body.parse()?;
                witness.add_checkpoint(&req, OffsetDateTime::now_utc().unix_timestamp().cast_unsigned())
            })
            .await
            .unwrap();
            match answer {
                Ok(line) => Ok(WitnessAnswer::Cosigned(line)),
                Err(caveat_audit::WitnessError::Conflict { known, .. }) => Ok(WitnessAnswer::Conflict(known)),
                Err(e) => Err(WitnessClientError::Refused { status: e.status(), message: e.to_string() }),
            }
        })
    }
}

/// The hub's usage report for one partner, read in process.
#[derive(Debug)]
struct InProcessUsage(Hub, PartnerId);

impl caveat_hub::federation::HubUsage for InProcessUsage {
    fn page(&self, from: u64, saved_size: u64, limit: usize) -> caveat_hub::federation::UsageFuture {
        let (hub, partner) = (self.0.clone(), self.1.clone());
        Box::pin(async move {
            hub.usage_page_for_witness(partner, Some(saved_size), from, limit).await.map_err(|e| e.to_string())
        })
    }
}

/// A federated hub whose only witness is GBR's node, with the witness's refusals.
async fn witnessed(seed: u64) -> (World, caveat_hub::federation::RefusalLog) {
    use caveat_hub::federation::ReceiptStatement;
    let w = build(seed, |_, n| Local::Node(n)).await;
    let statement = ReceiptStatement::new(
        w.nodes[0].clone(),
        w.fed.audit().verifier_key().clone(),
        Arc::new(InProcessUsage(w.fed.clone(), p("GBR"))),
        Duration::seconds(2),
        tokio::runtime::Handle::current(),
    );
    let refusals = statement.refusal_log();
    let key = caveat_audit::CosignerKey::from_seed("witness.gbr-node", [40; 32]).unwrap();
    let verifier = key.verifier();
    let witness = caveat_audit::Witness::new(
        key,
        vec![w.fed.audit().verifier_key().clone()],
        caveat_audit::MemoryWitnessStore::default(),
    )
    .with_statement(Box::new(statement));
    let link = caveat_hub::witnessing::WitnessLink {
        name: "witness.gbr-node".into(),
        key: verifier,
        client: Arc::new(NodeWitness(Arc::new(witness))),
    };
    w.fed.witness_with(caveat_hub::witnessing::Witnesses::new(vec![link], StdDuration::from_secs(20)));
    (w, refusals)
}

/// An honest use of GBR's released data in the hub's log, as a template for doctored ones.
async fn honest_use(w: &World, key: &ViewKey) -> caveat_audit::PolicyDecision {
    let report = w.fed.usage_report(p("GBR"), None).await.unwrap();
    entries(&report)
        .into_iter()
        .find_map(|(_, e)| match e {
            AuditEntry::PolicyDecision(d)
                if d.partner == key.partner
                    && d.originators.iter().any(|u| {
                        u.originator.as_str() == "GBR"
                            && u.decision == Decision::Permit
                            && u.reports.count() > 0
                            && u.determining_policies.iter().any(|p| p.as_str().starts_with("release/"))
                    }) =>
            {
                Some(d)
            }
            _ => None,
        })
        .expect("an honest use of GBR's released data")
}

/// Issue 18 item 2: GBR's node, as a witness, cosigns the hub's checkpoint
/// while every use of GBR's data in it cites a receipt the node issued for
/// that recipient and purpose within its lease; a hub that logs a use without
/// a receipt, past the lease or for another purpose is refused the
/// cosignature, the node keeps why, and the hub reports the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_witness_cosigns_only_checkpoints_whose_uses_its_receipts_cover() {
    for what in ["honest", "no-receipt", "past-lease", "other-purpose"] {
        let (w, refusals) = witnessed(31).await;
        let key = key_using(&w.direct, &["GBR"]).await;
        assert!(originators(&tracks(&w.fed, &key).await).contains("GBR"));
        let honest = w.fed.cosigned_checkpoint().await.unwrap();
        assert_eq!(honest.cosigned_by, ["witness.gbr-node"], "{what}: an honest hub is refused: {:?}", refusals.list());
        if what == "honest" {
            // More honest uses (the view again, under new receipts): still cosigned.
            tokio::time::sleep(StdDuration::from_millis(1_100)).await;
            assert!(originators(&tracks(&w.fed, &key).await).contains("GBR"));
            let later = w.fed.cosigned_checkpoint().await.unwrap();
            assert!(later.size > honest.size && later.cosigned_by == ["witness.gbr-node"], "{:?}", refusals.list());
            assert!(refusals.list().is_empty());
            continue;
        }
        let mut d = honest_use(&w, &key).await;
        match what {
            "no-receipt" => {
                for u in d.originators.iter_mut().filter(|u| u.originator.as_str() == "GBR") {
                    u.determining_policies.retain(|p| !p.as_str().starts_with("release/"));
                }
            }
            "past-lease" => d.at += Duration::minutes(11),
            _ => d.purpose = Purpose::ALL.into_iter().find(|q| *q != key.purpose).unwrap(),
        }
        let at = w.fed.audit().append(vec![AuditEntry::PolicyDecision(d)]).await.unwrap().start;
        let refused = w.fed.cosigned_checkpoint().await.unwrap();
        assert!(refused.size > at, "{what}");
        assert!(refused.cosigned_by.is_empty() && refused.down == ["witness.gbr-node"], "{what}: cosigned anyway");
        let kept = refusals.list();
        let reason = &kept.last().unwrap_or_else(|| panic!("{what}: no refusal recorded")).reason;
        let expected = match what {
            "no-receipt" => "cites no receipt",
            "past-lease" => "whose lease ended",
            _ => "issued for another purpose",
        };
        assert!(reason.contains(&format!("entry {at}: ")) && reason.contains(expected), "{what}: {reason}");
        let status = w.fed.witness_status();
        let error = status[0].last_error.as_deref().unwrap_or_default();
        assert!(!status[0].up && error.contains("403") && error.contains(expected), "{what}: {status:?}");
        // The witness never moves past the uncovered use: the next checkpoint is refused too.
        assert!(w.fed.cosigned_checkpoint().await.unwrap().cosigned_by.is_empty(), "{what}");
        // The node's own log holds the refusal, once for the same reason
        // however often the hub asks again (within a minute).
        let node_log = w.nodes[0].hub().usage_report(p("GBR"), None).await.unwrap();
        let logged: Vec<caveat_audit::WitnessRefusal> = entries(&node_log)
            .into_iter()
            .filter_map(|(_, e)| match e {
                AuditEntry::WitnessRefusal(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(logged.len(), 1, "{what}: {logged:?}");
        let r = &logged[0];
        assert!(r.partner.as_str() == "GBR" && r.size == refused.size && r.reason == *reason, "{what}: {r:?}");
        // The check covered everything since the last cosigned checkpoint, the doctored use included.
        assert!(r.cosigned >= honest.size && r.cosigned <= at, "{what}: {r:?}");
        assert_eq!(r.origin, w.fed.audit().verifier_key().name(), "{what}");
    }
}
