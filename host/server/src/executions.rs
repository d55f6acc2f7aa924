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
use futures::{Stream, StreamExt};
use sandflow_engine::{ExecutionResult, ExecutionStatus, MAX_CALL_DEPTH};
use sandflow_store::{ExecutionStatus as StoredStatus, NewExecution};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Scope;
use crate::error::{ApiError, ApiResult};
use crate::executor::{self, Pass, StoredRequest, StoredRunFrom, run_pass};
use crate::extract::{Body, Caller};
use crate::queued;
use crate::state::{AppState, Tenant};
use crate::workflows::{check_id, validated_state};

/// `POST /v1/workflows/execute`, field for field as the hosted API.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"workflowId": "orders", "options": {"input": {"n": 1}}}))]
pub struct ExecuteBody {
    /// The workflow to run; with `workflow`, only names the run.
    workflow_id: String,
    /// An inline state that replaces the stored one for this run.
    /// Needs `workflows:write`.
    #[schema(value_type = Option<crate::openapi::WorkflowState>)]
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
fn answer(result: ExecutionResult) -> (StatusCode, Json<Value>) {
    let status = if result.status == ExecutionStatus::Paused { StatusCode::ACCEPTED } else { StatusCode::OK };
    (status, Json(serde_json::to_value(result).unwrap_or(Value::Null)))
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
        (status = 200, description = "Finished: `completed`, `failed` or `cancelled`", body = crate::openapi::ExecutionResult),
        (status = 202, description = "Paused: see `pausePoints`", body = crate::openapi::ExecutionResult),
        (status = 400, description = "Bad input, unknown fields, an invalid workflow or run-from-block", body = crate::openapi::ErrorBody),
        (status = 401, description = "No or bad token", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope (`workflows:write` too for an inline `workflow`)", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown workflow or run-from execution", body = crate::openapi::ErrorBody),
        (status = 409, description = "`not_deployed`, `workflow_cycle` or `execution_exists`", body = crate::openapi::ErrorBody),
        (status = 429, description = "`overloaded`: the server, or the caller's tenant, runs its maximum of executions; nothing was stored", body = crate::openapi::ErrorBody),
        (status = 504, description = "`still_running` (distributed mode): no worker finished it within the request timeout; it goes on, `details.executionId` names it", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body too large", body = crate::openapi::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["workflows:execute"])),
)]
pub async fn execute(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Body(body): Body<ExecuteBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::WorkflowsExecute)?;
    let tenant = caller.tenant();
    check_id("workflowId", &body.workflow_id)?;
    if body.call_chain.iter().any(String::is_empty) {
        return Err(ApiError::bad_request("callChain entries must be at least 1 character"));
    }
    if body.call_chain.contains(&body.workflow_id) {
        return Err(ApiError::conflict(
            "workflow_cycle",
            format!("workflow `{}` is already in the call chain", body.workflow_id),
        ));
    }
    if body.call_chain.len() > MAX_CALL_DEPTH {
        return Err(ApiError::bad_request(format!("the call chain is deeper than {MAX_CALL_DEPTH} workflows")));
    }
    let max = app.engine_settings.max_parallel_nodes;
    let max_parallel_nodes = match body.options.max_parallel_nodes {
        None => None,
        Some(n) if n >= 1 && n as usize <= max => Some(n as usize),
        Some(n) => return Err(ApiError::bad_request(format!("maxParallelNodes must be between 1 and {max}, got {n}"))),
    };
    let state = match body.workflow {
        Some(inline) => {
            caller.require(Scope::WorkflowsWrite)?;
            inline
        }
        None if body.use_draft_state => {
            app.store
                .get_workflow(tenant.as_str(), &body.workflow_id)
                .await?
                .ok_or_else(|| ApiError::not_found("workflow", &body.workflow_id))?
                .draft
        }
        None => match app.store.latest_deployed(tenant.as_str(), &body.workflow_id).await? {
            Some((_, state)) => state,
            None if app.store.get_workflow(tenant.as_str(), &body.workflow_id).await?.is_some() => {
                return Err(ApiError::conflict(
                    "not_deployed",
                    format!("workflow `{}` has no deployed version; deploy it or set useDraftState", body.workflow_id),
                ));
            }
            None => return Err(ApiError::not_found("workflow", &body.workflow_id)),
        },
    };
    let provided_env = body.options.environment_variables.keys().cloned().collect();
    let state = validated_state(&app, &tenant, state, &provided_env).await?;
    let run_from = match body.run_from_block {
        None => None,
        Some(from) => {
            let previous = app
                .store
                .get_execution(tenant.as_str(), &from.execution_id)
                .await?
                .filter(|e| e.workflow_id == body.workflow_id)
                .ok_or_else(|| ApiError::not_found("execution", &from.execution_id))?;
            let final_state = previous
                .result
                .and_then(|r| r.get("finalState").cloned())
                .and_then(|s| serde_json::from_value(s).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("execution `{}` has no final state", from.execution_id))
                })?;
            let run_from = StoredRunFrom { start_block_id: from.start_block_id, previous: final_state };
            // Refused here, before anything is stored, rather than by the engine later.
            let check = sandflow_engine::RunFrom {
                start_block_id: run_from.start_block_id.clone(),
                previous: run_from.previous.clone(),
            };
            sandflow_engine::check_run_from(&state, &check)?;
            Some(run_from)
        }
    };
    let execution_id = body.options.execution_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    check_execution_id(&execution_id)?;
    let request = StoredRequest {
        workflow_id: body.workflow_id.clone(),
        state,
        input: body.options.input.unwrap_or_else(|| json!({})),
        env: body.options.environment_variables,
        workflow_variables: body.options.workflow_variables,
        max_parallel_nodes,
        call_chain: body.call_chain,
        parent_execution_id: body.parent_execution_id,
        run_from,
    };

    // Refused before anything is stored: the caller may retry later.
    let busy = match &app.jobs {
        Some(jobs) => jobs.waiting(),
        None => app.executions.running(),
    };
    if busy >= app.limits.max_running_executions {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            format!(
                "{} executions are running, the most this server takes; retry later",
                app.limits.max_running_executions
            ),
        ));
    }
    let share = app.limits.executions_per_tenant();
    let tenant_busy = match &app.jobs {
        Some(jobs) => jobs.executes_of(&tenant),
        None => app.executions.running_for(&tenant),
    };
    if tenant_busy >= share {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            format!(
                "tenant `{}` runs {share} executions, the most one tenant may run at once on this server; \
                 retry later",
                tenant.as_str()
            ),
        ));
    }
    let execution = NewExecution {
        tenant: tenant.as_str().to_string(),
        id: execution_id.clone(),
        workflow_id: body.workflow_id,
        // Environment values sealed: the store never holds them in the clear.
        request: app.sealer.seal_request(tenant.as_str(), &execution_id, &request),
        // In distributed mode it waits in the queue until a worker takes it.
        status: if app.jobs.is_some() { StoredStatus::Queued } else { StoredStatus::Running },
    };
    if let Some(jobs) = app.jobs.clone() {
        let task = tokio::spawn(async move { queued::execute(&app, &jobs, &tenant, execution).await });
        let (status, body) = task.await.map_err(ApiError::internal)??;
        return Ok((status, Json(body)));
    }
    let run_lock = app.executions.lock(&tenant, &execution_id).await;
    app.store.create_execution(execution).await.map_err(|e| creation_error(&execution_id, e))?;
    // From now on a cancel or an event stream finds the execution.
    app.executions.begin(&tenant, &execution_id);
    // On its own task, so a client that hangs up does not stop the execution.
    let task = tokio::spawn(async move {
        let _run = run_lock;
        run_pass(&app, &tenant, &execution_id, &request, Pass::First, None).await
    });
    let result = task.await.map_err(ApiError::internal)?;
    match result {
        Ok(result) => Ok(answer(result)),
        Err(error) => Err(error.into()),
    }
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

