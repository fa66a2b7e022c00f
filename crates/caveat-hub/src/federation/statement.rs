//! The additional statement a partner's node makes as a witness of the hub's
//! log (issue 18 item 2): before it cosigns a checkpoint, it reads the new
//! entries that touch its partner's data and checks that each use cites a
//! receipt its node issued, for that recipient, purpose and case, within the
//! lease and before any suspension covering it. It refuses otherwise, appends
//! the reason to the node's own audit log (a `witness-refusal` entry) and keeps
//! the latest in memory (`ReceiptStatement::refusals`); the hub sees the
//! refusal as the witness's 403 and names it in its witness status.
//!
//! What it reads is only what any originator may read: its own node's log,
//! and the hub's usage report for its partner from the last cosigned size
//! (entries with inclusion proofs and the completeness proof of issue 18 item
//! 5), verified against the very checkpoint it is asked to cosign. The checks
//! are [`reconcile`](super::reconcile)'s, so a cosignature states exactly what
//! a reconciliation of that range would find: nothing flagged.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use caveat_audit::{
    AuditEntry, Checkpoint, ConsistencyProof, MAX_REFUSAL_REASON, SignedCheckpoint, Statement, TreeHead, UsageReport,
    VerifierKey, WitnessRefusal, verify_pages,
};
use caveat_core::PartnerId;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::node::{Node, RELEASE_USER};
use super::reconcile::reconcile;

/// Most usage pages read from the hub for one checkpoint (each up to
/// [`crate::MAX_USAGE_ENTRIES`] entries): a checkpoint that adds more uses of
/// the partner's data than this cannot be checked in one go, and is refused.
pub const MAX_STATEMENT_PAGES: usize = 10;

/// How long the whole check of one checkpoint may take (reading the node's log
/// and the hub's usage pages): the hub gives a witness a few seconds.
pub const STATEMENT_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// How many refusals the statement keeps for its status.
const KEPT_REFUSALS: usize = 32;

/// How often the same refusal is appended to the node's log again.
pub const REPEAT_REFUSAL_EVERY: StdDuration = StdDuration::from_mins(1);

/// A future a [`HubUsage`] returns.
pub type UsageFuture = Pin<Box<dyn Future<Output = Result<UsageReport, String>> + Send>>;

/// Where the node's witness reads the hub's usage report for its partner
/// (`GET /v1/usage?from=&limit=&saved=` over HTTP; in tests, the hub in process).
pub trait HubUsage: Send + Sync + fmt::Debug {
    /// A page of the usage report from log index `from`, at most `limit`
    /// entries, with a consistency proof from `saved_size`.
    fn page(&self, from: u64, saved_size: u64, limit: usize) -> UsageFuture;
}

/// One refusal, for the node's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// When the witness refused.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The size of the checkpoint refused.
    pub size: u64,
    /// Why.
    pub reason: String,
}

/// The node's witness statement: every use of its partner's data in the new
/// entries cites a receipt the node issued that covers it.
pub struct ReceiptStatement {
    node: Arc<Node>,
    hub_key: VerifierKey,
    usage: Arc<dyn HubUsage>,
    grace: Duration,
    runtime: tokio::runtime::Handle,
    refusals: Arc<Mutex<VecDeque<Refusal>>>,
    /// The reason last appended to the node's log, and when.
    last_logged: Mutex<Option<(String, Instant)>>,
}

impl fmt::Debug for ReceiptStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptStatement").field("partner", self.node.partner()).finish_non_exhaustive()
    }
}

impl ReceiptStatement {
    /// The statement of `node`'s witness over the log signed by `hub_key`, read
    /// through `usage`, allowing `grace` for the two hosts' clocks and the
    /// notice's delay (as `caveat audit reconcile --grace-ms`). The checks run
    /// on `runtime` (the witness answers off the async threads and waits).
    pub fn new(
        node: Arc<Node>,
        hub_key: VerifierKey,
        usage: Arc<dyn HubUsage>,
        grace: Duration,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        ReceiptStatement {
            node,
            hub_key,
            usage,
            grace,
            runtime,
            refusals: Arc::default(),
            last_logged: Mutex::default(),
        }
    }

