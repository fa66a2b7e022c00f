//! What an open view holds in memory, and which views go when their total
//! passes the budget (issue 16: views grew the hub by gigabytes).
//!
//! A view's bytes are estimated, not measured: the allocator cannot say
//! which view a block belongs to. The estimate adds its picture's
//! ([`caveat_fusion::Picture::memory`]: reports as fusion keeps them, track
//! histories back to the replay horizon, indexes), its tracks as last built
//! (trails and lineage), the memo that shares them between builds, and its
//! decision groups (a report id per decided report). What views share (the
//! recent reports and their sources) is the hub's, not any view's.

use std::mem::size_of;
use std::sync::Arc;

use caveat_core::{ReportId, ViewKey};
use caveat_fusion::Track;

use super::{Builder, Built};

/// Estimated heap bytes of a view as built.
pub(super) fn view_bytes(built: &Built, b: &Builder) -> usize {
    let tracks: usize = built
        .tracks
        .iter()
        // Each track is an `Arc` of its own: two counts, the track, what it points to.
        .map(|t| 2 * size_of::<usize>() + size_of::<Track>() + t.heap_bytes())
        .sum::<usize>()
        + built.tracks.capacity() * size_of::<Arc<Track>>();
    let groups: usize = b.groups.values().map(|ids| ids.capacity() * size_of::<ReportId>() + 96).sum();
    let uses = built.uses.len() * size_of::<caveat_audit::OriginatorUse>();
    b.picture.memory().total() + b.memo.memory() + tracks + groups + uses
}

/// One open view as eviction sees it.
pub(super) struct Held {
    pub(super) key: ViewKey,
    pub(super) used: Option<std::time::Instant>,
    pub(super) bytes: usize,
}

/// The views to drop, least recently used first, until the rest hold at
/// most `budget` bytes. `keep` (the view a request is asking for) is never
/// dropped: a single view larger than the budget is still served.
pub(super) fn over_budget(mut held: Vec<Held>, budget: usize, keep: Option<&ViewKey>) -> Vec<ViewKey> {
    let mut total: usize = held.iter().map(|h| h.bytes).sum();
    if total <= budget {
        return Vec::new();
    }
    held.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.key.cmp(&b.key)));
    let mut gone = Vec::new();
    for h in held {
        if total <= budget {
            break;
        }
        if Some(&h.key) == keep {
            continue;
        }
        total = total.saturating_sub(h.bytes);
        gone.push(h.key);
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn key(partner: &str) -> ViewKey {
        ViewKey::new(partner.parse().unwrap(), caveat_core::Purpose::Interdiction, None)
    }

    #[test]
    fn least_recently_used_go_first_and_the_asked_for_stays() {
        let t = Instant::now();
        let held = |used: &[(&str, u64, usize)]| {
            used.iter()
                .map(|&(p, s, bytes)| Held { key: key(p), used: Some(t + Duration::from_secs(s)), bytes })
                .collect::<Vec<_>>()
        };
        let views = held(&[("GBR", 3, 100), ("CAN", 1, 100), ("NLD", 2, 100)]);
        assert_eq!(over_budget(views, 300, None), Vec::<ViewKey>::new());
        let views = held(&[("GBR", 3, 100), ("CAN", 1, 100), ("NLD", 2, 100)]);
        assert_eq!(over_budget(views, 150, None), vec![key("CAN"), key("NLD")]);
        let views = held(&[("GBR", 3, 100), ("CAN", 1, 100), ("NLD", 2, 100)]);
        assert_eq!(over_budget(views, 0, Some(&key("CAN"))), vec![key("NLD"), key("GBR")]);
    }
}
