//! Watch rules on SQLite: one row a rule, replaced whole at each version.

use caveat_core::PartnerId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::row::millis;
use crate::{Error, Result, RuleId, StoredRule, rules};

const COLUMNS: &str = "id, partner, owner_user, version, created_at, updated_at, body";

/// A row's columns, in [`COLUMNS`] order.
type Columns = (Vec<u8>, String, Option<String>, i64, i64, i64, String);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Columns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn decode(row: Columns) -> Result<StoredRule> {
    let (id, partner, owner, version, created, updated, body) = row;
    rules::rule_of_row(&id, &partner, owner.as_deref(), version, created, updated, body)
}

pub(crate) fn create(conn: &mut Connection, rule: &StoredRule, max_per_owner: usize) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("storing a rule"))?;
    let owner = rules::owner_column(&rule.owner);
    let count: i64 = tx
        .query_row(
            "SELECT count(*) FROM watch_rules WHERE partner = ?1 AND owner_user IS ?2",
            params![rule.partner.as_str(), owner],
            |r| r.get(0),
        )
        .map_err(Error::db("counting rules"))?;
    rules::check_rule_count(count, max_per_owner)?;
    tx.execute(
        &format!("INSERT INTO watch_rules ({COLUMNS}) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)"),
        params![
            &rule.id.as_bytes()[..],
            rule.partner.as_str(),
            owner,
            millis(rule.created_at),
            millis(rule.updated_at),
            rule.body
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            rules::rule_exists(rule.id)
        }
        other => Error::db("storing a rule")(other),
    })?;
    tx.commit().map_err(Error::db("storing a rule"))
}

pub(crate) fn get(conn: &Connection, id: RuleId) -> Result<Option<StoredRule>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM watch_rules WHERE id = ?1"), [&id.as_bytes()[..]], read_row)
        .optional()
        .map_err(Error::db("reading a rule"))?
        .map(decode)
        .transpose()
}

pub(crate) fn list(conn: &Connection, partner: &PartnerId) -> Result<Vec<StoredRule>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM watch_rules WHERE partner = ?1 ORDER BY created_at, id"))
        .map_err(Error::db("listing rules"))?;
    let rows = stmt.query_map([partner.as_str()], read_row).map_err(Error::db("listing rules"))?;
    rows.map(|r| decode(r.map_err(Error::db("listing rules"))?)).collect()
}

fn stored_version(tx: &rusqlite::Transaction<'_>, id: RuleId) -> Result<Option<i64>> {
    tx.query_row("SELECT version FROM watch_rules WHERE id = ?1", [&id.as_bytes()[..]], |r| r.get(0))
        .optional()
        .map_err(Error::db("reading a rule's version"))
}

/// The write lock, taken first, keeps the version read true until the write.
pub(crate) fn update(conn: &mut Connection, rule: &StoredRule) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("updating a rule"))?;
    rules::check_rule_version(rule.id, stored_version(&tx, rule.id)?, rule.version.saturating_sub(1))?;
    tx.execute(
        "UPDATE watch_rules SET version = ?2, updated_at = ?3, body = ?4 WHERE id = ?1",
        params![&rule.id.as_bytes()[..], crate::row::signed(rule.version), millis(rule.updated_at), rule.body],
    )
    .map_err(Error::db("updating a rule"))?;
    tx.commit().map_err(Error::db("updating a rule"))
}

pub(crate) fn delete(conn: &mut Connection, id: RuleId, version: u64) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("deleting a rule"))?;
    rules::check_rule_version(id, stored_version(&tx, id)?, version)?;
    tx.execute("DELETE FROM watch_rules WHERE id = ?1", [&id.as_bytes()[..]]).map_err(Error::db("deleting a rule"))?;
    tx.commit().map_err(Error::db("deleting a rule"))
}
