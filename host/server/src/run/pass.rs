//! One engine pass of a stored execution (its first run, a resume, or a
//! recovery): every finished block checkpointed in the store before
//! anything after it starts, the result and pause points stored at the end,
//! progress broadcast for SSE. Both the local path and the worker run their
//! passes here; what keeps the execution theirs meanwhile is a [`Hold`].

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use sandflow_engine::reference::Redactor;
use sandflow_engine::{
    Checkpoint, Engine, ExecuteError, ExecutionEvent, ExecutionObserver, ExecutionRequest, ExecutionResult,
    ExecutionSpec, ExecutionStatus, PauseKind, ResumeRequest, ResumeStatus, WorkflowSource, WorkflowState,
};
use sandflow_store::{ExecutionStatus as StoredStatus, JsonText, PausePointRow, Store, StoreError};
use sandflow_wasm_runner::WasmBlockRunner;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{OwnedMutexGuard, mpsc, oneshot};

use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::live::{LiveExecution, ProgressEvent};
use crate::tenant::Tenant;

/// Whatever makes an execution this process's to store while a pass runs:
/// the run lock of an embedded server, the lease of a worker's job. A pass
/// asks once it is over; a hold lost meanwhile means another process owns
/// the execution now and continues it from the checkpoints, so nothing the
/// pass ended with is stored.
pub trait Hold: Send + Sync {
    /// True while the execution is still this process's (a lease is renewed by asking).
    fn still_held(&self) -> BoxFuture<'_, bool>;
}

/// The run lock of an execution in this process: nobody else can take it over.
impl Hold for OwnedMutexGuard<()> {
    fn still_held(&self) -> BoxFuture<'_, bool> {
        Box::pin(std::future::ready(true))
    }
}

/// What an execute or a resume answers with: the execution's result as it
/// is stored, and whether it paused.
#[derive(Debug)]
pub struct Answer {
    pub paused: bool,
    pub result: JsonText,
}

impl Answer {
    /// The answer of a pass this process ran: the text it stored, sent as it is.
    pub fn of(ended: Ended) -> Self {
        Self { paused: ended.result.status == ExecutionStatus::Paused, result: ended.stored }
    }
}

/// What an engine pass ended with: its result, and the same result as the
/// JSON text the store was given (serialized once, for the store and the caller).
pub struct Ended {
    pub result: ExecutionResult,
    pub stored: JsonText,
}

/// What the engine tells an execution's checkpoint writer, in order.
enum ToWriter {
    Event(ExecutionEvent),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// Sends engine events to the checkpoint writer; the engine waits for a
/// flush before a block that acts outside its sandbox, so such a block
/// starts only once every checkpoint before it is in the store.
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

/// A block's progress, made a [`ProgressEvent`] only when someone listens.
enum BlockProgress {
    Started { context_id: String, block_id: String, block_name: String, block_type: String },
    Finished { context_id: String, block_id: String, success: bool, duration_ms: Option<u64>, paused: bool },
}

impl BlockProgress {
    fn finished(checkpoint: &Checkpoint) -> Self {
        Self::Finished {
            context_id: checkpoint.context_id.clone(),
            block_id: checkpoint.block_id.clone(),
            success: !matches!(checkpoint.outcome, sandflow_engine::CheckpointOutcome::Failed { .. }),
            duration_ms: checkpoint.log.as_ref().map(|log| log.duration_ms),
            paused: checkpoint.pause.is_some(),
        }
    }

