#![no_main]
//! libFuzzer entry point; the property is in `src/cot_sighting.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::cot_sighting(data));
