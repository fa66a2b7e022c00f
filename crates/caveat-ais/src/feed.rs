//! The streaming feed decoder: lines in, typed messages out, with counts.

use std::fmt;

use crate::Error;
use crate::armor::AisBits;
use crate::gatehouse::{self, GatehouseTime};
use crate::message::Message;
use crate::reassembly::{Fragment, Reassembler};
use crate::sentence::{TagBlock, parse_line};

/// Limits of the multipart reassembly buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedConfig {
    /// Most multipart messages waiting for fragments at once; beyond it the oldest is dropped.
    pub max_pending: usize,
    /// A waiting message is dropped after this many further AIS sentences.
    pub max_fragment_age: u64,
    /// A waiting message is dropped when a sentence stamped this many seconds
    /// after its first fragment arrives (only when the feed carries times).
    pub max_fragment_age_s: i64,
}

impl Default for FeedConfig {
    /// 16 waiting messages, 64 sentences, 60 s: a two-part type 5 arrives
    /// within a few sentences even on a busy shore network (the DMA
    /// recording's fragments are adjacent), and 16 covers 10 interleaved
    /// sequence ids × channels.
    fn default() -> Self {
        FeedConfig { max_pending: 16, max_fragment_age: 64, max_fragment_age_s: 60 }
    }
}

/// One decoded message and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// 1-based line of the (last) sentence.
    pub line: u64,
    /// Talker id, e.g. `AI`, `BS`.
    pub talker: [u8; 2],
    /// `!xxVDO`: the receiver's own ship.
    pub own_ship: bool,
    /// The tag block (of the first fragment, completed from the last). When
    /// the sentence has no `c:` time but a Gatehouse `$PGHP` line naming its
    /// checksum came just before, `unix_time` is that time.
    pub tag: TagBlock,
    /// The message.
    pub message: Message,
}

/// Counts over a feed. `Display` writes a one-paragraph summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStats {
    /// Lines pushed.
    pub lines: u64,
    /// Lines holding an AIVDM/AIVDO sentence (good or bad).
    pub sentences: u64,
    /// Decoded messages by type (index = type, 0..64).
    pub decoded_by_type: [u64; 64],
    /// Sentences whose checksum did not match.
    pub bad_checksum: u64,
    /// Tag blocks ignored because their checksum or form was bad (their sentence is still decoded).
    pub bad_tag_block: u64,
    /// Sentences without the standard's 7-field form or with bad field values.
    pub malformed: u64,
    /// Multipart messages given up: orphan fragments, expired, evicted or unfinished at the end.
    pub incomplete_multipart: u64,
    /// Complete messages of a supported type that could not be decoded (too short, bad type 24 part).
    pub invalid: u64,
    /// Complete messages of types this crate does not decode, by type.
    pub unsupported_by_type: [u64; 64],
}

impl Default for FeedStats {
    fn default() -> Self {
        FeedStats {
            lines: 0,
            sentences: 0,
            decoded_by_type: [0; 64],
            bad_checksum: 0,
            bad_tag_block: 0,
            malformed: 0,
            incomplete_multipart: 0,
            invalid: 0,
            unsupported_by_type: [0; 64],
        }
    }
}

impl FeedStats {
    /// Messages decoded, all types.
    pub fn decoded(&self) -> u64 {
        self.decoded_by_type.iter().sum()
    }

    /// Messages of unsupported types.
    pub fn unsupported(&self) -> u64 {
        self.unsupported_by_type.iter().sum()
    }
}

impl fmt::Display for FeedStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} lines, {} AIS sentences read; {} messages decoded", self.lines, self.sentences, self.decoded())?;
        let by_type: Vec<String> = self
            .decoded_by_type
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("type {t}: {n}"))
            .collect();
        if !by_type.is_empty() {
            write!(f, " ({})", by_type.join(", "))?;
        }
        write!(
            f,
            "; {} bad checksum, {} bad tag block (ignored), {} malformed, {} incomplete multipart, {} invalid, {} unsupported",
            self.bad_checksum,
            self.bad_tag_block,
            self.malformed,
            self.incomplete_multipart,
            self.invalid,
            self.unsupported()
        )?;
        let unsupported: Vec<String> = self
            .unsupported_by_type
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("type {t}: {n}"))
            .collect();
        if !unsupported.is_empty() {
            write!(f, " ({})", unsupported.join(", "))?;
        }
        f.write_str(".")
    }
}

