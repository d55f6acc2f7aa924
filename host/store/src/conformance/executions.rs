//! Executions: creation, status changes, final statuses, recovery, tenancy.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{OTHER, TENANT, assert_error, new_execution, request_for, seed_execution};
use crate::{ExecutionStatus, Store};

/// A created execution comes back as created, with no result and no restart.
pub async fn execution_create_then_get(store: &dyn Store) {
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.create_execution(new_execution(TENANT, "e1", ExecutionStatus::Queued)).await.unwrap();
    let after = OffsetDateTime::now_utc() + Duration::seconds(1);

    let got = store.get_execution(TENANT, "e1").await.unwrap().expect("created execution");
    assert_eq!(got.tenant, TENANT);
    assert_eq!(got.id, "e1");
    assert_eq!(got.workflow_id, "wf");
    assert_eq!(got.status, ExecutionStatus::Queued);
    assert_eq!(got.request, request_for("e1"));
    assert_eq!(got.result, None);
    assert_eq!(got.restarts, 0);
    assert!(before <= got.created_at && got.created_at <= after, "{}", got.created_at);
    assert!(got.created_at <= got.updated_at);
    assert_eq!(store.get_execution(TENANT, "e2").await.unwrap(), None);
}

/// A reused execution ID in the same tenant is refused and changes nothing; another tenant
/// may use it.
pub async fn execution_duplicate_id_is_conflict_within_tenant(store: &dyn Store) {
    store.create_execution(new_execution(TENANT, "e1", ExecutionStatus::Running)).await.unwrap();
    let mut again = new_execution(TENANT, "e1", ExecutionStatus::Queued);
    again.workflow_id = "other-wf".into();
    assert_error(store.create_execution(again).await, "conflict");

    let mut theirs = new_execution(OTHER, "e1", ExecutionStatus::Queued);
    theirs.workflow_id = "their-wf".into();
    store.create_execution(theirs).await.unwrap();

    let ours = store.get_execution(TENANT, "e1").await.unwrap().unwrap();
    assert_eq!((ours.workflow_id.as_str(), ours.status), ("wf", ExecutionStatus::Running));
    let theirs = store.get_execution(OTHER, "e1").await.unwrap().unwrap();
    assert_eq!((theirs.workflow_id.as_str(), theirs.status), ("their-wf", ExecutionStatus::Queued));
}

/// Status moves freely until final; a `None` result keeps the stored one.
pub async fn execution_update_sets_status_and_keeps_result(store: &dyn Store) {
    store.create_execution(new_execution(TENANT, "e1", ExecutionStatus::Queued)).await.unwrap();
    let check = |status, result: Option<serde_json::Value>| async move {
        let got = store.get_execution(TENANT, "e1").await.unwrap().unwrap();
        assert_eq!((got.status, got.result), (status, result));
        assert!(got.updated_at >= got.created_at);
    };

    store.update_execution(TENANT, "e1", ExecutionStatus::Running, None).await.unwrap();
    check(ExecutionStatus::Running, None).await;
    let first_pause = json!({"status": "paused", "pausePoints": ["a"]});
    store.update_execution(TENANT, "e1", ExecutionStatus::Paused, Some(first_pause.clone().into())).await.unwrap();
    check(ExecutionStatus::Paused, Some(first_pause.clone())).await;
    store.update_execution(TENANT, "e1", ExecutionStatus::Running, None).await.unwrap();
    check(ExecutionStatus::Running, Some(first_pause)).await;
    let second_pause = json!({"status": "paused", "pausePoints": ["b"]});
    store.update_execution(TENANT, "e1", ExecutionStatus::Paused, Some(second_pause.clone().into())).await.unwrap();
    check(ExecutionStatus::Paused, Some(second_pause)).await;
    let done = json!({"status": "completed", "output": {"end": 1}});
    store.update_execution(TENANT, "e1", ExecutionStatus::Completed, Some(done.clone().into())).await.unwrap();
    check(ExecutionStatus::Completed, Some(done)).await;
}

