//! The bodies of Caveat's fuzz targets, one function per target, each asserting
//! its target's property. Two thin sets of entry points call them:
//! `fuzz_targets/` for cargo-fuzz (libFuzzer, needs nightly) and `afl_targets/`
//! for cargo-afl (AFL++, works on stable; see `scripts/fuzz`).

mod checkpoint_and_proof;
mod cot_sighting;
mod label_binding;
mod ndjson_ingest;
mod nmea_line;
mod nmea_stream;
mod policy_upload;
mod watch_rule;

pub use checkpoint_and_proof::{checkpoint_and_proof, checkpoint_seeds};
pub use cot_sighting::cot_sighting;
pub use label_binding::label_binding;
pub use ndjson_ingest::ndjson_ingest;
pub use nmea_line::nmea_line;
pub use nmea_stream::nmea_stream;
pub use policy_upload::policy_upload;
pub use watch_rule::watch_rule;
