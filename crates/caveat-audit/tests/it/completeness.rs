//! Complete usage reports: an originator's report leaves nothing out, and tells
//! it nothing of others' entries but their count.

use caveat_audit::{
    AuditEntry, BundleEntry, Error, MemoryStorage, MerkleLog, Tagger, UsagePage, UsageReport, entries_touching,
    summarise, verify_pages,
};
use caveat_core::PartnerId;

use crate::fixture::{at, entries, hub_key, partner};

const PARTNERS: [&str; 3] = ["FRA", "GBR", "NLD"];

/// `entries(n)` appended in batches of 7 by a tagging writer that flushes
/// after every `every` batches and at the end.
fn tagged_log(n: usize, every: usize) -> (MerkleLog<MemoryStorage>, Tagger) {
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    let mut tagger = Tagger::new(&hub_key(), PARTNERS.iter().map(|p| partner(p)));
    tagger.resume(&log).unwrap();
    for (k, chunk) in entries(n).chunks(7).enumerate() {
        log.append_entries(chunk).unwrap();
        tagger.appended(&log, chunk);
        if (k + 1) % every == 0 {
            tagger.flush(&mut log, at(k as i64)).unwrap();
        }
    }
    tagger.flush(&mut log, at(1000)).unwrap();
    (log, tagger)
}

fn page(log: &MerkleLog<MemoryStorage>, tagger: &Tagger, who: &PartnerId, from: u64, limit: usize) -> UsageReport {
    let checkpoint = log.sign_checkpoint(&hub_key()).unwrap();
    let touching = entries_touching(log, who, 0..log.size()).unwrap();
    let page = UsagePage { key: tagger.key(who), last_tag: tagger.last(), from, limit };
    UsageReport::build_page(log, who, &checkpoint, None, &page, &touching).unwrap()
}

fn verify(report: &UsageReport) -> Result<(), Error> {
    report.verify(None, &hub_key().verifier_key()).map(|_| ())
}

fn incomplete(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Incomplete { reason }) => reason,
        other => panic!("expected an incompleteness, got {other:?}"),
    }
}

/// What the hub would send after doctoring the bundle: a summary that adds up.
fn resummarise(report: &mut UsageReport) {
    let entries: Vec<(u64, AuditEntry)> =
        report.bundle.entries.iter().map(|e| (e.index, AuditEntry::from_bytes(&e.data).unwrap())).collect();
    report.summary = summarise(&report.originator, &entries);
}

#[test]
fn a_complete_report_verifies_and_lists_every_entry() {
    let (log, tagger) = tagged_log(60, 2);
    for p in PARTNERS {
        let who = partner(p);
        let report = page(&log, &tagger, &who, 0, 10_000);
        verify(&report).unwrap();
        let c = report.completeness.as_ref().expect("a completeness proof");
        assert_eq!(c.from, 0);
        let touching = entries_touching(&log, &who, 0..c.to).unwrap();
        let listed: Vec<u64> = report.bundle.entries.iter().map(|e| e.index).collect();
        assert_eq!(listed, touching, "{p}");
        assert!(!touching.is_empty());
        assert_eq!(report.next, None);
    }
}

/// Every entry of each originator's, one at a time: dropped from the report
/// (with a summary that adds up), hidden by ending the page before it and
/// starting the next after it, hidden by clearing its bit in the tag leaf,
/// or moved out of order. Each is refused, naming the entry.
#[test]
fn dropping_hiding_or_reordering_any_entry_is_detected() {
    let (log, tagger) = tagged_log(30, 2);
    let key = hub_key().verifier_key();
    for p in PARTNERS {
        let who = partner(p);
        let full = page(&log, &tagger, &who, 0, 10_000);
        let n = full.bundle.entries.len();
        assert!(n >= 2, "{p} has {n} entries");
        for k in 0..n {
            let index = full.bundle.entries[k].index;

            let mut dropped = full.clone();
            dropped.bundle.entries.remove(k);
            resummarise(&mut dropped);
            let why = incomplete(verify(&dropped));
            assert!(why.contains(&format!("entry {index} touches {p}")) && why.contains("leaves it out"), "{why}");

            // Two pages that skip the entry between them.
            let mut before = full.clone();
            before.bundle.entries.truncate(k);
            resummarise(&mut before);
            before.completeness.as_mut().unwrap().to = index;
            let mut after = full.clone();
            after.bundle.entries.drain(..=k);
            resummarise(&mut after);
            after.completeness.as_mut().unwrap().from = index + 1;
            verify(&before).unwrap();
            verify(&after).unwrap();
            let why = incomplete(verify_pages(None, &key, &[before, after]).map(|_| ()));
            assert!(why.contains(&format!("entries {index}..{} are in no page", index + 1)), "{why}");

            // The hub rewrites the tag leaf covering it, clearing the bit.
            let mut cleared = dropped.clone();
            let c = cleared.completeness.as_mut().unwrap();
            let leaf = c
                .tags
                .iter_mut()
                .find(|t| match AuditEntry::from_bytes(&t.data) {
                    Ok(AuditEntry::UsageTags(tags)) => tags.from <= index && index < tags.to,
                    _ => false,
                })
                .unwrap();
            flip_bit(leaf, &who, index);
            assert!(matches!(verify(&cleared), Err(Error::InclusionProofInvalid { .. })));

            if k + 1 < n {
                let mut reordered = full.clone();
                reordered.bundle.entries.swap(k, k + 1);
                let why = incomplete(verify(&reordered));
                assert!(why.contains(&format!("lists entry {index} after entry")), "{why}");
            }
        }
    }
}

