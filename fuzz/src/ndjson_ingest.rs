//! Property: any byte string is either a batch of reports that all re-validate
//! from their own JSON form, or a typed error; never a panic.

use caveat_core::{IngestContext, Marking, Partner, ReportIdMint, parse_batch};
use time::macros::datetime;

/// The property; see the module's documentation.
pub fn ndjson_ingest(data: &[u8]) {
    let partner = Partner {
        id: "GBR".parse().unwrap(),
        name: "fuzz".into(),
        default_marking: Marking::originator_only(),
        ais_marking: None,
    };
    let mut ctx = IngestContext {
        submitter: &partner,
        now: datetime!(2026-11-23 12:00 UTC),
        max_future_skew: time::Duration::minutes(5),
        mint: ReportIdMint::new(1_795_000_000_000, [1; 10]),
    };
    if let Ok(reports) = parse_batch(data, 1_000, &mut ctx) {
        for r in reports {
            let line = serde_json::to_vec(&r).unwrap();
            let again = parse_batch(&line, 1, &mut ctx).unwrap();
            assert_eq!(again[0], r);
        }
    }
}
