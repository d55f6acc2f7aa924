//! Runs executions for the API: one engine run at a time per execution,
//! every finished block checkpointed in the store before anything after it
//! starts, the result
//! and pause points stored at the end, progress broadcast for SSE. Also what
//! happens without a request: crash recovery at start-up and timed resumes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use sandflow_engine::reference::Redactor;
use sandflow_engine::{
    Cancellation, Checkpoint, Engine, ExecuteError, ExecutionEvent, ExecutionObserver, ExecutionRequest,
    ExecutionResult, ExecutionStatus, PauseKind, ResumeRequest, ResumeStatus, RunFrom, WorkflowSource, WorkflowState,
};
use sandflow_store::{ClaimResult, ExecutionStatus as StoredStatus, PausePointRow, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{OwnedMutexGuard, broadcast, mpsc, oneshot};

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Tenant};
use crate::worker::JobLease;

/// How often due timed pauses are looked for.
const TIMER_POLL: Duration = Duration::from_millis(200);
/// Size of the run-lock table at which idle locks are dropped.
const LOCK_SWEEP_AT: usize = 1024;
/// Progress events kept for a slow SSE client before it misses some.
const EVENT_BUFFER: usize = 1024;

/// Everything needed to run (or re-run after a crash) one execution; stored
/// with it, its environment values sealed ([`crate::Sealer::seal_request`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRequest {
    pub workflow_id: String,
    pub state: WorkflowState,
    pub input: Value,
    pub env: HashMap<String, String>,
    pub workflow_variables: BTreeMap<String, Value>,
    pub max_parallel_nodes: Option<usize>,
    pub call_chain: Vec<String>,
    pub parent_execution_id: Option<String>,
    pub run_from: Option<StoredRunFrom>,
}

/// A run from a block, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRunFrom {
    pub start_block_id: String,
    pub previous: sandflow_engine::result::FinalState,
}

/// One progress event of an execution, as sent over SSE.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// `block_started`, `block_finished`, `block_paused`, `execution_paused` or `execution_finished`.
    pub event: &'static str,
    pub data: Value,
}

/// An execution running in this process.
pub struct LiveExecution {
    pub cancel: Cancellation,
    pub events: broadcast::Sender<ProgressEvent>,
}

/// An execution's tenant and ID.
type ExecutionKey = (Tenant, String);