/// Once completed, failed or cancelled, no update of any kind changes an execution.
pub async fn execution_final_is_never_rewritten(store: &dyn Store) {
    for last in [ExecutionStatus::Completed, ExecutionStatus::Failed, ExecutionStatus::Cancelled] {
        let id = format!("e-{}", last.as_str());
        let result = json!({"status": last.as_str()});
        store.create_execution(new_execution(TENANT, &id, ExecutionStatus::Running)).await.unwrap();
        store.update_execution(TENANT, &id, last, Some(result.clone().into())).await.unwrap();

        for status in ExecutionStatus::ALL {
            let rewrite = json!({"status": status.as_str(), "rewritten": true});
            assert_error(store.update_execution(TENANT, &id, status, Some(rewrite.into())).await, "conflict");
            assert_error(store.update_execution(TENANT, &id, status, None).await, "conflict");
        }
        let got = store.get_execution(TENANT, &id).await.unwrap().unwrap();
        assert_eq!((got.status, got.result), (last, Some(result)));
    }
}

/// Updating an execution that does not exist is not found.
pub async fn execution_update_of_missing_is_not_found(store: &dyn Store) {
    assert_error(store.update_execution(TENANT, "missing", ExecutionStatus::Running, None).await, "not found");
}

/// Recovery sees exactly the queued and running executions, of every tenant.
pub async fn unfinished_executions_are_queued_and_running_of_every_tenant(store: &dyn Store) {
    use ExecutionStatus::*;
    for (tenant, id, status) in [
        (TENANT, "queued", Queued),
        (TENANT, "running", Running),
        (TENANT, "paused", Paused),
        (TENANT, "completed", Completed),
        (OTHER, "their-running", Running),
        (OTHER, "failed", Failed),
        (OTHER, "cancelled", Cancelled),
    ] {
        seed_execution(store, tenant, id, status).await;
    }
    let mut unfinished = store.unfinished_executions().await.unwrap();
    unfinished.sort();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut pairs: Vec<_> = list.iter().map(|(t, id)| (t.to_string(), id.to_string())).collect();
        pairs.sort();
        pairs
    };
    assert_eq!(unfinished, pairs(&[(TENANT, "queued"), (TENANT, "running"), (OTHER, "their-running")]));

    store.update_execution(TENANT, "running", Completed, None).await.unwrap();
    let mut unfinished = store.unfinished_executions().await.unwrap();
    unfinished.sort();
    assert_eq!(unfinished, pairs(&[(TENANT, "queued"), (OTHER, "their-running")]));
}

/// Each recorded restart adds one and returns the new count.
pub async fn record_restart_counts_up(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;
    assert_eq!(store.record_restart(TENANT, "e1").await.unwrap(), 1);
    assert_eq!(store.record_restart(TENANT, "e1").await.unwrap(), 2);
    assert_eq!(store.get_execution(TENANT, "e1").await.unwrap().unwrap().restarts, 2);
    assert_error(store.record_restart(TENANT, "missing").await, "not found");
}

/// Another tenant can neither read, update nor restart an execution.
pub async fn execution_other_tenant_sees_nothing(store: &dyn Store) {
    seed_execution(store, TENANT, "e1", ExecutionStatus::Running).await;

    assert_eq!(store.get_execution(OTHER, "e1").await.unwrap(), None);
    assert_error(
        store.update_execution(OTHER, "e1", ExecutionStatus::Cancelled, Some(json!({}).into())).await,
        "not found",
    );
    assert_error(store.record_restart(OTHER, "e1").await, "not found");

    let ours = store.get_execution(TENANT, "e1").await.unwrap().unwrap();
    assert_eq!((ours.status, ours.result, ours.restarts), (ExecutionStatus::Running, None, 0));
}
