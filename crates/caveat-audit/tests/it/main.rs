//! Integration tests of caveat-audit through its public API only.
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    reason = "test sizes and minutes are small numbers"
)]

#[cfg(test)]
mod c2sp_interop;
#[cfg(test)]
mod completeness;
#[cfg(test)]
mod fixture;
#[cfg(test)]
mod proofs;
#[cfg(test)]
mod public_api;
#[cfg(test)]
mod tamper;
#[cfg(test)]
mod usage;
#[cfg(test)]
mod vectors;
