//! Properties, for any byte string read as a TAK client's CoT event:
//! - `sighting` answers `Ok(None)`, a draft, or a typed error, never a panic,
//!   and the same answer twice (it keeps no state);
//! - a draft it returns validates as a report or is refused with a typed
//!   error (the hub validates every draft), and a report it yields
//!   round-trips through its JSON form.

use caveat_core::parse_batch;

/// The property; see the module's documentation.
pub fn cot_sighting(data: &[u8]) {
    let first = caveat_hub::cot::sighting(data);
    let again = caveat_hub::cot::sighting(data);
    assert_eq!(format!("{first:?}"), format!("{again:?}"));
    let Ok(Some(draft)) = first else { return };
    let partner = crate::fuzz_partner();
    let mut ctx = crate::fuzz_context(&partner);
    if let Ok(report) = draft.validate(&mut ctx) {
        let line = serde_json::to_vec(&report).unwrap();
        let back = parse_batch(&line, 1, &mut ctx).unwrap();
        assert_eq!(back[0], report);
    }
}
