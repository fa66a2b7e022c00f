//! The node's side of a release: decide with the node's own policy, record
//! the release in the node's own audit log, answer with a signed receipt.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use caveat_audit::{Decision, OriginatorUse, ReportSet, SigningKey};
use caveat_core::{BoundingBox, PartnerId, Report, TimeWindow, User, UserId, ViewKey};
use caveat_policy::CaseFacts;
use caveat_store::{ReportQuery, Superseded};
use time::{Duration, OffsetDateTime};

use super::receipt::{Receipt, ReceiptId, Scope};
use super::{DEFAULT_RELEASE_REPORTS, MAX_RELEASE_REPORTS, ReleaseAction, ReleaseAnswer, ReleaseRequest};
use crate::access::{DecisionGroups, group_decisions, uses_entries, uses_of};
use crate::views::DEFAULT_WINDOW;
use crate::{Error, Hub};

/// How long the hub may hold released reports unless the node is configured
/// otherwise: long enough that a hub asking every second renews well before
/// expiry, short enough that a hub ignoring a suspension loses the data soon.
pub const DEFAULT_LEASE: Duration = Duration::minutes(10);

/// The user a release is recorded under in the node's log: the hub, acting
/// for the recipient partner (policies cannot name users, so it decides nothing).
pub const RELEASE_USER: &str = "federation.hub";

/// Reports read from the store per page while deciding a release.
const PAGE: usize = 1_000;

/// Most reports one release examines (decided, permitted or not). Past it the
/// answer says `more` and the hub continues from the cursor: a release is
/// bounded in work whatever the node holds.
const MAX_EXAMINED: usize = 100_000;

/// How often a waiting notice request looks at the store's policy events: a
/// suspension made by another process (`caveat policy suspend` on the node's
/// database) is seen within this.
const NOTICE_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Longest a notice request waits for a policy change before answering the
/// version unchanged (the hub then asks again).
pub const MAX_NOTICE_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

/// Notice requests waiting at once. One hub (one pinned certificate) keeps one
/// open; a few more cover its reconnects.
const MAX_NOTICE_WAITERS: usize = 8;

/// Cursors remembered. A cursor is only an optimisation (an unknown one gets a
/// full release), so the table is bounded and kept in memory.
const MAX_CURSORS: usize = 10_000;

/// What a cursor continues: the request it was issued for and where it stopped.
#[derive(Debug, Clone)]
struct CursorState {
    request: RequestShape,
    /// The node's store sequence number the release stopped after.
    seq: u64,
    /// The node's policy version then: any policy change (a suspension)
    /// makes the next release full, so what the hub holds is re-decided.
    policy_version: u64,
    /// Past this, decisions it made may have changed with time alone (lease
    /// expiry, a not-after, a policy's time condition): the next release is full.
    valid_until: OffsetDateTime,
}

/// The parts of a request a cursor is bound to.
#[derive(Debug, Clone, PartialEq)]
struct RequestShape {
    recipient: PartnerId,
    purpose: caveat_core::Purpose,
    case: Option<CaseFacts>,
    action: ReleaseAction,
    bbox: Option<BoundingBox>,
    window: TimeWindow,
}

#[derive(Debug, Default)]
struct Cursors {
    by_id: HashMap<ReceiptId, CursorState>,
    order: VecDeque<ReceiptId>,
}

impl Cursors {
    fn insert(&mut self, id: ReceiptId, state: CursorState) {
        while self.order.len() >= MAX_CURSORS {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
        self.order.push_back(id.clone());
        self.by_id.insert(id, state);
    }
}

/// A partner's node: its hub (store, policies, audit log) answering release requests.
pub struct Node {
    hub: Hub,
    partner: PartnerId,
    key: SigningKey,
    lease: Duration,
    cursors: Mutex<Cursors>,
    notice_waiters: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("partner", &self.partner).field("lease", &self.lease).finish_non_exhaustive()
    }
}

impl Node {
    /// The node of `partner` over `hub`, signing receipts with `key` (the
    /// node's audit key, so its published `caveat audit key` verifies them)
    /// and granting leases of `lease` (at least a second).
    pub fn new(hub: Hub, partner: PartnerId, key: SigningKey, lease: Duration) -> Self {
        Node {
            hub,
            partner,
            key,
            lease: lease.max(Duration::SECOND),
            cursors: Mutex::default(),
            notice_waiters: tokio::sync::Semaphore::new(MAX_NOTICE_WAITERS),
        }
    }

