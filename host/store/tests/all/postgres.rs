//! The conformance suite and the PostgreSQL-only behaviour (reconnects, schemas, migrations,
//! several processes sharing one database), against the server at
//! `SANDFLOW_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Every test works in a schema of its own, dropped at the end, so runs never collide. When no
//! server answers, each test says so and passes, unless `CI` is set and
//! `SANDFLOW_REQUIRE_POSTGRES=1`, where it fails.

use std::panic::AssertUnwindSafe;
use std::time::Duration as StdDuration;

use futures::FutureExt;
use futures::future::join_all;
use sandflow_store::conformance::{self, TENANT, seed_execution};
use sandflow_store::{
    ClaimResult, ExecutionStatus, PauseKind, PausePointRow, PauseStatus, PostgresStore, Store, StoreError,
};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use time::{Duration, OffsetDateTime};

use crate::support::{DATABASE_SLOTS, DEFAULT_URL, TestDb, connect, drop_schema, new_schema_name, redacted, url};

/// Prefix of this binary's schemas.
const SCHEMA_PREFIX: &str = "sf_test";

/// Runs `body` against a fresh store, then cleans up even if it panicked.
macro_rules! with_db {
    (|$store:ident, $schema:ident| $body:expr) => {{
        let Some(db) = TestDb::fresh(&DATABASE_SLOTS, SCHEMA_PREFIX).await else { return };
        let outcome = {
            let $store = &db.store;
            let $schema = db.schema.as_str();
            let _ = $schema;
            AssertUnwindSafe(async move { $body }).catch_unwind().await
        };
        db.finish(outcome).await;
    }};
}

/// Turns each conformance case into a test in a fresh PostgreSQL schema.
macro_rules! postgres_cases {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                with_db!(|store, _schema| conformance::$module::$case(store).await);
            }
        )*
    };
}