/// Why an execution could not be stored: its ID is taken (409
/// `execution_exists`), or the store failed.
pub(crate) fn creation_error(execution_id: &str, error: sandflow_store::StoreError) -> ApiError {
    match error {
        sandflow_store::StoreError::Conflict(_) => {
            ApiError::conflict("execution_exists", format!("execution `{execution_id}` already exists"))
        }
        other => other.into(),
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
        (status = 200, description = "The execution result; `status` may also be `queued` or `running`", body = crate::openapi::ExecutionResult),
        (status = 401, description = "No or bad token", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown execution (or another tenant's)", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["workflows:read"])),
)]
pub async fn get(State(app): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsRead)?;
    let record = app
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
        (status = 200, description = "Finished: `completed`, `failed` or `cancelled`", body = crate::openapi::ExecutionResult),
        (status = 202, description = "Paused again: see `pausePoints`", body = crate::openapi::ExecutionResult),
        (status = 400, description = "Bad input, or `invalid_resume_input` against the pause point's schema", body = crate::openapi::ErrorBody),
        (status = 401, description = "No or bad token", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown execution or pause point", body = crate::openapi::ErrorBody),
        (status = 409, description = "`already_resumed` or `execution_finished`", body = crate::openapi::ErrorBody),
        (status = 504, description = "`still_running` (distributed mode): no worker finished the resume within the request timeout; it goes on", body = crate::openapi::ErrorBody),
        (status = 413, description = "Body too large", body = crate::openapi::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["workflows:execute"])),
)]
pub async fn resume(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<ResumeBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::WorkflowsExecute)?;
    let tenant = caller.tenant();
    if let Some(jobs) = app.jobs.clone() {
        let task =
            tokio::spawn(async move { queued::resume(&app, &jobs, &tenant, &id, &body.context_id, body.input).await });
        let (status, body) = task.await.map_err(ApiError::internal)??;
        return Ok((status, Json(body)));
    }
    let task = tokio::spawn(async move { executor::resume(&app, &tenant, &id, &body.context_id, body.input).await });
    Ok(answer(task.await.map_err(ApiError::internal)??))
}