    /// The partner whose reports this node releases.
    pub fn partner(&self) -> &PartnerId {
        &self.partner
    }

    /// The hub underneath (the node's own API and commands use it as a hub).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The revocation notice (`GET /v1/federation/notice?after=N`): the node's
    /// policy version, answered as soon as it differs from `after` (at once
    /// without `after`), else after `wait` (at most [`MAX_NOTICE_WAIT`]) with
    /// the version unchanged. The hub keeps one such request open, so a
    /// suspension at the node (by its API or by `caveat policy suspend` in
    /// another process on its database) reaches the hub within about
    /// [`NOTICE_POLL`] plus a round trip, and the hub drops what it holds
    /// from this node before its next answer. Any policy change counts: the
    /// hub then asks a full release, re-decided under the new policy.
    ///
    /// # Errors
    /// Too many notice requests waiting at once; the store fails.
    pub async fn notice(&self, after: Option<u64>, wait: std::time::Duration) -> Result<u64, Error> {
        let Ok(_slot) = self.notice_waiters.try_acquire() else {
            return Err(Error::Conflict("too many notice requests waiting at once".into()));
        };
        let deadline = tokio::time::Instant::now() + wait.min(MAX_NOTICE_WAIT);
        loop {
            let version = self.hub.access().policies().await?.version().get();
            if after.is_none_or(|a| a != version) || tokio::time::Instant::now() >= deadline {
                return Ok(version);
            }
            tokio::time::sleep(NOTICE_POLL.min(deadline - tokio::time::Instant::now())).await;
        }
    }