/// Decodes a feed line by line.
///
/// ```
/// use caveat_ais::{FeedConfig, FeedDecoder, Message};
///
/// let mut feed = FeedDecoder::new(FeedConfig::default());
/// let d = feed.push_line(br"\c:1641168000*54\!AIVDM,1,1,,A,133WmR0P1aISghtA8Mh6dmL1P000,0*50")?.unwrap();
/// assert_eq!(d.tag.unix_time, Some(1_641_168_000));
/// assert!(matches!(d.message, Message::Position(_)));
/// assert_eq!(feed.finish().decoded(), 1);
/// # Ok::<(), caveat_ais::Error>(())
/// ```
#[derive(Debug)]
pub struct FeedDecoder {
    reassembler: Reassembler,
    stats: FeedStats,
    /// The last `$PGHP` time, waiting for the sentence it names.
    gatehouse: Option<GatehouseTime>,
}

impl FeedDecoder {
    /// A decoder with the given reassembly limits.
    pub fn new(config: FeedConfig) -> Self {
        FeedDecoder {
            reassembler: Reassembler::new(config.max_pending, config.max_fragment_age, config.max_fragment_age_s),
            stats: FeedStats::default(),
            gatehouse: None,
        }
    }

    /// Pushes one line (with or without its line ending).
    ///
    /// `Ok(None)`: not an AIS line, a fragment stored for later, or a message
    /// of an unsupported type; every case is counted in [`FeedDecoder::stats`].
    ///
    /// # Errors
    /// A typed error naming the line; the error is counted, and the decoder
    /// carries on with the next line.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<Decoded>, Error> {
        self.stats.lines += 1;
        let line_no = self.stats.lines;
        let line = trim_line_end(line);
        let mut sentence = match parse_line(line, line_no) {
            Ok(Some(s)) => s,
            Ok(None) => {
                if let Some(t) = gatehouse::parse(line) {
                    self.gatehouse = Some(t);
                }
                return Ok(None);
            }
            Err(e) => {
                self.stats.sentences += 1;
                match e {
                    Error::BadChecksum { .. } | Error::BadTagBlockChecksum { .. } => self.stats.bad_checksum += 1,
                    _ => self.stats.malformed += 1,
                }
                return Err(e);
            }
        };
        self.stats.sentences += 1;
        // The DMA network writes checksum 00 for its own base station (VDO) and
        // names the last fragment of a multipart message before the first one.
        if let Some(g) = self.gatehouse.take()
            && (g.for_checksum == sentence.checksum || g.for_checksum == 0 || sentence.total > 1)
            && sentence.tag.unix_time.is_none()
        {
            sentence.tag.unix_time = Some(g.unix_time);
        }
        if sentence.tag_block_bad {
            self.stats.bad_tag_block += 1;
        }
        let before = self.reassembler.incomplete;
        let step = match self.reassembler.push(&sentence, line_no) {
            Ok(Fragment::Complete { payload, fill, tag }) => Ok(Some((AisBits::from_armor(payload, fill), tag))),
            Ok(Fragment::Pending) => Ok(None),
            Err(e) => Err(e),
        };
        self.stats.incomplete_multipart += self.reassembler.incomplete - before;
        let (bits, tag) = match step {
            Ok(Some((Ok(bits), tag))) => (bits, tag),
            Ok(Some((Err(e), _))) => {
                // The parser checked each fragment's armor; only the joined length can fail.
                self.stats.malformed += 1;
                return Err(Error::Malformed {
                    line: line_no,
                    field: "payload",
                    value: e.to_string(),
                    reason: "joined payload is not valid",
                });
            }
            Ok(None) => return Ok(None),
            Err(e) => return Err(e),
        };
        match Message::decode(&bits, line_no) {
            Ok(Some(message)) => {
                if let Some(n) = self.stats.decoded_by_type.get_mut(usize::from(message.msg_type())) {
                    *n += 1;
                }
                Ok(Some(Decoded { line: line_no, talker: sentence.talker, own_ship: sentence.own_ship, tag, message }))
            }
            Ok(None) => {
                if let Some(n) = self.stats.unsupported_by_type.get_mut(usize::from(bits.msg_type())) {
                    *n += 1;
                }
                Ok(None)
            }
            Err(e) => {
                self.stats.invalid += 1;
                Err(e)
            }
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }

    /// Ends the feed: multipart messages still waiting count as incomplete.
    /// Returns the final counts.
    pub fn finish(&mut self) -> FeedStats {
        self.stats.incomplete_multipart += self.reassembler.finish();
        self.stats.clone()
    }
}

fn trim_line_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    line
}