/// `POST /v1/executions/{id}/cancel`.
#[utoipa::path(
    post,
    path = "/v1/executions/{id}/cancel",
    tag = "executions",
    operation_id = "cancelExecution",
    params(("id" = String, Path, description = "Execution ID")),
    responses(
        (status = 200, description = "Cancelled", body = crate::openapi::Cancelled),
        (status = 401, description = "No or bad token", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown execution (or another tenant's)", body = crate::openapi::ErrorBody),
        (status = 409, description = "`execution_finished`", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["workflows:execute"])),
)]
pub async fn cancel(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsExecute)?;
    Ok(Json(executor::cancel(&app, &caller.tenant(), &id).await?))
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
        (status = 401, description = "No or bad token", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing scope", body = crate::openapi::ErrorBody),
        (status = 404, description = "Unknown execution (or another tenant's)", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = ["workflows:read"])),
)]
pub async fn events(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Scope::WorkflowsRead)?;
    let tenant = caller.tenant();
    // Subscribe before reading the store, so nothing falls between the two.
    let live = app.executions.live(&tenant, &id).map(|live| live.events.subscribe());
    let record =
        app.store.get_execution(tenant.as_str(), &id).await?.ok_or_else(|| ApiError::not_found("execution", &id))?;
    let checkpoints = app.store.list_checkpoints(tenant.as_str(), &id).await?;
    let seen = checkpoints.len();
    let past: Vec<Event> = checkpoints.iter().map(checkpoint_event).collect();
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> = match live {
        Some(receiver) if !record.status.is_final() => {
            let live = tokio_stream::wrappers::BroadcastStream::new(receiver)
                .filter_map(|event| async move { event.ok() })
                .map(|event| Event::default().event(event.event).data(event.data.to_string()));
            Box::pin(futures::stream::iter(past).chain(live).map(Ok))
        }
        // Distributed mode: it runs (or waits to run) on a worker; the store tells how it goes.
        None if app.jobs.is_some() && matches!(record.status, StoredStatus::Queued | StoredStatus::Running) => {
            let polled = polled_events(app.clone(), tenant, id, seen);
            Box::pin(futures::stream::iter(past).chain(polled).map(Ok))
        }
        _ => {
            let done = end_event(&id, record.status.as_str());
            Box::pin(futures::stream::iter(past).chain(futures::stream::once(async move { done })).map(Ok))
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// How often the events of an execution running on a worker are read from the store.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// A stored checkpoint as the `block_finished` (or `block_paused`) event.
fn checkpoint_event(checkpoint: &Value) -> Event {
    let kind = if checkpoint.get("pause").is_some_and(|p| !p.is_null()) { "block_paused" } else { "block_finished" };
    let data = json!({
        "contextId": checkpoint["contextId"],
        "blockId": checkpoint["blockId"],
        "success": checkpoint["outcome"]["kind"] != "failed",
        "durationMs": checkpoint["log"]["durationMs"],
    });
    Event::default().event(kind).data(data.to_string())
}

/// The last event: a paused execution is not over, its stream ends with `execution_paused`.
fn end_event(id: &str, status: &str) -> Event {
    let event = if status == "paused" { "execution_paused" } else { "execution_finished" };
    Event::default().event(event).data(json!({"executionId": id, "status": status}).to_string())
}

/// The checkpoints after the first `seen` as they are stored, then the end
/// event once the execution is over or paused: the events of an execution
/// on a worker (no `block_started`: a worker stores only finished blocks).
fn polled_events(app: Arc<AppState>, tenant: Tenant, id: String, seen: usize) -> impl Stream<Item = Event> + Send {
    futures::stream::unfold(Some(seen), move |seen| {
        let (app, tenant, id) = (app.clone(), tenant.clone(), id.clone());
        async move {
            let seen = seen?;
            tokio::time::sleep(EVENT_POLL).await;
            // Status first: checkpoints are stored before the result, so none is missed.
            let status = match app.store.get_execution(tenant.as_str(), &id).await {
                Ok(Some(record)) => record.status,
                // Deleted with its workflow: nothing more will come.
                Ok(None) => return None,
                // The store may be back at the next poll.
                Err(_) => return Some((Vec::new(), Some(seen))),
            };
            let checkpoints = app.store.list_checkpoints(tenant.as_str(), &id).await.unwrap_or_default();
            let mut events: Vec<Event> = checkpoints.iter().skip(seen).map(checkpoint_event).collect();
            let over = status.is_final() || status == StoredStatus::Paused;
            if over {
                events.push(end_event(&id, status.as_str()));
            }
            Some((events, (!over).then_some(checkpoints.len().max(seen))))
        }
    })
    .flat_map(futures::stream::iter)
}
