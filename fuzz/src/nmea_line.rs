//! Properties, for any byte string:
//! - fed to a feed decoder line by line, every line yields a decoded message,
//!   nothing, or a typed error naming that very line; the final counts agree
//!   with what was returned;
//! - read as an armored payload, it is either refused with a typed error or
//!   armors back to itself (six-bit armor round trip).

use caveat_ais::{AisBits, FeedConfig, FeedDecoder, Message};

/// The property; see the module's documentation.
pub fn nmea_line(data: &[u8]) {
    let mut feed = FeedDecoder::new(FeedConfig { max_pending: 4, max_fragment_age: 8, max_fragment_age_s: 30 });
    let mut decoded = 0u64;
    let mut lines = 0u64;
    for line in data.split(|&b| b == b'\n') {
        lines += 1;
        match feed.push_line(line) {
            Ok(Some(d)) => {
                assert_eq!(d.line, lines);
                assert!(caveat_ais::SUPPORTED_TYPES.contains(&d.message.msg_type()));
                decoded += 1;
            }
            Ok(None) => {}
            Err(e) => {
                if let Some(l) = e.line() {
                    assert_eq!(l, lines, "{e}");
                }
            }
        }
    }
    let stats = feed.finish();
    assert_eq!(stats.lines, lines);
    assert_eq!(stats.decoded(), decoded);
    assert!(stats.sentences <= lines);

    if let Ok(bits) = AisBits::from_armor(data, 0) {
        let (text, fill) = bits.to_armor();
        assert_eq!((text.as_bytes(), fill), (data, 0));
        let _ = Message::decode(&bits, 1);
    }
}
