//! Multipart reassembly: fragments keyed by (talker, sequence id, channel),
//! in a bounded buffer with an age limit.
//!
//! IEC 61162-1 §8.3.103 (VDM): fragments of one message share a sequential
//! message id and channel and arrive in order. A feed that drops a fragment
//! would otherwise leave a group waiting forever, so a group older than
//! `max_age` AIS sentences is dropped, and when `max_pending` groups wait the
//! oldest is dropped. Age is counted in sentences because the crate reads no
//! clock and many feeds carry no time. When fragments carry times (tag block
//! `c:`, `$PGHP`), a next fragment stamped more than `max_age_s` seconds after
//! the first does not join it. Other sentences' times are not compared:
//! satellite feeds interleave stations out of time order (libais
//! `tagblock.nmea` has a sentence 42 minutes later between two fragments).

use crate::Error;
use crate::armor::MAX_PAYLOAD_CHARS;
use crate::sentence::{Sentence, TagBlock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    talker: [u8; 2],
    seq: Option<u8>,
    channel: u8,
}

#[derive(Debug)]
struct Group {
    key: Key,
    live: bool,
    total: u8,
    next: u8,
    started: u64,
    started_time: Option<i64>,
    tag: TagBlock,
    chars: Vec<u8>,
}

/// What a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fragment<'a> {
    /// A message is complete: its armored payload, fill bits and tag block.
    Complete { payload: &'a [u8], fill: u8, tag: TagBlock },
    /// The fragment was stored; more are expected.
    Pending,
}

/// The reassembly buffer.
#[derive(Debug)]
pub(crate) struct Reassembler {
    groups: Vec<Group>,
    max_pending: usize,
    max_age: u64,
    max_age_s: i64,
    sentences: u64,
    /// Messages given up: expired, evicted, replaced, or orphan fragments.
    pub(crate) incomplete: u64,
}

impl Reassembler {
    pub(crate) fn new(max_pending: usize, max_age: u64, max_age_s: i64) -> Self {
        Reassembler {
            groups: Vec::new(),
            max_pending: max_pending.max(1),
            max_age,
            max_age_s,
            sentences: 0,
            incomplete: 0,
        }
    }

