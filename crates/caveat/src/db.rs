//! Which store a command works on: `--db PATH` (SQLite, the default) or
//! `--db postgres://...` (PostgreSQL).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, bail};
use caveat_store::{PostgresStore, SqliteStore, Store};

/// A hub database.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl FromStr for Db {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Db::Postgres(s.to_owned())
        } else {
            Db::Sqlite(PathBuf::from(s.strip_prefix("sqlite://").unwrap_or(s)))
        })
    }
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Db::Sqlite(p) => write!(f, "{}", p.display()),
            // Never print a password.
            Db::Postgres(url) => match url.split_once('@') {
                Some((_, host)) => write!(f, "postgres://…@{host}"),
                None => f.write_str(url),
            },
        }
    }
}

impl Db {
    /// Whether the database exists (a PostgreSQL URL is assumed to).
    pub(crate) fn exists(&self) -> bool {
        match self {
            Db::Sqlite(p) => p.exists(),
            Db::Postgres(_) => true,
        }
    }

    /// Opens (and migrates) the store; `create` allows making a new SQLite file.
    pub(crate) async fn open(&self, create: bool) -> anyhow::Result<Arc<dyn Store>> {
        match self {
            Db::Sqlite(p) => {
                if !create && !p.exists() {
                    bail!("no hub database at {}; run `caveat init` first", p.display());
                }
                Ok(Arc::new(SqliteStore::open(p).with_context(|| format!("opening {}", p.display()))?))
            }
            Db::Postgres(url) => {
                Ok(Arc::new(PostgresStore::connect(url).await.with_context(|| format!("connecting to {self}"))?))
            }
        }
    }

    /// Where the hub's audit signing key lives: beside a SQLite file, or
    /// `CAVEAT_AUDIT_KEY` (default `./caveat-postgres.audit-key`) for PostgreSQL,
    /// where every hub process of one database must share it.
    pub(crate) fn key_path(&self) -> PathBuf {
        match self {
            Db::Sqlite(p) => {
                let mut name = p.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
                name.push(".audit-key");
                p.with_file_name(name)
            }
            Db::Postgres(_) => std::env::var_os("CAVEAT_AUDIT_KEY")
                .map_or_else(|| PathBuf::from("caveat-postgres.audit-key"), PathBuf::from),
        }
    }
}
