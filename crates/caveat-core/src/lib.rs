//! Caveat's domain types: partners, users, reports, markings, purposes and view keys.
//!
//! This crate does no I/O, reads no clock and draws no randomness: time and
//! entropy arrive as arguments. Storage is `caveat-store`, access decisions are
//! `caveat-policy`, fusion into tracks is `caveat-fusion`.
//!
//! The main types:
//! - [`Report`]: one observation by one [`PartnerId`] (the originator), with its [`Marking`].
//! - [`ReportDraft`]: a report as submitted; [`ReportDraft::validate`] checks every field
//!   against an [`IngestContext`] and fills in the originator's defaults.
//! - [`Marking`]: releasable-to, purposes, not-after, requires-case, no-export.
//! - [`Purpose`], [`SourceKind`], [`Role`]: closed sets, as enums.
//! - [`ViewKey`]: (partner, purpose, case) of a request.
//! - [`Case`]: an interdiction and its [`CaseStep`]s, with [`Case::check_transition`] enforcing their order.
//! - [`parse_batch`]: an NDJSON batch, all reports valid or an error naming the line and field.
//!
//! ```
//! use caveat_core::{parse_batch, IngestContext, Marking, Partner, ReportIdMint, DEFAULT_FUTURE_SKEW};
//! use time::macros::datetime;
//!
//! let gbr = Partner {
//!     id: "GBR".parse()?,
//!     name: "Royal Navy".into(),
//!     default_marking: Marking::originator_only(),
//!     ais_marking: None,
//! };
//! let mut ctx = IngestContext {
//!     submitter: &gbr,
//!     now: datetime!(2026-11-23 12:00 UTC),
//!     max_future_skew: DEFAULT_FUTURE_SKEW,
//!     mint: ReportIdMint::new(1_795_000_000_000, [7; 10]),
//! };
//! let line = br#"{"observed_at":"2026-11-23T11:00:00Z","position":{"lat":18.4,"lon":-64.6},"uncertainty_m":150,"source":"coastal-radar"}"#;
//! let reports = parse_batch(line, 10_000, &mut ctx)?;
//! assert_eq!(reports[0].originator.as_str(), "GBR");
//!
//! let bad = br#"{"observed_at":"2026-11-23T11:00:00Z","position":{"lat":98.4,"lon":-64.6},"uncertainty_m":150,"source":"coastal-radar"}"#;
//! let err = parse_batch(bad, 10_000, &mut ctx).unwrap_err();
//! assert_eq!(err.line(), Some(1));
//! assert_eq!(err.field(), Some("position.lat"));
//! # Ok::<(), caveat_core::Error>(())
//! ```
#![warn(missing_docs)]

mod batch;
mod case;
mod error;
mod geo;
mod marking;
#[cfg(feature = "openapi")]
mod openapi;
mod partner;
mod purpose;
mod report;
mod vessel;
mod view;

pub use batch::{MAX_LINE_BYTES, first_unknown_release, parse_batch, parse_line};
pub use case::{Case, CaseStatus, CaseStep, LegalBasis, MAX_CITED_REPORTS, StepAction, TransitionError};
pub use error::Error;
pub use geo::{BoundingBox, Position, TimeWindow};
#[cfg(feature = "test-util")]
pub use marking::MarkingBuilder;
pub use marking::{MAX_RELEASABLE_TO, Marking};
pub use partner::{Partner, PartnerId, Role, User, UserId};
pub use purpose::{Purpose, SourceKind};
#[cfg(feature = "test-util")]
pub use report::ReportBuilder;
pub use report::{
    DEFAULT_FUTURE_SKEW, IngestContext, MAX_REMARKS_CHARS, MAX_TIME_UNCERTAINTY_S, MAX_UNCERTAINTY_M, Report,
    ReportDraft, ReportId, ReportIdMint, Station,
};
pub use vessel::{Flag, Imo, Mmsi, VesselDescriptors, VesselType};
pub use view::{CaseId, ViewKey};
