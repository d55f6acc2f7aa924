//! Execution routes: execute, read, resume, cancel, and progress as
//! server-sent events.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::StreamExt;
use sandflow_engine::{ExecutionSpec, RunFrom};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{Body, Caller, parse_workflow_state};
use crate::api::schemas;
use crate::api::state::AppState;
use crate::api::workflows::check_id;
use crate::auth::Scope;
use crate::run::pass::Answer;

/// `POST /v1/workflows/execute`, field for field as the hosted API.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"workflowId": "orders", "options": {"input": {"n": 1}}}))]
pub struct ExecuteBody {
    /// The workflow to run; with `workflow`, only names the run.
    workflow_id: String,
    /// An inline state that replaces the stored one for this run.
    /// Needs `workflows:write`.
    #[schema(value_type = Option<schemas::WorkflowState>)]
    workflow: Option<Value>,
    /// Run the draft instead of the latest deployed version (default false;
    /// no deployed version is a 409 `not_deployed`).
    #[serde(default)]
    use_draft_state: bool,
    #[serde(default)]
    options: ExecuteOptions,
    /// Re-run from a block of an earlier execution of the same workflow.
    run_from_block: Option<RunFromBlock>,
    parent_execution_id: Option<String>,
    /// Workflow IDs of the callers; the request's own `workflowId` in it is a
    /// 409 `workflow_cycle`.
    #[serde(default)]
    call_chain: Vec<String>,
}

/// `options` of an execute request.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecuteOptions {
    /// A UUIDv7 when absent; reusing one in the tenant is a 409 `execution_exists`.
    execution_id: Option<String>,
    /// The output of the `start` block (default `{}`).
    input: Option<Value>,
    /// Values for `{{ENV_NAME}}` and the blocks' env handles; redacted in results.
    #[serde(default)]
    environment_variables: HashMap<String, String>,
    /// Initial values of workflow variables, by name.
    #[serde(default)]
    #[schema(value_type = Object)]
    workflow_variables: BTreeMap<String, Value>,
    /// 1 up to the server maximum (default 4).
    #[schema(minimum = 1)]
    max_parallel_nodes: Option<i64>,
}

/// `runFromBlock` of an execute request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunFromBlock {
    execution_id: String,
    start_block_id: String,
}

/// `POST /v1/executions/{id}/resume`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResumeBody {
    /// The pause point to resume.
    context_id: String,
    /// Checked against the pause point's `inputSchema` when it has one.
    #[serde(default)]
    input: Value,
}

/// 200 for a finished execution, 202 for a paused one.
impl IntoResponse for Answer {
    fn into_response(self) -> axum::response::Response {
        let status = if self.paused { StatusCode::ACCEPTED } else { StatusCode::OK };
        (status, Json(self.result.into_raw())).into_response()
    }
}

