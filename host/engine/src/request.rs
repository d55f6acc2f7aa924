//! What one execution is asked to do, and what it reports as it goes: the
//! request, the checkpoints it may start from, its events. A leaf of the
//! engine: everything that runs an execution reads these types.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::block_error::BlockErrorKind;
use crate::model::WorkflowState;
use crate::result::{BlockLog, FinalState, PausePoint};
use crate::runner::{BlockOutcome, Cancellation};

/// What one execution is asked to run, independent of the process that runs
/// it: serializable, so a server stores it with the execution and any
/// process can run it, or run it again after a crash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSpec {
    pub workflow_id: String,
    /// Shared, not copied: every execution of a deployed version runs the
    /// state parsed once for it, and the engine recognises it by address.
    #[serde(with = "shared")]
    pub state: Arc<WorkflowState>,
    /// The start block's output.
    pub input: Value,
    /// Environment values for `{{NAME}}` and granted env handles; redacted everywhere.
    pub env: HashMap<String, String>,
    /// Overrides of workflow variables, by variable name.
    pub workflow_variables: BTreeMap<String, Value>,
    /// At most this many block runs at once; the engine default when `None`.
    pub max_parallel_nodes: Option<usize>,
    /// The workflows that led to this one, outermost first (for cycle detection).
    pub call_chain: Vec<String>,
    /// Set when a `workflow` block started this execution.
    pub parent_execution_id: Option<String>,
    /// Re-run a block and everything downstream of it, keeping the other
    /// outputs of an earlier execution of the same workflow.
    pub run_from: Option<RunFrom>,
}

/// (De)serializes an `Arc<T>` as the `T` it holds.
mod shared {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(value: &Arc<T>, serializer: S) -> Result<S::Ok, S::Error> {
        T::serialize(value, serializer)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<T>, D::Error> {
        T::deserialize(deserializer).map(Arc::new)
    }
}

/// One pass of an execution: its [`ExecutionSpec`], where this pass starts
/// from, and the hooks of the process that runs it.
#[derive(Clone, Default)]
pub struct ExecutionRequest {
    pub execution_id: String,
    pub spec: ExecutionSpec,
    /// Block runs that already finished in this execution (after a crash, for
    /// a resume, or for a run from a block): reused, never run again.
    pub checkpoints: Vec<Checkpoint>,
    pub resume: Option<ResumeRequest>,
    pub cancel: Cancellation,
    /// Where `workflow` blocks find their child workflows (same tenant).
    pub workflows: Option<Arc<dyn WorkflowSource>>,
    pub observer: Option<Arc<dyn ExecutionObserver>>,
}

/// Resume one pause point with this input.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeRequest {
    pub context_id: String,
    pub input: Value,
}

/// Where a run from a block starts, and the earlier execution it builds on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFrom {
    pub start_block_id: String,
    pub previous: FinalState,
}

/// How a finished block run ended, as stored in a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum CheckpointOutcome {
    Succeeded {
        outcome: BlockOutcome,
    },
    Failed {
        message: String,
        /// What kind of failure it was; checkpoints stored before kinds were
        /// kept read as [`BlockErrorKind::Other`].
        #[serde(default, rename = "errorKind")]
        error_kind: BlockErrorKind,
    },
}

/// One finished block run: enough to replay it without running it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The run's path through containers, e.g. `loop1[2].each`.
    pub context_id: String,
    pub block_id: String,
    pub outcome: CheckpointOutcome,
    pub variable_writes: BTreeMap<String, Value>,
    /// The run's log; `None` for an output carried over by a run from a block.
    pub log: Option<BlockLog>,
    /// Set when the run paused.
    pub pause: Option<PausePoint>,
}

/// Progress of an execution, for progress bars, server-sent events and the store.
#[derive(Debug, Clone)]
pub enum ExecutionEvent {
    BlockStarted { context_id: String, block_id: String, block_name: String, block_type: String },
    BlockFinished(Box<Checkpoint>),
}

/// Receives [`ExecutionEvent`]s as they happen.
pub trait ExecutionObserver: Send + Sync {
    fn event(&self, event: ExecutionEvent);

    /// Completes once every event reported so far is durable. The engine
    /// awaits it before it starts a block that acts outside its sandbox
    /// (`BlockRunner::acts_outside`), so that with an observer that stores
    /// checkpoints such a block starts only once every block that finished
    /// before it is committed: after a crash, recovery never runs a block
    /// again whose checkpoint was committed, and never repeats a block that
    /// finished before an outside action started.
    fn flushed(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// Finds child workflows by ID; implementations only answer for one tenant.
pub trait WorkflowSource: Send + Sync {
    /// The workflow state to run for `workflow_id`, if it exists.
    fn workflow(&self, workflow_id: &str) -> Option<WorkflowState>;
}

/// A fixed set of workflows, for tests and the CLI.
impl WorkflowSource for HashMap<String, WorkflowState> {
    fn workflow(&self, workflow_id: &str) -> Option<WorkflowState> {
        self.get(workflow_id).cloned()
    }
}

/// Lets an `Arc` of a source be a source.
impl<T: WorkflowSource + ?Sized> WorkflowSource for Arc<T> {
    fn workflow(&self, workflow_id: &str) -> Option<WorkflowState> {
        (**self).workflow(workflow_id)
    }
}
