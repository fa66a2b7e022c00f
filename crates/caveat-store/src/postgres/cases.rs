//! Interdiction cases on PostgreSQL: a case row and its append-only steps.

use caveat_core::{Case, CaseId, CaseStatus, CaseStep, PartnerId};
use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::error::SqlState;

use super::db;
use crate::row::{self, encode_case, millis};
use crate::{Result, rules};

pub(crate) async fn create(client: &mut Object, case: &Case) -> Result<()> {
    let tx = client.transaction().await.map_err(db("opening a case"))?;
    let id = &case.id.as_bytes()[..];
    tx.execute(
        "INSERT INTO cases (id, lead, status, opened_at, body) VALUES ($1, $2, $3, $4, $5)",
        &[
            &id,
            &case.lead.as_str(),
            &row::case_status(case.status),
            &millis(case.opened_at),
            &encode_case(&row::case_head(case))?,
        ],
    )
    .await
    .map_err(|e| match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION => {
            rules::case_exists(case.id)
        }
        _ => db("opening a case")(e),
    })?;
    for (n, step) in (0i64..).zip(&case.steps) {
        tx.execute("INSERT INTO case_steps (case_id, n, body) VALUES ($1, $2, $3)", &[&id, &n, &encode_case(step)?])
            .await
            .map_err(db("recording a case step"))?;
    }
    tx.commit().await.map_err(db("opening a case"))
}

async fn get_in(client: &impl GenericClient, id: CaseId) -> Result<Option<Case>> {
    let key = &id.as_bytes()[..];
    let head = client.query_opt("SELECT body FROM cases WHERE id = $1", &[&key]).await.map_err(db("reading a case"))?;
    let Some(head) = head else { return Ok(None) };
    let head = row::case(head.try_get(0).map_err(db("reading a case"))?)?;
    let rows = client
        .query("SELECT body FROM case_steps WHERE case_id = $1 ORDER BY n", &[&key])
        .await
        .map_err(db("reading case steps"))?;
    let steps = rows
        .iter()
        .map(|r| row::case_step(r.try_get(0).map_err(db("reading case steps"))?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(rules::with_steps(head, steps)))
}

pub(crate) async fn get(client: &Object, id: CaseId) -> Result<Option<Case>> {
    get_in(client, id).await
}

pub(crate) async fn list(client: &mut Object, partner: &PartnerId) -> Result<Vec<Case>> {
    // One snapshot for the list and every case read from it.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(db("listing cases"))?;
    let rows = tx.query("SELECT id, body FROM cases ORDER BY opened_at, id", &[]).await.map_err(db("listing cases"))?;
    let mut out = Vec::new();
    for row in rows {
        let id: &[u8] = row.try_get(0).map_err(db("listing cases"))?;
        // Cases are few, so they are filtered here rather than in SQL.
        if rules::takes_part(row.try_get(1).map_err(db("listing cases"))?, partner)? {
            out.extend(get_in(&tx, row::case_id(id)?).await?);
        }
    }
    tx.commit().await.map_err(db("listing cases"))?;
    Ok(out)
}

/// Appends a step if the case still has `expected_steps` steps
/// ([`rules::check_expected_steps`]). The case row is locked, so two hub
/// processes serialise here as SQLite's writers do.
pub(crate) async fn append_step(client: &mut Object, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()> {
    let tx = client.transaction().await.map_err(db("recording a step"))?;
    let key = &id.as_bytes()[..];
    let exists =
        tx.query_opt("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE", &[&key]).await.map_err(db("recording a step"))?;
    rules::check_found(id, exists.is_some())?;
    let n: i64 = tx
        .query_one("SELECT count(*) FROM case_steps WHERE case_id = $1", &[&key])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(db("recording a step"))?;
    rules::check_expected_steps(id, n, expected_steps)?;
    tx.execute("INSERT INTO case_steps (case_id, n, body) VALUES ($1, $2, $3)", &[&key, &n, &encode_case(step)?])
        .await
        .map_err(db("recording a step"))?;
    if rules::closes(step) {
        tx.execute("UPDATE cases SET status = $2 WHERE id = $1", &[&key, &row::case_status(CaseStatus::Closed)])
            .await
            .map_err(db("closing a case"))?;
    }
    tx.commit().await.map_err(db("recording a step"))
}