    /// The latest refusals, oldest first (at most 32).
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// A handle on the refusals that outlives the statement (the witness owns it).
    pub fn refusal_log(&self) -> RefusalLog {
        RefusalLog(self.refusals.clone())
    }
}

/// A shared view of a [`ReceiptStatement`]'s refusals.
#[derive(Debug, Clone, Default)]
pub struct RefusalLog(Arc<Mutex<VecDeque<Refusal>>>);

impl RefusalLog {
    /// The latest refusals, oldest first.
    pub fn list(&self) -> Vec<Refusal> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }
}

impl Statement for ReceiptStatement {
    fn check(&self, old: TreeHead, new: &Checkpoint) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (node, usage, key, grace, checked) =
            (self.node.clone(), self.usage.clone(), self.hub_key.clone(), self.grace, new.clone());
        // Spawned, not `block_on`: the check then never panics whichever thread
        // the witness calls it from, and the wait is bounded.
        self.runtime.spawn(async move {
            tx.send(uncovered(&node, &*usage, &key, grace, old.size, &checked).await).ok();
        });
        let outcome = match rx.recv_timeout(STATEMENT_TIMEOUT) {
            Ok(r) => r,
            Err(_) => Err(format!("the check did not finish within {} s", STATEMENT_TIMEOUT.as_secs())),
        };
        let Err(reason) = outcome else { return Ok(()) };
        let size = new.size();
        eprintln!("caveat witness ({}): refused checkpoint {size}: {reason}", self.node.partner());
        {
            let mut kept = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
            if kept.len() >= KEPT_REFUSALS {
                kept.pop_front();
            }
            kept.push_back(Refusal { at: OffsetDateTime::now_utc(), size, reason: reason.clone() });
        }
        self.record(old, new, &reason);
        Err(reason)
    }
}