/// Flips `who`'s bit for entry `index` in a tag leaf (keeping it well formed).
fn flip_bit(leaf: &mut BundleEntry, who: &PartnerId, index: u64) {
    let AuditEntry::UsageTags(mut tags) = AuditEntry::from_bytes(&leaf.data).unwrap() else { unreachable!() };
    let slot = tags.slots.iter().position(|s| &s.partner == who).unwrap();
    let run = (tags.to - tags.from).div_ceil(8) as usize;
    let bit = (index - tags.from) as usize;
    tags.bits[slot * run + bit / 8] ^= 1 << (bit % 8);
    leaf.data = AuditEntry::UsageTags(tags).to_bytes().unwrap();
}

#[test]
fn the_tag_chain_and_the_key_cannot_be_doctored() {
    let (log, tagger) = tagged_log(60, 1);
    let gbr = partner("GBR");
    let report = page(&log, &tagger, &gbr, 0, 10_000);
    verify(&report).unwrap();
    let tags = report.completeness.as_ref().unwrap().tags.len();
    assert!(tags >= 3, "{tags} tag leaves");

    // A tag leaf left out of the chain.
    let mut gap = report.clone();
    gap.completeness.as_mut().unwrap().tags.remove(1);
    assert!(incomplete(verify(&gap)).contains("a tag leaf between them is missing"));

    // The first or last tag leaf left out: the range is not covered.
    let mut short = report.clone();
    short.completeness.as_mut().unwrap().tags.pop();
    assert!(incomplete(verify(&short)).contains("before the range's end"));
    let mut late = report.clone();
    late.completeness.as_mut().unwrap().tags.remove(0);
    assert!(incomplete(verify(&late)).contains("after the range's start"));

    // Another key (FRA's, or a made-up one) does not match what the log recorded for GBR.
    let mut other = report.clone();
    other.completeness.as_mut().unwrap().key = tagger.key(&partner("FRA"));
    assert!(incomplete(verify(&other)).contains("records key commitment"));

    // A range beyond the checkpoint.
    let mut beyond = report.clone();
    beyond.completeness.as_mut().unwrap().to = log.size() + 1;
    assert!(incomplete(verify(&beyond)).contains("not within the checkpoint"));

    // An ordinary entry passed off as a tag leaf.
    let mut fake = report;
    let c = fake.completeness.as_mut().unwrap();
    let entry = caveat_audit::AuditBundle::build(&log, &log.sign_checkpoint(&hub_key()).unwrap(), None, &[0]).unwrap();
    c.tags[0] = entry.entries[0].clone();
    assert!(incomplete(verify(&fake)).contains("is not one"));
}

/// GBR's report holds only entries touching GBR; the other partners' columns
/// in the tag leaves it receives look like coin flips, however regular their
/// true pattern (FRA is touched by every entry with `i % 5` in 2 or 4, NLD by
/// every 15th), and agree with the truth only by chance.
#[test]
fn others_entries_reveal_nothing_but_their_count() {
    let (log, tagger) = tagged_log(2100, 3);
    let gbr = partner("GBR");
    let report = page(&log, &tagger, &gbr, 0, 10_000);
    let verified = report.verify(None, &hub_key().verifier_key()).unwrap();
    assert!(verified.entries.iter().all(|(_, e)| e.touches(&gbr)));
    let c = report.completeness.as_ref().unwrap();
    for other in ["FRA", "NLD"] {
        let who = partner(other);
        let truth = entries_touching(&log, &who, 0..c.to).unwrap();
        let (mut ones, mut agree, mut total) = (0u64, 0u64, 0u64);
        for leaf in &c.tags {
            let AuditEntry::UsageTags(tags) = AuditEntry::from_bytes(&leaf.data).unwrap() else { unreachable!() };
            let slot = tags.slots.iter().position(|s| s.partner == who).unwrap();
            let run = (tags.to - tags.from).div_ceil(8) as usize;
            for i in tags.from..tags.to {
                let bit = (i - tags.from) as usize;
                let set = tags.bits[slot * run + bit / 8] >> (bit % 8) & 1 == 1;
                ones += u64::from(set);
                agree += u64::from(set == truth.binary_search(&i).is_ok());
                total += 1;
            }
        }
        assert!(total > 2000);
        // Five standard deviations of a fair coin over `total` flips.
        let slack = 5.0 * (total as f64).sqrt() / 2.0;
        let half = total as f64 / 2.0;
        assert!((ones as f64 - half).abs() < slack, "{other}: {ones} of {total} bits set");
        assert!((agree as f64 - half).abs() < slack, "{other}: {agree} of {total} bits agree with the truth");
    }
    // Without the key, GBR's own column looks the same: the tags alone tell no one anything.
    let someone_else = tagger.key(&partner("XXX"));
    let mut wrong = report.clone();
    wrong.completeness.as_mut().unwrap().key = someone_else;
    assert!(matches!(verify(&wrong), Err(Error::Incomplete { .. })));
}

