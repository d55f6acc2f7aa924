//! Checkpoints: append order, concurrency, final executions, tenancy.

use futures::future::join_all;
use serde_json::json;

use super::{OTHER, TENANT, assert_error, seed_execution};
use crate::{ExecutionStatus, JsonText, Store};

/// Checkpoints come back in append order, repeated context IDs included, and each execution
/// sees only its own.
pub async fn checkpoints_come_back_in_append_order(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    seed_execution(store, TENANT, "e2", ExecutionStatus::Running).await;
    let contexts = ["start", "fetch", "approve", "approve", "end"];
    let mut sequences = Vec::new();
    for (n, context) in contexts.iter().enumerate() {
        let checkpoint = json!({"contextId": context, "n": n});
        sequences.push(store.append_checkpoint(TENANT, "e1", context, checkpoint.into()).await.unwrap());
        // Interleaved appends to another execution must not show up in e1's list.
        store.append_checkpoint(TENANT, "e2", "other", json!({"other": n}).into()).await.unwrap();
    }
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");

    let expected: Vec<_> = contexts.iter().enumerate().map(|(n, c)| json!({"contextId": c, "n": n})).collect();
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), expected);
    let others: Vec<_> = (0..contexts.len()).map(|n| json!({"other": n})).collect();
    assert_eq!(store.list_checkpoints(TENANT, "e2").await.unwrap(), others);
}

/// Checkpoints appended together come back in their order, after those appended before, and
/// an execution that is final or missing refuses them.
pub async fn checkpoints_appended_together_keep_their_order(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    store.append_checkpoint(TENANT, "e1", "start", json!({"n": 0}).into()).await.unwrap();
    let together: Vec<(String, JsonText)> = (1..=3).map(|n| (format!("b{n}"), json!({"n": n}).into())).collect();
    store.append_checkpoints(TENANT, "e1", together).await.unwrap();
    let expected: Vec<_> = (0..=3).map(|n| json!({"n": n})).collect();
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), expected);

    store.update_execution(TENANT, "e1", ExecutionStatus::Completed, None).await.unwrap();
    assert_error(store.append_checkpoints(TENANT, "e1", vec![("late".into(), json!({}).into())]).await, "conflict");
    assert_error(store.append_checkpoints(TENANT, "nope", vec![("x".into(), json!({}).into())]).await, "not found");
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap().len(), 4);
}

/// The last checkpoints of a pass and its result land together, after the checkpoints before
/// them; a final execution refuses both and keeps what it had.
pub async fn last_checkpoints_land_with_the_result(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    store.append_checkpoint(TENANT, "e1", "start", json!({"n": 0}).into()).await.unwrap();
    let last: Vec<(String, JsonText)> = (1..=2).map(|n| (format!("b{n}"), json!({"n": n}).into())).collect();
    let result = json!({"status": "completed", "output": {"n": 2}});
    store
        .append_checkpoints_then_update(TENANT, "e1", last, ExecutionStatus::Completed, Some(result.clone().into()))
        .await
        .unwrap();
    let expected: Vec<_> = (0..=2).map(|n| json!({"n": n})).collect();
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), expected);
    let stored = store.get_execution(TENANT, "e1").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.result), (ExecutionStatus::Completed, Some(result.clone())));

    let late = vec![("late".to_string(), json!({"late": true}).into())];
    let rewrite = Some(json!({"status": "failed"}).into());
    assert_error(
        store.append_checkpoints_then_update(TENANT, "e1", late, ExecutionStatus::Failed, rewrite).await,
        "conflict",
    );
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), expected);
    let stored = store.get_execution(TENANT, "e1").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.result), (ExecutionStatus::Completed, Some(result)));
    let nothing = store.append_checkpoints_then_update(TENANT, "nope", Vec::new(), ExecutionStatus::Failed, None);
    assert_error(nothing.await, "not found");
}

/// Twenty appends at once are all kept, each with its own sequence number.
pub async fn concurrent_checkpoint_appends_are_all_kept(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    let appends = (0..20).map(|n| store.append_checkpoint(TENANT, "e1", "branch", json!({"branch": n}).into()));
    let mut sequences: Vec<u64> = join_all(appends).await.into_iter().map(|r| r.expect("append")).collect();
    sequences.sort_unstable();
    sequences.dedup();
    assert_eq!(sequences.len(), 20);

    let mut branches: Vec<u64> = store
        .list_checkpoints(TENANT, "e1")
        .await
        .unwrap()
        .iter()
        .map(|c| c["branch"].as_u64().expect("branch number"))
        .collect();
    branches.sort_unstable();
    assert_eq!(branches, (0..20).collect::<Vec<u64>>());
}

/// Appending to an execution that does not exist is not found; listing it is empty.
pub async fn checkpoint_for_missing_execution_is_not_found(store: &dyn Store) {
    assert_error(store.append_checkpoint(TENANT, "missing", "a", json!({}).into()).await, "not found");
    assert!(store.list_checkpoints(TENANT, "missing").await.unwrap().is_empty());
}

/// A finished execution takes no more checkpoints (a late block of a cancelled run).
pub async fn checkpoint_after_final_status_is_conflict(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    store.append_checkpoint(TENANT, "e1", "a", json!({"n": 1}).into()).await.unwrap();
    store.update_execution(TENANT, "e1", ExecutionStatus::Cancelled, None).await.unwrap();
    assert_error(store.append_checkpoint(TENANT, "e1", "b", json!({"n": 2}).into()).await, "conflict");
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), [json!({"n": 1})]);
}

/// Another tenant can neither append to nor list an execution's checkpoints.
pub async fn checkpoint_other_tenant_cannot_append_or_list(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    store.append_checkpoint(TENANT, "e1", "a", json!({"secret": 1}).into()).await.unwrap();

    assert_error(store.append_checkpoint(OTHER, "e1", "b", json!({"forged": 1}).into()).await, "not found");
    assert!(store.list_checkpoints(OTHER, "e1").await.unwrap().is_empty());
    assert_eq!(store.list_checkpoints(TENANT, "e1").await.unwrap(), [json!({"secret": 1})]);
}
