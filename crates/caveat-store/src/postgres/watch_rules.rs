//! Watch rules on PostgreSQL: one row a rule, replaced whole at each version.

use caveat_core::PartnerId;
use deadpool_postgres::Object;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::db;
use crate::row::millis;
use crate::{Result, RuleId, StoredRule, rules};

const COLUMNS: &str = "id, partner, owner_user, version, created_at, updated_at, body";

fn decode(r: &Row) -> Result<StoredRule> {
    let ctx = "reading a rule";
    rules::rule_of_row(
        r.try_get::<_, &[u8]>(0).map_err(db(ctx))?,
        r.try_get::<_, &str>(1).map_err(db(ctx))?,
        r.try_get::<_, Option<&str>>(2).map_err(db(ctx))?,
        r.try_get(3).map_err(db(ctx))?,
        r.try_get(4).map_err(db(ctx))?,
        r.try_get(5).map_err(db(ctx))?,
        r.try_get(6).map_err(db(ctx))?,
    )
}

pub(crate) async fn create(client: &mut Object, rule: &StoredRule, max_per_owner: usize) -> Result<()> {
    let tx = client.transaction().await.map_err(db("storing a rule"))?;
    let owner = rules::owner_column(&rule.owner);
    // Serialises rule creation per (partner, owner) across hub processes, so
    // the count below stays true until the insert commits.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('caveat rules'), hashtext($1 || '/' || coalesce($2, '')))",
        &[&rule.partner.as_str(), &owner],
    )
    .await
    .map_err(db("locking an owner's rules"))?;
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM watch_rules WHERE partner = $1 AND owner_user IS NOT DISTINCT FROM $2",
            &[&rule.partner.as_str(), &owner],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(db("counting rules"))?;
    rules::check_rule_count(count, max_per_owner)?;
    tx.execute(
        &format!("INSERT INTO watch_rules ({COLUMNS}) VALUES ($1, $2, $3, 1, $4, $5, $6)"),
        &[
            &&rule.id.as_bytes()[..],
            &rule.partner.as_str(),
            &owner,
            &millis(rule.created_at),
            &millis(rule.updated_at),
            &rule.body,
        ],
    )
    .await
    .map_err(|e| match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION => {
            rules::rule_exists(rule.id)
        }
        _ => db("storing a rule")(e),
    })?;
    tx.commit().await.map_err(db("storing a rule"))
}

pub(crate) async fn get(client: &Object, id: RuleId) -> Result<Option<StoredRule>> {
    let row = client
        .query_opt(&format!("SELECT {COLUMNS} FROM watch_rules WHERE id = $1"), &[&&id.as_bytes()[..]])
        .await
        .map_err(db("reading a rule"))?;
    row.as_ref().map(decode).transpose()
}

pub(crate) async fn list(client: &Object, partner: &PartnerId) -> Result<Vec<StoredRule>> {
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM watch_rules WHERE partner = $1 ORDER BY created_at, id"),
            &[&partner.as_str()],
        )
        .await
        .map_err(db("listing rules"))?;
    rows.iter().map(decode).collect()
}

/// The row is locked, so two hub processes serialise here as SQLite's writers do.
async fn stored_version(tx: &deadpool_postgres::Transaction<'_>, id: RuleId) -> Result<Option<i64>> {
    let row = tx
        .query_opt("SELECT version FROM watch_rules WHERE id = $1 FOR UPDATE", &[&&id.as_bytes()[..]])
        .await
        .map_err(db("reading a rule's version"))?;
    row.map(|r| r.try_get(0).map_err(db("reading a rule's version"))).transpose()
}

pub(crate) async fn update(client: &mut Object, rule: &StoredRule) -> Result<()> {
    let tx = client.transaction().await.map_err(db("updating a rule"))?;
    rules::check_rule_version(rule.id, stored_version(&tx, rule.id).await?, rule.version.saturating_sub(1))?;
    tx.execute(
        "UPDATE watch_rules SET version = $2, updated_at = $3, body = $4 WHERE id = $1",
        &[&&rule.id.as_bytes()[..], &crate::row::signed(rule.version), &millis(rule.updated_at), &rule.body],
    )
    .await
    .map_err(db("updating a rule"))?;
    tx.commit().await.map_err(db("updating a rule"))
}

pub(crate) async fn delete(client: &mut Object, id: RuleId, version: u64) -> Result<()> {
    let tx = client.transaction().await.map_err(db("deleting a rule"))?;
    rules::check_rule_version(id, stored_version(&tx, id).await?, version)?;
    tx.execute("DELETE FROM watch_rules WHERE id = $1", &[&&id.as_bytes()[..]]).await.map_err(db("deleting a rule"))?;
    tx.commit().await.map_err(db("deleting a rule"))
}
