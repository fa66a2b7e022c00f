//! Telling every hub process of a new policy event at once (issue 10, part 3).
//!
//! `append_policy_event` sends `NOTIFY caveat_policy, '<schema> <version>'` in
//! its transaction, so PostgreSQL delivers it on commit. A watcher keeps one
//! connection listening and publishes the newest version it knows; a hub
//! replays `policy_events(after)` when it changes, so a suspension issued
//! through one process applies to the next request through any other. After
//! a lost connection the watcher reconnects and re-reads the newest version,
//! so a notification sent while it was away is not missed.

use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::classify;
use crate::row::unsigned;
use crate::{Error, Result};

/// The channel every Caveat schema notifies on; the payload names the schema.
pub(crate) const CHANNEL: &str = "caveat_policy";
/// Wait between reconnection attempts.
const RETRY: Duration = Duration::from_secs(1);

/// Starts the watcher; it stops when the last receiver is dropped.
pub(crate) async fn start(config: tokio_postgres::Config) -> Result<watch::Receiver<u64>> {
    let (schema, version, connection) = listen(&config).await?;
    let (tx, rx) = watch::channel(version);
    tokio::spawn(async move {
        let mut session = Some(connection);
        loop {
            if let Some(Listening { client, mut connection }) = session.take() {
                loop {
                    let message = tokio::select! {
                        m = std::future::poll_fn(|cx| connection.poll_message(cx)) => m,
                        () = tx.closed() => return,
                    };
                    match message {
                        Some(Ok(AsyncMessage::Notification(n))) => {
                            if let Some(v) = parse(n.payload(), &schema) {
                                tx.send_if_modified(|known| std::mem::replace(known, (*known).max(v)) < v);
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    }
                }
                drop(client);
            }
            tokio::select! {
                () = tokio::time::sleep(RETRY) => {}
                () = tx.closed() => return,
            }
            if let Ok((_, v, c)) = listen(&config).await {
                tx.send_if_modified(|known| std::mem::replace(known, (*known).max(v)) < v);
                session = Some(c);
            }
        }
    });
    Ok(rx)
}

fn parse(payload: &str, schema: &str) -> Option<u64> {
    let (s, v) = payload.rsplit_once(' ')?;
    if s == schema { v.parse().ok() } else { None }
}

struct Listening {
    client: tokio_postgres::Client,
    connection: tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
}

/// Opens a listening connection: its schema, the newest version, the connection.
async fn listen(config: &tokio_postgres::Config) -> Result<(String, u64, Listening)> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| classify("watching policy", &e))?;
    // The connection must be polled for the queries below to complete; poll
    // it alongside them, keeping any notification for the loop (there are
    // none before LISTEN returns).
    let setup = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        let row = client
            .query_one("SELECT coalesce(current_schema(), ''), coalesce(max(version), 0) FROM policy_events", &[])
            .await?;
        Ok::<_, tokio_postgres::Error>((row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)?))
    };
    let drive = async {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(_)) => {}
                Some(Err(e)) => return e,
                None => std::future::pending::<()>().await,
            }
        }
    };
    let (schema, version) = tokio::select! {
        r = setup => r.map_err(|e| classify("watching policy", &e))?,
        e = drive => return Err(classify("watching policy", &e)),
    };
    if schema.is_empty() {
        return Err(Error::Database { context: "watching policy", message: "no schema on the search_path".into() });
    }
    Ok((schema, unsigned(version), Listening { client, connection }))
}
