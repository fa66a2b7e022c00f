//! One NMEA 0183 `!xxVDM`/`!xxVDO` sentence and its optional IEC 61162-450 tag block.
//!
//! Parsing borrows from the line and allocates nothing on success.

use crate::Error;
use crate::armor::{AisText, MAX_PAYLOAD_CHARS, is_armor};

/// The IEC 61162-450 tag block in front of a sentence (`\s:src,c:time*hh\`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TagBlock {
    /// `c:` UNIX time in seconds (a 13-digit millisecond value is converted).
    pub unix_time: Option<i64>,
    /// `s:` source (receiving station), at most 34 characters.
    pub source: Option<AisText>,
}

/// One AIVDM/AIVDO sentence, borrowed from its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sentence<'a> {
    pub(crate) talker: [u8; 2],
    pub(crate) own_ship: bool,
    pub(crate) total: u8,
    pub(crate) number: u8,
    pub(crate) seq: Option<u8>,
    pub(crate) channel: u8,
    pub(crate) payload: &'a [u8],
    pub(crate) fill: u8,
    pub(crate) tag: TagBlock,
    /// The sentence's own checksum (a Gatehouse `$PGHP` time names it).
    pub(crate) checksum: u8,
    /// Whether a tag block was present but unreadable (it is then ignored:
    /// the sentence has its own checksum, and pyais/gpsd also decode it).
    pub(crate) tag_block_bad: bool,
}

/// Finds `!xxVDM` or `!xxVDO` anywhere in the line: logger prefixes
/// (`2019-04-19 00:00:00,804: `) and tag blocks come before it.
fn sentence_start(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(off) = line.get(from..)?.iter().position(|&b| b == b'!') {
        let i = from + off;
        if let Some([b'V', b'D', b'M' | b'O']) = line.get(i + 3..i + 6) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Splits `body*hh` into body and checksum; `None` when there is no `*hh`.
fn split_checksum(s: &[u8]) -> Option<(&[u8], u8)> {
    let star = s.iter().position(|&b| b == b'*')?;
    let body = s.get(..star)?;
    let hi = hex_digit(*s.get(star + 1)?)?;
    let lo = hex_digit(*s.get(star + 2)?)?;
    Some((body, (hi << 4) | lo))
}

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, &b| a ^ b)
}

fn single_digit(field: &[u8]) -> Option<u8> {
    match field {
        [d @ b'0'..=b'9'] => Some(d - b'0'),
        _ => None,
    }
}

/// Parses one line. `Ok(None)` means the line holds no AIVDM/AIVDO sentence.
pub(crate) fn parse_line(line: &[u8], line_no: u64) -> Result<Option<Sentence<'_>>, Error> {
    let Some(start) = sentence_start(line) else { return Ok(None) };
    let rest = line.get(start..).unwrap_or(&[]);
    let Some((body, found)) = split_checksum(rest) else {
        return Err(Error::malformed(line_no, "checksum", rest, "no `*hh` checksum after the sentence"));
    };
    let inner = body.get(1..).unwrap_or(&[]);
    let computed = xor(inner);
    if computed != found {
        return Err(Error::BadChecksum { line: line_no, found, computed });
    }
    let mut fields: [&[u8]; 7] = [&[]; 7];
    let mut n = 0;
    for f in inner.split(|&b| b == b',') {
        if let Some(slot) = fields.get_mut(n) {
            *slot = f;
        }
        n += 1;
    }
    if n != 7 {
        return Err(Error::malformed(line_no, "sentence", body, "an AIVDM sentence has exactly 7 fields"));
    }
    let [address, total, number, seq, channel, payload, fill] = fields;
    let bad = |field, value, reason| Err(Error::malformed(line_no, field, value, reason));
    let Some(total_n @ 1..=9) = single_digit(total) else {
        return bad("fragment count", total, "must be a digit 1-9");
    };
    let Some(number_n @ 1..=9) = single_digit(number).filter(|&k| k <= total_n) else {
        return bad("fragment number", number, "must be a digit 1 to the fragment count");
    };
    let seq_n = if seq.is_empty() {
        None
    } else {
        match single_digit(seq) {
            Some(s) => Some(s),
            None => return bad("sequence id", seq, "must be empty or a digit 0-9"),
        }
    };
    let channel_b = match channel {
        [] => 0,
        [c] => *c,
        _ => return bad("channel", channel, "must be empty or one character"),
    };
    let Some(fill_n @ 0..=5) = single_digit(fill) else {
        return bad("fill bits", fill, "must be a digit 0-5");
    };
    if payload.is_empty() {
        return bad("payload", payload, "is empty");
    }
    if payload.len() > MAX_PAYLOAD_CHARS {
        return bad("payload", payload, "is longer than 256 characters");
    }
    if let Some(pos) = payload.iter().position(|&c| !is_armor(c)) {
        return bad("payload", payload.get(pos..).unwrap_or(payload), "has a character outside six-bit armor");
    }
    let talker = match address {
        [a, b, _, _, _] => [*a, *b],
        _ => [b'?', b'?'],
    };
    let tag = match start.checked_sub(1).and_then(|end| line.get(..end).map(|pre| (end, pre))) {
        Some((end, pre)) if line.get(end) == Some(&b'\\') => match pre.iter().rposition(|&b| b == b'\\') {
            Some(open) => parse_tag_block(line.get(open + 1..end).unwrap_or(&[]), line_no).map_err(Some),
            None => Ok(TagBlock::default()),
        },
        _ => Ok(TagBlock::default()),
    };
    let (tag, tag_block_bad) = match tag {
        Ok(t) => (t, false),
        Err(_) => (TagBlock::default(), true),
    };
    Ok(Some(Sentence {
        talker,
        own_ship: address.get(4) == Some(&b'O'),
        total: total_n,
        number: number_n,
        seq: seq_n,
        channel: channel_b,
        payload,
        fill: fill_n,
        tag,
        checksum: found,
        tag_block_bad,
    }))
}