    /// Answers one release request at `now`.
    ///
    /// Only the node partner's own reports are considered, observed within the
    /// last 24 hours (what a hub's views look at) and within the request's box
    /// and window. Each is decided with the node's policy for the view key
    /// (recipient, purpose, case) and the request's action; the permitted ones
    /// are released, up to the limit. One audit entry records the release
    /// (permits and denials, the permits citing `release/<receipt id>`) and is
    /// durable before the answer is returned.
    ///
    /// # Errors
    /// A malformed request (a limit out of range, a bad box, case facts that
    /// name no case); the store or the audit log fails.
    pub async fn release(&self, req: ReleaseRequest, now: OffsetDateTime) -> Result<ReleaseAnswer, Error> {
        let limit = req.limit.unwrap_or(DEFAULT_RELEASE_REPORTS);
        if !(1..=MAX_RELEASE_REPORTS).contains(&limit) {
            return Err(Error::BadRequest(format!("limit: must be between 1 and {MAX_RELEASE_REPORTS}")));
        }
        if let Some(b) = &req.bbox {
            BoundingBox::new(b.min_lat, b.min_lon, b.max_lat, b.max_lon)
                .map_err(|e| Error::BadRequest(format!("bbox: {e}")))?;
        }
        if let (Some(from), Some(to)) = (req.window.from, req.window.to)
            && from > to
        {
            return Err(Error::BadRequest("window: from is after to".into()));
        }
        if let Some(c) = &req.case
            && c.participants.len() > caveat_core::MAX_RELEASABLE_TO
        {
            return Err(Error::BadRequest("case: too many participants".into()));
        }
        let partners = self.hub.access().partners_covering(std::iter::once(&req.recipient)).await?;
        if !partners.contains(&req.recipient) {
            return Err(Error::BadRequest(format!("recipient: {} is not a partner of this node", req.recipient)));
        }
        let shape = RequestShape {
            recipient: req.recipient.clone(),
            purpose: req.purpose,
            case: req.case.clone(),
            action: req.action,
            bbox: req.bbox,
            window: req.window,
        };
        let policies = self.hub.access().policies().await?;
        let policy_version = policies.version().get();
        let next_change = policies.next_change_after(now);
        drop(policies);
        let previous = req.cursor.as_deref().and_then(|c| c.parse::<ReceiptId>().ok()).and_then(|id| {
            let cursors = self.cursors.lock().unwrap_or_else(PoisonError::into_inner);
            cursors
                .by_id
                .get(&id)
                .filter(|s| s.request == shape && s.policy_version == policy_version && now < s.valid_until)
                .map(|s| (id.clone(), s.seq))
        });
        let (scope, mut after) = match previous {
            Some((id, seq)) => (Scope::Since(id), seq),
            None => (Scope::Full, 0),
        };
        let horizon = now - DEFAULT_WINDOW;
        let window = TimeWindow { from: Some(req.window.from.map_or(horizon, |f| f.max(horizon))), to: req.window.to };
        let key = ViewKey::new(req.recipient.clone(), req.purpose, req.case.as_ref().map(|c| c.id));
        let user =
            User { id: release_user()?, partner: req.recipient.clone(), roles: std::collections::BTreeSet::new() };
        let action = req.action.policy_action();

        let mut released: Vec<Report> = Vec::new();
        let mut examined = 0usize;
        let mut groups = DecisionGroups::new();
        let mut more = false;
        loop {
            let q = ReportQuery {
                window,
                bbox: req.bbox,
                originator: Some(self.partner.clone()),
                superseded: Superseded::Include,
                after_seq: Some(after),
                limit: Some(PAGE),
                ..ReportQuery::default()
            };
            let page = self.hub.store().reports(&q).await?;
            let full_page = page.len() == PAGE;
            let (seqs, reports): (Vec<u64>, Vec<Report>) = page.into_iter().map(|s| (s.seq, s.report)).unzip();
            let decisions = self.hub.access().decide(&user, &key, action, req.case.clone(), &reports, now).await?;
            let mut taken = 0;
            for ((seq, r), d) in seqs.iter().zip(&reports).zip(decisions.iter()) {
                if released.len() == limit || examined == MAX_EXAMINED {
                    // Stop before this report: it is neither decided here nor
                    // recorded, and the next release starts at it.
                    more = true;
                    break;
                }
                after = *seq;
                if d.is_permit() {
                    released.push(r.clone());
                }
                examined += 1;
                taken += 1;
            }
            // Only the reports examined are recorded (decisions zip with them).
            group_decisions(&mut groups, reports.get(..taken).unwrap_or_default(), &decisions);
            if more || !full_page {
                break;
            }
        }

        // The lease never outlives a decision: a marking's not-after or a
        // standing policy's time condition still to come cuts it short.
        let mut lease_expires = now + self.lease;
        if let Some(t) = next_change {
            lease_expires = lease_expires.min(t);
        }
        for r in &released {
            if let Some(t) = r.marking.not_after.filter(|t| *t > now) {
                lease_expires = lease_expires.min(t);
            }
        }
        let id = ReceiptId::random();
        let receipt = Receipt::of(
            id.clone(),
            self.partner.clone(),
            req.recipient.clone(),
            req.purpose,
            req.case.clone(),
            req.action,
            now,
            lease_expires,
            scope,
            &released,
        )
        .map_err(|e| Error::internal("making a receipt", &e))?;
        let note = receipt.sign(&self.key).map_err(|e| Error::internal("signing a receipt", &e))?;

        let mut uses = uses_of(&groups);
        cite_receipt(&mut uses, &id, lease_expires, &self.partner);
        // One entry: every use is of the node partner's reports.
        let entries = uses_entries(&user, &key, action, uses, now);
        self.hub.audit().append(entries).await?;

        let state = CursorState { request: shape, seq: after, policy_version, valid_until: lease_expires };
        self.cursors.lock().unwrap_or_else(PoisonError::into_inner).insert(id, state);
        Ok(ReleaseAnswer { receipt: note.to_string(), reports: released, more })
    }
}

/// The user id releases are recorded under.
fn release_user() -> Result<UserId, Error> {
    RELEASE_USER.parse().map_err(|e| Error::internal("naming the release user", &e))
}

/// Adds `release/<id>` and `lease-until/<expiry>` to the determining policies
/// of every permit (an empty permit when nothing was released, so the entry
/// always names its receipt): the node's log alone then says which receipt it
/// issued and until when it covered, which `caveat audit reconcile` needs.
pub(crate) fn cite_receipt(
    uses: &mut Vec<OriginatorUse>,
    id: &ReceiptId,
    lease_expires: OffsetDateTime,
    originator: &PartnerId,
) {
    let Some(cited) = id.policy_id() else { return };
    let mut cites = vec![cited];
    let until = lease_expires.format(&time::format_description::well_known::Rfc3339).ok();
    if let Some(lease) = until.and_then(|t| format!("{}{t}", super::LEASE_PREFIX).parse().ok()) {
        cites.push(lease);
    }
    let mut any = false;
    for u in uses.iter_mut().filter(|u| u.decision == Decision::Permit) {
        u.determining_policies.extend(cites.iter().cloned());
        any = true;
    }
    if !any {
        uses.push(OriginatorUse {
            originator: originator.clone(),
            reports: ReportSet::new(&[]),
            decision: Decision::Permit,
            determining_policies: cites,
        });
    }
}
