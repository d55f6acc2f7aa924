//! What the engine needs from whoever runs blocks: the wasm runtime in
//! production, fake runners in scheduling tests.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

pub use crate::block_error::{BlockError, BlockErrorKind};
use crate::model::BlockLimits;

/// Identity of one block run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallInfo {
    pub execution_id: String,
    pub workflow_id: String,
    pub block_id: String,
    pub block_name: String,
    /// The run's path through containers, e.g. `loop1[2].each`: unique in its execution.
    pub context_id: String,
    pub attempt: u32,
    /// The resume input, when this run resumes a pause point.
    pub resume_input: Option<Value>,
}

/// One block run the engine asks for.
#[derive(Debug, Clone)]
pub struct BlockCall {
    pub block_type: String,
    pub info: CallInfo,
    /// Params with every reference resolved.
    pub params: Value,
    /// Only the environment variables the block was granted.
    pub env: HashMap<String, String>,
    /// Workflow variables as the block starts.
    pub variables: BTreeMap<String, Value>,
    pub limits: Option<BlockLimits>,
    /// Raised when the execution is cancelled or failed; runners stop the block.
    pub cancel: Cancellation,
}

/// What a successful block run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum BlockOutcome {
    Done {
        output: Value,
    },
    Route {
        route: String,
        output: Value,
    },
    Pause {
        response: Value,
        resume_after_ms: Option<u64>,
        /// A JSON Schema the resume input must match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input_schema: Option<Value>,
    },
}

/// Severity and text of one line a block logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GuestLog {
    pub level: String,
    pub message: String,
}

/// A finished block run, successful or not.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockReport {
    /// The outcome, or why the run failed.
    pub outcome: Result<BlockOutcome, BlockError>,
    pub logs: Vec<GuestLog>,
    pub variable_writes: BTreeMap<String, Value>,
    pub fuel_consumed: u64,
    pub memory_peak_bytes: u64,
}

impl BlockReport {
    /// A report with only an outcome.
    pub fn outcome(outcome: Result<BlockOutcome, BlockError>) -> Self {
        Self { outcome, logs: Vec::new(), variable_writes: BTreeMap::new(), fuel_consumed: 0, memory_peak_bytes: 0 }
    }
}

/// Runs blocks for the engine.
pub trait BlockRunner: Send + Sync + 'static {
    /// The JSON Schema of the params of every block type this runner knows.
    fn input_schemas(&self) -> HashMap<String, Value>;

    /// Runs one block.
    fn run(&self, call: BlockCall) -> impl Future<Output = BlockReport> + Send;

    /// Whether a run of `block_type` takes one of the execution's
    /// `maxParallelNodes` slots. A block that only waits on runs with their
    /// own bound (a subworkflow) must not, or parent and child starve each other.
    fn counts_toward_parallelism(&self, block_type: &str) -> bool {
        let _ = block_type;
        true
    }

    /// Whether a run of `block_type` can do anything outside its sandbox (an
    /// HTTP request, a child execution) that running it a second time would
    /// do again. Before such a block starts, everything that finished earlier
    /// in the execution is durable (see `ExecutionObserver::flushed`); a block
    /// that cannot may start while earlier checkpoints are still being
    /// committed, since after a crash it only computes the same thing again.
    /// Unknown: it can.
    fn acts_outside(&self, block_type: &str) -> bool {
        let _ = block_type;
        true
    }

    /// Evaluates a JavaScript expression for `while` and `doWhile` loops; its
    /// workflow references are written `__refs[i]`, and `references[i]` is the
    /// value each stands for, to be bound as data (never pasted into the source).
    fn evaluate(
        &self,
        expression: &str,
        references: &[Value],
        cancel: Cancellation,
    ) -> impl Future<Output = Result<Value, String>> + Send;
}

/// A cancellation signal shared by an execution and its block runs.
#[derive(Debug, Clone, Default)]
pub struct Cancellation {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Cancellation {
    /// Raises the signal.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the signal was raised.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The flag itself, for runners that poll it (the wasm runtime checks it every epoch tick).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// Completes once the signal is raised.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
