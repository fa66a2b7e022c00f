//! Six-bit payload armor and the bit reader over a decoded payload.
//!
//! ITU-R M.1371-5 Annex 8 §3.3.7 / IEC 61162-1 Table 7: each payload character
//! carries six bits; `0`..`W` map to 0..39 and `` ` ``..`w` to 40..63. The
//! decoded bits live in a fixed stack buffer so decoding never allocates: a
//! per-sentence `Vec` would cost more than decoding a position report.

use crate::Error;

/// Longest payload accepted, in armor characters (1,536 bits). The longest AIS
/// message (5 slots) is 1,008 bits, 168 characters.
pub(crate) const MAX_PAYLOAD_CHARS: usize = 256;
const MAX_BYTES: usize = MAX_PAYLOAD_CHARS * 6 / 8;
/// Eight bytes of slack so a 64-bit window can always be loaded.
const BUF_BYTES: usize = MAX_BYTES + 8;

const INVALID: u8 = 0xFF;

/// Armor character → six-bit value, `INVALID` elsewhere.
#[expect(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "evaluated at compile time over a bounded loop; values are below 256"
)]
const DEARMOR: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut c = 48usize;
    while c < 128 {
        if c <= 87 {
            t[c] = (c - 48) as u8;
        } else if c >= 96 && c <= 119 {
            t[c] = (c - 56) as u8;
        }
        c += 1;
    }
    t
};

/// Six-bit value → armor character.
#[expect(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "evaluated at compile time over a bounded loop; values are below 256"
)]
const ARMOR: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut v = 0usize;
    while v < 64 {
        t[v] = if v < 40 { (v + 48) as u8 } else { (v + 56) as u8 };
        v += 1;
    }
    t
};

/// Six-bit ASCII (ITU-R M.1371-5 Table 47): 0..31 are `@A..Z[\]^_`, 32..63 are ` !"..?`.
#[expect(
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "evaluated at compile time over a bounded loop; values are below 256"
)]
const SIXBIT_TEXT: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut v = 0usize;
    while v < 64 {
        t[v] = if v < 32 { (v + 64) as u8 } else { v as u8 };
        v += 1;
    }
    t
};

/// Whether `c` is a six-bit armor character.
pub(crate) fn is_armor(c: u8) -> bool {
    DEARMOR.get(usize::from(c)).is_some_and(|&v| v != INVALID)
}

/// The bits of one AIS message, decoded from its armored payload.
///
/// Fixed capacity (1,536 bits), on the stack; trailing bits beyond `len()` are zero.
#[derive(Clone)]
pub struct AisBits {
    bytes: [u8; BUF_BYTES],
    bits: usize,
}

impl std::fmt::Debug for AisBits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (armor, fill) = self.to_armor();
        write!(f, "AisBits({armor},{fill})")
    }
}

impl PartialEq for AisBits {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for AisBits {}

impl AisBits {
    /// Decodes an armored payload, dropping its `fill_bits` trailing pad bits.
    ///
    /// # Errors
    /// [`Error::TooLong`] above 256 characters, [`Error::Armor`] on a byte
    /// outside the armor alphabet. A fill larger than 5 or than the payload is
    /// clamped: the sentence parser checks that field.
    pub fn from_armor(payload: &[u8], fill_bits: u8) -> Result<Self, Error> {
        if payload.len() > MAX_PAYLOAD_CHARS {
            return Err(Error::TooLong { chars: payload.len(), max: MAX_PAYLOAD_CHARS });
        }
        let mut out = AisBits { bytes: [0; BUF_BYTES], bits: 0 };
        // Four characters make exactly three bytes.
        let mut chunks = payload.chunks_exact(4);
        let mut at = 0usize;
        for (i, chunk) in chunks.by_ref().enumerate() {
            let mut acc = 0u32;
            for (j, &c) in chunk.iter().enumerate() {
                let v = dearmor(c, i * 4 + j)?;
                acc = (acc << 6) | u32::from(v);
            }
            if let Some(dst) = out.bytes.get_mut(at..at + 3) {
                dst.copy_from_slice(&acc.to_be_bytes()[1..]);
            }
            at += 3;
        }
        let rest = chunks.remainder();
        let mut acc = 0u32;
        for (j, &c) in rest.iter().enumerate() {
            acc = (acc << 6) | u32::from(dearmor(c, payload.len() - rest.len() + j)?);
        }
        if !rest.is_empty() {
            // Left-align the 6..18 remaining bits in 24.
            acc <<= 6 * (4 - rest.len());
            if let Some(dst) = out.bytes.get_mut(at..at + 3) {
                dst.copy_from_slice(&acc.to_be_bytes()[1..]);
            }
        }
        out.bits = (payload.len() * 6).saturating_sub(usize::from(fill_bits.min(5)));
        out.clear_tail();
        Ok(out)
    }

