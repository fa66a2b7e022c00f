//! Conversion to caveat-core reports.

use caveat_ais::{FeedConfig, FeedDecoder, ReportConverter};
use caveat_core::{Marking, Purpose, SourceKind, VesselType};
use time::macros::datetime;

use crate::fixture::{context, lines, partner, recordings};

#[test]
fn positions_become_reports_with_identity_marking_and_tag_time() {
    let ais_marking = Marking::builder().to(&["GBR"]).purposes(&[Purpose::MaritimeSafety]).build();
    let nld = partner(Some(ais_marking.clone()));
    let mut ctx = context(&nld);
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let mut conv = ReportConverter::new();
    let lines: [&[u8]; 3] = [
        br"\c:1641168000*54\!AIVDM,2,1,0,A,533WmR02D3w<tphD000<j0<tq@TLt00000000016;AJ@@4000IP000000000,0*37",
        br"\c:1641168000*54\!AIVDM,2,2,0,A,00000000000,2*24",
        br"\c:1641168000*54\!AIVDM,1,1,,A,133WmR0P1aISghtA8Mh6dmL1P000,0*50",
    ];
    let mut reports = Vec::new();
    for l in lines {
        if let Some(d) = feed.push_line(l).unwrap() {
            reports.extend(conv.convert(&d, datetime!(2026-11-23 11:00 UTC), &mut ctx).unwrap());
        }
    }
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.source, SourceKind::Ais);
    assert_eq!(r.originator.as_str(), "NLD");
    assert_eq!(r.marking, ais_marking);
    assert_eq!(r.observed_at, datetime!(2022-01-03 0:00 UTC));
    let id = conv.identity(205_125_000).unwrap();
    assert_eq!(r.vessel.name, id.name);
    assert!(r.vessel.name.is_some() && r.vessel.call_sign.is_some());
    assert!(r.vessel.length_m.is_some());
    assert!([10.0, 100.0].contains(&r.uncertainty_m));
}

#[test]
fn without_a_tag_time_the_receive_time_is_used_and_accuracy_sets_uncertainty() {
    let nld = partner(None);
    let mut ctx = context(&nld);
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let mut conv = ReportConverter::new();
    let d = feed.push_line(b"!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*62").unwrap().unwrap();
    let received = datetime!(2026-11-23 11:59 UTC);
    let r = conv.convert(&d, received, &mut ctx).unwrap().unwrap();
    assert_eq!(r.observed_at, received);
    assert_eq!(r.marking, Marking::originator_only());
    let caveat_ais::Message::Position(p) = &d.message else { panic!() };
    assert_eq!(r.uncertainty_m, if p.accuracy { 10.0 } else { 100.0 });
}

#[test]
fn a_whole_recording_converts_without_error_and_learns_identities() {
    let data = recordings().into_iter().find(|(n, _)| n == "dma_aislib_stream_example.nmea.gz").unwrap().1;
    let nld = partner(None);
    let mut ctx = context(&nld);
    let mut feed = FeedDecoder::new(FeedConfig::default());
    let mut conv = ReportConverter::new();
    let received = datetime!(2026-11-23 11:59 UTC);
    let (mut reports, mut named, mut typed) = (0, 0, 0);
    for line in lines(&data) {
        if let Ok(Some(d)) = feed.push_line(line)
            && let Some(r) = conv.convert(&d, received, &mut ctx).unwrap()
        {
            reports += 1;
            named += usize::from(r.vessel.name.is_some());
            typed += usize::from(r.vessel.vessel_type.is_some_and(|t| t != VesselType::Other));
            assert!(r.vessel.mmsi.is_some());
        }
    }
    assert!(reports > 2_500, "{reports}");
    assert!(named > 100 && typed > 100, "{named} named, {typed} typed");
}
