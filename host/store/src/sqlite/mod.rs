//! The embedded [`Store`](crate::Store): one SQLite file in WAL mode behind a connection pool.
//!
//! Concurrency rests on SQLite's single writer: every operation that must be atomic is one
//! write statement (an `INSERT … SELECT … RETURNING`, a conditional `UPDATE … RETURNING`), and
//! a write statement takes the write lock before it reads, so no two of them see the same
//! state. Multi-statement writes begin `IMMEDIATE` for the same reason: a deferred
//! transaction that reads first can fail to upgrade to a writer, which `busy_timeout` does
//! not retry.

mod rows;
mod store;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Sqlite};
use time::OffsetDateTime;

use crate::{ExecutionStatus, StoreError};
use rows::parse_status;

/// Schema migrations in order; the database's `user_version` is how many were applied.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_init.sql")];

/// Connections in the pool: WAL lets readers run beside the one writer, and the machine this
/// targets has few cores, so more would only queue inside SQLite.
const MAX_CONNECTIONS: u32 = 8;

/// How long a writer waits for the lock before the operation fails; writes are short, so
/// this is only reached when something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`](crate::Store) in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, readable by its owner only, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        make_private(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last
            // commits, which recovery then re-runs from the previous checkpoint.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool =
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await.map_err(backend)?;
        migrate(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The schema version of the open database (the number of migrations applied).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&self.pool).await.map_err(backend)?;
        u32::try_from(version).map_err(backend)
    }
}

/// Creates the database file with mode 0600 before SQLite does (it would use the umask), and
/// tightens an existing one: execution requests hold environment variable values.
#[cfg(unix)]
fn make_private(path: &Path) -> Result<(), StoreError> {
    use std::fs::{OpenOptions, Permissions};
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    file.set_permissions(Permissions::from_mode(0o600)).map_err(backend)?;
    // SQLite creates the WAL and shared-memory files with the database file's mode, but files
    // left over from a looser earlier mode keep theirs.
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::set_permissions(&side, Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(backend(e)),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Applies the migrations the database lacks, all in one immediate transaction so that two
/// processes opening the same new file do not both apply them.
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
    let applied: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await.map_err(backend)?;
    let applied = usize::try_from(applied).map_err(backend)?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "database schema version {applied} is newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(backend)?;
        // PRAGMA takes no bind parameters; the number is ours.
        let set_version = format!("PRAGMA user_version = {}", index + 1);
        sqlx::raw_sql(&set_version).execute(&mut *tx).await.map_err(backend)?;
    }
    tx.commit().await.map_err(backend)
}

/// The stored status of an execution, `None` if it is missing in this tenant.
async fn execution_status<'e, E>(executor: E, tenant: &str, id: &str) -> Result<Option<ExecutionStatus>, StoreError>
where
    E: Executor<'e, Database = Sqlite>,
{
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM executions WHERE tenant = ? AND id = ?")
        .bind(tenant)
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(backend)?;
    status.map(|name| parse_status(&name)).transpose()
}

/// Why a write guarded by "the execution exists and is not final" touched no row.
async fn execution_refusal<'e, E>(executor: E, tenant: &str, id: &str) -> StoreError
where
    E: Executor<'e, Database = Sqlite>,
{
    match execution_status(executor, tenant, id).await {
        Err(e) => e,
        Ok(None) => StoreError::NotFound,
        Ok(Some(status)) if status.is_final() => {
            StoreError::Conflict(format!("execution {id} is already {}", status.as_str()))
        }
        // Only reachable if the row appeared between the write and this read.
        Ok(Some(_)) => StoreError::Conflict(format!("execution {id} changed concurrently")),
    }
}

/// A database or decoding failure, kept as text so that no sqlx type leaks into the API.
fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Milliseconds since the Unix epoch: the stored form of every timestamp.
fn millis(at: OffsetDateTime) -> i64 {
    // i64 milliseconds cover ±292 million years, far beyond what `time` accepts.
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The current time in stored form.
fn now_millis() -> i64 {
    millis(OffsetDateTime::now_utc())
}

/// A JSON value in stored form.
fn to_text(value: &Value) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}
