//! Writes the checkpoint_and_proof target's seed inputs to
//! `corpus/checkpoint_and_proof/` (run from `fuzz/`).

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/checkpoint_and_proof");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in caveat_fuzz::checkpoint_seeds() {
        std::fs::write(dir.join(name), text).unwrap();
    }
}
