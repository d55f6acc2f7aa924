//! The executions running in this process: their cancel switches, their
//! progress channels for SSE, and the run lock each takes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sandflow_engine::Cancellation;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{OwnedMutexGuard, broadcast};

use crate::tenant::Tenant;

/// Size of the run-lock table at which idle locks are dropped.
const LOCK_SWEEP_AT: usize = 1024;
/// Progress events kept for a slow SSE client before it misses some.
const EVENT_BUFFER: usize = 1024;

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
    /// Made when the first listener subscribes: most executions never have
    /// one, and a channel allocates its whole buffer up front.
    events: OnceLock<broadcast::Sender<ProgressEvent>>,
}

impl LiveExecution {
    /// The execution's progress events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ProgressEvent> {
        self.events.get_or_init(|| broadcast::channel(EVENT_BUFFER).0).subscribe()
    }

    /// True while someone listens to the progress events: nobody else needs them built.
    pub fn listened(&self) -> bool {
        self.events.get().is_some_and(|sender| sender.receiver_count() > 0)
    }

    /// Sends a progress event to whoever listens now.
    pub fn publish(&self, event: ProgressEvent) {
        if let Some(sender) = self.events.get() {
            let _ = sender.send(event);
        }
    }
}

/// An execution's tenant and ID.
type ExecutionKey = (Tenant, String);

/// Executions running now and the per-execution run locks.
#[derive(Default)]
pub struct LiveExecutions {
    live: Mutex<HashMap<ExecutionKey, Arc<LiveExecution>>>,
    locks: Mutex<HashMap<ExecutionKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl LiveExecutions {
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
            .or_insert_with(|| Arc::new(LiveExecution { cancel: Cancellation::default(), events: OnceLock::new() }))
            .clone()
    }

    /// Forgets an execution that stopped running here.
    pub fn end(&self, tenant: &Tenant, id: &str) {
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(tenant.clone(), id.to_string()));
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
