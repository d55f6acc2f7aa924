//! The embedded [`Store`](crate::Store): one SQLite file in WAL mode behind a connection pool.
//!
//! Concurrency rests on SQLite's single writer: every operation that must be atomic is one
//! write statement (an `INSERT … SELECT … RETURNING`, a conditional `UPDATE … RETURNING`), and
//! a write statement takes the write lock before it reads, so no two of them see the same
//! state. Multi-statement writes begin `IMMEDIATE` for the same reason: a deferred
//! transaction that reads first can fail to upgrade to a writer, which `busy_timeout` does
//! not retry.

//! The embedded [`Store`](crate::Store): one SQLite file in WAL mode.
//!
//! Every write goes to one thread that owns the only writing connection and commits whatever
//! has queued up meanwhile in one transaction (group commit, [`writer`]): under load one WAL
//! sync covers the checkpoints and results of many executions. A write is answered once its
//! transaction committed with `synchronous = FULL`, so what it was told is written survives a
//! crash of the process and of the machine.
//!
//! Reads run on the caller's thread, on a connection of a small pool: a point read by key
//! takes microseconds, less than handing it to another thread would. WAL lets them run beside
//! the writer and see every committed write.
//!
//! Atomicity comes from the single writer: each write runs alone on the writing connection,
//! in its own savepoint, so what a write reads and changes is not interleaved with any other.

mod rows;
mod store;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{ExecutionStatus, StoreError};
use rows::parse_status;
use writer::Writer;

/// Schema migrations in order; the database's `user_version` is how many were applied.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_init.sql")];

/// Read connections kept open between reads; more are opened when more threads read at once.
const IDLE_READERS: usize = 8;

/// How long a connection waits for a lock held by another process before failing; this
/// process never makes its own connections wait (one writer, WAL readers).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 64;

/// A [`Store`](crate::Store) in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    writer: Writer,
    /// The writer thread, joined by [`SqliteStore::close`].
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, readable by its owner only, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        // Opening, migrating and checking the schema touch the disk: not on an async thread.
        tokio::task::spawn_blocking(move || Self::open_blocking(path)).await.map_err(backend)?
    }

    fn open_blocking(path: PathBuf) -> Result<Self, StoreError> {
        make_private(&path)?;
        let connection = connect(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("{} cannot use WAL mode (got {mode})", path.display())));
        }
        // FULL: a commit is on disk when it returns. Group commit pays the sync once per group.
        connection.execute_batch("PRAGMA synchronous = FULL").map_err(backend)?;
        migrate(&connection)?;
        let (writer, thread) = Writer::start(connection)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                writer,
                writer_thread: Mutex::new(Some(thread)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Commits what is queued and closes every connection; reads and writes after this fail.
    pub async fn close(&self) {
        self.shared.writer.close().await;
        let thread = self.shared.writer_thread.lock().expect("writer thread").take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.shared.readers.lock().expect("readers").clear();
    }

    /// The schema version of the open database (the number of migrations applied).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let version: i64 = self.read(|c| c.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend))?;
        u32::try_from(version).map_err(backend)
    }

    /// How many transactions the writer committed so far, and how many writes they held: the
    /// second over the first is the mean group size.
    pub fn committed_writes(&self) -> (u64, u64) {
        self.shared.writer.committed()
    }

    /// Runs `work` on the writing connection (see [`writer`]); answers once it is committed.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.shared.writer.write(work).await
    }

    /// Runs `work` on a read connection, on this thread: reads here are point lookups by key.
    fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let idle = self.shared.readers.lock().expect("readers").pop();
        let connection = match idle {
            Some(connection) => connection,
            None => connect(&self.shared.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?,
        };
        let result = work(&connection);
        let mut readers = self.shared.readers.lock().expect("readers");
        if readers.len() < IDLE_READERS {
            readers.push(connection);
        }
        result
    }

    /// As [`Self::read`], on a blocking thread: for reads that may move megabytes.
    async fn read_blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read(work)).await.map_err(backend)?
    }
}

/// A connection to `path` with this store's settings.
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let connection =
        Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    connection.execute_batch("PRAGMA foreign_keys = ON").map_err(backend)?;
    // One plan per statement, whatever is bound. Without it SQLite marks a statement with a
    // `column = ?` term to be planned again when that parameter is bound anew, and the
    // statement cache clears the bindings of every statement it takes back: each cached
    // statement was parsed again on every use (6% of the server's time under load).
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(backend)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
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
fn migrate(connection: &Connection) -> Result<(), StoreError> {
    connection.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    let applied = (|| {
        let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend)?;
        let applied = usize::try_from(applied).map_err(backend)?;
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Backend(format!(
                "database schema version {applied} is newer than this build knows ({})",
                MIGRATIONS.len()
            )));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            connection.execute_batch(sql).map_err(backend)?;
            // PRAGMA takes no bind parameters; the number is ours.
            connection.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).map_err(backend)?;
        }
        Ok(())
    })();
    match applied {
        Ok(()) => connection.execute_batch("COMMIT").map_err(backend),
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// The stored status of an execution, `None` if it is missing in this tenant.
fn execution_status(connection: &Connection, tenant: &str, id: &str) -> Result<Option<ExecutionStatus>, StoreError> {
    let status: Option<String> = connection
        .prepare_cached("SELECT status FROM executions WHERE tenant = ?1 AND id = ?2")
        .and_then(|mut statement| statement.query_row((tenant, id), |row| row.get(0)).optional())
        .map_err(backend)?;
    status.map(|name| parse_status(&name)).transpose()
}

/// Why a write guarded by "the execution exists and is not final" touched no row.
fn execution_refusal(connection: &Connection, tenant: &str, id: &str) -> StoreError {
    match execution_status(connection, tenant, id) {
        Err(e) => e,
        Ok(None) => StoreError::NotFound,
        Ok(Some(status)) if status.is_final() => {
            StoreError::Conflict(format!("execution {id} is already {}", status.as_str()))
        }
        // The writer runs one write at a time: the guard and this read saw the same row.
        Ok(Some(_)) => StoreError::Conflict(format!("execution {id} changed concurrently")),
    }
}

/// A database or decoding failure, kept as text so that no driver type leaks into the API.
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

#[cfg(test)]
mod tests {
    use rusqlite::{OpenFlags, StatementStatus};

    use super::{connect, migrate};

    /// The statement cache clears a statement's bindings when it takes it back; that must not
    /// make SQLite plan it again on its next use.
    #[test]
    fn a_cached_statement_is_prepared_once_whatever_is_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        let connection = connect(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE).unwrap();
        migrate(&connection).unwrap();
        let mut statement = connection
            .prepare(
                "SELECT version, deployed_at FROM workflow_versions \
                 WHERE tenant = ?1 AND workflow_id = ?2 ORDER BY version DESC LIMIT 1",
            )
            .unwrap();
        for (tenant, id) in [("t1", "w1"), ("t2", "w2"), ("t1", "w2")] {
            let found = statement.query((tenant, id)).unwrap().next().unwrap().is_some();
            assert!(!found);
            statement.clear_bindings();
        }
        assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
    }
}
