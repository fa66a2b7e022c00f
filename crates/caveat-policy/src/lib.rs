//! Caveat's access decisions: the Cedar schema, markings compiled to Cedar,
//! originators' standing policies and suspensions, and the marking-class cache.
//!
//! This crate is pure: no I/O, no clock, no store. Time comes in as an
//! argument; the versioned [`PolicyState`] goes out to be stored by
//! `caveat-store`; cases are owned by the store and arrive as [`CaseFacts`];
//! the `caveat policy ...` commands and the HTTP API live in `caveat` and
//! `caveat-server`.
//!
//! # Rules
//! - **Default deny.** Only two policies permit: `marking` (the requesting
//!   partner is in releasable-to, the declared purpose is granted, the request
//!   is before not-after, a case is given, open and the partner takes part in
//!   it where the marking requires a case, and the action is not `export` on a
//!   no-export report) and `originator`.
//! - **An originator always may use its own reports**, for every action. Its
//!   suspensions and standing policies restrict other partners only: they are
//!   about whom it shares with, and an originator must not lock itself out.
//! - `acting-as`: a user acting for a partner other than its own is denied everything.
//! - `cite` always needs an open case the partner takes part in; `audit` is the originator's alone.
//! - **Standing policies** are Cedar text per originator, validated against the
//!   [schema](SCHEMA) on upload. Only static `forbid`s are accepted, and each is
//!   scoped to the uploader's reports and to other partners by appended
//!   conditions, so it can only deny, and only over the uploader's reports.
//! - **Suspensions** are forbids on an originator's reports for some or all
//!   partners and purposes; they apply from the next decision.
//! - Anyone's forbid wins; a forbid whose evaluation fails counts as holding.
//!
//! # Main types
//! - [`Policies`]: the compiled policies at one [`PolicyVersion`]; `upload`,
//!   `suspend`, `resume`, `apply` change them, `decide` decides.
//! - [`PolicyState`] and [`PolicyChange`]: what to store, and what to replay.
//! - [`Request`] (user, [`ViewKey`](caveat_core::ViewKey), [`Action`], [`CaseFacts`], time) and
//!   [`Decisions`] / [`Decision`]: permit or deny per report, with the ids of
//!   the determining policies ([`PolicyId`]).
//!
//! ```
//! use caveat_core::{Marking, Purpose, Report, ReportId, Position, SourceKind, User, ViewKey, VesselDescriptors};
//! use caveat_policy::{Action, Effect, Policies, Request};
//! use std::collections::BTreeSet;
//! use time::macros::datetime;
//!
//! let now = datetime!(2026-11-23 12:00 UTC);
//! let (gbr, can) = ("GBR".parse()?, "CAN".parse()?);
//! let marking = Marking {
//!     releasable_to: BTreeSet::from([can]),
//!     purposes: BTreeSet::from([Purpose::Interdiction]),
//!     ..Marking::originator_only()
//! };
//! let report = Report {
//!     id: "019a5f0e-8c00-7000-8000-000000000001".parse()?,
//!     originator: gbr,
//!     observed_at: datetime!(2026-11-23 11:00 UTC),
//!     time_uncertainty_s: None,
//!     position: Position::new(18.45, -64.6)?,
//!     uncertainty_m: 150.0,
//!     course_deg: None,
//!     speed_kn: None,
//!     source: SourceKind::CoastalRadar,
//!     vessel: VesselDescriptors::default(),
//!     remarks: None,
//!     marking,
//!     supersedes: None,
//!     station: None,
//! };
//! let analyst = User { id: "ana@can".parse()?, partner: "CAN".parse()?, roles: BTreeSet::new() };
//!
//! let mut policies = Policies::new()?;
//! let view = ViewKey::new("CAN".parse()?, Purpose::Interdiction, None);
//! let request = Request::new(&analyst, view, Action::Fuse, None, now)?;
//! assert_eq!(policies.decide(&request, &[report.clone()])?.get(0).map(|d| d.effect), Some(Effect::Permit));
//!
//! // GBR suspends CAN: the very next decision denies, and says why.
//! let (id, _change) = policies.suspend(&"GBR".parse()?, Some(BTreeSet::from(["CAN".parse()?])), None, "leak under investigation", now)?;
//! let decision = policies.decide_one(&request, &report)?;
//! assert_eq!(decision.effect, Effect::Deny);
//! assert_eq!(decision.determining.iter().map(|p| p.as_str()).collect::<Vec<_>>(), [format!("suspension/{id}")]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod class;
mod decision;
mod encode;
mod error;
mod policies;
mod request;
mod standing;
mod state;
mod suspension;

pub use decision::{Decision, Decisions, Effect, PolicyId};
pub use error::Error;
pub use policies::Policies;
pub use request::{Action, CaseFacts, Request};
pub use standing::{MAX_STANDING_BYTES, MAX_STANDING_DEPTH, MAX_STANDING_OPERATORS, MAX_STANDING_POLICIES};
pub use state::{PolicyChange, PolicyState, PolicyVersion, StandingPolicy};
pub use suspension::{MAX_REASON_CHARS, Suspension, SuspensionId};

/// The Cedar schema every decision and uploaded policy is checked against.
pub const SCHEMA: &str = encode::SCHEMA_TEXT;
