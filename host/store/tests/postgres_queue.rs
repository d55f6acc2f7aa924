//! The PostgreSQL work queue ([`WorkQueue`]) against the server at
//! `SANDFLOW_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), with the
//! same policy as `tests/postgres.rs`: every test works in a schema of its own, dropped at the
//! end; when no server answers, each test says so and passes, unless `CI` is set and
//! `SANDFLOW_REQUIRE_POSTGRES=1`, where it fails.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::join_all;
use sandflow_store::conformance::{TENANT, assert_error, seed_execution};
use sandflow_store::{ExecutionStatus, JobId, JobKind, PostgresOptions, PostgresStore, StoreError, WorkQueue};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use time::OffsetDateTime;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// The server the tests use unless `SANDFLOW_TEST_POSTGRES_URL` names another.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Connections per test store: many tests run at once and the server allows about 100.
const POOL_SIZE: u32 = 4;

/// A lease no test outlives.
const LONG: Duration = Duration::from_secs(60);

/// A lease tests let run out.
const SHORT: Duration = Duration::from_millis(150);

/// Tests holding a database at once, to stay well under the server's connection limit.
static SLOTS: Semaphore = Semaphore::const_new(4);

/// Whether a server answered the first probe (probed once per test binary).
static REACHABLE: OnceCell<bool> = OnceCell::const_new();

/// Numbers the schemas this process creates.
static SCHEMAS: AtomicU32 = AtomicU32::new(0);