/// Executions running now and the per-execution run locks.
#[derive(Default)]
pub struct Executions {
    live: Mutex<HashMap<ExecutionKey, Arc<LiveExecution>>>,
    locks: Mutex<HashMap<ExecutionKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Executions {
    /// Takes the run lock of an execution: the first run, resumes and cancels
    /// of one execution happen one at a time, so a resume that arrives while
    /// the pause is still being stored waits for it instead of missing it.
    pub async fn lock(&self, tenant: &Tenant, id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().expect("locks");
            if locks.len() >= LOCK_SWEEP_AT {
                // Locks nobody holds or waits for belong to finished work.
                locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            }
            locks.entry((tenant.clone(), id.to_string())).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Marks an execution as running here (or returns its entry if it already
    /// is), so a cancel or an event stream finds it from this moment on.
    pub fn begin(&self, tenant: &Tenant, id: &str) -> Arc<LiveExecution> {
        self.live
            .lock()
            .expect("live")
            .entry((tenant.clone(), id.to_string()))
            .or_insert_with(|| {
                let (events, _) = broadcast::channel(EVENT_BUFFER);
                Arc::new(LiveExecution { cancel: Cancellation::default(), events })
            })
            .clone()
    }

    /// The execution if it is running in this process.
    pub fn live(&self, tenant: &Tenant, id: &str) -> Option<Arc<LiveExecution>> {
        self.live.lock().expect("live").get(&(tenant.clone(), id.to_string())).cloned()
    }

    /// Running executions.
    pub fn running(&self) -> usize {
        self.live.lock().expect("live").len()
    }

    /// Running executions of `tenant`.
    pub fn running_for(&self, tenant: &Tenant) -> usize {
        self.live.lock().expect("live").keys().filter(|(owner, _)| owner == tenant).count()
    }
}

/// What the engine tells an execution's checkpoint writer, in order.
enum ToWriter {
    Event(ExecutionEvent),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// Sends engine events to the checkpoint writer; the engine waits for a
/// flush after each finished block, so what follows a block starts only
/// once the block's checkpoint is in the store.
struct ChannelObserver(mpsc::UnboundedSender<ToWriter>);

impl ExecutionObserver for ChannelObserver {
    fn event(&self, event: ExecutionEvent) {
        let _ = self.0.send(ToWriter::Event(event));
    }

    fn flushed(&self) -> BoxFuture<'static, ()> {
        let (done, written) = oneshot::channel();
        let _ = self.0.send(ToWriter::Flush(done));
        // A writer that is gone answers nothing: the wait ends all the same.
        Box::pin(async move {
            let _ = written.await;
        })
    }
}

/// `workflow` blocks find the tenant's workflows here: the latest deployed
/// version, or the draft of one never deployed. Never another tenant's.
struct TenantWorkflows {
    store: Arc<dyn Store>,
    tenant: Tenant,
    handle: tokio::runtime::Handle,
}

impl WorkflowSource for TenantWorkflows {
    fn workflow(&self, workflow_id: &str) -> Option<WorkflowState> {
        // The engine asks synchronously; the store answers asynchronously.
        let state = tokio::task::block_in_place(|| {
            self.handle.block_on(async {
                match self.store.latest_deployed(self.tenant.as_str(), workflow_id).await {
                    Ok(Some((_, state))) => Some(state),
                    _ => {
                        self.store.get_workflow(self.tenant.as_str(), workflow_id).await.ok().flatten().map(|w| w.draft)
                    }
                }
            })
        })?;
        serde_json::from_value(state).ok()
    }
}

/// Which engine pass of an execution to run.
pub enum Pass {
    /// The first run of a new execution.
    First,
    /// Resume one pause point.
    Resume(ResumeRequest),
    /// Continue after a crash from the stored checkpoints.
    Recover,
}

/// Runs one engine pass (first run, resume, or recovery) of a stored
/// execution, under its run lock (or, on a worker, its job's `lease`), and
/// stores what it produced; with a lease, only if the lease still holds
/// once the pass is over.
pub async fn run_pass(
    app: &Arc<AppState>,
    tenant: &Tenant,
    execution_id: &str,
    request: &StoredRequest,
    pass: Pass,
    lease: Option<&JobLease>,
) -> Result<ExecutionResult, ExecuteError> {
    let store = app.store.clone();
    let (resume, is_first_pass) = match pass {
        Pass::First => (None, true),
        Pass::Resume(resume) => (Some(resume), false),
        Pass::Recover => (None, false),
    };
    // A first pass has nothing to replay: no need to ask the store.
    let checkpoints: Vec<Checkpoint> = if is_first_pass {
        Vec::new()
    } else {
        store
            .list_checkpoints(tenant.as_str(), execution_id)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|value| match app.sealer.open_checkpoint(tenant.as_str(), execution_id, value) {
                Ok(checkpoint) => Some(checkpoint),
                Err(error) => {
                    eprintln!("sandflow: a checkpoint of {execution_id} is skipped: {error}");
                    None
                }
            })
            .collect()
    };
    let runner = app.tenant_runner(tenant).await;
    let engine = Engine::new(runner, app.engine_settings.clone());
    let live = app.executions.begin(tenant, execution_id);
    let cancel = live.cancel.clone();
    let sender = live.events.clone();
    let slot = PassSlot::take(app, tenant, execution_id);

    let (events, mut received) = mpsc::unbounded_channel::<ToWriter>();
    let writer = {
        let store = store.clone();
        let tenant = tenant.clone();
        let execution_id = execution_id.to_string();
        let metrics = app.metrics.clone();
        let (sealer, secret) = (app.sealer.clone(), !request.env.is_empty());
        tokio::spawn(async move {
            while let Some(message) = received.recv().await {
                let event = match message {
                    ToWriter::Event(event) => event,
                    ToWriter::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                match event {
                    ExecutionEvent::BlockStarted { context_id, block_id, block_name, block_type } => {
                        let data = json!({"contextId": context_id, "blockId": block_id,
                                          "blockName": block_name, "blockType": block_type});
                        let _ = sender.send(ProgressEvent { event: "block_started", data });
                    }
                    ExecutionEvent::BlockFinished(checkpoint) => {
                        if let Some(log) = &checkpoint.log {
                            metrics.observe_block(log.duration_ms, log.fuel_consumed);
                        }
                        let value = sealer.seal_checkpoint(tenant.as_str(), &execution_id, &checkpoint, secret);
                        if let Err(error) =
                            store.append_checkpoint(tenant.as_str(), &execution_id, &checkpoint.context_id, value).await
                        {
                            eprintln!("sandflow: checkpoint of {execution_id}/{}: {error}", checkpoint.context_id);
                        }
                        let paused = checkpoint.pause.is_some();
                        let data = json!({
                            "contextId": checkpoint.context_id,
                            "blockId": checkpoint.block_id,
                            "success": !matches!(checkpoint.outcome, sandflow_engine::CheckpointOutcome::Failed { .. }),
                            "durationMs": checkpoint.log.as_ref().map(|l| l.duration_ms),
                        });
                        let event = if paused { "block_paused" } else { "block_finished" };
                        let _ = sender.send(ProgressEvent { event, data });
                    }
                }
            }
            sender
        })
    };

    let engine_request = ExecutionRequest {
        execution_id: execution_id.to_string(),
        workflow_id: request.workflow_id.clone(),
        state: request.state.clone(),
        input: request.input.clone(),
        env: request.env.clone(),
        workflow_variables: request.workflow_variables.clone(),
        max_parallel_nodes: request.max_parallel_nodes,
        cancel: cancel.clone(),
        checkpoints,
        resume,
        run_from: request
            .run_from
            .as_ref()
            .map(|r| RunFrom { start_block_id: r.start_block_id.clone(), previous: r.previous.clone() }),
        call_chain: request.call_chain.clone(),
        parent_execution_id: request.parent_execution_id.clone(),
        workflows: Some(Arc::new(TenantWorkflows {
            store: store.clone(),
            tenant: tenant.clone(),
            handle: tokio::runtime::Handle::current(),
        })),
        observer: Some(Arc::new(ChannelObserver(events))),
    };
    let limit = app.limits.max_execution_time;
    let redactor = Redactor::new(&request.env.values().collect::<Vec<_>>());
    // On its own task, so that a panic in the engine fails this execution
    // (below) instead of unwinding through the request and leaving it running.
    let mut run = tokio::spawn(async move { engine.execute(engine_request).await });
    let joined = |joined: Result<Result<ExecutionResult, ExecuteError>, tokio::task::JoinError>| {
        joined.unwrap_or_else(|error| Err(ExecuteError::Internal(format!("the engine stopped: {error}"))))
    };
    let mut timed_out = false;
    let mut outcome = tokio::select! {
        outcome = &mut run => joined(outcome),
        () = tokio::time::sleep(limit) => {
            timed_out = true;
            cancel.cancel();
            joined(run.await)
        }
    }
    .map_err(|error| error.redacted(&redactor));
    if timed_out && let Ok(result) = &mut outcome {
        result.status = ExecutionStatus::Failed;
        result.success = false;
        result.error = Some(format!("the execution ran past its time limit of {}s", limit.as_secs()));
    }
    // Every checkpoint is written before the result is, so a crash between
    // the two loses nothing that finished.
    let sender = writer.await.ok();
    drop(slot);
    if let Some(lease) = lease
        && !lease.still_held().await
    {
        // Another worker owns the execution now and continues from the
        // checkpoints: what this one ends with must not be stored.
        eprintln!("sandflow: the lease on {execution_id} was lost; its result is not stored here");
        lease.mark_unconfirmed();
        return outcome;
    }

    if let Err(error) = &outcome
        && (is_first_pass || matches!(error, ExecuteError::Internal(_)))
    {
        // Refused before any block ran (a run from a block that cannot start
        // there), or the engine failed: the stored execution ends failed
        // rather than running forever.
        let result = failed_before_running(execution_id, error.to_string());
        let _ = store.update_execution(tenant.as_str(), execution_id, StoredStatus::Failed, Some(result)).await;
    }
    if let Ok(result) = &mut outcome {
        trim_logs(result, app.limits.max_stored_log_bytes);
        let stored = hold_to_stored_limits(result, app.limits.max_stored_result_bytes);
        store_result(app, tenant, execution_id, result, stored).await;
        app.metrics.executions.with_label_values(&[status_name(result.status)]).inc();
        if let Some(sender) = sender {
            let data =
                json!({"executionId": execution_id, "status": status_name(result.status), "error": result.error});
            let event =
                if result.status == ExecutionStatus::Paused { "execution_paused" } else { "execution_finished" };
            let _ = sender.send(ProgressEvent { event, data });
        }
    }
    outcome
}

/// The stored result of an execution that failed without a pass to report
/// it: the engine's own `ExecutionResult`, empty but for the error.
pub(crate) fn failed_before_running(execution_id: &str, error: String) -> Value {
    let result = ExecutionResult {
        success: false,
        status: ExecutionStatus::Failed,
        execution_id: execution_id.to_string(),
        output: BTreeMap::new(),
        error: Some(error),
        pause_points: Vec::new(),
        logs: Vec::new(),
        final_state: Default::default(),
    };
    serde_json::to_value(result).unwrap_or(Value::Null)
}

/// Stores the open pause points of an engine pass and its result, `value`
/// being `result` as JSON.
async fn store_result(app: &AppState, tenant: &Tenant, execution_id: &str, result: &ExecutionResult, value: Value) {
    let store = &app.store;
    let pauses: Vec<PausePointRow> = result
        .pause_points
        .iter()
        .filter(|p| p.resume_status == ResumeStatus::Paused)
        .map(|p| PausePointRow {
            context_id: p.context_id.clone(),
            kind: match p.pause_kind {
                PauseKind::Human => sandflow_store::PauseKind::Human,
                PauseKind::Time => sandflow_store::PauseKind::Time,
            },
            resume_at: p.resume_at.as_deref().and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok()),
            data: serde_json::to_value(p).unwrap_or(Value::Null),
        })
        .collect();
    if !pauses.is_empty()
        && let Err(error) = store.put_pause_points(tenant.as_str(), execution_id, pauses).await
    {
        eprintln!("sandflow: pause points of {execution_id}: {error}");
    }
    if let Err(error) =
        store.update_execution(tenant.as_str(), execution_id, stored_status(result.status), Some(value)).await
    {
        eprintln!("sandflow: result of {execution_id}: {error}");
    }
}

/// An execution pass's place among those in flight: taken when the pass
/// starts, given back when it is dropped, however the pass ends.
struct PassSlot<'a> {
    app: &'a AppState,
    key: (Tenant, String),
}

impl<'a> PassSlot<'a> {
    fn take(app: &'a AppState, tenant: &Tenant, execution_id: &str) -> Self {
        app.metrics.runs_in_flight.inc();
        Self { app, key: (tenant.clone(), execution_id.to_string()) }
    }
}

impl Drop for PassSlot<'_> {
    fn drop(&mut self) {
        self.app.executions.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&self.key);
        self.app.metrics.runs_in_flight.dec();
    }
}

