//! An execution's progress as a stream of events: the blocks finished so
//! far (from the store), then live progress while it runs in this process,
//! or the store polled while it runs on a worker, then its end.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use sandflow_store::ExecutionStatus as StoredStatus;
use serde_json::{Value, json};

use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::live::ProgressEvent;
use crate::tenant::Tenant;

/// How often the events of an execution running on a worker are read from the store.
const EVENT_POLL: Duration = Duration::from_millis(250);

/// The events of one execution, ending with `execution_finished` or `execution_paused`.
pub type EventStream = Pin<Box<dyn Stream<Item = ProgressEvent> + Send>>;

/// Where an execution that is not running here may be running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elsewhere {
    /// Nowhere: an execution not running here is over, or paused.
    Nowhere,
    /// On a worker: the store shows its progress.
    OnWorkers,
}

/// The stream of `tenant`'s execution `id`.
pub async fn events(
    app: &Arc<RunContext>,
    tenant: Tenant,
    id: String,
    elsewhere: Elsewhere,
) -> Result<EventStream, RunError> {
    // Subscribe before reading the store, so nothing falls between the two.
    let live = app.live.live(&tenant, &id).map(|live| live.subscribe());
    let record =
        app.store.get_execution(tenant.as_str(), &id).await?.ok_or_else(|| RunError::UnknownExecution(id.clone()))?;
    let checkpoints = app.store.list_checkpoints(tenant.as_str(), &id).await?;
    let seen = checkpoints.len();
    let past: Vec<ProgressEvent> = checkpoints.iter().map(checkpoint_event).collect();
    let running = matches!(record.status, StoredStatus::Queued | StoredStatus::Running);
    Ok(match live {
        Some(receiver) if !record.status.is_final() => {
            let live =
                tokio_stream::wrappers::BroadcastStream::new(receiver).filter_map(|event| async move { event.ok() });
            Box::pin(futures::stream::iter(past).chain(live))
        }
        None if elsewhere == Elsewhere::OnWorkers && running => {
            let polled = polled_events(app.clone(), tenant, id, seen);
            Box::pin(futures::stream::iter(past).chain(polled))
        }
        _ => {
            let done = end_event(&id, record.status.as_str());
            Box::pin(futures::stream::iter(past).chain(futures::stream::once(async move { done })))
        }
    })
}

/// A stored checkpoint as the `block_finished` (or `block_paused`) event.
fn checkpoint_event(checkpoint: &Value) -> ProgressEvent {
    let event = if checkpoint.get("pause").is_some_and(|p| !p.is_null()) { "block_paused" } else { "block_finished" };
    let data = json!({
        "contextId": checkpoint["contextId"],
        "blockId": checkpoint["blockId"],
        "success": checkpoint["outcome"]["kind"] != "failed",
        "durationMs": checkpoint["log"]["durationMs"],
    });
    ProgressEvent { event, data }
}

/// The last event: a paused execution is not over, its stream ends with `execution_paused`.
fn end_event(id: &str, status: &str) -> ProgressEvent {
    let event = if status == "paused" { "execution_paused" } else { "execution_finished" };
    ProgressEvent { event, data: json!({"executionId": id, "status": status}) }
}

/// The checkpoints after the first `seen` as they are stored, then the end
/// event once the execution is over or paused: the events of an execution
/// on a worker (no `block_started`: a worker stores only finished blocks).
fn polled_events(
    app: Arc<RunContext>,
    tenant: Tenant,
    id: String,
    seen: usize,
) -> impl Stream<Item = ProgressEvent> + Send {
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
            let mut events: Vec<ProgressEvent> = checkpoints.iter().skip(seen).map(checkpoint_event).collect();
            let over = status.is_final() || status == StoredStatus::Paused;
            if over {
                events.push(end_event(&id, status.as_str()));
            }
            Some((events, (!over).then_some(checkpoints.len().max(seen))))
        }
    })
    .flat_map(futures::stream::iter)
}
