#![no_main]
// Placeholder: the crate's issue fills this target in.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
