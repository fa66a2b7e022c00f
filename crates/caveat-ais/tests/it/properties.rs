//! Property tests: no input panics, every byte string yields a typed result or
//! a typed error, and the six-bit armor round-trips.

use caveat_ais::{AisBits, Error, FeedConfig, FeedDecoder, Message};
use proptest::prelude::*;

/// Builds a checksummed sentence around `payload`.
fn sentence(total: u8, number: u8, seq: &str, payload: &str, fill: u8) -> String {
    let body = format!("AIVDM,{total},{number},{seq},A,{payload},{fill}");
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("!{body}*{sum:02X}")
}

fn armor_char() -> impl Strategy<Value = char> {
    prop_oneof![(48u8..=87).prop_map(char::from), (96u8..=119).prop_map(char::from)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_bytes_give_a_typed_outcome(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 1..8)) {
        let mut feed = FeedDecoder::new(FeedConfig { max_pending: 2, max_fragment_age: 3, max_fragment_age_s: 5 });
        let mut errors = 0u64;
        let mut decoded = 0u64;
        for line in &lines {
            match feed.push_line(line) {
                Ok(Some(_)) => decoded += 1,
                Ok(None) => {}
                Err(e) => {
                    errors += 1;
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
        let stats = feed.finish();
        prop_assert_eq!(stats.lines, lines.len() as u64);
        prop_assert_eq!(stats.decoded(), decoded);
        prop_assert!(stats.bad_checksum + stats.malformed + stats.invalid <= errors + stats.incomplete_multipart);
    }

    #[test]
    fn any_valid_sentence_gives_a_typed_outcome(
        payload in prop::collection::vec(armor_char(), 1..80),
        fill in 0u8..=5,
        parts in 1u8..=3,
        prefix in "[ -~]{0,12}",
    ) {
        let payload: String = payload.into_iter().collect();
        let mut feed = FeedDecoder::new(FeedConfig::default());
        let mut last = Ok(None);
        for k in 1..=parts {
            let line = format!("{prefix}{}", sentence(parts, k, "7", &payload, if k == parts { fill } else { 0 }));
            last = feed.push_line(line.as_bytes());
        }
        match last {
            Ok(Some(d)) => prop_assert!(caveat_ais::SUPPORTED_TYPES.contains(&d.message.msg_type())),
            Ok(None) => prop_assert_eq!(feed.stats().unsupported(), 1),
            Err(e) => prop_assert!(matches!(e, Error::TooShort { .. } | Error::Type24Part { .. }), "{e}"),
        }
        prop_assert_eq!(feed.finish().incomplete_multipart, 0);
    }

    #[test]
    fn armor_round_trips_from_bits(bytes in prop::collection::vec(any::<u8>(), 0..150), cut in 0usize..8) {
        let bits = (bytes.len() * 8).saturating_sub(cut);
        let a = AisBits::from_bytes(&bytes, bits).unwrap();
        let (text, fill) = a.to_armor();
        prop_assert!(fill <= 5);
        let b = AisBits::from_armor(text.as_bytes(), fill).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(b.len(), bits);
    }

    #[test]
    fn armor_round_trips_from_text(chars in prop::collection::vec(armor_char(), 1..170)) {
        let text: String = chars.into_iter().collect();
        let a = AisBits::from_armor(text.as_bytes(), 0).unwrap();
        prop_assert_eq!(a.to_armor(), (text, 0));
        // Decoding never panics on any complete payload.
        let _ = Message::decode(&a, 1);
    }
}
