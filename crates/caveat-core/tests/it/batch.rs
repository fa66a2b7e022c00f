//! NDJSON batches: every bad input is refused with its line and field.

use caveat_core::{
    DEFAULT_FUTURE_SKEW, Error, IngestContext, Marking, Partner, Purpose, Report, ReportIdMint, parse_batch,
};
use proptest::prelude::*;
use time::macros::datetime;

fn gbr() -> Partner {
    Partner {
        id: "GBR".parse().unwrap(),
        name: "Royal Navy".into(),
        default_marking: Marking::builder().to(&["CAN"]).purposes(&[Purpose::Interdiction]).build(),
        ais_marking: Some(Marking::builder().to(&["CAN", "FRA"]).purposes(&[Purpose::MaritimeSafety]).build()),
    }
}

fn parse(p: &Partner, input: &str) -> Result<Vec<Report>, Error> {
    let mut ctx = IngestContext {
        submitter: p,
        now: datetime!(2026-11-23 12:00 UTC),
        max_future_skew: DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(1_795_000_000_000, [3; 10]),
    };
    parse_batch(input.as_bytes(), 100_000, &mut ctx)
}

const GOOD: &str = r#"{"observed_at":"2026-11-20T03:14:00Z","position":{"lat":18.3,"lon":-64.9},"uncertainty_m":120,"source":"coastal-radar"}"#;

fn with(field: &str) -> String {
    GOOD.replacen('{', &format!("{{{field},"), 1)
}

#[test]
fn defaults_come_from_the_partner() {
    let p = gbr();
    let r = parse(&p, GOOD).unwrap();
    assert_eq!(r[0].originator, p.id);
    assert_eq!(r[0].marking, p.default_marking);
    let ais = GOOD.replace("coastal-radar", "ais");
    assert_eq!(&parse(&p, &ais).unwrap()[0].marking, p.ais_marking.as_ref().unwrap());
}

