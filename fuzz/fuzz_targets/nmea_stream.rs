#![no_main]
//! libFuzzer entry point; the property is in `src/nmea_stream.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| caveat_fuzz::nmea_stream(data));
