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

use caveat_core::{IngestContext, Marking, Partner, ReportIdMint};
use time::macros::datetime;

/// The submitter every ingest target validates as: GBR, originator-only by default.
fn fuzz_partner() -> Partner {
    Partner {
        id: "GBR".parse().unwrap(),
        name: "fuzz".into(),
        default_marking: Marking::originator_only(),
        ais_marking: None,
    }
}

/// A fixed clock and id mint, so that a crash reproduces from its input alone.
fn fuzz_context(partner: &Partner) -> IngestContext<'_> {
    IngestContext {
        submitter: partner,
        now: datetime!(2026-11-23 12:00 UTC),
        max_future_skew: time::Duration::minutes(5),
        mint: ReportIdMint::new(1_795_000_000_000, [1; 10]),
    }
}