/// A result that could not be stored and read back whole becomes a failed
/// one saying why: too large for `maxStoredResultBytes`, or nested deeper than
/// the store reads back.
/// Returns the result as JSON, as the store is to keep it.
fn hold_to_stored_limits(result: &mut ExecutionResult, max_bytes: usize) -> Value {
    let value = serde_json::to_value(&*result).unwrap_or(Value::Null);
    let problem = if sandflow_engine::budget::exceeds_depth(&value, MAX_STORED_DEPTH) {
        Some(format!("the result is nested deeper than {MAX_STORED_DEPTH} levels, more than the store keeps"))
    } else {
        let size = sandflow_engine::budget::json_size(&value);
        (size > max_bytes as u64).then(|| {
            format!(
                "execution budget exceeded: the result is {size} bytes, more than {max_bytes} (limit `maxStoredResultBytes`)"
            )
        })
    };
    match problem {
        Some(message) => {
            let failed = failed_before_running(&result.execution_id, message);
            *result = serde_json::from_value(failed.clone()).expect("a failed result deserializes");
            failed
        }
        None => value,
    }
}

/// Deepest result the store is asked to keep: serde_json reads back 128 levels.
const MAX_STORED_DEPTH: usize = 120;

/// Keeps a stored result under the log budget by dropping guest log lines,
/// newest runs last, and saying so.
fn trim_logs(result: &mut ExecutionResult, budget: usize) {
    let size = |r: &ExecutionResult| serde_json::to_vec(r).map(|v| v.len()).unwrap_or(0);
    if size(result) <= budget {
        return;
    }
    for log in &mut result.logs {
        if !log.guest_logs.is_empty() {
            log.guest_logs.clear();
            log.guest_logs.push(sandflow_engine::GuestLog {
                level: "warn".into(),
                message: format!("guest logs dropped: the stored result is limited to {budget} bytes"),
            });
        }
    }
}

