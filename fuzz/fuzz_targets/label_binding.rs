#![no_main]
//! libFuzzer entry point; the property is in `src/label_binding.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::label_binding(data));