/// `POST /v1/workflows/execute`: checks everything, stores the execution,
/// runs it to completion or pause, and answers with its result.
#[utoipa::path(
    post,
    path = "/v1/workflows/execute",
    tag = "executions",
    operation_id = "executeWorkflow",
    request_body = ExecuteBody,
    responses(
        (status = 200, description = "Finished: `completed`, `failed` or `cancelled`", body = schemas::ExecutionResult),
        (status = 202, description = "Paused: see `pausePoints`", body = schemas::ExecutionResult),
        (status = 400, description = "Bad input, unknown fields, an invalid workflow or run-from-block", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope (`workflows:write` too for an inline `workflow`)", body = schemas::ErrorBody),
        (status = 404, description = "Unknown workflow or run-from execution", body = schemas::ErrorBody),
        (status = 409, description = "`not_deployed`, `workflow_cycle` or `execution_exists`", body = schemas::ErrorBody),
        (status = 429, description = "`overloaded`: the server, or the caller's tenant, runs its maximum of executions; nothing was stored", body = schemas::ErrorBody),
        (status = 504, description = "`still_running` (distributed mode): no worker finished it within the request timeout; it goes on, `details.executionId` names it", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
        (status = 415, description = "Not JSON", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:execute"])),
)]
pub async fn execute(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Body(body): Body<ExecuteBody>,
) -> ApiResult<Answer> {
    caller.require(Scope::WorkflowsExecute)?;
    let tenant = caller.tenant();
    check_id("workflowId", &body.workflow_id)?;
    if body.call_chain.iter().any(String::is_empty) {
        return Err(ApiError::bad_request("callChain entries must be at least 1 character"));
    }
    // Zero and above the maximum are the engine's to refuse, with the rest of its checks.
    let max_parallel_nodes = match body.options.max_parallel_nodes {
        None => None,
        Some(n) => Some(
            usize::try_from(n)
                .map_err(|_| ApiError::bad_request(format!("maxParallelNodes must be at least 1, got {n}")))?,
        ),
    };
    let max_blocks = app.run.limits.max_blocks_per_workflow;
    let state = match body.workflow {
        Some(inline) => {
            caller.require(Scope::WorkflowsWrite)?;
            Arc::new(parse_workflow_state(inline, max_blocks)?)
        }
        None if body.use_draft_state => {
            let draft = app
                .run
                .store
                .get_workflow(tenant.as_str(), &body.workflow_id)
                .await?
                .ok_or_else(|| ApiError::not_found("workflow", &body.workflow_id))?
                .draft;
            Arc::new(parse_workflow_state(draft, max_blocks)?)
        }
        None => match app.deployed.latest(&*app.run.store, &tenant, &body.workflow_id, max_blocks).await? {
            Some((_, state)) => state,
            None if app.run.store.get_workflow(tenant.as_str(), &body.workflow_id).await?.is_some() => {
                return Err(ApiError::conflict(
                    "not_deployed",
                    format!("workflow `{}` has no deployed version; deploy it or set useDraftState", body.workflow_id),
                ));
            }
            None => return Err(ApiError::not_found("workflow", &body.workflow_id)),
        },
    };
    let run_from = match body.run_from_block {
        None => None,
        Some(from) => {
            let previous = app
                .run
                .store
                .get_execution(tenant.as_str(), &from.execution_id)
                .await?
                .filter(|e| e.workflow_id == body.workflow_id)
                .ok_or_else(|| ApiError::not_found("execution", &from.execution_id))?;
            let previous = previous
                .result
                .and_then(|r| r.get("finalState").cloned())
                .and_then(|s| serde_json::from_value(s).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("execution `{}` has no final state", from.execution_id))
                })?;
            Some(RunFrom { start_block_id: from.start_block_id, previous })
        }
    };
    let execution_id = body.options.execution_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    check_execution_id(&execution_id)?;
    let spec = ExecutionSpec {
        workflow_id: body.workflow_id,
        state,
        input: body.options.input.unwrap_or_else(|| json!({})),
        env: body.options.environment_variables,
        workflow_variables: body.options.workflow_variables,
        max_parallel_nodes,
        call_chain: body.call_chain,
        parent_execution_id: body.parent_execution_id,
        run_from,
    };
    Ok(app.dispatch.execute(tenant, execution_id, spec).await?)
}

/// Longest execution ID.
pub const MAX_EXECUTION_ID_CHARS: usize = 128;

/// An execution ID names rows, paths of the API and lines of logs: 1 to
/// [`MAX_EXECUTION_ID_CHARS`] of letters, digits, `-`, `_`, `.` and `:`,
/// starting with a letter or digit and without `..` (so never `.`, `..`, a
/// path, nor a control character). 400 naming `options.executionId`.
fn check_execution_id(id: &str) -> ApiResult<()> {
    let safe = id.len() <= MAX_EXECUTION_ID_CHARS
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !id.contains("..")
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if safe {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "options.executionId must be 1 to {MAX_EXECUTION_ID_CHARS} characters of letters, digits, '-', '_', \
             '.' or ':', start with a letter or digit and not contain '..'"
        )))
    }
}

