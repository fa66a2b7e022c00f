#![no_main]
//! libFuzzer entry point; the property is in `src/ndjson_ingest.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::ndjson_ingest(data));