#[test]
fn pages_are_each_complete_and_together_cover_the_log() {
    let (log, tagger) = tagged_log(80, 2);
    let gbr = partner("GBR");
    let full = page(&log, &tagger, &gbr, 0, 10_000);
    let mut pages = Vec::new();
    let mut from = 0;
    loop {
        let p = page(&log, &tagger, &gbr, from, 7);
        assert!(p.bundle.entries.len() <= 7);
        let next = p.next;
        pages.push(p);
        match next {
            Some(n) => from = n,
            None => break,
        }
    }
    assert!(pages.len() > 3);
    let verified = verify_pages(None, &hub_key().verifier_key(), &pages).unwrap();
    assert_eq!(verified.complete, Some(0..full.completeness.as_ref().unwrap().to));
    let listed: Vec<u64> = verified.entries.iter().map(|(i, _)| *i).collect();
    let all: Vec<u64> = full.bundle.entries.iter().map(|e| e.index).collect();
    assert_eq!(listed, all);
    // A page left out of the run is caught.
    pages.remove(1);
    assert!(incomplete(verify_pages(None, &hub_key().verifier_key(), &pages).map(|_| ())).contains("in no page"));
}

/// A log written before tag leaves gets a chain from its start when a tagging
/// writer first opens it; a writer reopening a tagged log continues its chain.
#[test]
fn old_logs_are_tagged_from_the_start_and_chains_continue_across_restarts() {
    let mut log = MerkleLog::open(MemoryStorage::new()).unwrap();
    let old = entries(30);
    log.append_entries(&old).unwrap();
    let gbr = partner("GBR");
    // Before: no tag leaf, inclusion only, as in reports made before issue 18.
    let mut first = Tagger::new(&hub_key(), [gbr.clone()]);
    first.resume(&log).unwrap();
    assert_eq!(first.untagged(), 30);
    let legacy = page(&log, &first, &gbr, 0, 10_000);
    assert!(legacy.completeness.is_none());
    verify(&legacy).unwrap();

    first.flush(&mut log, at(100)).unwrap();
    let more = entries(20);
    log.append_entries(&more).unwrap();
    // A restart: a new tagger finds the chain and the 20 entries after it.
    let mut second = Tagger::new(&hub_key(), [gbr.clone()]);
    second.resume(&log).unwrap();
    assert_eq!(second.untagged(), 20);
    second.flush(&mut log, at(101)).unwrap();
    let report = page(&log, &second, &gbr, 0, 10_000);
    verify(&report).unwrap();
    let c = report.completeness.as_ref().unwrap();
    assert_eq!((c.from, c.to), (0, 51), "both chains' leaves: 30 old entries, a tag leaf, 20 new");
    assert_eq!(c.tags.len(), 2);
    // A flush with nothing new writes nothing.
    let size = log.size();
    second.flush(&mut log, at(102)).unwrap();
    assert_eq!(log.size(), size);
}

#[test]
fn malformed_tag_leaves_are_not_entries() {
    let (log, _) = tagged_log(10, 5);
    let bytes = log.entry(log.size() - 1).unwrap();
    let AuditEntry::UsageTags(mut tags) = AuditEntry::from_bytes(&bytes).unwrap() else { panic!("a tag leaf") };
    assert_eq!(tags.to - tags.from, 10);
    let good = tags.clone();
    // Bit 10 of the first slot's run of 2 bytes is past the 10 entries.
    tags.bits[1] |= 0b100;
    let text = AuditEntry::UsageTags(tags).to_bytes().unwrap();
    let err = AuditEntry::from_bytes(&text).unwrap_err().to_string();
    assert!(err.contains("unused bit"), "{err}");
    let mut short = good.clone();
    short.bits.pop();
    assert!(AuditEntry::from_bytes(&AuditEntry::UsageTags(short).to_bytes().unwrap()).is_err());
    let mut unsorted = good;
    unsorted.slots.reverse();
    assert!(AuditEntry::from_bytes(&AuditEntry::UsageTags(unsorted).to_bytes().unwrap()).is_err());
}
