//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/cot_sighting.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::cot_sighting(data));
}