/// The URL of the test server.
fn url() -> String {
    std::env::var("SANDFLOW_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with any password replaced, for messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Whether a PostgreSQL server answers at the test URL; a server that answers but refuses
/// fails the test rather than skip it.
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

/// A store in a fresh schema of its own, dropped by [`TestDb::finish`].
struct TestDb {
    store: PostgresStore,
    schema: String,
    _slot: SemaphorePermit<'static>,
}

impl TestDb {
    /// A fresh store, or `None` (after saying why) when no server answers and none is required.
    async fn fresh() -> Option<Self> {
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
        let slot = SLOTS.acquire().await.expect("semaphore is never closed");
        let counter = SCHEMAS.fetch_add(1, Ordering::Relaxed);
        let random = RandomState::new().hash_one(counter) & 0xffff_ffff;
        let schema = format!("sf_qtest_{}_{counter}_{random:08x}", std::process::id());
        let options =
            PostgresOptions { schema: Some(schema.clone()), max_connections: POOL_SIZE, ..PostgresOptions::default() };
        let store = PostgresStore::connect_with(&url(), options).await.expect("connect in a fresh schema");
        Some(Self { store, schema, _slot: slot })
    }

    /// Closes the store, drops its schema (best effort) and re-raises the test's panic, if any.
    async fn finish(self, outcome: std::thread::Result<()>) {
        self.store.close().await;
        if let Ok(mut conn) = PgConnection::connect(&url()).await {
            let drop = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
            let _ = sqlx::raw_sql(&drop).execute(&mut conn).await;
            let _ = conn.close().await;
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Runs `body` with a fresh store and its queue, then cleans up even if it panicked.
macro_rules! with_queue {
    (|$store:ident, $queue:ident| $body:expr) => {{
        let Some(db) = TestDb::fresh().await else { return };
        let outcome = {
            let $store = &db.store;
            let $queue = db.store.queue();
            AssertUnwindSafe(async move { $body }).catch_unwind().await
        };
        db.finish(outcome).await;
    }};
}

/// Seeds running executions with these IDs.
async fn seed(store: &PostgresStore, ids: &[&str]) {
    for id in ids {
        seed_execution(store, TENANT, id, ExecutionStatus::Running).await;
    }
}

/// Enqueues a run of `execution_id`.
async fn run(queue: &WorkQueue, execution_id: &str) -> JobId {
    queue.enqueue(TENANT, execution_id, JobKind::Run).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_each_job_exactly_once() {
    with_queue!(|store, queue| {
        let ids: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
        seed(store, &ids.iter().map(String::as_str).collect::<Vec<_>>()).await;
        // Several rounds, since the pool lets only a few claims reach the server at once.
        for round in 0..5 {
            let mut enqueued = BTreeSet::new();
            for id in &ids {
                enqueued.insert(run(&queue, id).await);
            }
            let claims = join_all((0..20).map(|w| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.claim(&format!("w{w}"), LONG).await })
            }))
            .await;
            let claimed: Vec<_> = claims.into_iter().filter_map(|c| c.unwrap().unwrap()).collect();
            assert_eq!(claimed.len(), 10, "round {round}: {claimed:?}");
            let distinct: BTreeSet<JobId> = claimed.iter().map(|job| job.job_id).collect();
            assert_eq!(distinct, enqueued, "round {round}");
            let tokens: BTreeSet<i64> = claimed.iter().map(|job| job.token).collect();
            assert_eq!(tokens.len(), 10, "round {round}");
            assert!(claimed.iter().all(|job| job.attempt == 1 && job.kind == JobKind::Run && job.tenant == TENANT));
            assert_eq!(queue.claim("late", LONG).await.unwrap(), None, "round {round}");
            for job in claimed {
                queue.complete(job.job_id, job.token).await.unwrap();
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_of_one_execution_are_not_claimed_concurrently() {
    with_queue!(|store, queue| {
        seed(store, &["e1", "e2"]).await;
        let first = run(&queue, "e1").await;
        let resume = JobKind::Resume { context_id: "ask".into(), input: json!({"ok": true}) };
        let second = queue.enqueue(TENANT, "e1", resume.clone()).await.unwrap();
        let other = run(&queue, "e2").await;

        let a = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!((a.job_id, a.execution_id.as_str()), (first, "e1"));
        let b = queue.claim("b", LONG).await.unwrap().unwrap();
        assert_eq!(b.job_id, other, "the second job of e1 must wait for the first");
        assert_eq!(queue.claim("c", LONG).await.unwrap(), None);

        queue.complete(a.job_id, a.token).await.unwrap();
        let c = queue.claim("c", LONG).await.unwrap().unwrap();
        assert_eq!((c.job_id, c.kind), (second, resume));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claimers_never_lease_two_jobs_of_one_execution() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        for _ in 0..4 {
            run(&queue, "e1").await;
        }
        let claims = join_all((0..12).map(|w| {
            let queue = queue.clone();
            tokio::spawn(async move { queue.claim(&format!("w{w}"), LONG).await })
        }))
        .await;
        let claimed: Vec<_> = claims.into_iter().filter_map(|c| c.unwrap().unwrap()).collect();
        assert_eq!(claimed.len(), 1, "{claimed:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_with_a_stale_token_is_refused() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        run(&queue, "e1").await;
        let job = queue.claim("a", SHORT).await.unwrap().unwrap();
        assert!(!queue.heartbeat(job.job_id, job.token + 1, LONG).await.unwrap());
        assert!(queue.heartbeat(job.job_id, job.token, LONG).await.unwrap());
        // The heartbeat extended the lease beyond SHORT: nothing to sweep.
        tokio::time::sleep(SHORT * 2).await;
        assert!(queue.release_expired(5).await.unwrap().requeued.is_empty());
        queue.complete(job.job_id, job.token).await.unwrap();
        assert!(!queue.heartbeat(job.job_id, job.token, LONG).await.unwrap(), "a completed job has no lease");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_after_the_lease_was_lost_is_fenced() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let id = run(&queue, "e1").await;
        let stale = queue.claim("a", SHORT).await.unwrap().unwrap();
        tokio::time::sleep(SHORT * 2).await;
        let swept = queue.release_expired(5).await.unwrap();
        assert_eq!((swept.requeued, swept.given_up), (vec![id], vec![]));
        assert!(!queue.heartbeat(id, stale.token, LONG).await.unwrap());

        let fresh = queue.claim("b", LONG).await.unwrap().unwrap();
        assert_eq!((fresh.job_id, fresh.attempt), (id, 2));
        assert_ne!(fresh.token, stale.token);
        assert_error(queue.complete(id, stale.token).await, "conflict");
        queue.complete(id, fresh.token).await.unwrap();
        assert_error(queue.complete(id, fresh.token).await, "conflict");
        assert_error(queue.complete(JobId(id.0 + 1000), fresh.token).await, "not found");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_leases_are_requeued_then_given_up_after_max_attempts() {
    with_queue!(|store, queue| {
        seed(store, &["e1", "e2"]).await;
        let dying = run(&queue, "e1").await;
        for attempt in 1..=2 {
            let job = queue.claim("crashy", SHORT).await.unwrap().unwrap();
            assert_eq!((job.job_id, job.attempt), (dying, attempt));
            if attempt == 1 {
                // A healthy worker's job on another execution, whose lease outlives the sweeps.
                run(&queue, "e2").await;
                let healthy = queue.claim("healthy", LONG).await.unwrap().unwrap();
                assert_eq!(healthy.execution_id, "e2");
            }
            tokio::time::sleep(SHORT * 2).await;
            let swept = queue.release_expired(2).await.unwrap();
            if attempt == 1 {
                assert_eq!((swept.requeued, swept.given_up), (vec![dying], vec![]));
            } else {
                assert_eq!(swept.requeued, vec![]);
                assert_eq!(swept.given_up, vec![(dying, TENANT.to_owned(), "e1".to_owned())]);
            }
        }
        assert_eq!(queue.claim("next", LONG).await.unwrap(), None, "a given-up job is never claimed again");
        assert_eq!(queue.release_expired(2).await.unwrap(), Default::default());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_needs_the_execution_and_honours_run_at() {
    with_queue!(|store, queue| {
        assert_error(queue.enqueue(TENANT, "missing", JobKind::Run).await, "not found");
        assert_error(queue.enqueue("other", "e1", JobKind::Run).await, "not found");
        seed(store, &["e1"]).await;
        let later = OffsetDateTime::now_utc() + time::Duration::milliseconds(400);
        let timer = JobKind::Timer { context_id: "wait".into() };
        let id = queue.enqueue_at(TENANT, "e1", timer.clone(), later).await.unwrap();
        assert_eq!(queue.claim("a", LONG).await.unwrap(), None, "not due yet");
        tokio::time::sleep(Duration::from_millis(600)).await;
        let job = queue.claim("a", LONG).await.unwrap().unwrap();
        assert_eq!((job.job_id, job.kind), (id, timer));
        assert!(matches!(queue.claim("a", Duration::ZERO).await, Err(StoreError::Invalid(_))));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_wakes_on_enqueue() {
    with_queue!(|store, queue| {
        seed(store, &["e1"]).await;
        let mut wakeups = queue.listen().await.unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(300), wakeups.next()).await;
        assert!(quiet.is_err(), "woke without an enqueue: {quiet:?}");
        run(&queue, "e1").await;
        let woke = tokio::time::timeout(Duration::from_secs(10), wakeups.next()).await;
        assert!(matches!(woke, Ok(Ok(()))), "no wake-up within 10 s: {woke:?}");
    });
}
