//! What the PostgreSQL tests share: the server they use, the skip policy when
//! none answers, and a store in a fresh schema of its own.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sandflow_store::{PostgresOptions, PostgresStore, StoreError};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// The server the tests use unless `SANDFLOW_TEST_POSTGRES_URL` names another.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Connections per test store: many tests run at once and the server allows about 100.
const POOL_SIZE: u32 = 4;

/// Tests holding a database at once, whatever `--test-threads` says, to stay
/// well under the server's connection limit (about 100; each store pools [`POOL_SIZE`]).
pub static DATABASE_SLOTS: Semaphore = Semaphore::const_new(8);

/// Whether a server answered the first probe (probed once per test binary).
static REACHABLE: OnceCell<bool> = OnceCell::const_new();

/// Numbers the schemas this process creates.
static SCHEMAS: AtomicU32 = AtomicU32::new(0);

/// The URL of the test server.
pub fn url() -> String {
    std::env::var("SANDFLOW_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with any password replaced, for messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Whether a PostgreSQL server answers at the test URL; a server that answers but refuses
/// (a wrong password, a missing database) fails the test rather than skip it.
async fn server_answers() -> bool {
    *REACHABLE
        .get_or_init(|| async {
            let url = url();
            match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                    true
                }
                Ok(Err(sqlx::Error::Io(_))) | Err(_) => false,
                Ok(Err(e)) => panic!("the PostgreSQL server at {} refused the test connection: {e}", redacted(&url)),
            }
        })
        .await
}

/// A schema name starting with `prefix` that no other test, run or machine sharing the
/// server is using.
pub fn new_schema_name(prefix: &str) -> String {
    let counter = SCHEMAS.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one(counter) & 0xffff_ffff;
    format!("{prefix}_{}_{counter}_{random:08x}", std::process::id())
}

/// A small-pooled store in `schema`.
pub async fn connect(schema: &str) -> Result<PostgresStore, StoreError> {
    let options =
        PostgresOptions { schema: Some(schema.to_owned()), max_connections: POOL_SIZE, ..PostgresOptions::default() };
    PostgresStore::connect_with(&url(), options).await
}

/// Drops a test schema and everything in it, ignoring failures.
pub async fn drop_schema(schema: &str) {
    if let Ok(mut conn) = PgConnection::connect(&url()).await {
        let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await;
        let _ = conn.close().await;
    }
}

/// A store in a fresh schema of its own, dropped by [`TestDb::finish`].
pub struct TestDb {
    pub store: PostgresStore,
    pub schema: String,
    _slot: SemaphorePermit<'static>,
}

impl TestDb {
    /// A fresh store in a schema named after `prefix`, holding one of `slots` (which bounds
    /// the tests holding a database at once, whatever `--test-threads` says); or `None`
    /// (after saying why) when no server answers and none is required.
    pub async fn fresh(slots: &'static Semaphore, prefix: &str) -> Option<Self> {
        if !server_answers().await {
            let url = redacted(&url());
            let required =
                std::env::var_os("CI").is_some() && std::env::var("SANDFLOW_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            assert!(!required, "no PostgreSQL server answered at {url}, and SANDFLOW_REQUIRE_POSTGRES=1 in CI");
            eprintln!(
                "PostgreSQL tests skipped: no server answered at {url} (set SANDFLOW_TEST_POSTGRES_URL to test against one)"
            );
            return None;
        }
        let slot = slots.acquire().await.expect("semaphore is never closed");
        let schema = new_schema_name(prefix);
        let store = connect(&schema).await.expect("connect in a fresh schema");
        Some(Self { store, schema, _slot: slot })
    }

    /// Closes the store, drops its schema (best effort) and re-raises the test's panic, if any.
    pub async fn finish(self, outcome: std::thread::Result<()>) {
        self.store.close().await;
        drop_schema(&self.schema).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}
