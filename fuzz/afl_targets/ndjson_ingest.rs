//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/ndjson_ingest.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::ndjson_ingest(data));
}