    /// Feeds one parsed sentence.
    pub(crate) fn push<'s>(&'s mut self, s: &Sentence<'s>, line: u64) -> Result<Fragment<'s>, Error> {
        self.sentences += 1;
        let now = self.sentences;
        let max_age = self.max_age;
        for g in self.groups.iter_mut().filter(|g| g.live && now - g.started > max_age) {
            g.live = false;
            self.incomplete += 1;
        }
        if s.total == 1 {
            return Ok(Fragment::Complete { payload: s.payload, fill: s.fill, tag: s.tag });
        }
        let key = Key { talker: s.talker, seq: s.seq, channel: s.channel };
        let found = self.groups.iter().position(|g| g.live && g.key == key);
        if s.number == 1 {
            if let Some(i) = found {
                // A new first fragment replaces an unfinished message with the same key.
                self.kill(i);
            }
            let live = self.groups.iter().filter(|g| g.live).count();
            if live >= self.max_pending
                && let Some(oldest) = self
                    .groups
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.live)
                    .min_by_key(|(_, g)| g.started)
                    .map(|(i, _)| i)
            {
                self.kill(oldest);
            }
            let slot = match self.groups.iter().position(|g| !g.live) {
                Some(i) => i,
                None => {
                    self.groups.push(Group {
                        key,
                        live: false,
                        total: 0,
                        next: 0,
                        started: 0,
                        started_time: None,
                        tag: TagBlock::default(),
                        chars: Vec::with_capacity(128),
                    });
                    self.groups.len() - 1
                }
            };
            if let Some(g) = self.groups.get_mut(slot) {
                g.key = key;
                g.live = true;
                g.total = s.total;
                g.next = 2;
                g.started = now;
                g.started_time = s.tag.unix_time;
                g.tag = s.tag;
                g.chars.clear();
                g.chars.extend_from_slice(s.payload);
            }
            return Ok(Fragment::Pending);
        }
        let orphan = Error::OrphanFragment { line, number: s.number, total: s.total, seq: s.seq };
        let Some(i) = found else {
            self.incomplete += 1;
            return Err(orphan);
        };
        let max_age_s = self.max_age_s;
        let fits = self.groups.get(i).is_some_and(|g| {
            g.total == s.total
                && g.next == s.number
                && g.chars.len() + s.payload.len() <= MAX_PAYLOAD_CHARS
                && !matches!((g.started_time, s.tag.unix_time), (Some(a), Some(b)) if b.saturating_sub(a) > max_age_s)
        });
        if !fits {
            if let Some(g) = self.groups.get_mut(i) {
                g.live = false;
            }
            self.incomplete += 1;
            return Err(orphan);
        }
        let Some(g) = self.groups.get_mut(i) else { return Ok(Fragment::Pending) };
        g.chars.extend_from_slice(s.payload);
        g.next += 1;
        if s.number < s.total {
            return Ok(Fragment::Pending);
        }
        g.live = false;
        if g.tag.unix_time.is_none() {
            g.tag.unix_time = s.tag.unix_time;
        }
        if g.tag.source.is_none() {
            g.tag.source = s.tag.source;
        }
        Ok(Fragment::Complete { payload: &g.chars, fill: s.fill, tag: g.tag })
    }

    fn kill(&mut self, i: usize) {
        if let Some(g) = self.groups.get_mut(i) {
            g.live = false;
            self.incomplete += 1;
        }
    }

    /// Gives up on every waiting group (end of feed); returns how many there were.
    pub(crate) fn finish(&mut self) -> u64 {
        let n = self.groups.iter().filter(|g| g.live).count() as u64;
        for g in &mut self.groups {
            g.live = false;
        }
        self.incomplete += n;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentence::parse_line;

    #[test]
    fn joins_two_fragments_and_counts_an_orphan() {
        let mut r = Reassembler::new(4, 64, 60);
        let a = b"!AIVDM,2,1,0,A,533WmR02D3w<tphD000<j0<tq@TLt00000000016;AJ@@4000IP000000000,0*37";
        let b = b"!AIVDM,2,2,0,A,00000000000,2*24";
        let s = parse_line(a, 1).unwrap().unwrap();
        assert_eq!(r.push(&s, 1).unwrap(), Fragment::Pending);
        let s = parse_line(b, 2).unwrap().unwrap();
        match r.push(&s, 2).unwrap() {
            Fragment::Complete { payload, fill, .. } => assert_eq!((payload.len(), fill), (71, 2)),
            Fragment::Pending => panic!("expected a complete message"),
        }
        let s = parse_line(b, 3).unwrap().unwrap();
        assert!(matches!(r.push(&s, 3), Err(Error::OrphanFragment { line: 3, number: 2, total: 2, seq: Some(0) })));
        assert_eq!(r.incomplete, 1);
    }

    #[test]
    fn expires_old_groups_and_bounds_the_buffer() {
        let mut r = Reassembler::new(2, 3, 60);
        let first = |seq: u8| format!("!AIVDM,2,1,{seq},A,5,0*");
        for seq in 0..3u8 {
            let body = first(seq);
            let sum = body.bytes().skip(1).take_while(|&b| b != b'*').fold(0, |a, b| a ^ b);
            let line = format!("{body}{sum:02X}");
            let s = parse_line(line.as_bytes(), 1).unwrap().unwrap();
            assert_eq!(r.push(&s, 1).unwrap(), Fragment::Pending);
        }
        // The third group evicted the first.
        assert_eq!(r.incomplete, 1);
        let single = b"!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*62";
        for _ in 0..4 {
            let s = parse_line(single, 9).unwrap().unwrap();
            r.push(&s, 9).unwrap();
        }
        assert_eq!(r.incomplete, 3, "both remaining groups expired");
        assert_eq!(r.finish(), 0);
    }

    #[test]
    fn expires_groups_by_feed_time() {
        let mut r = Reassembler::new(4, 64, 60);
        let a = br"\c:1000*58\!AIVDM,2,1,0,A,533WmR02D3w<tphD000<j0<tq@TLt00000000016;AJ@@4000IP000000000,0*37";
        let s = parse_line(a, 1).unwrap().unwrap();
        assert_eq!(s.tag.unix_time, Some(1000));
        assert_eq!(r.push(&s, 1).unwrap(), Fragment::Pending);
        let late = br"\c:1061*5F\!AIVDM,2,2,0,A,00000000000,2*24";
        let s = parse_line(late, 2).unwrap().unwrap();
        assert!(matches!(r.push(&s, 2), Err(Error::OrphanFragment { line: 2, .. })));
        assert_eq!(r.incomplete, 1, "the late fragment's message");
    }
}
