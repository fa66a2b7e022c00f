#![no_main]
//! libFuzzer entry point; the property is in `src/checkpoint_and_proof.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::checkpoint_and_proof(data));
