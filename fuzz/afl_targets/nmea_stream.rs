//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/nmea_stream.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::nmea_stream(data));
}