    /// Takes the first `bits` bits of `bytes` (most significant bit first).
    ///
    /// # Errors
    /// [`Error::TooLong`] when `bits` exceeds 1,536 or `bytes` holds fewer bits.
    pub fn from_bytes(bytes: &[u8], bits: usize) -> Result<Self, Error> {
        let need = bits.div_ceil(8);
        let chars = bits.div_ceil(6);
        if chars > MAX_PAYLOAD_CHARS || need > bytes.len() {
            return Err(Error::TooLong { chars, max: MAX_PAYLOAD_CHARS });
        }
        let mut out = AisBits { bytes: [0; BUF_BYTES], bits };
        if let (Some(dst), Some(src)) = (out.bytes.get_mut(..need), bytes.get(..need)) {
            dst.copy_from_slice(src);
        }
        out.clear_tail();
        Ok(out)
    }

    /// Armors the bits: the payload text and its fill-bit count (0..=5).
    pub fn to_armor(&self) -> (String, u8) {
        let chars = self.bits.div_ceil(6);
        let mut s = String::with_capacity(chars);
        for i in 0..chars {
            let v = self.uint(i * 6, 6);
            s.push(char::from(ARMOR.get(v as usize).copied().unwrap_or(b'0')));
        }
        let fill = u8::try_from(chars * 6 - self.bits).unwrap_or(0);
        (s, fill)
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.bits
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The bits as bytes, the last one zero-padded.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.bits.div_ceil(8)).unwrap_or(&[])
    }

    /// The message type: the first six bits (ITU-R M.1371-5 Annex 8 §3.3.7).
    pub fn msg_type(&self) -> u8 {
        // Six bits always fit a u8.
        (self.uint(0, 6) & 0x3F) as u8
    }

    /// `width` (1..=32) bits at bit `start`, unsigned. Bits past the end read as zero.
    pub(crate) fn uint(&self, start: usize, width: u32) -> u32 {
        let byte = start / 8;
        let window: [u8; 8] = self.bytes.get(byte..byte + 8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]);
        let w = u64::from_be_bytes(window) << (start % 8);
        // width <= 32 and start % 8 <= 7, so the field lies inside the window.
        u32::try_from(w >> (64 - width.clamp(1, 32))).unwrap_or(0)
    }

    /// `width` (2..=32) bits at `start`, two's complement.
    pub(crate) fn int(&self, start: usize, width: u32) -> i32 {
        let raw = self.uint(start, width);
        let shift = 32 - width.clamp(1, 32);
        // Reinterpret then sign-extend by an arithmetic shift.
        (i32::from_ne_bytes((raw << shift).to_ne_bytes())) >> shift
    }

    /// One bit as a flag.
    pub(crate) fn flag(&self, start: usize) -> bool {
        self.uint(start, 1) == 1
    }

    /// `chars` six-bit characters from `start`, as pyais/gpsd present them:
    /// trailing `@` padding removed, then surrounding spaces (ITU-R M.1371-5
    /// Table 47 uses `@` for "not available" and as padding).
    pub(crate) fn text(&self, start: usize, chars: usize) -> AisText {
        let mut t = AisText::default();
        for i in 0..chars.min(AIS_TEXT_CAPACITY) {
            let v = self.uint(start + i * 6, 6);
            t.push(SIXBIT_TEXT.get(v as usize).copied().unwrap_or(b'@'));
        }
        t.trim();
        t
    }

    fn clear_tail(&mut self) {
        let full = self.bits / 8;
        let rem = self.bits % 8;
        let mut from = full;
        if rem != 0 {
            if let Some(b) = self.bytes.get_mut(full) {
                *b &= 0xFFu8 << (8 - rem);
            }
            from += 1;
        }
        if let Some(tail) = self.bytes.get_mut(from..) {
            tail.fill(0);
        }
    }
}