/// `GET /v1/executions/{id}`.
#[utoipa::path(
    get,
    path = "/v1/executions/{id}",
    tag = "executions",
    operation_id = "getExecution",
    params(("id" = String, Path, description = "Execution ID")),
    responses(
        (status = 200, description = "The execution result; `status` may also be `queued` or `running`", body = schemas::ExecutionResult),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown execution (or another tenant's)", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:read"])),
)]
pub async fn get(State(app): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsRead)?;
    let record = app
        .run
        .store
        .get_execution(caller.tenant().as_str(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("execution", &id))?;
    let mut body = record.result.unwrap_or_else(
        || json!({"success": true, "executionId": id, "output": {}, "error": null, "pausePoints": [], "logs": []}),
    );
    // The stored status wins: `running` while a resume runs, `cancelled` after a cancel.
    body["status"] = json!(record.status.as_str());
    Ok(Json(body))
}

/// `POST /v1/executions/{id}/resume`.
#[utoipa::path(
    post,
    path = "/v1/executions/{id}/resume",
    tag = "executions",
    operation_id = "resumeExecution",
    params(("id" = String, Path, description = "Execution ID")),
    request_body = ResumeBody,
    responses(
        (status = 200, description = "Finished: `completed`, `failed` or `cancelled`", body = schemas::ExecutionResult),
        (status = 202, description = "Paused again: see `pausePoints`", body = schemas::ExecutionResult),
        (status = 400, description = "Bad input, or `invalid_resume_input` against the pause point's schema", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown execution or pause point", body = schemas::ErrorBody),
        (status = 409, description = "`already_resumed` or `execution_finished`", body = schemas::ErrorBody),
        (status = 504, description = "`still_running` (distributed mode): no worker finished the resume within the request timeout; it goes on", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
        (status = 415, description = "Not JSON", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:execute"])),
)]
pub async fn resume(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<ResumeBody>,
) -> ApiResult<Answer> {
    caller.require(Scope::WorkflowsExecute)?;
    Ok(app.dispatch.resume(caller.tenant(), id, body.context_id, body.input).await?)
}

/// `POST /v1/executions/{id}/cancel`.
#[utoipa::path(
    post,
    path = "/v1/executions/{id}/cancel",
    tag = "executions",
    operation_id = "cancelExecution",
    params(("id" = String, Path, description = "Execution ID")),
    responses(
        (status = 200, description = "Cancelled", body = schemas::Cancelled),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown execution (or another tenant's)", body = schemas::ErrorBody),
        (status = 409, description = "`execution_finished`", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:execute"])),
)]
pub async fn cancel(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsExecute)?;
    app.dispatch.cancel(&caller.tenant(), &id).await?;
    Ok(Json(json!({"success": true, "executionId": id, "status": "cancelled"})))
}

/// `GET /v1/executions/{id}/events`: the blocks finished so far, then live
/// progress while the execution runs here, then `execution_finished`.
#[utoipa::path(
    get,
    path = "/v1/executions/{id}/events",
    tag = "executions",
    operation_id = "executionEvents",
    params(("id" = String, Path, description = "Execution ID")),
    responses(
        (status = 200, description = "Server-sent events `block_started`, `block_finished` and `block_paused`, \
                                      ending with `execution_finished` (or `execution_paused`), each with a JSON \
                                      `data` line", body = String,
         content_type = "text/event-stream"),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown execution (or another tenant's)", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:read"])),
)]
pub async fn events(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Scope::WorkflowsRead)?;
    let events = app.dispatch.events(caller.tenant(), id).await?;
    let stream =
        events.map(|event| Ok::<_, Infallible>(Event::default().event(event.event).data(event.data.to_string())));
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
