//! Integration tests of caveat-core through its public API only.

mod batch;
mod schema;