#[test]
fn each_bad_field_is_named_with_its_line() {
    let p = gbr();
    let cases: Vec<(String, &str, &str)> = vec![
        (GOOD.replace("18.3", "95"), "position.lat", "latitude"),
        (GOOD.replace("-64.9", "-181"), "position.lon", "longitude"),
        (GOOD.replace("120", "0"), "uncertainty_m", "greater than 0"),
        (GOOD.replace("2026-11-20", "2027-01-01"), "observed_at", "future"),
        (with(r#""vessel":{"mmsi":"12345"}"#), "vessel.mmsi", "9 digits"),
        (with(r#""vessel":{"imo":"9074728"}"#), "vessel.imo", "check digit"),
        (with(r#""vessel":{"flag":"XX"}"#), "vessel.flag", "ISO 3166"),
        (with(r#""vessel":{"name":""}"#), "vessel.name", "blank"),
        (with(&format!(r#""remarks":"{}""#, "x".repeat(2001))), "remarks", "too long"),
        (with(r#""course_deg":360"#), "course_deg", "[0, 360)"),
        (with(r#""speed_kn":-1"#), "speed_kn", "102.2"),
        (GOOD.replace("coastal-radar", "sonar"), "source", "unknown variant"),
        (with(r#""originator":"CAN""#), "originator", "submitted as GBR"),
        (with(r#""colour":"red""#), "colour", "unknown field"),
        (with(r#""marking":{"purposes":["strike"]}"#), "marking.purposes[0]", "unknown variant"),
        (with(r#""id":"67e55044-10b1-426f-9247-bb680e5fe0c8""#), "id", "UUIDv7"),
    ];
    for (bad, field, why) in cases {
        let input = format!("{GOOD}\n{GOOD}\n{bad}\n{GOOD}\n");
        let err = parse(&p, &input).unwrap_err();
        assert_eq!(err.line(), Some(3), "{err}");
        assert_eq!(err.field(), Some(field), "{err}");
        let text = err.to_string();
        assert!(text.starts_with("line 3: "), "{text}");
        assert!(text.contains(why), "{text} should say {why}");
    }
}

#[test]
fn malformed_lines_are_clear_errors() {
    let p = gbr();
    let truncated = &GOOD[..GOOD.len() - 10];
    let err = parse(&p, &format!("{GOOD}\n{truncated}")).unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert!(err.to_string().contains("truncated JSON"), "{err}");

    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"remarks\":\"\xff\xfe\"}\n");
    let mut ctx = IngestContext {
        submitter: &p,
        now: datetime!(2026-11-23 12:00 UTC),
        max_future_skew: DEFAULT_FUTURE_SKEW,
        mint: ReportIdMint::new(1, [0; 10]),
    };
    let err = parse_batch(&bytes, 10, &mut ctx).unwrap_err();
    assert_eq!(err.to_string(), "line 2: not valid UTF-8 (first bad byte at column 13)");

    assert_eq!(parse(&p, "").unwrap_err(), Error::EmptyBatch);
    assert_eq!(parse(&p, "\n  \n").unwrap_err(), Error::EmptyBatch);
    let err = parse(&p, &format!("{GOOD} trailing")).unwrap_err();
    assert!(err.to_string().contains("trailing"), "{err}");
}

#[test]
fn duplicate_ids_in_one_batch_are_refused() {
    let p = gbr();
    let line = with(r#""id":"019ab000-0000-7000-8000-000000000001""#);
    let err = parse(&p, &format!("{line}\n{GOOD}\n{line}")).unwrap_err();
    assert_eq!(err.to_string(), "line 3: field `id`: 019ab000-0000-7000-8000-000000000001 already used on line 1");
}

/// Issue 14: one partner reusing another's report id stores a report of its
/// own (under a different id), so the id says nothing of the other's reports.
#[test]
fn regression_14_supplied_ids_are_scoped_to_their_originator() {
    let supplied: caveat_core::ReportId = "019ab000-0000-7000-8000-000000000001".parse().unwrap();
    let (g_id, c_id): (caveat_core::PartnerId, caveat_core::PartnerId) =
        ("GBR".parse().unwrap(), "CAN".parse().unwrap());
    let (g, c) = (supplied.scoped_to(&g_id), supplied.scoped_to(&c_id));
    assert_ne!(g, c);
    assert_ne!(g, supplied);
    assert_eq!(g, supplied.scoped_to(&g_id), "the same partner's same id is the same report");
    assert_eq!(g.unix_millis(), supplied.unix_millis(), "time order is kept");
    assert!(g.to_string().parse::<caveat_core::ReportId>().is_ok(), "still a UUIDv7");
    let stored = parse(&gbr(), &with(r#""id":"019ab000-0000-7000-8000-000000000001""#)).unwrap();
    assert_eq!(stored[0].id, g);
}

#[test]
fn one_bad_line_in_100k_fails_the_batch() {
    let p = gbr();
    let mut input = String::with_capacity(130 * 100_000);
    for i in 1..=100_000 {
        if i == 73_456 {
            input.push_str(&GOOD.replace("18.3", "-90.5"));
        } else {
            input.push_str(GOOD);
        }
        input.push('\n');
    }
    let err = parse(&p, &input).unwrap_err();
    assert_eq!(err.line(), Some(73_456));
    assert_eq!(err.field(), Some("position.lat"));
}

fn arb_marking() -> impl Strategy<Value = Marking> {
    let partners = prop::sample::subsequence(vec!["CAN", "FRA", "NLD", "USA-USCG", "JIATFS"], 0..=5);
    let purposes = prop::sample::subsequence(Purpose::ALL.to_vec(), 0..=5);
    (partners, purposes, any::<bool>(), any::<bool>(), prop::option::of(0i64..2_000_000_000)).prop_map(
        |(to, purposes, requires_case, no_export, not_after)| {
            let mut b = Marking::builder().to(&to).purposes(&purposes);
            if requires_case {
                b = b.requires_case();
            }
            if no_export {
                b = b.no_export();
            }
            if let Some(t) = not_after {
                b = b.not_after(time::OffsetDateTime::from_unix_timestamp(t).unwrap());
            }
            b.build()
        },
    )
}

proptest! {
    #[test]
    fn marking_serde_round_trips(m in arb_marking()) {
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Marking>(&json).unwrap(), m);
    }

    #[test]
    fn stored_json_is_valid_input(
        lat in -90.0f64..=90.0, lon in -180.0f64..=180.0, u in 0.1f64..500_000.0,
        course in prop::option::of(0.0f64..359.99), speed in prop::option::of(0.0f64..102.2),
        m in arb_marking(),
    ) {
        let p = gbr();
        let r = Report::builder().position(lat, lon).uncertainty_m(u).velocity(course, speed).marking(m).build();
        let line = serde_json::to_string(&r).unwrap();
        let back = parse(&p, &line).unwrap();
        // Everything but the id, which a partner's supplied id is scoped to it.
        let scoped = Report { id: r.id.scoped_to(&p.id), ..r.clone() };
        prop_assert_eq!(&back[0], &scoped);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let p = gbr();
        let mut ctx = IngestContext {
            submitter: &p,
            now: datetime!(2026-11-23 12:00 UTC),
            max_future_skew: DEFAULT_FUTURE_SKEW,
            mint: ReportIdMint::new(1, [0; 10]),
        };
        match parse_batch(&bytes, 10, &mut ctx) {
            Ok(reports) => prop_assert!(!reports.is_empty()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
