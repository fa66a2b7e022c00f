//! Interdiction cases on SQLite: a case row and its append-only steps.

use caveat_core::{Case, CaseId, CaseStatus, CaseStep, PartnerId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::row::millis;
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

pub(crate) fn create(conn: &mut Connection, case: &Case) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("opening a case"))?;
    let head = Case { steps: Vec::new(), ..case.clone() };
    tx.execute(
        "INSERT INTO cases (id, lead, status, opened_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &case.id.as_bytes()[..],
            case.lead.as_str(),
            status(case.status),
            millis(case.opened_at),
            encode(&head)?
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            Error::CaseConflict { case: case.id, message: "a case with this id exists, or its lead is unknown".into() }
        }
        other => Error::db("opening a case")(other),
    })?;
    for (n, step) in (0i64..).zip(&case.steps) {
        tx.execute(
            "INSERT INTO case_steps (case_id, n, body) VALUES (?1, ?2, ?3)",
            params![&case.id.as_bytes()[..], n, encode(step)?],
        )
        .map_err(Error::db("recording a case step"))?;
    }
    tx.commit().map_err(Error::db("opening a case"))
}

pub(crate) fn get(conn: &Connection, id: CaseId) -> Result<Option<Case>> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM cases WHERE id = ?1", [&id.as_bytes()[..]], |r| r.get(0))
        .optional()
        .map_err(Error::db("reading a case"))?;
    let Some(body) = body else { return Ok(None) };
    let corrupt = |m: String| Error::Corrupt { what: "case", row: 0, message: m };
    let mut case: Case = serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?;
    let mut stmt = conn
        .prepare_cached("SELECT body FROM case_steps WHERE case_id = ?1 ORDER BY n")
        .map_err(Error::db("reading case steps"))?;
    let rows =
        stmt.query_map([&id.as_bytes()[..]], |r| r.get::<_, String>(0)).map_err(Error::db("reading case steps"))?;
    for row in rows {
        let text = row.map_err(Error::db("reading case steps"))?;
        case.steps.push(serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?);
    }
    case.status = if case.steps.iter().any(|s| s.action.name() == "close") { CaseStatus::Closed } else { case.status };
    Ok(Some(case))
}

pub(crate) fn list(conn: &Connection, partner: &PartnerId) -> Result<Vec<Case>> {
    let ids: Vec<Vec<u8>> = {
        let mut stmt =
            conn.prepare_cached("SELECT id, body FROM cases ORDER BY opened_at").map_err(Error::db("listing cases"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)))
            .map_err(Error::db("listing cases"))?;
        let mut ids = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(Error::db("listing cases"))?;
            // Participants live in the JSON body; cases are few, so filter here.
            let head: Case = serde_json::from_str(&body).map_err(|e| Error::Corrupt {
                what: "case",
                row: 0,
                message: e.to_string(),
            })?;
            if head.includes(partner) {
                ids.push(id);
            }
        }
        ids
    };
    let mut out = Vec::new();
    for id in ids {
        let id = CaseId::from_bytes(<[u8; 16]>::try_from(id.as_slice()).map_err(|_| Error::Corrupt {
            what: "case id",
            row: 0,
            message: "not 16 bytes".into(),
        })?);
        out.extend(get(conn, id)?);
    }
    Ok(out)
}

/// Appends a step if the case still has `expected_steps` steps (optimistic
/// concurrency: two officers recording at once cannot both pass the
/// transition check against the same history).
pub(crate) fn append_step(conn: &mut Connection, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("recording a step"))?;
    let n: i64 = tx
        .query_row("SELECT count(*) FROM case_steps WHERE case_id = ?1", [&id.as_bytes()[..]], |r| r.get(0))
        .map_err(Error::db("recording a step"))?;
    let exists: Option<i64> = tx
        .query_row("SELECT 1 FROM cases WHERE id = ?1", [&id.as_bytes()[..]], |r| r.get(0))
        .optional()
        .map_err(Error::db("recording a step"))?;
    if exists.is_none() {
        return Err(Error::CaseConflict { case: id, message: "no such case".into() });
    }
    if usize::try_from(n).ok() != Some(expected_steps) {
        return Err(Error::CaseConflict {
            case: id,
            message: "another step was recorded meanwhile; reload the case".into(),
        });
    }
    tx.execute(
        "INSERT INTO case_steps (case_id, n, body) VALUES (?1, ?2, ?3)",
        params![&id.as_bytes()[..], n, encode(step)?],
    )
    .map_err(Error::db("recording a step"))?;
    if step.action.name() == "close" {
        tx.execute("UPDATE cases SET status = 'closed' WHERE id = ?1", [&id.as_bytes()[..]])
            .map_err(Error::db("closing a case"))?;
    }
    tx.commit().map_err(Error::db("recording a step"))
}
