//! The storage layer: one handle over SQLite or PostgreSQL, and one module per
//! entity whose queries are written once in SQL that both databases run.
//!
//! Queries go through the `fetch_*!`/`execute!` macros below, which expand to
//! the same `sqlx` call for whichever backend is live. The type rules that
//! keep one SQL text honest on both are in the migrations' header: 64-bit
//! integer ids, instants as UTC microseconds, `true`/`false` booleans.

pub mod authors;
pub mod comments;
pub mod imports;
pub mod media;
pub mod members;
pub mod reading;
pub mod sections;
pub mod settings;
pub mod stories;
pub mod topics;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

/// The live database. Cloning is cheap (pools are reference-counted).
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite allows one writer at a time, so writes go through a pool of one
    /// connection (writers queue for it instead of failing with "busy"), and
    /// reads through a pool of several.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Which database a [`Db`] talks to, for the few queries that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A borrowed connection of either backend: what storage functions take.
pub enum Ex<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// A pooled connection, for reads and single-statement writes.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// A transaction. On SQLite it was begun with `BEGIN IMMEDIATE` on the writer
/// connection, so it holds the write lock from its first statement.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Conn {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Conn::Sqlite(c) => Ex::Sqlite(&mut *c),
            Conn::Postgres(c) => Ex::Postgres(&mut *c),
        }
    }
}

impl Tx {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Tx::Sqlite(t) => Ex::Sqlite(&mut *t),
            Tx::Postgres(t) => Ex::Postgres(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

impl Ex<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Ex::Sqlite(_) => Backend::Sqlite,
            Ex::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Why the database could not be opened; the messages name the database
/// with its password hidden.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("a migration of the database {url} failed: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("the database URL {url} is not understood: {reason}")]
    BadUrl { url: String, reason: String },
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Hides the password of a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Opens the database named by `url` (`sqlite:` path or `postgres://`).
    /// Nothing is created or migrated here; see [`Db::migrate`].
    pub async fn open(url: &str) -> Result<Db, OpenError> {
        let shown = redact_url(url);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| OpenError::BadUrl {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
            Self::open_postgres(opts, &shown).await
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            Self::open_sqlite(Path::new(path), &shown).await
        } else {
            Err(OpenError::BadUrl {
                url: shown,
                reason: "it should start with sqlite: or postgres://".into(),
            })
        }
    }

    pub async fn open_postgres(opts: PgConnectOptions, shown: &str) -> Result<Db, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|source| OpenError::Connect {
                url: shown.to_string(),
                source,
            })?;
        Ok(Db::Postgres(pool))
    }

    pub async fn open_sqlite(path: &Path, shown: &str) -> Result<Db, OpenError> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000");
        let connect_err = |source| OpenError::Connect {
            url: shown.to_string(),
            source,
        };
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone())
            .await
            .map_err(connect_err)?;
        // Readers keep a smaller page cache than the writer: eight of them
        // at 32 MB could hold 256 MB, and the system's file cache already
        // keeps the pages they share.
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(base.read_only(true).pragma("cache_size", "-8000"))
            .await
            .map_err(connect_err)?;
        Ok(Db::Sqlite { read, write })
    }

    /// Applies the pending migrations of this backend's folder.
    pub async fn migrate(&self, shown_url: &str) -> Result<(), OpenError> {
        let err = |source| OpenError::Migrate {
            url: shown_url.to_string(),
            source,
        };
        match self {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await.map_err(err)?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await.map_err(err)?,
        }
        // A bulk import that stopped before its end left indexes aside.
        let rebuilt = imports::rebuild_indexes(self)
            .await
            .map_err(|e| err(sqlx::migrate::MigrateError::Execute(e)))?;
        if rebuilt > 0 {
            tracing::warn!(
                rebuilt,
                "built the indexes of comments a bulk import had set aside"
            );
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection for reading.
    pub async fn read(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { read, .. } => Conn::Sqlite(read.acquire().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// The connection for a single-statement write (on SQLite, the writer).
    pub async fn write(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => Conn::Sqlite(write.acquire().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// Begins a transaction that may write. On SQLite it takes the write lock
    /// at once, so a read-then-write transaction never fails half-way with
    /// "database is locked".
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Checks that the database answers, for `/healthz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.read().await?;
        match conn.ex() {
            Ex::Sqlite(c) => c.ping().await,
            Ex::Postgres(c) => c.ping().await,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The row of an `insert ... returning id`.
#[derive(sqlx::FromRow)]
pub(crate) struct Id {
    pub id: i64,
}

/// The row of a `select count(*) as n`.
#[derive(sqlx::FromRow)]
pub(crate) struct Count {
    pub n: i64,
}

/// `$1, $2, ... $n` starting after `start` placeholders, for `in (...)` lists.
pub fn placeholders(start: usize, n: usize) -> String {
    (start + 1..=start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `query_as` with the same SQL on whichever backend `$ex` is.
#[macro_export]
macro_rules! fetch_optional {
    ($ex:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::db::Ex::Sqlite(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_optional(&mut *c).await,
            $crate::db::Ex::Postgres(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_optional(&mut *c).await,
        }
    };
}

#[macro_export]
macro_rules! fetch_one {
    ($ex:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::db::Ex::Sqlite(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_one(&mut *c).await,
            $crate::db::Ex::Postgres(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_one(&mut *c).await,
        }
    };
}

#[macro_export]
macro_rules! fetch_all {
    ($ex:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::db::Ex::Sqlite(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_all(&mut *c).await,
            $crate::db::Ex::Postgres(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_all(&mut *c).await,
        }
    };
}

/// Runs a statement and answers the number of rows it touched.
#[macro_export]
macro_rules! execute {
    ($ex:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::db::Ex::Sqlite(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut *c).await.map(|r| r.rows_affected()),
            $crate::db::Ex::Postgres(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut *c).await.map(|r| r.rows_affected()),
        }
    };
}

/// Like the macros above with a list of values bound after the fixed ones,
/// for `in (...)` lists whose SQL is built at run time.
#[macro_export]
macro_rules! fetch_all_in {
    ($ex:expr, $t:ty, $sql:expr, $list:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::db::Ex::Sqlite(c) => {
                let mut q = sqlx::query_as::<_, $t>(sqlx::AssertSqlSafe($sql))$(.bind($arg))*;
                for v in $list { q = q.bind(v); }
                q.fetch_all(&mut *c).await
            }
            $crate::db::Ex::Postgres(c) => {
                let mut q = sqlx::query_as::<_, $t>(sqlx::AssertSqlSafe($sql))$(.bind($arg))*;
                for v in $list { q = q.bind(v); }
                q.fetch_all(&mut *c).await
            }
        }
    };
}
