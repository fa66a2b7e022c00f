//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/label_binding.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::label_binding(data));
}
