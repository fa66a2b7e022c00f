//! caveat-ais integration tests, through the public API only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies; decoded values are exact"
)]

mod feed;
mod fixture;
mod properties;
mod pyais_agreement;
mod report;