    fn event(self) -> ProgressEvent {
        match self {
            Self::Started { context_id, block_id, block_name, block_type } => ProgressEvent {
                event: "block_started",
                data: json!({"contextId": context_id, "blockId": block_id,
                             "blockName": block_name, "blockType": block_type}),
            },
            Self::Finished { context_id, block_id, success, duration_ms, paused } => ProgressEvent {
                event: if paused { "block_paused" } else { "block_finished" },
                data: json!({"contextId": context_id, "blockId": block_id, "success": success, "durationMs": duration_ms}),
            },
        }
    }
}

/// Which engine pass of an execution to run.
pub enum Pass {
    /// The first run of a new execution, by the engine that admitted it.
    First(Engine<WasmBlockRunner>),
    /// Resume one pause point.
    Resume(ResumeRequest),
    /// Continue after a crash from the stored checkpoints.
    Recover,
}

/// Runs one engine pass (first run, resume, or recovery) of a stored
/// execution while `hold` keeps it this process's, and stores what it
/// produced, if the hold still holds once the pass is over
/// ([`RunError::HoldLost`] otherwise). The engine's refusals and failures
/// come back as [`RunError::Engine`].
pub async fn run_pass(
    app: &RunContext,
    tenant: &Tenant,
    execution_id: &str,
    request: &ExecutionSpec,
    pass: Pass,
    hold: &dyn Hold,
) -> Result<Ended, RunError> {
    let store = app.store.clone();
    let (engine, resume, is_first_pass) = match pass {
        Pass::First(engine) => (engine, None, true),
        Pass::Resume(resume) => (app.blocks.engine_for(tenant).await, Some(resume), false),
        Pass::Recover => (app.blocks.engine_for(tenant).await, None, false),
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
                    tracing::warn!(execution_id, %error, "a checkpoint is skipped");
                    None
                }
            })
            .collect()
    };
    let live = app.live.begin(tenant, execution_id);
    let cancel = live.cancel.clone();
    let slot = PassSlot::take(app, tenant, execution_id);

    let (events, mut received) = mpsc::unbounded_channel::<ToWriter>();
    let writer = {
        let store = store.clone();
        let tenant = tenant.clone();
        let execution_id = execution_id.to_string();
        let metrics = app.metrics.clone();
        let (sealer, secret) = (app.sealer.clone(), !request.env.is_empty());
        let cancel = cancel.clone();
        let live = live.clone();
        tokio::spawn(async move {
            // Why a checkpoint could not be stored: the execution stops and fails.
            let mut lost: Option<String> = None;
            let mut messages = Vec::new();
            // Everything queued meanwhile is written at once: one store call, and in
            // the SQLite store one write of its group commit.
            while received.recv_many(&mut messages, usize::MAX).await > 0 {
                let mut checkpoints = Vec::new();
                let mut progress = Vec::new();
                let mut flushes = Vec::new();
                for message in messages.drain(..) {
                    match message {
                        ToWriter::Flush(done) => flushes.push(done),
                        ToWriter::Event(ExecutionEvent::BlockStarted {
                            context_id,
                            block_id,
                            block_name,
                            block_type,
                        }) => {
                            progress.push(BlockProgress::Started { context_id, block_id, block_name, block_type });
                        }
                        ToWriter::Event(ExecutionEvent::BlockFinished(checkpoint)) => {
                            if let Some(log) = &checkpoint.log {
                                metrics.observe_block(log.duration_ms, log.fuel_consumed);
                            }
                            progress.push(BlockProgress::finished(&checkpoint));
                            let value = sealer.seal_checkpoint(tenant.as_str(), &execution_id, &checkpoint, secret);
                            checkpoints.push((checkpoint.context_id.clone(), value));
                        }
                    }
                }
                if received.is_closed() && received.is_empty() && lost.is_none() {
                    // The engine is done and sent nothing more: these last checkpoints
                    // are stored with the result, in the same write (see `store_result`).
                    for done in flushes {
                        let _ = done.send(());
                    }
                    return WriterEnd { lost, last: checkpoints, last_progress: progress };
                }
                if !checkpoints.is_empty()
                    && let Err(error) = store.append_checkpoints(tenant.as_str(), &execution_id, checkpoints).await
                {
                    tracing::error!(execution_id, %error, "storing checkpoints");
                    // A final execution (cancelled meanwhile) refuses them: it is over anyway.
                    if !matches!(error, StoreError::Conflict(_)) && lost.is_none() {
                        lost = Some(error.to_string());
                        cancel.cancel();
                    }
                }
                publish_progress(&live, progress);
                for done in flushes {
                    let _ = done.send(());
                }
            }
            WriterEnd { lost, last: Vec::new(), last_progress: Vec::new() }
        })
    };

    let engine_request = ExecutionRequest {
        execution_id: execution_id.to_string(),
        spec: request.clone(),
        cancel: cancel.clone(),
        checkpoints,
        resume,
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
    // Every checkpoint is written before the result is (the last ones in the
    // same write), so a crash between the two loses nothing that finished.
    let WriterEnd { lost, mut last, mut last_progress } = writer.await.unwrap_or_else(|error| WriterEnd {
        lost: Some(format!("the checkpoint writer stopped: {error}")),
        last: Vec::new(),
        last_progress: Vec::new(),
    });
    if let (Some(error), Ok(result)) = (&lost, &mut outcome) {
        // Stopped because what finished could not be made durable.
        result.status = ExecutionStatus::Failed;
        result.success = false;
        result.error = Some(format!("a checkpoint could not be stored: {error}"));
    }
    drop(slot);
    let held = hold.still_held().await;
    if !held || outcome.is_err() {
        // No result of this pass is stored to carry them: the last checkpoints go alone.
        append_alone(&*store, tenant, execution_id, std::mem::take(&mut last)).await;
        publish_progress(&live, std::mem::take(&mut last_progress));
    }
    if !held {
        // Another worker owns the execution now and continues from the
        // checkpoints: what this one ends with must not be stored.
        tracing::warn!(execution_id, "the hold on the execution was lost; its result is not stored here");
        return Err(RunError::HoldLost(execution_id.to_string()));
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
    let mut result = outcome.map_err(RunError::Engine)?;
    let stored = stored_text(&mut result, &app.limits);
    store_result(app, tenant, execution_id, last, &result, stored.clone()).await;
    publish_progress(&live, last_progress);
    app.metrics.executions.with_label_values(&[status_name(result.status)]).inc();
    if live.listened() {
        let data = json!({"executionId": execution_id, "status": status_name(result.status), "error": result.error});
        let event = if result.status == ExecutionStatus::Paused { "execution_paused" } else { "execution_finished" };
        live.publish(ProgressEvent { event, data });
    }
    Ok(Ended { result, stored })
}

/// The stored result of an execution that failed without a pass to report
/// it: the engine's own `ExecutionResult`, empty but for the error.
pub fn failed_before_running(execution_id: &str, error: String) -> JsonText {
    JsonText::of(&failed_result(execution_id, error)).expect("a result is JSON")
}

/// An `ExecutionResult` that failed with `error` before any block ran.
fn failed_result(execution_id: &str, error: String) -> ExecutionResult {
    ExecutionResult {
        success: false,
        status: ExecutionStatus::Failed,
        execution_id: execution_id.to_string(),
        output: BTreeMap::new(),
        error: Some(error),
        pause_points: Vec::new(),
        logs: Vec::new(),
        final_state: Default::default(),
    }
}

/// Stores the last checkpoints of an engine pass, its open pause points and
/// its result, `text` being `result` as JSON; in one write when it did not pause.
async fn store_result(
    app: &RunContext,
    tenant: &Tenant,
    execution_id: &str,
    last: Vec<(String, JsonText)>,
    result: &ExecutionResult,
    text: JsonText,
) {
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
    let status = stored_status(result.status);
    let stored = if pauses.is_empty() {
        store.append_checkpoints_then_update(tenant.as_str(), execution_id, last, status, Some(text)).await
    } else {
        // The pause points come after the checkpoints of the blocks that paused.
        append_alone(&**store, tenant, execution_id, last).await;
        if let Err(error) = store.put_pause_points(tenant.as_str(), execution_id, pauses).await {
            tracing::error!(execution_id, %error, "storing the pause points");
        }
        store.update_execution(tenant.as_str(), execution_id, status, Some(text)).await
    };
    if let Err(error) = stored {
        tracing::error!(execution_id, %error, "storing the result");
    }
}

/// Stores checkpoints that no result goes with, logging a failure: the pass
/// is over, so there is nothing left to stop (unlike in the writer).
async fn append_alone(store: &dyn Store, tenant: &Tenant, execution_id: &str, checkpoints: Vec<(String, JsonText)>) {
    if !checkpoints.is_empty()
        && let Err(error) = store.append_checkpoints(tenant.as_str(), execution_id, checkpoints).await
    {
        tracing::error!(execution_id, %error, "storing checkpoints");
    }
}

/// What the checkpoint writer of a pass ends with: why a checkpoint could
/// not be stored, if one could not, and the last checkpoints, left to be
/// stored with the result (with their progress, sent once they are).
struct WriterEnd {
    lost: Option<String>,
    last: Vec<(String, JsonText)>,
    last_progress: Vec<BlockProgress>,
}

/// Sends blocks' progress to whoever listens, after their checkpoints were
/// written: a listener that subscribes later finds them among the stored
/// checkpoints instead, so they are built only for a listener.
fn publish_progress(live: &LiveExecution, progress: Vec<BlockProgress>) {
    if live.listened() {
        for block in progress {
            live.publish(block.event());
        }
    }
}

/// An execution pass's place among those in flight: taken when the pass
/// starts, given back when it is dropped, however the pass ends.
struct PassSlot<'a> {
    app: &'a RunContext,
    key: (Tenant, String),
}

