//! Users, tokens and policy events on PostgreSQL.

use caveat_core::{PartnerId, User, UserId};
use deadpool_postgres::{GenericClient, Object};
use time::OffsetDateTime;

use super::db;
use crate::row::{self, millis, signed, unsigned};
use crate::{Error, PolicyEvent, Result, TokenHash, rules};

async fn partner_known(client: &impl GenericClient, p: &PartnerId) -> Result<()> {
    let known = client
        .query_opt("SELECT 1 FROM partners WHERE id = $1", &[&p.as_str()])
        .await
        .map_err(db("checking a partner"))?;
    rules::check_registered(p, known.is_some())
}

pub(crate) async fn put_user(client: &Object, user: &User) -> Result<()> {
    partner_known(client, &user.partner).await?;
    let roles = row::roles(user)?;
    // A user never moves to another partner: the upsert only touches a row of
    // the same partner, in one statement, so two hubs cannot race past it.
    let stored = client
        .query_opt(
            "INSERT INTO users (id, partner, roles) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET roles = excluded.roles WHERE users.partner = excluded.partner \
             RETURNING id",
            &[&user.id.as_str(), &user.partner.as_str(), &roles],
        )
        .await
        .map_err(db("storing a user"))?;
    if stored.is_some() {
        return Ok(());
    }
    let partner: String = client
        .query_one("SELECT partner FROM users WHERE id = $1", &[&user.id.as_str()])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(db("reading a user"))?;
    Err(Error::UserOfOtherPartner { user: user.id.clone(), partner })
}

pub(crate) async fn users(client: &Object, partner: Option<&PartnerId>) -> Result<Vec<User>> {
    let stmt = client
        .prepare_cached("SELECT id, partner, roles FROM users WHERE $1::text IS NULL OR partner = $1 ORDER BY id")
        .await
        .map_err(db("reading users"))?;
    let rows = client.query(&stmt, &[&partner.map(PartnerId::as_str)]).await.map_err(db("reading users"))?;
    rows.iter()
        .map(|r| {
            let get = || db("reading users");
            row::user(r.try_get(0).map_err(get())?, r.try_get(1).map_err(get())?, r.try_get(2).map_err(get())?)
        })
        .collect()
}

pub(crate) async fn add_token(client: &Object, user: &UserId, hash: &TokenHash, at: OffsetDateTime) -> Result<()> {
    let known = client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&user.as_str()])
        .await
        .map_err(db("checking a user"))?;
    if known.is_none() {
        return Err(Error::UnknownUser { user: user.clone() });
    }
    client
        .execute(
            "INSERT INTO tokens (hash, user_id, created_at) VALUES ($1, $2, $3)",
            &[&&hash[..], &user.as_str(), &millis(at)],
        )
        .await
        .map_err(db("storing a token"))?;
    Ok(())
}

pub(crate) async fn user_by_token(client: &Object, hash: &TokenHash) -> Result<Option<User>> {
    let stmt = client
        .prepare_cached(
            "SELECT u.id, u.partner, u.roles FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.hash = $1 AND t.revoked_at IS NULL",
        )
        .await
        .map_err(db("checking a token"))?;
    let row = client.query_opt(&stmt, &[&&hash[..]]).await.map_err(db("checking a token"))?;
    row.map(|r| {
        let get = || db("checking a token");
        row::user(r.try_get(0).map_err(get())?, r.try_get(1).map_err(get())?, r.try_get(2).map_err(get())?)
    })
    .transpose()
}

pub(crate) async fn revoke_tokens(client: &Object, user: &UserId, at: OffsetDateTime) -> Result<u64> {
    client
        .execute(
            "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user.as_str(), &millis(at)],
        )
        .await
        .map_err(db("revoking tokens"))
}

pub(crate) async fn append_policy_event(
    client: &mut Object,
    originator: &PartnerId,
    user: Option<&UserId>,
    at: OffsetDateTime,
    body: &str,
) -> Result<u64> {
    let tx = client.transaction().await.map_err(db("recording a policy event"))?;
    partner_known(&tx, originator).await?;
    // Versions follow commit order, so a hub that has replayed up to version v
    // never misses an event numbered below v that commits later.
    tx.batch_execute("LOCK TABLE policy_events IN EXCLUSIVE MODE").await.map_err(db("recording a policy event"))?;
    let version: i64 = tx
        .query_one(
            "INSERT INTO policy_events (version, originator, at, body, submitted_by) \
             SELECT coalesce(max(version), 0) + 1, $1, $2, $3, $4 FROM policy_events RETURNING version",
            &[&originator.as_str(), &millis(at), &body, &user.map(UserId::as_str)],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(db("recording a policy event"))?;
    // Delivered on commit to every hub process watching (policy_watch.rs).
    tx.execute(
        "SELECT pg_notify($1, coalesce(current_schema(), '') || ' ' || $2::text)",
        &[&super::policy_watch::CHANNEL, &version.to_string()],
    )
    .await
    .map_err(db("announcing a policy event"))?;
    tx.commit().await.map_err(db("recording a policy event"))?;
    Ok(unsigned(version))
}

pub(crate) async fn policy_events(client: &Object, after: u64) -> Result<Vec<PolicyEvent>> {
    let stmt = client
        .prepare_cached(
            "SELECT version, originator, at, body, submitted_by FROM policy_events WHERE version > $1 ORDER BY version",
        )
        .await
        .map_err(db("reading policy events"))?;
    let rows = client.query(&stmt, &[&signed(after)]).await.map_err(db("reading policy events"))?;
    rows.into_iter()
        .map(|r| {
            let get = || db("reading policy events");
            let version = r.try_get(0).map_err(get())?;
            row::policy_event(
                version,
                r.try_get(1).map_err(get())?,
                r.try_get(2).map_err(get())?,
                r.try_get(3).map_err(get())?,
                r.try_get::<_, Option<&str>>(4).map_err(get())?,
            )
        })
        .collect()
}
