#![no_main]
//! libFuzzer entry point; the property is in `src/policy_upload.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::policy_upload(data));