/// The engine's status as the store spells it.
pub fn stored_status(status: ExecutionStatus) -> StoredStatus {
    match status {
        ExecutionStatus::Queued => StoredStatus::Queued,
        ExecutionStatus::Running => StoredStatus::Running,
        ExecutionStatus::Completed => StoredStatus::Completed,
        ExecutionStatus::Failed => StoredStatus::Failed,
        ExecutionStatus::Paused => StoredStatus::Paused,
        ExecutionStatus::Cancelled => StoredStatus::Cancelled,
    }
}

/// The snake_case name of a status.
pub fn status_name(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Queued => "queued",
        ExecutionStatus::Running => "running",
        ExecutionStatus::Completed => "completed",
        ExecutionStatus::Failed => "failed",
        ExecutionStatus::Paused => "paused",
        ExecutionStatus::Cancelled => "cancelled",
    }
}

/// Resumes one pause point: claims it (one winner), runs the pass, and
/// releases the claim again when the input is refused.
pub async fn resume(
    app: &Arc<AppState>,
    tenant: &Tenant,
    execution_id: &str,
    context_id: &str,
    input: Value,
) -> ApiResult<ExecutionResult> {
    let _run = app.executions.lock(tenant, execution_id).await;
    let record = app
        .store
        .get_execution(tenant.as_str(), execution_id)
        .await?
        .ok_or_else(|| ApiError::not_found("execution", execution_id))?;
    if record.status.is_final() {
        return Err(ApiError::execution_finished(execution_id, record.status.as_str()));
    }
    // Opened before the claim: a request that does not open leaves the pause point as it was.
    let request = app.sealer.open_request(tenant.as_str(), execution_id, record.request).map_err(ApiError::internal)?;
    // Running before the claim, not after: a crash between the two would otherwise leave a
    // paused execution whose point is claimed by a request that no longer exists, which no
    // recovery looks at (recovery continues running executions and reopens their claimed
    // points), so it could never be resumed again.
    app.store.update_execution(tenant.as_str(), execution_id, StoredStatus::Running, None).await?;
    let refusal = match app.store.claim_pause_point(tenant.as_str(), execution_id, context_id).await? {
        ClaimResult::Claimed { .. } => None,
        ClaimResult::AlreadyResumed => Some(ApiError::already_resumed(context_id)),
        ClaimResult::Unknown => Some(ApiError::not_found("pause point", context_id)),
    };
    if let Some(refusal) = refusal {
        app.store.update_execution(tenant.as_str(), execution_id, record.status, None).await?;
        return Err(refusal);
    }
    let resume = ResumeRequest { context_id: context_id.to_string(), input };
    match run_pass(app, tenant, execution_id, &request, Pass::Resume(resume), None).await {
        Ok(result) => {
            app.store.complete_pause_point(tenant.as_str(), execution_id, context_id).await?;
            Ok(result)
        }
        Err(error) => {
            // Refused before anything ran: the pause point stays open.
            app.store.release_pause_point(tenant.as_str(), execution_id, context_id).await?;
            app.store.update_execution(tenant.as_str(), execution_id, StoredStatus::Paused, None).await?;
            Err(error.into())
        }
    }
}

