//! The behaviour every [`Store`] implementation must show, written once against `&dyn Store`.
//!
//! Each case is an async function that takes a fresh, empty store and panics on the first
//! deviation. A backend's test file runs them all through [`conformance_cases!`](crate::conformance_cases),
//! which passes the full list of cases to a macro of its own that turns each into a test.

pub mod blocks;
pub mod checkpoints;
pub mod executions;
pub mod pauses;
pub mod workflows;

use serde_json::Value;

use crate::{ExecutionStatus, NewExecution, Store, StoreError};

/// The tenant most cases write as.
pub const TENANT: &str = "acme";
/// Another tenant, which must never see or touch [`TENANT`]'s rows.
pub const OTHER: &str = "globex";

/// Calls `$callback!` with every conformance case as `module::function`, so a backend's test
/// file cannot forget one.
#[macro_export]
macro_rules! conformance_cases {
    ($callback:ident) => {
        $callback!(
            workflows::workflow_create_then_get_returns_draft,
            workflows::workflow_duplicate_id_is_conflict_within_tenant,
            workflows::workflow_draft_update_replaces_draft,
            workflows::workflow_deploy_freezes_numbered_versions,
            workflows::workflow_deploy_of_missing_is_not_found,
            workflows::workflow_concurrent_deploys_get_distinct_versions,
            workflows::workflow_delete_removes_its_versions,
            workflows::workflow_other_tenant_sees_nothing,
            executions::execution_create_then_get,
            executions::execution_duplicate_id_is_conflict_within_tenant,
            executions::execution_update_sets_status_and_keeps_result,
            executions::execution_final_is_never_rewritten,
            executions::execution_update_of_missing_is_not_found,
            executions::unfinished_executions_are_queued_and_running_of_every_tenant,
            executions::record_restart_counts_up,
            executions::execution_other_tenant_sees_nothing,
            checkpoints::checkpoints_come_back_in_append_order,
            checkpoints::checkpoints_appended_together_keep_their_order,
            checkpoints::last_checkpoints_land_with_the_result,
            checkpoints::concurrent_checkpoint_appends_are_all_kept,
            checkpoints::checkpoint_for_missing_execution_is_not_found,
            checkpoints::checkpoint_after_final_status_is_conflict,
            checkpoints::checkpoint_other_tenant_cannot_append_or_list,
            pauses::pause_points_put_then_list,
            pauses::pause_point_put_again_keeps_status_and_data,
            pauses::pause_point_claim_then_complete_then_already_resumed,
            pauses::pause_point_release_makes_it_claimable_again,
            pauses::pause_point_concurrent_claims_have_one_winner,
            pauses::due_timed_pauses_are_due_open_and_unfinished,
            pauses::time_pause_without_resume_time_is_invalid,
            pauses::pause_points_of_missing_or_final_execution_are_refused,
            pauses::pause_point_other_tenant_cannot_see_or_claim,
            blocks::block_put_then_get_with_component,
            blocks::block_reregistering_replaces_it,
            blocks::blocks_list_by_type_within_tenant,
            blocks::block_other_tenant_sees_nothing,
        );
    };
}

/// A new execution of workflow `wf` with a request that holds a secret.
pub fn new_execution(tenant: &str, id: &str, status: ExecutionStatus) -> NewExecution {
    NewExecution {
        tenant: tenant.to_owned(),
        id: id.to_owned(),
        workflow_id: "wf".to_owned(),
        request: request_for(id).into(),
        status,
    }
}

/// The request [`new_execution`] stores for `id`.
pub fn request_for(id: &str) -> Value {
    serde_json::json!({
        "workflowId": "wf",
        "options": {"executionId": id, "environmentVariables": {"API_KEY": "s3cret"}}
    })
}

/// Creates an execution with [`new_execution`], then moves it to `status` (through running,
/// so final statuses are reached the way a worker reaches them).
pub async fn seed_execution(store: &dyn Store, tenant: &str, id: &str, status: ExecutionStatus) {
    store.create_execution(new_execution(tenant, id, ExecutionStatus::Running)).await.expect("create execution");
    if status != ExecutionStatus::Running {
        store.update_execution(tenant, id, status, None).await.expect("set execution status");
    }
}

/// Panics unless `result` is the error `expected` names (`"not found"`, `"conflict"`, `"invalid"`).
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(result: Result<T, StoreError>, expected: &str) {
    let matched = match &result {
        Err(StoreError::NotFound) => expected == "not found",
        Err(StoreError::Conflict(_)) => expected == "conflict",
        Err(StoreError::Invalid(_)) => expected == "invalid",
        _ => false,
    };
    assert!(matched, "expected {expected}, got {result:?}");
}
