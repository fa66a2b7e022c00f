//! AFL++ entry point (`cargo afl build --no-default-features --features afl`);
//! the property is in `src/checkpoint_and_proof.rs`.

fn main() {
    afl::fuzz!(|data: &[u8]| caveat_fuzz::checkpoint_and_proof(data));
}