/// Continues every execution a previous process left running, from its
/// checkpoints; gives up on one restarted more than `max_restarts` times.
pub async fn recover(app: &Arc<AppState>) -> anyhow::Result<usize> {
    let unfinished = app.store.unfinished_executions().await?;
    let count = unfinished.len();
    for (tenant, id) in unfinished {
        let app = app.clone();
        tokio::spawn(async move {
            let tenant = Tenant::from_stored(tenant);
            if let Err(error) = recover_one(&app, &tenant, &id).await {
                eprintln!("sandflow: recovering {id}: {error}");
            }
        });
    }
    Ok(count)
}

async fn recover_one(app: &Arc<AppState>, tenant: &Tenant, id: &str) -> anyhow::Result<()> {
    let _run = app.executions.lock(tenant, id).await;
    let restarts = app.store.record_restart(tenant.as_str(), id).await?;
    let Some(record) = app.store.get_execution(tenant.as_str(), id).await? else { return Ok(()) };
    if restarts > app.limits.max_restarts {
        let message =
            format!("the execution was restarted {restarts} times and is given up (limit {})", app.limits.max_restarts);
        let result = failed_before_running(id, message);
        app.store.update_execution(tenant.as_str(), id, StoredStatus::Failed, Some(result)).await?;
        return Ok(());
    }
    // A resume cut off by the crash lost its input with the request that
    // carried it: its pause point opens again for the caller to retry.
    for point in app.store.list_pause_points(tenant.as_str(), id).await? {
        if point.status == sandflow_store::PauseStatus::Resuming {
            app.store.release_pause_point(tenant.as_str(), id, &point.context_id).await?;
        }
    }
    let request = match app.sealer.open_request(tenant.as_str(), id, record.request) {
        Ok(request) => request,
        Err(error) => {
            // It cannot continue (another sealing key?): it ends failed, saying why, not running for ever.
            let result = failed_before_running(id, format!("the execution cannot continue: {error}"));
            app.store.update_execution(tenant.as_str(), id, StoredStatus::Failed, Some(result)).await?;
            return Ok(());
        }
    };
    app.store.update_execution(tenant.as_str(), id, StoredStatus::Running, None).await?;
    let outcome = run_pass(app, tenant, id, &request, Pass::Recover, None).await;
    if let Err(error) = outcome {
        eprintln!("sandflow: recovered execution {id} could not run: {error}");
    }
    Ok(())
}

