//! Users, API tokens and the policy event log: what the hub must remember
//! besides reports. The store keeps policy events as opaque JSON; their
//! meaning belongs to `caveat-policy`.

use caveat_audit::StoreItem;
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
    /// Who made the change, when recorded (from schema 7 on).
    pub user: Option<caveat_core::UserId>,
}

/// The audit log's storage, boxed so the hub can hold any backend's.
///
/// Sync by design: the hub appends from one dedicated writer thread, which
/// batches concurrent requests into one durable append (group commit).
pub struct AuditStorage(pub(crate) Box<dyn IndexedLog>);

/// What the store's logs add to [`caveat_audit::LogStorage`]: their index of
/// what each entry accounts for, and reading entries in bulk.
pub(crate) trait IndexedLog: caveat_audit::LogStorage + Send {
    /// For each item, the index of the first entry accounting for it, if any.
    fn accounted(&self, items: &[StoreItem]) -> std::io::Result<Vec<Option<u64>>>;
    /// Entries `from..to`, in order.
    fn entries(&self, from: u64, to: u64) -> std::io::Result<Vec<Vec<u8>>>;
}

impl AuditStorage {
    /// For each item (a stored batch or policy event), the index of the first
    /// entry in the log that accounts for it, or `None`. The store indexes
    /// this as it appends, in the same transaction, and refuses an append
    /// that would account for an item a second time, so two hub processes
    /// (one recovering after a crash, one about to audit its own batch)
    /// cannot both write its entry.
    ///
    /// # Errors
    /// The database fails.
    pub fn accounted(&self, items: &[StoreItem]) -> std::io::Result<Vec<Option<u64>>> {
        self.0.accounted(items)
    }

    /// The bytes of entries `from..to` (up to the log's size), in one read.
    ///
    /// # Errors
    /// The database fails.
    pub fn entries(&self, from: u64, to: u64) -> std::io::Result<Vec<Vec<u8>>> {
        self.0.entries(from, to)
    }
}

/// Notes what entry `index` accounts for, if it is the first entry of this
/// append to account for it (a suspension writes several entries for one
/// event: the first names it): what an append records in the log's index.
pub(crate) fn note_item(items: &mut Vec<(StoreItem, u64)>, entry: &caveat_audit::AuditEntry, index: u64) {
    if let Some(item) = entry.store_item()
        && !items.iter().any(|(seen, _)| *seen == item)
    {
        items.push((item, index));
    }
}

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
