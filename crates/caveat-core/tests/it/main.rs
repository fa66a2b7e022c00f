//! Integration tests of caveat-core through its public API only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies"
)]

mod batch;
mod schema;
