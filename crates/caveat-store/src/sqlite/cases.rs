//! Interdiction cases on SQLite: a case row and its append-only steps.

use caveat_core::{Case, CaseId, CaseStatus, CaseStep, PartnerId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::row::{self, encode_case, millis};
use crate::{Error, Result, rules};

pub(crate) fn create(conn: &mut Connection, case: &Case) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("opening a case"))?;
    tx.execute(
        "INSERT INTO cases (id, lead, status, opened_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &case.id.as_bytes()[..],
            case.lead.as_str(),
            row::case_status(case.status),
            millis(case.opened_at),
            encode_case(&row::case_head(case))?
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            rules::case_exists(case.id)
        }
        other => Error::db("opening a case")(other),
    })?;
    for (n, step) in (0i64..).zip(&case.steps) {
        tx.execute(
            "INSERT INTO case_steps (case_id, n, body) VALUES (?1, ?2, ?3)",
            params![&case.id.as_bytes()[..], n, encode_case(step)?],
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
    let head = row::case(&body)?;
    let mut stmt = conn
        .prepare_cached("SELECT body FROM case_steps WHERE case_id = ?1 ORDER BY n")
        .map_err(Error::db("reading case steps"))?;
    let rows =
        stmt.query_map([&id.as_bytes()[..]], |r| r.get::<_, String>(0)).map_err(Error::db("reading case steps"))?;
    let mut steps = Vec::new();
    for row in rows {
        steps.push(row::case_step(&row.map_err(Error::db("reading case steps"))?)?);
    }
    Ok(Some(rules::with_steps(head, steps)))
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
            // Cases are few, so they are filtered here rather than in SQL.
            if rules::takes_part(&body, partner)? {
                ids.push(id);
            }
        }
        ids
    };
    let mut out = Vec::new();
    for id in ids {
        out.extend(get(conn, row::case_id(&id)?)?);
    }
    Ok(out)
}

/// Appends a step if the case still has `expected_steps` steps
/// ([`rules::check_expected_steps`]); the write lock, taken first, keeps the
/// count true until the step is stored.
pub(crate) fn append_step(conn: &mut Connection, id: CaseId, expected_steps: usize, step: &CaseStep) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::db("recording a step"))?;
    let n: i64 = tx
        .query_row("SELECT count(*) FROM case_steps WHERE case_id = ?1", [&id.as_bytes()[..]], |r| r.get(0))
        .map_err(Error::db("recording a step"))?;
    let exists: Option<i64> = tx
        .query_row("SELECT 1 FROM cases WHERE id = ?1", [&id.as_bytes()[..]], |r| r.get(0))
        .optional()
        .map_err(Error::db("recording a step"))?;
    rules::check_found(id, exists.is_some())?;
    rules::check_expected_steps(id, n, expected_steps)?;
    tx.execute(
        "INSERT INTO case_steps (case_id, n, body) VALUES (?1, ?2, ?3)",
        params![&id.as_bytes()[..], n, encode_case(step)?],
    )
    .map_err(Error::db("recording a step"))?;
    if rules::closes(step) {
        tx.execute(
            "UPDATE cases SET status = ?2 WHERE id = ?1",
            params![&id.as_bytes()[..], row::case_status(CaseStatus::Closed)],
        )
        .map_err(Error::db("closing a case"))?;
    }
    tx.commit().map_err(Error::db("recording a step"))
}
