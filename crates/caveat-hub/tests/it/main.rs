//! Integration tests of caveat-hub through its public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests fail loudly; clippy.toml exempts only #[test] bodies"
)]

mod accounting;
