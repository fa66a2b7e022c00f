//! Users, API tokens and the policy event log: what the hub must remember
//! besides reports. The store keeps policy events as opaque JSON; their
//! meaning belongs to `caveat-policy`.

use caveat_core::PartnerId;
use time::OffsetDateTime;

/// The SHA-256 of an API token. The store never sees the token itself.
pub type TokenHash = [u8; 32];

/// One entry of the policy event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEvent {
    /// Its position in the log: the policy version after it.
    pub version: u64,
    /// The originator whose policy it changes.
    pub originator: PartnerId,
    /// When it was recorded.
    pub at: OffsetDateTime,
    /// The event, as JSON (defined by `caveat-policy`).
    pub body: String,
}

/// The audit log's storage, boxed so the hub can hold any backend's.
///
/// Sync by design: the hub appends from one dedicated writer thread, which
/// batches concurrent requests into one durable append (group commit).
pub struct AuditStorage(pub(crate) Box<dyn caveat_audit::LogStorage + Send>);

impl std::fmt::Debug for AuditStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditStorage")
    }
}

impl caveat_audit::LogStorage for AuditStorage {
    fn size(&self) -> std::io::Result<u64> {
        self.0.size()
    }
    fn node(&self, id: caveat_audit::NodeId) -> std::io::Result<caveat_audit::Hash> {
        self.0.node(id)
    }
    fn nodes(&self, ids: &[caveat_audit::NodeId]) -> std::io::Result<Vec<caveat_audit::Hash>> {
        self.0.nodes(ids)
    }
    fn entry(&self, index: u64) -> std::io::Result<Vec<u8>> {
        self.0.entry(index)
    }
    fn append(&mut self, batch: &caveat_audit::AppendBatch<'_>) -> std::io::Result<()> {
        self.0.append(batch)
    }
}
