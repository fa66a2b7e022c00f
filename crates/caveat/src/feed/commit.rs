//! A feed's lines to committed batches: one task decodes (lines in receipt
//! order, as multipart reassembly and the identity of types 5/19/24 need), a
//! second commits each batch through the hub, so decoding goes on while a
//! batch is written, and a slow store slows the feed rather than growing a
//! queue: at most two batches wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use caveat_ais::{FeedConfig, FeedDecoder, FeedStats, ReportConverter};
use caveat_core::{IngestContext, Partner, Report, ReportIdMint, UserId};
use caveat_hub::{Actor, Batch, Hub};
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::FeedLimits;
use super::metrics::Counters;

/// Whole lines (each ending in `\n`) as they arrived together: one datagram, or one read of a TCP stream.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) text: Vec<u8>,
    pub(crate) received: Instant,
    pub(crate) at: OffsetDateTime,
}

/// Where a feed's transports put their chunks. UDP's queue overwrites its
/// oldest chunk when full (tokio's broadcast channel: the receiver is told how
/// many it missed, which is the drop counter); TCP's makes its readers wait.
#[derive(Debug, Clone)]
pub(crate) struct Queues {
    pub(crate) udp: broadcast::Sender<Arc<Chunk>>,
    pub(crate) tcp: mpsc::Sender<Chunk>,
}

/// Batches waiting for the committer, at most.
const BATCHES_IN_FLIGHT: usize = 2;

struct Pending {
    batch: Batch,
    oldest: Instant,
}

/// Spawns the feed's decoder and committer; returns the queues its transports fill.
pub(crate) fn start(
    hub: Hub,
    name: &str,
    partner: Partner,
    limits: FeedLimits,
    counters: Arc<Counters>,
) -> anyhow::Result<Queues> {
    let (udp, udp_rx) = broadcast::channel(limits.queue);
    let (tcp, tcp_rx) = mpsc::channel(limits.queue);
    let (batches, batches_rx) = mpsc::channel(BATCHES_IN_FLIGHT);
    let who = Actor { partner: partner.id.clone(), user: feed_user(name)? };
    let decoder = Decoder {
        feed: FeedDecoder::new(FeedConfig::default()),
        converter: ReportConverter::new(),
        partner,
        limits,
        reports: Vec::new(),
        lines: Vec::new(),
        oldest: None,
        counters: counters.clone(),
        batches,
    };
    tokio::spawn(decoder.run(udp_rx, tcp_rx));
    tokio::spawn(commit(hub, who, name.to_owned(), batches_rx, counters));
    Ok(Queues { udp, tcp })
}

/// The audit log's user for a feed: `feed@` and its name, in a user id's alphabet.
fn feed_user(name: &str) -> anyhow::Result<UserId> {
    let tail: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' })
        .take(59)
        .collect();
    format!("feed@{tail}").parse().with_context(|| format!("feed {name}: no user id can be made of its name"))
}

struct Decoder {
    feed: FeedDecoder,
    converter: ReportConverter,
    partner: Partner,
    limits: FeedLimits,
    reports: Vec<Report>,
    lines: Vec<u64>,
    /// When the oldest report of the open batch arrived.
    oldest: Option<Instant>,
    counters: Arc<Counters>,
    batches: mpsc::Sender<Pending>,
}

impl Decoder {
    async fn run(mut self, mut udp: broadcast::Receiver<Arc<Chunk>>, mut tcp: mpsc::Receiver<Chunk>) {
        let (mut udp_open, mut tcp_open) = (true, true);
        loop {
            let due = self.oldest.map(|t| t + self.limits.batch_age);
            tokio::select! {
                r = udp.recv(), if udp_open => match r {
                    Ok(chunk) => self.take(&chunk).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => Counters::add(&self.counters.dropped_datagrams, n),
                    Err(broadcast::error::RecvError::Closed) => udp_open = false,
                },
                c = tcp.recv(), if tcp_open => match c {
                    Some(chunk) => self.take(&chunk).await,
                    None => tcp_open = false,
                },
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => self.flush().await,
                else => break,
            }
            if !(udp_open || tcp_open) {
                break;
            }
        }
        self.flush().await;
    }

