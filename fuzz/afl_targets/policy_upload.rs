//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/policy_upload.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::policy_upload(data));
}