/// Parses a tag block's content (between the backslashes), e.g. `s:66,c:1555624740*3B`.
pub(crate) fn parse_tag_block(content: &[u8], line_no: u64) -> Result<TagBlock, Error> {
    let Some((body, found)) = split_checksum(content) else {
        return Err(Error::malformed(line_no, "tag block", content, "no `*hh` checksum"));
    };
    let computed = xor(body);
    if computed != found {
        return Err(Error::BadTagBlockChecksum { line: line_no, found, computed });
    }
    let mut tag = TagBlock::default();
    for param in body.split(|&b| b == b',') {
        match param {
            [b'c', b':', digits @ ..] => {
                let Some(t) = parse_unix_time(digits) else {
                    return Err(Error::malformed(
                        line_no,
                        "tag block c:",
                        digits,
                        "must be UNIX seconds or milliseconds",
                    ));
                };
                tag.unix_time = Some(t);
            }
            [b's', b':', src @ ..] => tag.source = Some(AisText::from_ascii(src)),
            _ => {}
        }
    }
    Ok(tag)
}

/// UNIX seconds; values of 13 or more digits are milliseconds (some receivers write those).
fn parse_unix_time(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0'));
    Some(if digits.len() >= 13 { v / 1000 } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_tagged_sentence_behind_a_logger_prefix() {
        let line = br"2019-04-19 00:00:00,804: \s:66,c:1555624740*3B\!AIVDM,1,1,,,19NSLshujFwsdHB2jicRpBCf06c`,0*04";
        let s = parse_line(line, 7).unwrap().unwrap();
        assert_eq!(s.tag.unix_time, Some(1_555_624_740));
        assert_eq!(s.tag.source.unwrap().as_str(), "66");
        assert_eq!((s.total, s.number, s.seq, s.channel, s.fill), (1, 1, None, 0, 0));
        assert_eq!(s.payload, b"19NSLshujFwsdHB2jicRpBCf06c`");
    }

    #[test]
    fn reports_checksum_mismatch_with_both_values() {
        let err = parse_line(b"!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*63", 3).unwrap_err();
        assert_eq!(err, Error::BadChecksum { line: 3, found: 0x63, computed: 0x62 });
    }

    #[test]
    fn refuses_an_eighth_field() {
        let err = parse_line(b"!AIVDM,1,1,1,,13@:`L001N0ded0O6Fp8wW<00<0t,0,0*1E", 1);
        assert!(matches!(err, Err(Error::Malformed { field: "sentence", .. } | Error::BadChecksum { .. })));
    }

    #[test]
    fn an_unreadable_tag_block_is_ignored_not_fatal() {
        // From pyais tests/mixed.txt: a one-digit tag block checksum.
        let s = parse_line(br"\g:1-2-73874*A\!AIVDM,1,1,,A,15MrVH0000KH<:V:NtBLoqFP2H9:,0*2F", 1).unwrap().unwrap();
        assert!(s.tag_block_bad);
        assert_eq!(s.tag, TagBlock::default());
        assert!(matches!(parse_tag_block(b"c:1*00", 4), Err(Error::BadTagBlockChecksum { line: 4, .. })));
    }

    #[test]
    fn other_nmea_is_not_ais() {
        assert_eq!(parse_line(b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47", 1), Ok(None));
    }
}
