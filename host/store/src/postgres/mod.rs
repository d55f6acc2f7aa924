//! The networked [`Store`](crate::Store): a PostgreSQL database behind a connection pool,
//! shared by any number of server processes.
//!
//! Concurrency rests on row locks at PostgreSQL's default READ COMMITTED isolation:
//! * a conditional `UPDATE … WHERE status = … RETURNING` (claims, final-status guards) waits
//!   for a concurrent writer of the row and then re-checks its condition on the committed row,
//!   so of concurrent claims exactly one matches;
//! * a deploy locks the workflow row (`SELECT … FOR UPDATE`) before it reads the highest
//!   version, so concurrent deploys are serialized and get distinct numbers;
//! * a write that needs "the execution exists and is not final" (checkpoints, pause points)
//!   reads the execution `FOR SHARE`, so a concurrent finish either waits for it or is seen.
//!
//! Schema migrations are recorded in a `schema_migrations` table and applied under an
//! advisory lock, so processes starting together do not both apply them.
//! [`PostgresOptions::schema`] keeps everything in one PostgreSQL schema (created if missing,
//! set as the `search_path` of every pooled connection), so several deployments or test runs
//! can share a database.

mod queue;
mod rows;
mod store;

pub use queue::{ClaimedJob, JobId, JobKind, JobOutcome, JobOutcomes, JobWakeups, SweepReport, WorkQueue};

use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres};
use time::OffsetDateTime;

use crate::{ExecutionStatus, StoreError};
use rows::parse_status;

/// Schema migrations in order, as `(version, name, SQL)`; versions count from 1 without gaps.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "queue", include_str!("../../migrations/postgres/0002_queue.sql")),
    (3, "job_outcomes", include_str!("../../migrations/postgres/0003_job_outcomes.sql")),
];

/// The first key of the advisory lock migrations take (the second is the schema's hash);
/// "SF" in ASCII, so it is recognisable in `pg_locks`.
const MIGRATION_LOCK: i32 = 0x5346;

/// Settings of a [`PostgresStore`]'s pool; `Default` gives the server's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The PostgreSQL schema to keep the tables in, created if missing; `None` uses the
    /// connection's default `search_path` (usually `public`).
    pub schema: Option<String>,
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long an operation waits for a free connection (or for a new one to open) before it
    /// fails with a backend error.
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self { schema: None, max_connections: 8, acquire_timeout: Duration::from_secs(30) }
    }
}

/// A [`Store`](crate::Store) in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<String>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// brings its schema up to date, with the tables in the default `search_path`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects like [`connect`](Self::connect) but keeps every table in the PostgreSQL schema
    /// `schema`, creating it if missing.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions { schema: Some(schema.to_owned()), ..PostgresOptions::default() }).await
    }

    /// Connects with explicit pool settings and brings the schema up to date.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let connect: PgConnectOptions = url.parse().map_err(|e| StoreError::Invalid(format!("database URL: {e}")))?;
        let schema = options.schema.map(|name| quote_ident(&name).map(|quoted| (name, quoted))).transpose()?;
        let mut pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout);
        if let Some((_, quoted)) = &schema {
            let set_path = format!("SET search_path TO {quoted}");
            pool = pool.after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move { conn.execute(set_path.as_str()).await.map(drop) })
            });
        }
        let pool = pool.connect_with(connect).await.map_err(db)?;
        let store = Self { pool, schema: schema.map(|(name, _)| name) };
        if let Err(e) = store.migrate().await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }

    /// The PostgreSQL schema holding the tables, `None` for the default `search_path`.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The schema version of the database (the highest migration applied).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let version: Option<i32> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(&self.pool).await.map_err(db)?;
        u32::try_from(version.unwrap_or(0)).map_err(backend)
    }

    /// Creates the schema if asked to and applies the migrations it lacks, all in one
    /// transaction under an advisory lock for this schema.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(COALESCE($2, current_schema(), '')))")
            .bind(MIGRATION_LOCK)
            .bind(self.schema.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(schema) = &self.schema {
            let create = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema)?);
            sqlx::raw_sql(&create).execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let applied: Option<i32> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(&mut *tx).await.map_err(db)?;
        let applied = applied.unwrap_or(0);
        let known = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
        if applied > known {
            return Err(StoreError::Backend(format!(
                "database schema version {applied} is newer than this build knows ({known})"
            )));
        }
        for (version, name, sql) in MIGRATIONS.iter().filter(|(version, _, _)| *version > applied) {
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(db)?;
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(version)
                .bind(name)
                .bind(now_millis())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}

/// `name` as a quoted SQL identifier; refuses what PostgreSQL could not keep as a schema name.
fn quote_ident(name: &str) -> Result<String, StoreError> {
    // PostgreSQL truncates identifiers to 63 bytes, which would silently merge two names.
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(StoreError::Invalid(format!("schema name {name:?} must be 1 to 63 bytes without NUL")));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// The stored status of an execution, `None` if it is missing in this tenant; with `lock`, the
/// row is read `FOR SHARE` so that its status cannot change until the transaction ends.
async fn execution_status<'e, E>(
    executor: E,
    tenant: &str,
    id: &str,
    lock: bool,
) -> Result<Option<ExecutionStatus>, StoreError>
where
    E: Executor<'e, Database = Postgres>,
{
    let sql = if lock {
        "SELECT status FROM executions WHERE tenant = $1 AND id = $2 FOR SHARE"
    } else {
        "SELECT status FROM executions WHERE tenant = $1 AND id = $2"
    };
    let status: Option<String> =
        sqlx::query_scalar(sql).bind(tenant).bind(id).fetch_optional(executor).await.map_err(db)?;
    status.map(|name| parse_status(&name)).transpose()
}

/// Why a write guarded by "the execution exists and is not final" touched no row.
async fn execution_refusal<'e, E>(executor: E, tenant: &str, id: &str) -> StoreError
where
    E: Executor<'e, Database = Postgres>,
{
    match execution_status(executor, tenant, id, false).await {
        Err(e) => e,
        Ok(None) => StoreError::NotFound,
        Ok(Some(status)) if status.is_final() => final_conflict(id, status),
        // Only reachable if the row appeared between the write and this read.
        Ok(Some(_)) => StoreError::Conflict(format!("execution {id} changed concurrently")),
    }
}

/// The conflict of writing to a finished execution.
fn final_conflict(id: &str, status: ExecutionStatus) -> StoreError {
    StoreError::Conflict(format!("execution {id} is already {}", status.as_str()))
}

/// A database failure: text PostgreSQL cannot hold (a NUL character in an ID) is the caller's
/// mistake, anything else a backend error; kept as text so that no sqlx type leaks out.
fn db(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(e) = &error {
        // character_not_in_repertoire, untranslatable_character
        if matches!(e.code().as_deref(), Some("22021" | "22P05")) {
            return StoreError::Invalid(e.message().to_owned());
        }
        // invalid_schema_name: a URL whose search_path names a schema that does not exist.
        if e.code().as_deref() == Some("3F000") {
            return StoreError::Invalid(format!(
                "{}: the connection's search_path names no existing schema; create it first or leave it out",
                e.message()
            ));
        }
    }
    backend(error)
}

/// A decoding or conversion failure, as a backend error.
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