impl ReceiptStatement {
    /// Appends the refusal to the node's own audit log before the witness
    /// answers (invariant 5: the node's decisions are in its log first), but
    /// the same reason again only once every [`REPEAT_REFUSAL_EVERY`]: a hub
    /// asks again with each checkpoint, and the node's log should not grow by
    /// the hub's retry rate. A refusal that cannot be logged is still a refusal.
    fn record(&self, old: TreeHead, new: &Checkpoint, reason: &str) {
        {
            let mut last = self.last_logged.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((r, at)) = &*last
                && r == reason
                && at.elapsed() < REPEAT_REFUSAL_EVERY
            {
                return;
            }
            *last = Some((reason.to_owned(), Instant::now()));
        }
        let entry = AuditEntry::WitnessRefusal(WitnessRefusal {
            at: OffsetDateTime::now_utc(),
            partner: self.node.partner().clone(),
            origin: new.origin().to_owned(),
            size: new.size(),
            root: new.root(),
            cosigned: old.size,
            reason: reason.chars().take(MAX_REFUSAL_REASON).collect(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let node = self.node.clone();
        self.runtime.spawn(async move {
            tx.send(node.hub().audit().append(vec![entry]).await.map(|_| ())).ok();
        });
        match rx.recv_timeout(STATEMENT_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("caveat witness ({}): logging the refusal: {e}", self.node.partner()),
            Err(_) => eprintln!("caveat witness ({}): logging the refusal timed out", self.node.partner()),
        }
    }
}

/// Reads and checks the uses in `old_size..new_size` (`old_size`: the last
/// cosigned checkpoint's size, which the witness keeps durably, so the check's
/// position survives a restart with it and moves only when it cosigns); `Err`
/// names the first uses that are not covered.
async fn uncovered(
    node: &Node,
    usage: &dyn HubUsage,
    key: &VerifierKey,
    grace: Duration,
    old_size: u64,
    new: &Checkpoint,
) -> Result<(), String> {
    let partner: &PartnerId = node.partner();
    let new_size = new.size();
    let mut pages = Vec::new();
    let mut from = old_size;
    loop {
        if pages.len() >= MAX_STATEMENT_PAGES {
            return Err(format!("more than {MAX_STATEMENT_PAGES} pages of uses since size {old_size}"));
        }
        let page = usage
            .page(from, new_size, crate::MAX_USAGE_ENTRIES)
            .await
            .map_err(|e| format!("reading the hub's usage report for {partner}: {e}"))?;
        if &page.originator != partner {
            return Err(format!("the hub's usage report is for {}, not {partner}", page.originator));
        }
        let next = page.next;
        pages.push(page);
        match next {
            Some(n) if n < new_size && n > from => from = n,
            _ => break,
        }
    }
    let verified = verify_pages(None, key, &pages).map_err(|e| format!("the hub's usage report: {e}"))?;
    // The pages' log must extend the checkpoint being cosigned (asked with
    // `saved` at its size, the first page proves it): the entries below its
    // size are then the ones that checkpoint commits to.
    let first = pages.first().ok_or("the hub sent no usage page")?;
    let theirs = SignedCheckpoint::open(&first.bundle.checkpoint, key).map_err(|e| format!("the usage page: {e}"))?;
    let theirs = theirs.checkpoint();
    let extends = theirs.origin() == new.origin()
        && match &first.bundle.consistency {
            _ if theirs.size() == new_size => theirs.root() == new.root(),
            Some(p) if p.old_size == new_size && p.new_size == theirs.size() => {
                ConsistencyProof { old_size: new_size, new_size: theirs.size(), path: p.path.clone() }
                    .verify(&new.root(), &theirs.root())
                    .is_ok()
            }
            _ => false,
        };
    if !extends {
        return Err(format!("the hub's usage report is of a log that does not extend checkpoint {new_size}"));
    }
    // The checkpoint's last entry may be a tag leaf, which no tag covers
    // until another is written (tagging it at once would need another, for
    // ever). It touches no one by what it is, and the proof carries it with
    // its inclusion proof: a range ending just before it is complete to the
    // checkpoint's end. Any other gap is refused.
    let tail_is_tag = |index: u64| {
        pages
            .iter()
            .filter_map(|p| p.completeness.as_ref())
            .flat_map(|c| &c.tags)
            .any(|t| t.index == index && matches!(AuditEntry::from_bytes(&t.data), Ok(AuditEntry::UsageTags(_))))
    };
    match &verified.complete {
        Some(r) if r.start <= old_size && (r.end >= new_size || (r.end + 1 == new_size && tail_is_tag(r.end))) => {}
        Some(r) => {
            return Err(format!(
                "the hub's usage report is complete over {}..{} only, not {old_size}..{new_size}",
                r.start, r.end
            ));
        }
        None => return Err("the hub's usage report carries no completeness proof".into()),
    }
    let hub: Vec<(u64, AuditEntry)> =
        verified.entries.into_iter().filter(|(i, _)| (old_size..new_size).contains(i)).collect();
    if hub.is_empty() {
        return Ok(());
    }
    let mine = node_entries(node).await?;
    let r = reconcile(partner, &mine, &hub, grace);
    let flagged: Vec<String> = r.flagged().take(3).map(|u| format!("entry {}: {}", u.hub_index, flags(u))).collect();
    if flagged.is_empty() {
        return Ok(());
    }
    let total = r.flagged().count();
    Err(format!(
        "{total} use(s) of {partner}'s data not covered by a receipt of its node: {}{}",
        flagged.join("; "),
        if total > flagged.len() { "; ..." } else { "" }
    ))
}

fn flags(u: &super::Use) -> String {
    u.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The node's release and suspension entries (all that reconciliation reads of
/// the node's log), page by page from its own usage report.
async fn node_entries(node: &Node) -> Result<Vec<(u64, AuditEntry)>, String> {
    let partner = node.partner().clone();
    let mut out = Vec::new();
    let mut from = 0;
    for _ in 0..1_000 {
        let page = node
            .hub()
            .usage_page(partner.clone(), None, from, crate::MAX_USAGE_ENTRIES)
            .await
            .map_err(|e| format!("reading the node's own log: {e}"))?;
        for e in &page.bundle.entries {
            let entry = AuditEntry::from_bytes(&e.data).map_err(|e| format!("the node's own log: {e}"))?;
            let keep = match &entry {
                AuditEntry::PolicyDecision(d) => d.user.as_str() == RELEASE_USER,
                AuditEntry::Suspension(_) => true,
                _ => false,
            };
            if keep {
                out.push((e.index, entry));
            }
        }
        match page.next {
            Some(n) if n > from => from = n,
            _ => return Ok(out),
        }
    }
    Err("the node's own log has more pages than the witness reads".into())
}
