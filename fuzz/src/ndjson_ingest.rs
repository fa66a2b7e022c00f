//! Property: any byte string is either a batch of reports that all re-validate
//! from their own JSON form, or a typed error; never a panic.

use caveat_core::parse_batch;

/// The property; see the module's documentation.
pub fn ndjson_ingest(data: &[u8]) {
    let partner = crate::fuzz_partner();
    let mut ctx = crate::fuzz_context(&partner);
    if let Ok(reports) = parse_batch(data, 1_000, &mut ctx) {
        for r in reports {
            let line = serde_json::to_vec(&r).unwrap();
            let again = parse_batch(&line, 1, &mut ctx).unwrap();
            assert_eq!(again[0], r);
        }
    }
}