fn dearmor(c: u8, offset: usize) -> Result<u8, Error> {
    match DEARMOR.get(usize::from(c)) {
        Some(&v) if v != INVALID => Ok(v),
        _ => Err(Error::Armor { offset, byte: c }),
    }
}

const AIS_TEXT_CAPACITY: usize = 34;

/// Short AIS text (names, call signs, destinations): at most 34 six-bit
/// characters, held inline so decoding does not allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AisText {
    bytes: [u8; AIS_TEXT_CAPACITY],
    len: u8,
}

impl Default for AisText {
    fn default() -> Self {
        AisText { bytes: [0; AIS_TEXT_CAPACITY], len: 0 }
    }
}

impl AisText {
    /// The text (six-bit ASCII is a subset of ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.bytes.get(..usize::from(self.len)).unwrap_or(&[])).unwrap_or("")
    }

    /// Whether it is empty (not available).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn from_ascii(s: &[u8]) -> Self {
        let mut t = AisText::default();
        for &b in s.iter().take(AIS_TEXT_CAPACITY) {
            t.push(if b.is_ascii() && !b.is_ascii_control() { b } else { b'?' });
        }
        t
    }

    pub(crate) fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Appends another text (type 21 name extension).
    pub(crate) fn extend(&mut self, other: &AisText) {
        for &b in other.as_str().as_bytes() {
            self.push(b);
        }
    }

    fn trim(&mut self) {
        let s = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        let mut end = s.len();
        while end > 0 && s.get(end - 1) == Some(&b'@') {
            end -= 1;
        }
        while end > 0 && s.get(end - 1) == Some(&b' ') {
            end -= 1;
        }
        let start = s.iter().take(end).take_while(|&&b| b == b' ').count();
        let mut out = [0u8; AIS_TEXT_CAPACITY];
        if let (Some(dst), Some(src)) = (out.get_mut(..end - start), s.get(start..end)) {
            dst.copy_from_slice(src);
        }
        self.bytes = out;
        self.len = u8::try_from(end - start).unwrap_or(0);
    }
}

impl std::fmt::Debug for AisText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for AisText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_known_type_1_payload() {
        let b = AisBits::from_armor(b"13@:`L001N0ded0O6Fp8wW<00<0t", 0).unwrap();
        assert_eq!(b.len(), 168);
        assert_eq!(b.msg_type(), 1);
        let (armor, fill) = b.to_armor();
        assert_eq!((armor.as_str(), fill), ("13@:`L001N0ded0O6Fp8wW<00<0t", 0));
    }

    #[test]
    fn refuses_non_armor_bytes_with_offset() {
        assert_eq!(AisBits::from_armor(b"13X", 0).unwrap_err(), Error::Armor { offset: 2, byte: b'X' });
    }

    #[test]
    fn signed_fields_sign_extend() {
        let b = AisBits::from_bytes(&[0xFF, 0x00], 16).unwrap();
        assert_eq!(b.int(0, 8), -1);
        assert_eq!(b.int(4, 8), -16);
        assert_eq!(b.uint(4, 8), 0xF0);
    }

    #[test]
    fn text_trims_at_padding() {
        // "AB@@" then spaces: 'A'=1, 'B'=2, '@'=0.
        let b = AisBits::from_bytes(&[0b0000_0100, 0b0010_0000, 0, 0], 24).unwrap();
        assert_eq!(b.text(0, 4).as_str(), "AB");
    }
}
