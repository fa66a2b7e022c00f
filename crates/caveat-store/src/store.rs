//! The storage trait every backend implements.

use async_trait::async_trait;
use caveat_core::{Case, CaseId, CaseStep, Partner, PartnerId, Report, ReportId, User, UserId};
use time::OffsetDateTime;

use crate::{
    AuditStorage, BatchReceipt, BatchSubmission, PolicyEvent, Reconciled, ReportQuery, Result, RuleId, StoredBatch,
    StoredReport, StoredRule, TokenHash,
};

/// Durable storage for a hub. All backends pass one conformance suite.
///
/// Reports are append-only: nothing updates or deletes one. A batch is
/// all-or-nothing, and durable when `insert_batch` returns.
#[async_trait]
pub trait Store: Send + Sync {
    /// Registers a partner, or replaces its name and default markings.
    async fn put_partner(&self, partner: &Partner) -> Result<()>;

    /// One partner, if registered.
    async fn partner(&self, id: &PartnerId) -> Result<Option<Partner>>;

    /// Every registered partner, by id.
    async fn partners(&self) -> Result<Vec<Partner>>;

    /// Stores a batch submitted by `submitter`: every report or none.
    ///
    /// # Errors
    /// An empty batch, an unregistered originator, an originator other than
    /// `submitter`, an id already stored, or a correction of a report that is
    /// unknown, another originator's, or already corrected. The error names the
    /// report's position in the batch.
    async fn insert_batch(
        &self,
        submitter: &PartnerId,
        received_at: OffsetDateTime,
        reports: Vec<Report>,
    ) -> Result<BatchReceipt> {
        self.insert_batch_by(submitter, &BatchSubmission::default(), received_at, reports).await
    }

    /// [`Store::insert_batch`], keeping `by` with the batch in the same
    /// transaction (the hub's ingest: the user and the audit's locators).
    ///
    /// # Errors
    /// As [`Store::insert_batch`].
    async fn insert_batch_by(
        &self,
        submitter: &PartnerId,
        by: &BatchSubmission,
        received_at: OffsetDateTime,
        reports: Vec<Report>,
    ) -> Result<BatchReceipt>;

    /// Stored batches numbered above `after`, in order, at most `limit`.
    async fn batches(&self, after: u64, limit: usize) -> Result<Vec<StoredBatch>>;

    /// The audit's locators kept with batch `batch` ([`BatchSubmission::report_locators`]), if any.
    async fn batch_report_locators(&self, batch: u64) -> Result<Option<Vec<u8>>>;

    /// How far the store and the audit log were last reconciled.
    async fn reconciled(&self) -> Result<Reconciled>;

    /// Raises the reconciled mark to `mark` (never lowers it: another hub
    /// process may have reconciled further meanwhile).
    async fn set_reconciled(&self, mark: Reconciled) -> Result<()>;

    /// One report by id, with the id of its correction if it has one.
    async fn report(&self, id: ReportId) -> Result<Option<(StoredReport, Option<ReportId>)>>;

    /// Reports matching `query`, in store order.
    async fn reports(&self, query: &ReportQuery) -> Result<Vec<StoredReport>>;

    /// How many reports match `query` (ignores `after_seq` paging limits).
    async fn count_reports(&self, query: &ReportQuery) -> Result<u64>;

    /// Registers a user of a registered partner, or replaces its roles. A user
    /// never changes partner.
    async fn put_user(&self, user: &User) -> Result<()>;

    /// Users, of one partner or all, by id.
    async fn users(&self, partner: Option<&PartnerId>) -> Result<Vec<User>>;

    /// Records an API token (its hash) for a user.
    async fn add_token(&self, user: &UserId, hash: TokenHash, at: OffsetDateTime) -> Result<()>;

    /// The user a live (unrevoked) token belongs to.
    async fn user_by_token(&self, hash: TokenHash) -> Result<Option<User>>;

    /// Revokes every live token of a user; returns how many.
    async fn revoke_tokens(&self, user: &UserId, at: OffsetDateTime) -> Result<u64>;

    /// Appends a policy event (JSON defined by caveat-policy); returns the new policy version.
    async fn append_policy_event(&self, originator: &PartnerId, at: OffsetDateTime, body: String) -> Result<u64> {
        self.append_policy_event_by(originator, None, at, body).await
    }

    /// [`Store::append_policy_event`], recording the user who made the change.
    async fn append_policy_event_by(
        &self,
        originator: &PartnerId,
        user: Option<&UserId>,
        at: OffsetDateTime,
        body: String,
    ) -> Result<u64>;

    /// Policy events after `version`, in order.
    async fn policy_events(&self, after: u64) -> Result<Vec<PolicyEvent>>;

    /// Stores a new case (with any initial steps).
    async fn create_case(&self, case: &Case) -> Result<()>;

    /// One case with its steps.
    async fn case(&self, id: CaseId) -> Result<Option<Case>>;

    /// Cases a partner takes part in, oldest first.
    async fn cases_of(&self, partner: &PartnerId) -> Result<Vec<Case>>;

    /// Appends a step, if the case still has `expected_steps` steps; a close step closes it.
    async fn append_case_step(&self, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()>;

    /// Stores a new watch rule (at version 1), unless its owner already has
    /// `max_per_owner` rules: counted and inserted in one transaction, so two
    /// hub processes cannot both pass the limit.
    ///
    /// # Errors
    /// [`crate::Error::TooManyRules`]; [`crate::Error::RuleConflict`] for an id already stored;
    /// [`crate::Error::UnknownPartner`] for an unregistered partner.
    async fn create_rule(&self, rule: &StoredRule, max_per_owner: usize) -> Result<()>;

    /// One watch rule.
    async fn rule(&self, id: RuleId) -> Result<Option<StoredRule>>;

    /// The watch rules of one partner (every owner), oldest first.
    async fn rules_of(&self, partner: &PartnerId) -> Result<Vec<StoredRule>>;

    /// Replaces a rule's body and `updated_at`, if it is still at
    /// `rule.version - 1` (optimistic concurrency). Its partner, owner and
    /// creation time stay as stored.
    ///
    /// # Errors
    /// [`crate::Error::RuleConflict`] when the rule is gone or at another version.
    async fn update_rule(&self, rule: &StoredRule) -> Result<()>;

    /// Deletes a rule, if it is still at `version`.
    ///
    /// # Errors
    /// [`crate::Error::RuleConflict`] when the rule is gone or at another version.
    async fn delete_rule(&self, id: RuleId, version: u64) -> Result<()>;

    /// Storage for the audit log, on its own connection, for its one writer.
    fn audit_storage(&self) -> Result<AuditStorage>;

    /// Indexes of audit entries touching `originator`'s data, below `size`, oldest first, at most `limit`.
    async fn audit_entries_touching(&self, originator: &PartnerId, size: u64, limit: usize) -> Result<Vec<u64>>;

    /// Keeps a signed checkpoint (C2SP note text) of the log at `size`.
    async fn save_checkpoint(&self, size: u64, note: String) -> Result<()>;

    /// The newest saved checkpoint: its size and note.
    async fn latest_checkpoint(&self) -> Result<Option<(u64, String)>>;
}
