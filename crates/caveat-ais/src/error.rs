//! The crate's one error type.

/// What went wrong with one line of a feed, one payload, or one conversion.
///
/// Feed errors carry the 1-based line number (`line`) of the line that caused
/// them, so a summary can point at sentence 48,211 of a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The sentence's `*hh` checksum is not the XOR of its characters (NMEA 0183 §5.2.1).
    #[error("line {line}: sentence checksum is {found:02X}, computed {computed:02X}")]
    BadChecksum {
        /// Line number.
        line: u64,
        /// The checksum written in the sentence.
        found: u8,
        /// The XOR of the characters between `!` and `*`.
        computed: u8,
    },
    /// The tag block's `*hh` checksum does not match (IEC 61162-450 §7.3.2).
    #[error("line {line}: tag block checksum is {found:02X}, computed {computed:02X}")]
    BadTagBlockChecksum {
        /// Line number.
        line: u64,
        /// The checksum written in the tag block.
        found: u8,
        /// The XOR of the characters between `\` and `*`.
        computed: u8,
    },
    /// A field of the sentence or tag block does not have the standard's form.
    #[error("line {line}: field `{field}`: {reason} (got {value:?})")]
    Malformed {
        /// Line number.
        line: u64,
        /// Which field: `fragment count`, `payload`, `fill bits`, `tag block`, ...
        field: &'static str,
        /// The offending text, shortened to at most 32 characters.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A payload character is outside the AIS six-bit armor alphabet (ITU-R M.1371 Annex 8 §3.3.7 / IEC 61162-1 Table 7).
    #[error("payload byte {byte:#04x} at offset {offset} is not six-bit armor")]
    Armor {
        /// 0-based offset in the payload.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// A payload is longer than this crate accepts (1,536 bits; the longest AIS message is 1,008).
    #[error("payload of {chars} characters exceeds the {max}-character limit")]
    TooLong {
        /// Characters given.
        chars: usize,
        /// Largest accepted.
        max: usize,
    },
    /// A fragment of a multipart message arrived without the fragments before it.
    #[error("line {line}: fragment {number} of {total} (sequence id {seq:?}) has no matching earlier fragment")]
    OrphanFragment {
        /// Line number.
        line: u64,
        /// This fragment's number.
        number: u8,
        /// Fragments in the message.
        total: u8,
        /// Sequential message id, if any.
        seq: Option<u8>,
    },
    /// A supported message type is shorter than its fields (ITU-R M.1371-5 Annex 8, the message's table).
    #[error("line {line}: type {msg_type} message has {bits} bits, its fields need {needed}")]
    TooShort {
        /// Line number of the last fragment.
        line: u64,
        /// Message type.
        msg_type: u8,
        /// Bits received (after fill bits).
        bits: usize,
        /// Bits the fields need.
        needed: usize,
    },
    /// A type 24 message whose part number is neither 0 (A) nor 1 (B) (ITU-R M.1371-5 Table 80).
    #[error("line {line}: type 24 part number {part} is not 0 (part A) or 1 (part B)")]
    Type24Part {
        /// Line number.
        line: u64,
        /// The part number received.
        part: u8,
    },
    /// A decoded message could not become a valid report (bad position, time before 2000, ...).
    #[error("line {line}: not a valid report: {source}")]
    Report {
        /// Line number of the message.
        line: u64,
        /// What caveat-core refused.
        #[source]
        source: caveat_core::Error,
    },
}

impl Error {
    /// The 1-based line number the error is about, when it comes from a feed.
    pub fn line(&self) -> Option<u64> {
        match self {
            Error::BadChecksum { line, .. }
            | Error::BadTagBlockChecksum { line, .. }
            | Error::Malformed { line, .. }
            | Error::OrphanFragment { line, .. }
            | Error::TooShort { line, .. }
            | Error::Type24Part { line, .. }
            | Error::Report { line, .. } => Some(*line),
            Error::Armor { .. } | Error::TooLong { .. } => None,
        }
    }

    pub(crate) fn malformed(line: u64, field: &'static str, value: &[u8], reason: &'static str) -> Self {
        let shown = value.get(..32).unwrap_or(value);
        Error::Malformed { line, field, value: String::from_utf8_lossy(shown).into_owned(), reason }
    }
}