sandflow_store::conformance_cases!(postgres_cases);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_is_shared_as_arc_dyn_store() {
    with_db!(|store, _schema| {
        let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(store.clone());
        let task = tokio::spawn({
            let shared = shared.clone();
            async move { shared.create_workflow(TENANT, "wf", "Spawned", json!({})).await }
        });
        task.await.unwrap().unwrap();
        assert_eq!(shared.get_workflow(TENANT, "wf").await.unwrap().unwrap().name, "Spawned");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_persists_after_reconnecting() {
    with_db!(|store, schema| {
        let at = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap()
            - Duration::seconds(5);
        store.create_workflow(TENANT, "wf", "Kept", json!({"v": 1})).await.unwrap();
        store.deploy_workflow(TENANT, "wf").await.unwrap();
        store.update_draft(TENANT, "wf", json!({"v": 2})).await.unwrap();
        seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
        store.append_checkpoint(TENANT, "e1", "a", json!({"n": 1}).into()).await.unwrap();
        store.append_checkpoint(TENANT, "e1", "b", json!({"n": 2}).into()).await.unwrap();
        let wait = PausePointRow {
            context_id: "wait".into(),
            kind: PauseKind::Time,
            resume_at: Some(at),
            data: json!({"w": 1}),
        };
        store.put_pause_points(TENANT, "e1", vec![wait]).await.unwrap();
        store.record_restart(TENANT, "e1").await.unwrap();
        store.put_block(TENANT, "b", "d", vec![1, 2, 3], json!({"m": 1})).await.unwrap();
        store.close().await;

        let store = connect(schema).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 3);
        let wf = store.get_workflow(TENANT, "wf").await.unwrap().unwrap();
        assert_eq!((wf.draft, wf.deployed_version), (json!({"v": 2}), Some(1)));
        assert_eq!(store.latest_deployed(TENANT, "wf").await.unwrap(), Some((1, json!({"v": 1}))));
        let execution = store.get_execution(TENANT, "e1").await.unwrap().unwrap();
        assert_eq!((execution.status, execution.restarts), (ExecutionStatus::Running, 1));
        assert_eq!(execution.request, conformance::request_for("e1"));
        assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), [json!({"n": 1}), json!({"n": 2})]);
        assert_eq!(store.unfinished_executions().await.unwrap(), [(TENANT.into(), "e1".into())]);
        let due = store.due_timed_pauses(OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(due, [(TENANT.into(), "e1".into(), "wait".into())]);
        let points = store.list_pause_points(TENANT, "e1").await.unwrap();
        assert_eq!((points[0].resume_at, points[0].status), (Some(at), PauseStatus::Paused));
        assert_eq!(
            store.claim_pause_point(TENANT, "e1", "wait").await.unwrap(),
            ClaimResult::Claimed { data: json!({"w": 1}) }
        );
        assert_eq!(store.get_block_component(TENANT, "b").await.unwrap(), Some(vec![1, 2, 3]));
        store.close().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_schema_stay_consistent() {
    // Two pools stand for two server processes on one database.
    with_db!(|store, schema| {
        let other = connect(schema).await.unwrap();
        store.create_workflow(TENANT, "wf", "Flow", json!({"v": 1})).await.unwrap();
        let deploys = (0..10).map(|n| {
            if n % 2 == 0 { store.deploy_workflow(TENANT, "wf") } else { other.deploy_workflow(TENANT, "wf") }
        });
        let mut versions: Vec<u32> = join_all(deploys).await.into_iter().map(|r| r.expect("deploy")).collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=10).collect::<Vec<u32>>());

        seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
        let point =
            PausePointRow { context_id: "approve".into(), kind: PauseKind::Human, resume_at: None, data: json!({}) };
        store.put_pause_points(TENANT, "e1", vec![point]).await.unwrap();
        let claims = (0..20).map(|n| {
            let side: &PostgresStore = if n % 2 == 0 { store } else { &other };
            side.claim_pause_point(TENANT, "e1", "approve")
        });
        let won = join_all(claims).await.into_iter().filter(|r| matches!(r, Ok(ClaimResult::Claimed { .. }))).count();
        assert_eq!(won, 1);
        other.close().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_checkpoint_is_kept_after_a_cancel_returns() {
    with_db!(|store, _schema| {
        seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
        // Three branches append until refused while the run is cancelled under them.
        let branch = |b: u32| async move {
            let mut accepted = 0;
            loop {
                match store.append_checkpoint(TENANT, "e1", "branch", json!({"b": b, "n": accepted}).into()).await {
                    Ok(_) => accepted += 1,
                    Err(StoreError::Conflict(_)) => return accepted,
                    Err(e) => panic!("append failed: {e}"),
                }
            }
        };
        let cancel = async {
            tokio::time::sleep(StdDuration::from_millis(30)).await;
            store.update_execution(TENANT, "e1", ExecutionStatus::Cancelled, None).await.unwrap();
            store.list_checkpoints(TENANT, "e1").await.unwrap().len()
        };
        let (a, b, c, kept_at_cancel) = tokio::join!(branch(0), branch(1), branch(2), cancel);
        let accepted = a + b + c;
        assert!(accepted > 0);
        // Every accepted append had committed when the cancel returned; none came after.
        assert_eq!(kept_at_cancel, accepted);
        assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap().len(), accepted);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_are_isolated() {
    with_db!(|store, _schema| {
        // Not a second `TestDb`: waiting for another slot while holding one could deadlock.
        let name = new_schema_name(SCHEMA_PREFIX);
        let neighbour = connect(&name).await.unwrap();
        let outcome = AssertUnwindSafe(async {
            store.create_workflow(TENANT, "wf", "Here", json!({})).await.unwrap();
            assert_eq!(neighbour.get_workflow(TENANT, "wf").await.unwrap(), None);
            neighbour.create_workflow(TENANT, "wf", "There", json!({})).await.unwrap();
            assert_eq!(store.get_workflow(TENANT, "wf").await.unwrap().unwrap().name, "Here");
            assert_eq!(neighbour.schema(), Some(name.as_str()));
        })
        .catch_unwind()
        .await;
        neighbour.close().await;
        drop_schema(&name).await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_connects_migrate_once() {
    let Some(db) = TestDb::fresh(&DATABASE_SLOTS, SCHEMA_PREFIX).await else { return };
    let schema = new_schema_name(SCHEMA_PREFIX);
    let connects = join_all((0..4).map(|_| connect(&schema))).await;
    let outcome = AssertUnwindSafe(async {
        for store in &connects {
            let store = store.as_ref().expect("every concurrent connect succeeds");
            assert_eq!(store.schema_version().await.unwrap(), 3);
        }
    })
    .catch_unwind()
    .await;
    for store in connects.into_iter().flatten() {
        store.close().await;
    }
    drop_schema(&schema).await;
    db.finish(outcome).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    with_db!(|store, schema| {
        let mut conn = PgConnection::connect(&url()).await.unwrap();
        let bump =
            format!("INSERT INTO \"{schema}\".schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)");
        sqlx::raw_sql(&bump).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 99);
        match connect(schema).await {
            Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
            other => panic!("expected a schema version error, got {other:?}"),
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_postgres_cannot_hold_is_invalid_and_json_round_trips_exactly() {
    with_db!(|store, _schema| {
        let result = store.create_workflow(TENANT, "nul\0id", "Bad", json!({})).await;
        assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
        // Stored as text, not JSONB: JSONB would refuse the escaped NUL inside a string.
        let draft = json!({"nul": "a\u{0}b", "float": 1.5, "big": u64::MAX, "nested": {"z": 1, "a": [null, true]}});
        store.create_workflow(TENANT, "wf", "Odd", draft.clone()).await.unwrap();
        assert_eq!(store.get_workflow(TENANT, "wf").await.unwrap().unwrap().draft, draft);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_context_ids_in_one_batch_keep_the_first_and_listings_sort_by_bytes() {
    with_db!(|store, _schema| {
        seed_execution(store, TENANT, "e1", ExecutionStatus::Paused).await;
        let human = |id: &str, v: u32| PausePointRow {
            context_id: id.into(),
            kind: PauseKind::Human,
            resume_at: None,
            data: json!({"v": v}),
        };
        store
            .put_pause_points(TENANT, "e1", vec![human("b", 1), human("B", 2), human("b", 3), human("a", 4)])
            .await
            .unwrap();
        let points = store.list_pause_points(TENANT, "e1").await.unwrap();
        let listed: Vec<(&str, &serde_json::Value)> = points.iter().map(|p| (p.context_id.as_str(), &p.data)).collect();
        assert_eq!(listed, [("B", &json!({"v": 2})), ("a", &json!({"v": 4})), ("b", &json!({"v": 1}))]);
        for block_type in ["b", "B", "a-b", "ab", "_x"] {
            store.put_block(TENANT, block_type, "d", vec![], json!({})).await.unwrap();
        }
        let types: Vec<String> = store.list_blocks(TENANT).await.unwrap().into_iter().map(|b| b.block_type).collect();
        assert_eq!(types, ["B", "_x", "a-b", "ab", "b"]);
    });
}

#[tokio::test]
async fn bad_schema_names_and_urls_are_invalid() {
    let long = "x".repeat(64);
    for schema in ["", long.as_str(), "a\0b"] {
        let result = PostgresStore::connect_in_schema(DEFAULT_URL, schema).await;
        assert!(matches!(result, Err(StoreError::Invalid(_))), "{schema:?}: {result:?}");
    }
    let result = PostgresStore::connect("not a url").await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
}

#[test]
fn passwords_are_kept_out_of_messages() {
    assert_eq!(redacted("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
    assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(redacted("postgres://h/db"), "postgres://h/db");
}

#[tokio::test]
async fn a_url_whose_search_path_names_a_missing_schema_is_refused_clearly() {
    let Some(db) = TestDb::fresh(&DATABASE_SLOTS, SCHEMA_PREFIX).await else { return };
    let base = url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let missing = new_schema_name(SCHEMA_PREFIX);
    let connected = PostgresStore::connect(&format!("{base}{separator}options=-c%20search_path%3D{missing}")).await;
    let outcome = AssertUnwindSafe(async move {
        let error = connected.expect_err("the schema does not exist");
        assert!(matches!(&error, StoreError::Invalid(m) if m.contains("search_path")), "{error:?}");
    })
    .catch_unwind()
    .await;
    db.finish(outcome).await;
}
