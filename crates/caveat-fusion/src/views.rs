//! Per-view pictures: one [`Picture`] per view key, built lazily, fed
//! incrementally, evicted when idle.

use std::collections::HashMap;

use caveat_core::{PartnerId, Report, ReportId, ViewKey};
use time::{Duration, OffsetDateTime};

use crate::{Error, FusionConfig, Picture};

/// The pictures of the view keys in use.
///
/// This type decides nothing about access. Every function that adds reports
/// takes the caller's permit decision (the hub backs it with caveat-policy),
/// so a view's picture holds exactly the reports permitted to its key
/// (DESIGN.md invariant 2), and equals [`crate::fuse`] over that subset.
#[derive(Debug)]
pub struct Views {
    config: FusionConfig,
    idle_after: Duration,
    pictures: HashMap<ViewKey, Entry>,
}

#[derive(Debug)]
struct Entry {
    picture: Picture,
    last_used: OffsetDateTime,
}

impl Views {
    /// No views yet; a view unused for `idle_after` is evicted by [`Views::evict_idle`].
    pub fn new(config: FusionConfig, idle_after: Duration) -> Self {
        Views { config, idle_after, pictures: HashMap::new() }
    }

    /// The picture of `key`, built on first use from `permitted()`: every
    /// report the key may see, which the caller obtains from the store through policy.
    /// Marks the view used at `now`.
    ///
    /// # Errors
    /// A report fusion cannot use; the view is then not created.
    pub fn open<'r, I>(
        &mut self,
        key: &ViewKey,
        now: OffsetDateTime,
        permitted: impl FnOnce() -> I,
    ) -> Result<&mut Picture, Error>
    where
        I: IntoIterator<Item = &'r Report>,
    {
        let entry = match self.pictures.entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let mut picture = Picture::new(self.config.clone());
                for r in permitted() {
                    picture.insert(r)?;
                }
                v.insert(Entry { picture, last_used: now })
            }
        };
        entry.last_used = entry.last_used.max(now);
        Ok(&mut entry.picture)
    }

    /// The picture of `key` if it is open, without marking it used.
    pub fn get_mut(&mut self, key: &ViewKey) -> Option<&mut Picture> {
        self.pictures.get_mut(key).map(|e| &mut e.picture)
    }

    /// Adds a newly stored report to every open view that `permit` allows.
    /// Views not open yet will get it from the store when opened. Returns how
    /// many views took it.
    ///
    /// # Errors
    /// A report fusion cannot use: validation runs before any view changes.
    pub fn ingest(
        &mut self,
        report: &Report,
        mut permit: impl FnMut(&ViewKey, &Report) -> bool,
    ) -> Result<usize, Error> {
        crate::measurement::Observation::from_report(report, 0)?;
        let mut keys: Vec<&ViewKey> = self.pictures.keys().collect();
        keys.sort();
        let chosen: Vec<ViewKey> = keys.into_iter().filter(|k| permit(k, report)).cloned().collect();
        let mut n = 0;
        for k in &chosen {
            if let Some(e) = self.pictures.get_mut(k) {
                e.picture.insert(report)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Re-checks every report held by every open view and removes those
    /// `permit` now refuses (a suspension, a standing forbid, an expired
    /// marking). Affected views re-filter from the earliest removed report on
    /// their next read. Returns how many (view, report) pairs were removed.
    pub fn revoke(&mut self, mut permit: impl FnMut(&ViewKey, &ReportId, &PartnerId) -> bool) -> usize {
        self.pictures.iter_mut().map(|(k, e)| e.picture.retain(|id, originator| permit(k, id, originator))).sum()
    }

    /// Drops the view; the next [`Views::open`] rebuilds it from the store.
    /// Returns whether it was open.
    pub fn invalidate(&mut self, key: &ViewKey) -> bool {
        self.pictures.remove(key).is_some()
    }

    /// Evicts views unused since `now - idle_after`; returns their keys, sorted.
    pub fn evict_idle(&mut self, now: OffsetDateTime) -> Vec<ViewKey> {
        let cutoff = now - self.idle_after;
        let mut gone: Vec<ViewKey> =
            self.pictures.iter().filter(|(_, e)| e.last_used < cutoff).map(|(k, _)| k.clone()).collect();
        for k in &gone {
            self.pictures.remove(k);
        }
        gone.sort();
        gone
    }

    /// The open view keys, sorted.
    pub fn keys(&self) -> Vec<ViewKey> {
        let mut k: Vec<ViewKey> = self.pictures.keys().cloned().collect();
        k.sort();
        k
    }

    /// Whether no view is open.
    pub fn is_empty(&self) -> bool {
        self.pictures.is_empty()
    }
}
