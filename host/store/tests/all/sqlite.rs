//! The conformance suite and the SQLite-only behaviour (files, permissions, schema versions).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sandflow_store::conformance::{self, TENANT, seed_execution};
use sandflow_store::{
    ClaimResult, ExecutionStatus, PauseKind, PausePointRow, PauseStatus, SqliteStore, Store, StoreError,
};
use serde_json::json;
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

/// A fresh store in its own directory (kept alive by the returned guard).
async fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("sandflow.db")).await.expect("open store");
    (dir, store)
}

/// Turns each conformance case into a test on a fresh SQLite file.
macro_rules! sqlite_cases {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_dir, store) = fresh().await;
                conformance::$module::$case(&store).await;
                store.close().await;
            }
        )*
    };
}

sandflow_store::conformance_cases!(sqlite_cases);

/// The permission bits of a file.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("file exists").permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_is_shared_as_arc_dyn_store() {
    let (_dir, store) = fresh().await;
    let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(store);
    let task = tokio::spawn({
        let shared = shared.clone();
        async move { shared.create_workflow(TENANT, "wf", "Spawned", json!({})).await }
    });
    task.await.unwrap().unwrap();
    assert_eq!(shared.get_workflow(TENANT, "wf").await.unwrap().unwrap().name, "Spawned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_persists_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandflow.db");
    let at =
        OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap() - Duration::seconds(5);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.create_workflow(TENANT, "wf", "Kept", json!({"v": 1})).await.unwrap();
        store.deploy_workflow(TENANT, "wf").await.unwrap();
        store.update_draft(TENANT, "wf", json!({"v": 2})).await.unwrap();
        seed_execution(&store, TENANT, "e1", ExecutionStatus::Running).await;
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
    }

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 1);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_files_are_readable_by_owner_only() {
    let (dir, store) = fresh().await;
    // Force a write so the WAL exists too.
    seed_execution(&store, TENANT, "e1", ExecutionStatus::Running).await;
    let db = dir.path().join("sandflow.db");
    assert_eq!(mode(&db), 0o600);
    let wal = dir.path().join("sandflow.db-wal");
    assert!(wal.exists(), "WAL mode should create {}", wal.display());
    assert_eq!(mode(&wal), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_loose_file_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandflow.db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(store.schema_version().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandflow.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.close().await;
    // What a later build would leave behind.
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();

    match SqliteStore::open(&path).await {
        Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
        other => panic!("expected a schema version error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let result = SqliteStore::open(&dir.path().join("no/such/dir/sandflow.db")).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_behind_a_busy_writer_commit_together_and_a_refused_one_alone_rolls_back() {
    let (dir, store) = fresh().await;
    for id in ["e1", "e2"] {
        seed_execution(&store, TENANT, id, ExecutionStatus::Running).await;
    }
    store.update_execution(TENANT, "e2", ExecutionStatus::Completed, Some(json!({"done": true}).into())).await.unwrap();
    let (transactions_before, _) = store.committed_writes();

    // Another connection holds the write lock, so the writer cannot commit: what is sent
    // meanwhile queues up behind it.
    let blocker = rusqlite::Connection::open(dir.path().join("sandflow.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let writes = {
        let store = store.clone();
        tokio::spawn(async move {
            let contexts: Vec<String> = (0..40).map(|n| format!("c{n}")).collect();
            let appends =
                contexts.iter().map(|context| store.append_checkpoint(TENANT, "e1", context, json!({}).into()));
            // Refused: e2 is final. It must roll back alone, not with its group.
            let refused = store.append_checkpoint(TENANT, "e2", "late", json!({}).into());
            futures::join!(futures::future::join_all(appends), refused)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    blocker.execute_batch("COMMIT").unwrap();
    let (appended, refused) = writes.await.unwrap();

    assert!(appended.iter().all(Result::is_ok), "{appended:?}");
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap().len(), 40);
    assert!(store.list_checkpoints(TENANT, "e2").await.unwrap().is_empty());
    let (transactions_after, _) = store.committed_writes();
    // The first write may have been taken alone before the rest arrived; the rest wait together.
    let transactions = transactions_after - transactions_before;
    assert!(transactions <= 3, "41 queued writes took {transactions} transactions");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_after_close_is_an_error_not_a_hang() {
    let (_dir, store) = fresh().await;
    store.close().await;
    let result = store.create_workflow(TENANT, "wf", "Late", json!({})).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
}
