//! Users, tokens and policy events on SQLite.

use caveat_core::{PartnerId, User, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::row::{self, millis, signed, unsigned};
use crate::{Error, PolicyEvent, Result, TokenHash, rules};

fn partner_known(conn: &Connection, p: &PartnerId) -> Result<()> {
    let known: Option<i64> = conn
        .query_row("SELECT 1 FROM partners WHERE id = ?1", [p.as_str()], |r| r.get(0))
        .optional()
        .map_err(Error::db("checking a partner"))?;
    rules::check_registered(p, known.is_some())
}

pub(crate) fn put_user(conn: &Connection, user: &User) -> Result<()> {
    partner_known(conn, &user.partner)?;
    let roles = row::roles(user)?;
    // A user never moves to another partner: a new partner means a new user.
    let existing: Option<String> = conn
        .query_row("SELECT partner FROM users WHERE id = ?1", [user.id.as_str()], |r| r.get(0))
        .optional()
        .map_err(Error::db("reading a user"))?;
    if let Some(p) = existing
        && p != user.partner.as_str()
    {
        return Err(Error::UserOfOtherPartner { user: user.id.clone(), partner: p });
    }
    conn.execute(
        "INSERT INTO users (id, partner, roles) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET roles = excluded.roles",
        params![user.id.as_str(), user.partner.as_str(), roles],
    )
    .map_err(Error::db("storing a user"))?;
    Ok(())
}

pub(crate) fn users(conn: &Connection, partner: Option<&PartnerId>) -> Result<Vec<User>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, partner, roles FROM users WHERE ?1 IS NULL OR partner = ?1 ORDER BY id")
        .map_err(Error::db("reading users"))?;
    let rows = stmt
        .query_map([partner.map(PartnerId::as_str)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .map_err(Error::db("reading users"))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, p, roles) = row.map_err(Error::db("reading users"))?;
        out.push(row::user(&id, &p, &roles)?);
    }
    Ok(out)
}

pub(crate) fn add_token(conn: &Connection, user: &UserId, hash: &TokenHash, at: OffsetDateTime) -> Result<()> {
    let known: Option<i64> = conn
        .query_row("SELECT 1 FROM users WHERE id = ?1", [user.as_str()], |r| r.get(0))
        .optional()
        .map_err(Error::db("checking a user"))?;
    if known.is_none() {
        return Err(Error::UnknownUser { user: user.clone() });
    }
    conn.execute(
        "INSERT INTO tokens (hash, user, created_at) VALUES (?1, ?2, ?3)",
        params![&hash[..], user.as_str(), millis(at)],
    )
    .map_err(Error::db("storing a token"))?;
    Ok(())
}

pub(crate) fn user_by_token(conn: &Connection, hash: &TokenHash) -> Result<Option<User>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT u.id, u.partner, u.roles FROM tokens t JOIN users u ON u.id = t.user \
             WHERE t.hash = ?1 AND t.revoked_at IS NULL",
        )
        .and_then(|mut s| s.query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
        .map_err(Error::db("checking a token"))?;
    row.map(|(id, p, roles)| row::user(&id, &p, &roles)).transpose()
}

pub(crate) fn revoke_tokens(conn: &Connection, user: &UserId, at: OffsetDateTime) -> Result<u64> {
    let n = conn
        .execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE user = ?1 AND revoked_at IS NULL",
            params![user.as_str(), millis(at)],
        )
        .map_err(Error::db("revoking tokens"))?;
    Ok(n as u64)
}

pub(crate) fn append_policy_event(
    conn: &Connection,
    originator: &PartnerId,
    user: Option<&UserId>,
    at: OffsetDateTime,
    body: &str,
) -> Result<u64> {
    partner_known(conn, originator)?;
    conn.execute(
        "INSERT INTO policy_events (originator, at, body, submitted_by) VALUES (?1, ?2, ?3, ?4)",
        params![originator.as_str(), millis(at), body, user.map(UserId::as_str)],
    )
    .map_err(Error::db("recording a policy event"))?;
    Ok(unsigned(conn.last_insert_rowid()))
}

pub(crate) fn policy_events(conn: &Connection, after: u64) -> Result<Vec<PolicyEvent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT version, originator, at, body, submitted_by FROM policy_events WHERE version > ?1 ORDER BY version",
        )
        .map_err(Error::db("reading policy events"))?;
    let rows = stmt
        .query_map([signed(after)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(Error::db("reading policy events"))?;
    let mut out = Vec::new();
    for row in rows {
        let (version, originator, at, body, user) = row.map_err(Error::db("reading policy events"))?;
        out.push(row::policy_event(version, &originator, at, body, user.as_deref())?);
    }
    Ok(out)
}
