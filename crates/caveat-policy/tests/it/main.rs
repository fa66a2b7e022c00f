//! caveat-policy's integration tests: public API only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies"
)]

mod adversarial;
mod fixture;
mod model;
mod prop;
mod state;
mod upload;
