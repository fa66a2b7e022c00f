//! Integration tests of caveat-fusion through its public API only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::items_after_statements,
    clippy::if_not_else,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::redundant_closure_for_method_calls,
    reason = "test fixtures and helpers outside #[test] functions: a failure is a test failure"
)]

mod differential;
mod memo;
mod replay;
mod scenario;
mod tracking;
