//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/watch_rule.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::watch_rule(data));
}
