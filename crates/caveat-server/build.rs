//! `include_dir!` cannot tell cargo which files it read, so without this a rebuilt `web/dist`
//! would leave a stale page embedded in an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
