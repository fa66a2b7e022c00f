//! Caveat's durable storage: the [`Store`] trait, [`SqliteStore`] (the embedded default) and
//! [`PostgresStore`] (production), which pass one conformance suite.
//!
//! This crate decides nothing about access: it stores and returns every
//! report, and callers filter through `caveat-policy` before anything leaves
//! the hub. It holds no domain rules beyond integrity: reports are
//! append-only, a correction supersedes (never overwrites) and may only come
//! from the same originator, a batch is all-or-nothing and durable when
//! acknowledged.
//!
//! Main types: [`Store`] (async, object-safe, so the hub picks a backend at
//! run time), [`SqliteStore`], [`ReportQuery`] (time window, bounding box,
//! originator, source, cursor), [`StoredReport`], [`BatchReceipt`], [`StoredRule`] (a watch
//! rule's versioned row), [`Error`].
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use caveat_core::{Marking, Partner};
//! use caveat_store::{ReportQuery, SqliteStore, Store};
//!
//! let store = SqliteStore::open_in_memory()?;
//! let gbr = Partner {
//!     id: "GBR".parse().unwrap(),
//!     name: "Royal Navy".into(),
//!     default_marking: Marking::originator_only(),
//!     ais_marking: None,
//! };
//! store.put_partner(&gbr).await?;
//! assert_eq!(store.count_reports(&ReportQuery::default()).await?, 0);
//! # Ok::<(), caveat_store::Error>(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]

mod account;
mod audit;
mod batch;
mod error;
mod postgres;
mod query;
mod row;
mod rules;
mod sqlite;
mod store;
mod watch;

pub use account::{AuditStorage, PolicyEvent, TokenHash};
pub use error::{Error, Result};
pub use postgres::PostgresStore;
pub use query::{
    BatchReceipt, BatchSubmission, MAX_PAGE, Reconciled, ReportQuery, StoredBatch, StoredReport, Superseded,
};
pub use sqlite::SqliteStore;
pub use store::Store;
pub use watch::{BadRuleId, RuleId, RuleOwner, StoredRule};
