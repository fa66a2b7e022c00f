//! Versioned migrations of the SQLite schema, tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use super::Target;
use crate::{Error, Result};

/// The audit log (caveat-audit's layout: entries by index, node hashes by
/// storage position), an index of entries by the originators they touch, and
/// the checkpoints the hub signed. Shipped: never edit.
const AUDIT_TABLES: &str = r"
    CREATE TABLE audit_entries (
        idx  INTEGER PRIMARY KEY,
        data BLOB NOT NULL
    ) STRICT;
    CREATE TABLE audit_nodes (
        pos  INTEGER PRIMARY KEY,
        hash BLOB NOT NULL
    ) STRICT;
    CREATE TABLE audit_originators (
        originator TEXT NOT NULL,
        idx        INTEGER NOT NULL,
        PRIMARY KEY (originator, idx)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE audit_checkpoints (
        size INTEGER PRIMARY KEY,
        note TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER audit_entries_append_only BEFORE UPDATE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    ";

/// Each entry moves the schema from version `i` to `i + 1`. Never edit a
/// shipped entry: add a new one (a hub's database outlives its binary).
const MIGRATIONS: &[&str] = &[
    // 1: partners, marking classes, batches, append-only reports with space and time indexes.
    r"
    CREATE TABLE partners (
        id   TEXT PRIMARY KEY,
        body TEXT NOT NULL
    ) STRICT;

    -- Reports sharing a marking share a row here: a marking class.
    CREATE TABLE markings (
        id   INTEGER PRIMARY KEY,
        body TEXT NOT NULL UNIQUE
    ) STRICT;

    CREATE TABLE batches (
        id          INTEGER PRIMARY KEY,
        partner     TEXT NOT NULL REFERENCES partners(id),
        received_at INTEGER NOT NULL, -- unix milliseconds
        count       INTEGER NOT NULL
    ) STRICT;

    -- No REFERENCES clauses here: the batch writer checks the partner and
    -- writes the batch and marking rows in the same transaction, and three
    -- foreign-key probes per report cost a fifth of the ingest rate.
    CREATE TABLE reports (
        seq         INTEGER PRIMARY KEY,
        id          BLOB NOT NULL UNIQUE,
        batch       INTEGER NOT NULL, -- batches(id)
        originator  TEXT NOT NULL,    -- partners(id)
        observed_at INTEGER NOT NULL, -- unix nanoseconds
        cell        INTEGER NOT NULL, -- 0.1-degree grid cell, see sqlite/reports.rs `cell`
        lat         REAL NOT NULL,
        lon         REAL NOT NULL,
        source      TEXT NOT NULL,
        marking     INTEGER NOT NULL, -- markings(id)
        supersedes  BLOB,
        body        TEXT NOT NULL -- JSON of the remaining fields (sqlite/reports.rs `Details`)
    ) STRICT;

    -- A report is corrected at most once; a correction of a correction chains.
    CREATE UNIQUE INDEX reports_supersedes ON reports(supersedes) WHERE supersedes IS NOT NULL;

    -- Spatial index: a B-tree over 0.1-degree grid cells (time is filtered on
    -- the rows a cell range yields; indexing it here too cost 5% of ingest). Chosen over
    -- SQLite's R*Tree because an R*Tree insert measured 7 us per report here
    -- (it rewrites node blobs), which alone would hold ingest under 80,000
    -- reports/s; a B-tree insert costs a fraction of that. A bounding box
    -- becomes one index range per row of cells.
    CREATE INDEX reports_cell ON reports(cell);
    CREATE INDEX reports_time ON reports(observed_at);

    -- Reports are immutable: a correction is a new report.
    CREATE TRIGGER reports_append_only_update BEFORE UPDATE ON reports
    BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END;
    CREATE TRIGGER reports_append_only_delete BEFORE DELETE ON reports
    BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END;
    ",
    // 2: users, their API tokens (hashed), and the policy event log.
    r"
    CREATE TABLE users (
        id      TEXT PRIMARY KEY,
        partner TEXT NOT NULL REFERENCES partners(id),
        roles   TEXT NOT NULL -- JSON array of roles
    ) STRICT;

    -- Only a SHA-256 of each token is kept: a copy of the database yields no usable token.
    CREATE TABLE tokens (
        hash       BLOB PRIMARY KEY,
        user       TEXT NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    ) STRICT;
    CREATE INDEX tokens_user ON tokens(user);

    -- Standing policies, suspensions and resumptions, in order. The policy
    -- version is the last event's `version`; every hub process replays it.
    CREATE TABLE policy_events (
        version    INTEGER PRIMARY KEY,
        originator TEXT NOT NULL REFERENCES partners(id),
        at         INTEGER NOT NULL,
        body       TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER policy_events_append_only_update BEFORE UPDATE ON policy_events
    BEGIN SELECT RAISE(ABORT, 'policy events are append-only'); END;
    CREATE TRIGGER policy_events_append_only_delete BEFORE DELETE ON policy_events
    BEGIN SELECT RAISE(ABORT, 'policy events are append-only'); END;
    ",
    // 3: interdiction cases and their append-only steps.
    r"
    CREATE TABLE cases (
        id        BLOB PRIMARY KEY,
        lead      TEXT NOT NULL REFERENCES partners(id),
        status    TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        body      TEXT NOT NULL -- JSON of the case without its steps
    ) STRICT;

    CREATE TABLE case_steps (
        case_id BLOB NOT NULL REFERENCES cases(id),
        n       INTEGER NOT NULL,
        body    TEXT NOT NULL,
        PRIMARY KEY (case_id, n)
    ) STRICT;
    CREATE TRIGGER case_steps_append_only_update BEFORE UPDATE ON case_steps
    BEGIN SELECT RAISE(ABORT, 'case steps are append-only'); END;
    CREATE TRIGGER case_steps_append_only_delete BEFORE DELETE ON case_steps
    BEGIN SELECT RAISE(ABORT, 'case steps are append-only'); END;
    ",
    // 4: the audit log, in the main file until version 5.
    AUDIT_TABLES,
    // 5: the audit log moved to its own database file (AUDIT_MIGRATIONS);
    // `migrate` copies what a version-4 database held there first.
    r"
    DROP TABLE audit_entries;
    DROP TABLE audit_nodes;
    DROP TABLE audit_originators;
    DROP TABLE audit_checkpoints;
    ",
    // 6: batches numbered per partner, so a partner's receipts say nothing of
    // how many batches other partners sent (issue 14).
    r"
    ALTER TABLE batches ADD COLUMN partner_batch INTEGER;
    UPDATE batches SET partner_batch = n
        FROM (SELECT id AS bid, row_number() OVER (PARTITION BY partner ORDER BY id) AS n FROM batches)
        WHERE batches.id = bid;
    CREATE INDEX batches_by_partner ON batches (partner, partner_batch);
    ",
    // 7: what the audit log needs to account for every batch and policy event
    // across a crash (issue 16): who submitted each, where a batch's reports
    // are (its seq range), the audit's per-report locators, and how far the
    // store and the log were reconciled. Batches and events already stored
    // count as reconciled: their entries predate store numbers, and
    // `verify-store` matches them by report ids and event digests instead.
    r"
    ALTER TABLE batches ADD COLUMN submitted_by TEXT;
    ALTER TABLE batches ADD COLUMN first_seq INTEGER;
    ALTER TABLE batches ADD COLUMN last_seq INTEGER;
    ALTER TABLE batches ADD COLUMN report_locators BLOB;
    ALTER TABLE policy_events ADD COLUMN submitted_by TEXT;
    CREATE TABLE reconciled (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        batches       INTEGER NOT NULL,
        policy_events INTEGER NOT NULL
    ) STRICT;
    INSERT INTO reconciled (id, batches, policy_events) VALUES (
        1,
        coalesce((SELECT max(id) FROM batches), 0),
        coalesce((SELECT max(version) FROM policy_events), 0)
    );
    ",
    // 8: watch rules (issue 20): the store keeps who owns each and its
    // version; the body is the hub's JSON of the rule. `owner_user` null: the
    // partner owns it.
    r"
    CREATE TABLE watch_rules (
        id         BLOB PRIMARY KEY,
        partner    TEXT NOT NULL REFERENCES partners(id),
        owner_user TEXT,
        version    INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body       TEXT NOT NULL
    ) STRICT;
    CREATE INDEX watch_rules_by_owner ON watch_rules (partner, owner_user);
    ",
];

/// The schema version at which the audit log left the main database.
const AUDIT_MOVED: i64 = 5;

/// Migrations of the audit database (`SqliteStore::audit_path`), as [`MIGRATIONS`].
const AUDIT_MIGRATIONS: &[&str] = &[
    // 1: the tables main migration 4 made.
    AUDIT_TABLES,
    // 2: what each entry accounts for in the store (issue 16), written in the
    // same transaction as the entries. The primary keys refuse a second entry
    // for one batch or policy event, so a process recovering after a crash and
    // a live process auditing its own batch cannot both write one.
    AUDIT_ITEMS,
];

/// The index of stored batches and policy events to the entries accounting
/// for them (`SqliteLog::append`). Shipped: never edit.
const AUDIT_ITEMS: &str = r"
    CREATE TABLE audit_batches (
        partner TEXT NOT NULL,
        batch   INTEGER NOT NULL, -- the batch's number among its partner's batches
        idx     INTEGER NOT NULL,
        PRIMARY KEY (partner, batch)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE audit_policy_events (
        version INTEGER PRIMARY KEY,
        idx     INTEGER NOT NULL -- the first of the event's entries
    ) STRICT;
    ";

/// The schema version this build writes.
#[expect(clippy::cast_possible_wrap, reason = "a handful of migrations")]
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`LATEST`], one transaction per step. The audit
/// database (`audit`, already migrated) receives the log a version-4 database
/// held before the step that drops it there.
pub(crate) fn migrate(conn: &mut Connection, audit: &Target) -> Result<i64> {
    apply(conn, MIGRATIONS, |conn, found, version| {
        if version == AUDIT_MOVED && found >= AUDIT_MOVED - 1 {
            move_audit_log(conn, audit)?;
        }
        Ok(())
    })?;
    Ok(LATEST)
}

/// Brings the audit database up to date, as [`migrate`].
pub(crate) fn migrate_audit(conn: &mut Connection) -> Result<()> {
    apply(conn, AUDIT_MIGRATIONS, |_, _, _| Ok(()))
}

/// Applies the `migrations` past the database's version, one transaction
/// each, calling `before` ahead of each step with the version the database
/// was found at and the version the step makes.
fn apply(
    conn: &mut Connection,
    migrations: &[&str],
    mut before: impl FnMut(&mut Connection, i64, i64) -> Result<()>,
) -> Result<()> {
    let found = version(conn)?;
    let latest = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    if found > latest {
        return Err(Error::NewerSchema { found, supported: latest });
    }
    for (version, sql) in (1i64..).zip(migrations.iter()).skip(usize::try_from(found).unwrap_or(0)) {
        before(conn, found, version)?;
        let tx = conn.transaction().map_err(Error::db("starting a migration"))?;
        tx.execute_batch(sql).map_err(Error::db("migrating the schema"))?;
        tx.pragma_update(None, "user_version", version).map_err(Error::db("recording the schema version"))?;
        tx.commit().map_err(Error::db("committing a migration"))?;
    }
    Ok(())
}

fn version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(Error::db("reading the schema version"))
}

/// Copies the audit log of a version-4 database into the audit database,
/// unless that already holds entries (a copy that completed before a crash:
/// the copy is one transaction on the audit file, so it is all there or none).
fn move_audit_log(conn: &mut Connection, audit: &Target) -> Result<()> {
    let name = match audit {
        Target::File(p) => p.to_string_lossy().into_owned(),
        Target::Memory(uri) => uri.clone(),
    };
    conn.execute("ATTACH DATABASE ?1 AS moved_audit", [name]).map_err(Error::db("attaching the audit database"))?;
    let copied = (|| {
        let held: i64 = conn
            .query_row("SELECT count(*) FROM moved_audit.audit_entries", [], |r| r.get(0))
            .map_err(Error::db("reading the audit database"))?;
        if held > 0 {
            return Ok(());
        }
        let tx = conn.transaction().map_err(Error::db("starting the audit log's move"))?;
        tx.execute_batch(
            "INSERT INTO moved_audit.audit_entries SELECT idx, data FROM main.audit_entries;
             INSERT INTO moved_audit.audit_nodes SELECT pos, hash FROM main.audit_nodes;
             INSERT INTO moved_audit.audit_originators SELECT originator, idx FROM main.audit_originators;
             INSERT INTO moved_audit.audit_checkpoints SELECT size, note FROM main.audit_checkpoints;",
        )
        .map_err(Error::db("moving the audit log"))?;
        tx.commit().map_err(Error::db("moving the audit log"))
    })();
    let detached = conn.execute("DETACH DATABASE moved_audit", []).map_err(Error::db("detaching the audit database"));
    copied.and(detached.map(|_| ()))
}
