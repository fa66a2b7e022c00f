//! Properties, for any byte string read as a TAK client's CoT event:
//! - `sighting` answers `Ok(None)`, a draft, or a typed error, never a panic,
//!   and the same answer twice (it keeps no state);
//! - a draft it returns validates as a report or is refused with a typed
//!   error (the hub validates every draft), and a report it yields
//!   round-trips through its JSON form.

use caveat_core::{IngestContext, Marking, Partner, ReportIdMint, parse_batch};
use time::macros::datetime;

/// The property; see the module's documentation.
pub fn cot_sighting(data: &[u8]) {
    let first = caveat_hub::cot::sighting(data);
    let again = caveat_hub::cot::sighting(data);
    assert_eq!(format!("{first:?}"), format!("{again:?}"));
    let Ok(Some(draft)) = first else { return };
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
    if let Ok(report) = draft.validate(&mut ctx) {
        let line = serde_json::to_vec(&report).unwrap();
        let back = parse_batch(&line, 1, &mut ctx).unwrap();
        assert_eq!(back[0], report);
    }
}