impl<'a> PassSlot<'a> {
    fn take(app: &'a RunContext, tenant: &Tenant, execution_id: &str) -> Self {
        app.metrics.runs_in_flight.inc();
        Self { app, key: (tenant.clone(), execution_id.to_string()) }
    }
}

impl Drop for PassSlot<'_> {
    fn drop(&mut self) {
        self.app.live.end(&self.key.0, &self.key.1);
        self.app.metrics.runs_in_flight.dec();
    }
}

/// The result as the store keeps it and the caller gets it, serialized once
/// (again only when something had to change): guest log lines dropped when
/// it is over the log budget, and a result that could not be stored and read
/// back whole (too large for `maxStoredResultBytes`, or nested deeper than
/// the store reads back) replaced by a failed one saying why.
fn stored_text(result: &mut ExecutionResult, limits: &crate::limits::ServerLimits) -> JsonText {
    let serialize = |result: &ExecutionResult| JsonText::of(result).expect("a result is JSON");
    let mut text = serialize(result);
    if text.as_str().len() > limits.max_stored_log_bytes && drop_guest_logs(result, limits.max_stored_log_bytes) {
        text = serialize(result);
    }
    let max_bytes = limits.max_stored_result_bytes;
    let problem = if sandflow_engine::budget::text_exceeds_depth(text.as_str().as_bytes(), MAX_STORED_DEPTH) {
        Some(format!("the result is nested deeper than {MAX_STORED_DEPTH} levels, more than the store keeps"))
    } else {
        let size = text.as_str().len();
        (size > max_bytes).then(|| {
            format!(
                "execution budget exceeded: the result is {size} bytes, more than {max_bytes} (limit `maxStoredResultBytes`)"
            )
        })
    };
    if let Some(message) = problem {
        *result = failed_result(&result.execution_id, message);
        text = serialize(result);
    }
    text
}

/// Deepest result the store is asked to keep: serde_json reads back 128 levels.
const MAX_STORED_DEPTH: usize = 120;

/// Drops every guest log line of a result over the log budget, saying so in
/// their place; false when there were none to drop.
fn drop_guest_logs(result: &mut ExecutionResult, budget: usize) -> bool {
    let mut dropped = false;
    for log in &mut result.logs {
        if !log.guest_logs.is_empty() {
            log.guest_logs.clear();
            log.guest_logs.push(sandflow_engine::GuestLog {
                level: "warn".into(),
                message: format!("guest logs dropped: the stored result is limited to {budget} bytes"),
            });
            dropped = true;
        }
    }
    dropped
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

/// Fails an execution that cannot go on (its job was given up after its
/// last attempt, or its pass could not run), saying why with `error`;
/// nothing happens if it is already final.
pub async fn fail_execution(store: &dyn Store, tenant: &str, execution_id: &str, error: String) {
    let result = failed_before_running(execution_id, error);
    match store.update_execution(tenant, execution_id, StoredStatus::Failed, Some(result)).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(error) => tracing::error!(execution_id, %error, "failing the execution"),
    }
}