/// Resumes timed pause points when they come due, also those stored before
/// a restart.
pub fn spawn_timer(app: Arc<AppState>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TIMER_POLL).await;
            let due = match app.store.due_timed_pauses(OffsetDateTime::now_utc()).await {
                Ok(due) => due,
                Err(error) => {
                    eprintln!("sandflow: looking for due timers: {error}");
                    continue;
                }
            };
            for (tenant, execution_id, context_id) in due {
                let app = app.clone();
                tokio::spawn(async move {
                    let tenant = Tenant::from_stored(tenant);
                    match resume(&app, &tenant, &execution_id, &context_id, json!({})).await {
                        Ok(_) => {}
                        // Someone else resumed it first (another poll, or a caller): nothing to do.
                        Err(error) if error.code == "already_resumed" => {}
                        Err(error) => eprintln!("sandflow: timer of {execution_id}/{context_id}: {}", error.message),
                    }
                });
            }
        }
    });
}

/// Cancels an execution: a running one stops its blocks at once and ends
/// `cancelled`; a paused one is marked cancelled; a finished one is a conflict.
pub async fn cancel(app: &Arc<AppState>, tenant: &Tenant, execution_id: &str) -> ApiResult<Value> {
    let signalled = match app.executions.live(tenant, execution_id) {
        Some(live) => {
            live.cancel.cancel();
            true
        }
        None => false,
    };
    let _run = app.executions.lock(tenant, execution_id).await;
    let record = app
        .store
        .get_execution(tenant.as_str(), execution_id)
        .await?
        .ok_or_else(|| ApiError::not_found("execution", execution_id))?;
    match record.status {
        // Stopped by the signal above; the run stored its cancelled result.
        StoredStatus::Cancelled if signalled => {}
        status if status.is_final() => return Err(ApiError::execution_finished(execution_id, status.as_str())),
        _ => {
            let mut result = record.result.unwrap_or_else(|| json!({"executionId": execution_id, "output": {}}));
            result["status"] = json!("cancelled");
            result["success"] = json!(false);
            result["error"] = json!("cancelled");
            app.store.update_execution(tenant.as_str(), execution_id, StoredStatus::Cancelled, Some(result)).await?;
        }
    }
    Ok(json!({"success": true, "executionId": execution_id, "status": "cancelled"}))
}
