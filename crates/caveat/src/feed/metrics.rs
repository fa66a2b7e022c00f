//! Per-feed counters, written at the operator's `/metrics` with `feed` and
//! `partner` labels. Feeds are the operator's own configuration, so their
//! names and partners may appear there (the listener is the operator's, not a
//! partner's; see `--metrics-listen`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use caveat_core::PartnerId;

/// One feed's counters; every field is a running total unless it says gauge.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) lines: AtomicU64,
    pub(crate) sentences: AtomicU64,
    pub(crate) decoded: AtomicU64,
    pub(crate) bad_checksum: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) incomplete_multipart: AtomicU64,
    pub(crate) invalid: AtomicU64,
    pub(crate) unsupported: AtomicU64,
    pub(crate) too_long: AtomicU64,
    /// Positions caveat-core refused (a time in the future or before 2000).
    pub(crate) refused: AtomicU64,
    /// UDP datagrams with lines in them, queued for the decoder: each is
    /// decoded or, later, counted in `dropped_datagrams`.
    pub(crate) queued_datagrams: AtomicU64,
    /// UDP datagrams dropped, oldest first, because the queue was full.
    pub(crate) dropped_datagrams: AtomicU64,
    pub(crate) reports_committed: AtomicU64,
    pub(crate) batches_committed: AtomicU64,
    pub(crate) batches_failed: AtomicU64,
    pub(crate) reports_failed: AtomicU64,
    /// Gauge: receipt of the oldest line of the last batch to its commit, milliseconds.
    pub(crate) lag_ms: AtomicU64,
    pub(crate) lag_max_ms: AtomicU64,
    /// Gauge: open TCP connections.
    pub(crate) connections: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Every feed's counters, in start order.
#[derive(Debug, Default)]
pub(crate) struct Feeds {
    feeds: Mutex<Vec<(String, PartnerId, Arc<Counters>)>>,
}

impl Feeds {
    pub(crate) fn add(&self, name: &str, partner: &PartnerId) -> Arc<Counters> {
        let c = Arc::new(Counters::default());
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).push((name.to_owned(), partner.clone(), c.clone()));
        c
    }
}

type Get = fn(&Counters) -> &AtomicU64;

/// (metric, help, type, extra label, counter)
const SERIES: &[(&str, &str, &str, &str, Get)] = &[
    ("caveat_feed_lines_total", "Lines read from the feed.", "counter", "", |c| &c.lines),
    ("caveat_feed_sentences_total", "AIVDM/AIVDO sentences among them.", "counter", "", |c| &c.sentences),
    ("caveat_feed_decoded_total", "Messages decoded.", "counter", "", |c| &c.decoded),
    ("caveat_feed_rejected_total", "Lines or messages rejected, by reason.", "counter", "bad_checksum", |c| {
        &c.bad_checksum
    }),
    ("caveat_feed_rejected_total", "", "", "malformed", |c| &c.malformed),
    ("caveat_feed_rejected_total", "", "", "incomplete_multipart", |c| &c.incomplete_multipart),
    ("caveat_feed_rejected_total", "", "", "invalid", |c| &c.invalid),
    ("caveat_feed_rejected_total", "", "", "unsupported_type", |c| &c.unsupported),
    ("caveat_feed_rejected_total", "", "", "too_long", |c| &c.too_long),
    ("caveat_feed_rejected_total", "", "", "refused", |c| &c.refused),
    (
        "caveat_feed_queued_datagrams_total",
        "UDP datagrams read and queued for decoding (each is decoded or counted as dropped).",
        "counter",
        "",
        |c| &c.queued_datagrams,
    ),
    (
        "caveat_feed_dropped_datagrams_total",
        "UDP datagrams dropped, oldest first, when the feed's queue was full.",
        "counter",
        "",
        |c| &c.dropped_datagrams,
    ),
    ("caveat_feed_reports_committed_total", "Reports stored and audited.", "counter", "", |c| &c.reports_committed),
    ("caveat_feed_batches_committed_total", "Batches stored and audited.", "counter", "", |c| &c.batches_committed),
    ("caveat_feed_batches_failed_total", "Batches the hub refused or could not store.", "counter", "", |c| {
        &c.batches_failed
    }),
    ("caveat_feed_reports_failed_total", "Reports in those batches (not stored).", "counter", "", |c| {
        &c.reports_failed
    }),
    (
        "caveat_feed_commit_lag_milliseconds",
        "Last batch: from receipt of its oldest line to its commit.",
        "gauge",
        "",
        |c| &c.lag_ms,
    ),
    ("caveat_feed_commit_lag_max_milliseconds", "Largest commit lag so far.", "gauge", "", |c| &c.lag_max_ms),
    ("caveat_feed_connections", "Open TCP connections.", "gauge", "", |c| &c.connections),
    ("caveat_feed_connections_refused_total", "TCP connections refused past the limit.", "counter", "", |c| {
        &c.connections_refused
    }),
    ("caveat_feed_reconnects_total", "Outgoing TCP connection attempts after the first.", "counter", "", |c| {
        &c.reconnects
    }),
];

impl caveat_server::MetricsSource for Feeds {
    fn write_metrics(&self, out: &mut String) {
        let feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if feeds.is_empty() {
            return;
        }
        for (name, help, kind, reason, get) in SERIES {
            if !help.is_empty() {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            }
            for (feed, partner, c) in feeds.iter() {
                let v = get(c).load(Ordering::Relaxed);
                if reason.is_empty() {
                    let _ = writeln!(out, "{name}{{feed=\"{feed}\",partner=\"{partner}\"}} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{feed=\"{feed}\",partner=\"{partner}\",reason=\"{reason}\"}} {v}");
                }
            }
        }
    }
}