    async fn take(&mut self, chunk: &Chunk) {
        let mut ctx = IngestContext {
            submitter: &self.partner,
            now: chunk.at,
            max_future_skew: self.limits.max_future_skew,
            mint: ReportIdMint::new(unix_millis(chunk.at), rand::random()),
        };
        let mut full = Vec::new();
        for line in chunk.text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // Errors are counted by the decoder (its stats, copied below).
            let Ok(Some(decoded)) = self.feed.push_line(line) else { continue };
            match self.converter.convert(&decoded, chunk.at, &mut ctx) {
                Ok(Some(report)) => {
                    self.oldest.get_or_insert(chunk.received);
                    self.reports.push(report);
                    self.lines.push(decoded.line);
                    if self.reports.len() >= self.limits.batch_reports {
                        // Fields, not `self.cut()`: `ctx` borrows the partner.
                        let batch = Batch {
                            reports: std::mem::take(&mut self.reports),
                            lines: std::mem::take(&mut self.lines),
                        };
                        full.push(Pending { batch, oldest: self.oldest.take().unwrap_or(chunk.received) });
                    }
                }
                Ok(None) => {}
                Err(_) => Counters::add(&self.counters.refused, 1),
            }
        }
        self.copy_stats();
        for p in full {
            self.send(p).await;
        }
    }

    fn cut(&mut self) -> Pending {
        let batch = Batch { reports: std::mem::take(&mut self.reports), lines: std::mem::take(&mut self.lines) };
        Pending { batch, oldest: self.oldest.take().unwrap_or_else(Instant::now) }
    }

    async fn flush(&mut self) {
        if !self.reports.is_empty() {
            let p = self.cut();
            self.send(p).await;
        }
    }

    async fn send(&self, p: Pending) {
        if let Err(mpsc::error::SendError(p)) = self.batches.send(p).await {
            // Only when the committer has ended, which it does only with the process.
            Counters::add(&self.counters.reports_failed, p.batch.reports.len() as u64);
        }
    }

    fn copy_stats(&self) {
        let s: &FeedStats = self.feed.stats();
        let c = &self.counters;
        let set = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
        set(&c.lines, s.lines);
        set(&c.sentences, s.sentences);
        set(&c.decoded, s.decoded());
        set(&c.bad_checksum, s.bad_checksum);
        set(&c.malformed, s.malformed);
        set(&c.incomplete_multipart, s.incomplete_multipart);
        set(&c.invalid, s.invalid);
        set(&c.unsupported, s.unsupported());
    }
}

/// Commits batches in order. A refused or failed batch is counted and logged
/// and the feed goes on: a live feed has no one to return the error to, and
/// stopping would lose everything after it too.
async fn commit(hub: Hub, who: Actor, name: String, mut batches: mpsc::Receiver<Pending>, counters: Arc<Counters>) {
    while let Some(p) = batches.recv().await {
        let n = p.batch.reports.len() as u64;
        match hub.ingest(&who, OffsetDateTime::now_utc(), p.batch).await {
            Ok(_) => {
                Counters::add(&counters.reports_committed, n);
                Counters::add(&counters.batches_committed, 1);
                let lag = u64::try_from(p.oldest.elapsed().as_millis()).unwrap_or(u64::MAX);
                counters.lag_ms.store(lag, Ordering::Relaxed);
                counters.lag_max_ms.fetch_max(lag, Ordering::Relaxed);
            }
            Err(e) => {
                Counters::add(&counters.batches_failed, 1);
                Counters::add(&counters.reports_failed, n);
                eprintln!("caveat feed {name}: a batch of {n} reports was not stored: {e}");
                // A database that is down would otherwise be asked again at once for every batch.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn unix_millis(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}
