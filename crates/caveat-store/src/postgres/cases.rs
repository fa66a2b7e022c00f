//! Interdiction cases on PostgreSQL: a case row and its append-only steps.

use caveat_core::{Case, CaseId, CaseStatus, CaseStep, PartnerId};
use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::error::SqlState;

use super::{db, millis};
use crate::{Error, Result};

fn encode<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Database { context: "encoding a case", message: e.to_string() })
}

fn status(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Open => "open",
        CaseStatus::Closed => "closed",
    }
}

pub(crate) async fn create(client: &mut Object, case: &Case) -> Result<()> {
    let tx = client.transaction().await.map_err(db("opening a case"))?;
    let head = Case { steps: Vec::new(), ..case.clone() };
    let id = &case.id.as_bytes()[..];
    tx.execute(
        "INSERT INTO cases (id, lead, status, opened_at, body) VALUES ($1, $2, $3, $4, $5)",
        &[&id, &case.lead.as_str(), &status(case.status), &millis(case.opened_at), &encode(&head)?],
    )
    .await
    .map_err(|e| match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION => {
            Error::CaseConflict { case: case.id, message: "a case with this id exists, or its lead is unknown".into() }
        }
        _ => db("opening a case")(e),
    })?;
    for (n, step) in (0i64..).zip(&case.steps) {
        tx.execute("INSERT INTO case_steps (case_id, n, body) VALUES ($1, $2, $3)", &[&id, &n, &encode(step)?])
            .await
            .map_err(db("recording a case step"))?;
    }
    tx.commit().await.map_err(db("opening a case"))
}

async fn get_in(client: &impl GenericClient, id: CaseId) -> Result<Option<Case>> {
    let key = &id.as_bytes()[..];
    let row = client.query_opt("SELECT body FROM cases WHERE id = $1", &[&key]).await.map_err(db("reading a case"))?;
    let Some(row) = row else { return Ok(None) };
    let body: &str = row.try_get(0).map_err(db("reading a case"))?;
    let corrupt = |m: String| Error::Corrupt { what: "case", row: 0, message: m };
    let mut case: Case = serde_json::from_str(body).map_err(|e| corrupt(e.to_string()))?;
    let steps = client
        .query("SELECT body FROM case_steps WHERE case_id = $1 ORDER BY n", &[&key])
        .await
        .map_err(db("reading case steps"))?;
    for row in steps {
        let text: &str = row.try_get(0).map_err(db("reading case steps"))?;
        case.steps.push(serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?);
    }
    case.status = if case.steps.iter().any(|s| s.action.name() == "close") { CaseStatus::Closed } else { case.status };
    Ok(Some(case))
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
        let body: &str = row.try_get(1).map_err(db("listing cases"))?;
        // Participants live in the JSON body; cases are few, so filter here.
        let head: Case =
            serde_json::from_str(body).map_err(|e| Error::Corrupt { what: "case", row: 0, message: e.to_string() })?;
        if !head.includes(partner) {
            continue;
        }
        let id = CaseId::from_bytes(<[u8; 16]>::try_from(id).map_err(|_| Error::Corrupt {
            what: "case id",
            row: 0,
            message: "not 16 bytes".into(),
        })?);
        out.extend(get_in(&tx, id).await?);
    }
    tx.commit().await.map_err(db("listing cases"))?;
    Ok(out)
}

/// Appends a step if the case still has `expected_steps` steps (optimistic
/// concurrency: two officers recording at once cannot both pass the
/// transition check against the same history). The case row is locked, so
/// two hub processes serialise here as SQLite's writers do.
pub(crate) async fn append_step(client: &mut Object, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()> {
    let tx = client.transaction().await.map_err(db("recording a step"))?;
    let key = &id.as_bytes()[..];
    let exists =
        tx.query_opt("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE", &[&key]).await.map_err(db("recording a step"))?;
    if exists.is_none() {
        return Err(Error::CaseConflict { case: id, message: "no such case".into() });
    }
    let n: i64 = tx
        .query_one("SELECT count(*) FROM case_steps WHERE case_id = $1", &[&key])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(db("recording a step"))?;
    if usize::try_from(n).ok() != Some(expected_steps) {
        return Err(Error::CaseConflict {
            case: id,
            message: "another step was recorded meanwhile; reload the case".into(),
        });
    }
    tx.execute("INSERT INTO case_steps (case_id, n, body) VALUES ($1, $2, $3)", &[&key, &n, &encode(step)?])
        .await
        .map_err(db("recording a step"))?;
    if step.action.name() == "close" {
        tx.execute("UPDATE cases SET status = 'closed' WHERE id = $1", &[&key]).await.map_err(db("closing a case"))?;
    }
    tx.commit().await.map_err(db("recording a step"))
}
