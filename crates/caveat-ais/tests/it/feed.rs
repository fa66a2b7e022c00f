//! The feed decoder on whole recordings and on hand-made faults.

use caveat_ais::{Error, FeedConfig, FeedDecoder, Message, RateOfTurn};

use crate::fixture::{lines, recordings};

fn run(data: &[u8]) -> caveat_ais::FeedStats {
    let mut feed = FeedDecoder::new(FeedConfig::default());
    for line in lines(data) {
        let _ = feed.push_line(line);
    }
    feed.finish()
}

fn recording(name: &str) -> Vec<u8> {
    recordings().into_iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn dma_recording_counts_match_the_data_readme() {
    // ../shared/data/README.md: 26,146 VDM/VDO sentences; 1: 20,044, 3: 4,151,
    // 4: 1,234, 5: 69, 18: 493, 21: 25, 24: 61; no bad checksums.
    let stats = run(&recording("dma_aisabnormal_sample_2013.nmea.gz"));
    assert_eq!(stats.sentences, 26_146);
    assert_eq!(stats.bad_checksum, 0);
    assert_eq!(stats.malformed, 0);
    assert_eq!(stats.incomplete_multipart, 0);
    let want = [(1, 20_044), (3, 4_151), (4, 1_234), (5, 69), (18, 493), (21, 25), (24, 61)];
    for (t, n) in want {
        assert_eq!(stats.decoded_by_type[t], n, "type {t}");
    }
    assert_eq!(stats.decoded(), 26_077);
}

#[test]
fn gofree_extra_field_lines_are_all_malformed() {
    // README: 1,507 non-standard `!AIVDM,1,1,1,,<payload>,0,0*hh` lines.
    let stats = run(&recording("signalk_gofree-merrimac.nmea.gz"));
    assert_eq!((stats.sentences, stats.malformed, stats.decoded()), (1_507, 1_507, 0));
    let text = stats.to_string();
    assert!(text.contains("1507 malformed"), "{text}");
}

#[test]
fn invalid_type_24_parts_are_counted_invalid() {
    // README: 69 type-24 sentences with part number 3 (a device bug).
    let stats = run(&recording("gpsd_ais-18-27.nmea.gz"));
    assert_eq!(stats.invalid, 69);
    assert_eq!((stats.decoded_by_type[18], stats.decoded_by_type[27]), (69, 69));
}

#[test]
fn empty_payloads_and_orphans_are_counted() {
    // README: 100 empty-payload sentences and 20 orphan fragments.
    let stats = run(&recording("pyais_nmea_data_sample.nmea.gz"));
    assert_eq!(stats.malformed, 100);
    assert_eq!(stats.incomplete_multipart, 20);
}

#[test]
fn summary_names_every_count() {
    let mut feed = FeedDecoder::new(FeedConfig::default());
    feed.push_line(b"!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*62\r\n").unwrap().unwrap();
    assert_eq!(feed.push_line(b"!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*63").unwrap_err().line(), Some(2));
    feed.push_line(b"!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E").unwrap();
    let stats = feed.finish();
    assert_eq!(
        stats.to_string(),
        "3 lines, 3 AIS sentences read; 1 messages decoded (type 1: 1); 1 bad checksum, \
         0 bad tag block (ignored), 0 malformed, 1 incomplete multipart, 0 invalid, 0 unsupported."
    );
}

#[test]
fn not_available_values_become_none() {
    // Type 1 with lon 181, lat 91, SOG 1023, COG 3600, heading 511, ROT -128,
    // built bit by bit as ITU-R M.1371-5 Table 46 lays them out.
    let mut bits = String::new();
    let mut put = |v: i64, w: u32| {
        for i in (0..w).rev() {
            bits.push(if (v >> i) & 1 == 1 { '1' } else { '0' });
        }
    };
    put(1, 6);
    put(0, 2);
    put(211_000_000, 30);
    put(15, 4);
    put(-128, 8);
    put(1023, 10);
    put(0, 1);
    put(181 * 600_000, 28);
    put(91 * 600_000, 27);
    put(3600, 12);
    put(511, 9);
    put(60, 6);
    put(0, 2);
    put(0, 3);
    put(0, 1);
    put(0, 19);
    let bytes: Vec<u8> = bits
        .as_bytes()
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | u8::from(b == b'1')) << (8 - c.len()))
        .collect();
    let ais = caveat_ais::AisBits::from_bytes(&bytes, 168).unwrap();
    let Some(Message::Position(p)) = Message::decode(&ais, 1).unwrap() else { panic!("not a position") };
    assert_eq!(p.mmsi, 211_000_000);
    assert_eq!(p.coordinates.lat_lon(), None);
    assert_eq!((p.speed_kn(), p.course_deg(), p.heading_deg()), (None, None, None));
    assert_eq!(p.rate_of_turn(), RateOfTurn::NotAvailable);
}

#[test]
fn too_short_messages_name_the_type_and_lengths() {
    let bits = caveat_ais::AisBits::from_armor(b"13@:`L001N0ded0O6Fp8wW<00<0", 0).unwrap();
    assert_eq!(
        Message::decode(&bits, 9).unwrap_err(),
        Error::TooShort { line: 9, msg_type: 1, bits: 162, needed: 168 }
    );
}

#[test]
fn multipart_type_5_decodes_its_identity() {
    let mut feed = FeedDecoder::new(FeedConfig::default());
    assert_eq!(
        feed.push_line(
            br"\c:1641168000*54\!AIVDM,2,1,0,A,533WmR02D3w<tphD000<j0<tq@TLt00000000016;AJ@@4000IP000000000,0*37"
        ),
        Ok(None)
    );
    let d = feed.push_line(br"\c:1641168000*54\!AIVDM,2,2,0,A,00000000000,2*24").unwrap().unwrap();
    assert_eq!(d.line, 2);
    let Message::StaticVoyage(s) = d.message else { panic!("{:?}", d.message) };
    assert_eq!(s.mmsi, 205_125_000);
    assert!(!s.name.is_empty());
}

#[test]
fn gatehouse_times_stamp_the_sentence_they_name() {
    let data = recording("dma_aisabnormal_sample_2013.nmea.gz");
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let (mut stamped, mut total) = (0, 0);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for line in lines(&data) {
        if let Ok(Some(d)) = feed.push_line(line) {
            total += 1;
            if let Some(t) = d.tag.unix_time {
                stamped += 1;
                first = first.min(t);
                last = last.max(t);
            }
        }
    }
    // README: 2013-11-12T12:00:00Z .. 12:04:59Z.
    assert_eq!((first, last), (1_384_257_600, 1_384_257_899));
    assert_eq!(stamped, total);
}
