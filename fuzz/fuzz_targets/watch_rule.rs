#![no_main]
//! libFuzzer entry point; the property is in `src/watch_rule.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::watch_rule(data));
