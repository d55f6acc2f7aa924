//! The `workflow` block: runs another workflow of the same tenant as a child
//! execution, refusing cycles and over-deep chains before the child starts.
//!
//! It is a decorator of the block runner, so the scheduler runs it like any
//! block and never names it; the child starts through [`ChildExecutions`], so
//! this module does not depend on the engine that runs it.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Value, json};

pub use crate::admission::MAX_CALL_DEPTH;
use crate::admission::check_call_chain;
use crate::error::ExecuteError;
use crate::request::{ExecutionRequest, ExecutionSpec, WorkflowSource};
use crate::result::{ExecutionResult, ExecutionStatus};
use crate::runner::{BlockCall, BlockError, BlockErrorKind, BlockOutcome, BlockReport, BlockRunner, Cancellation};

/// The block type the engine runs itself rather than through the runner.
pub const SUBWORKFLOW_BLOCK_TYPE: &str = "workflow";

/// Params of the `workflow` block.
pub fn subworkflow_input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "workflowId": {"type": "string", "minLength": 1},
            "input": {}
        },
        "required": ["workflowId"],
        "additionalProperties": false
    })
}

/// The params schemas of `runner`'s block types plus the `workflow` block's.
pub fn block_schemas(runner: &impl BlockRunner) -> HashMap<String, Value> {
    let mut schemas = runner.input_schemas();
    schemas.insert(SUBWORKFLOW_BLOCK_TYPE.to_string(), subworkflow_input_schema());
    schemas
}

/// Starts child executions (the engine, in production).
pub(crate) trait ChildExecutions: Send + Sync {
    /// Runs `request` to its end, as `Engine::execute` does.
    fn execute(&self, request: ExecutionRequest) -> BoxFuture<'_, Result<ExecutionResult, ExecuteError>>;
}

/// What a child inherits from the execution its `workflow` block runs in.
pub(crate) struct Parent {
    pub execution_id: String,
    pub workflow_id: String,
    pub call_chain: Vec<String>,
    /// Every environment value of the parent request (not only a block's grants).
    pub env: HashMap<String, String>,
    pub workflows: Option<Arc<dyn WorkflowSource>>,
    /// The parent's bound on parallel runs, which the child gets too.
    pub parallel: usize,
}

impl Parent {
    /// The parent as `request` describes it, running at most `parallel` blocks at once.
    pub fn of(request: &ExecutionRequest, parallel: usize) -> Self {
        Self {
            execution_id: request.execution_id.clone(),
            workflow_id: request.spec.workflow_id.clone(),
            call_chain: request.spec.call_chain.clone(),
            env: request.spec.env.clone(),
            workflows: request.workflows.clone(),
            parallel,
        }
    }
}

/// A block runner that runs `workflow` blocks as child executions and every
/// other block with the runner it wraps; one per execution.
pub(crate) struct Subworkflows<R> {
    inner: Arc<R>,
    children: Arc<dyn ChildExecutions>,
    parent: Parent,
}

impl<R> Subworkflows<R> {
    pub fn new(inner: Arc<R>, children: Arc<dyn ChildExecutions>, parent: Parent) -> Self {
        Self { inner, children, parent }
    }
}

/// Raises a child's cancellation when its run ends or is dropped (the
/// scheduler drops a run when its execution stops), so the child's blocks stop too.
struct CancelOnDrop(Cancellation);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl<R: BlockRunner> BlockRunner for Subworkflows<R> {
    fn input_schemas(&self) -> HashMap<String, Value> {
        block_schemas(&*self.inner)
    }

    async fn run(&self, call: BlockCall) -> BlockReport {
        if call.block_type == SUBWORKFLOW_BLOCK_TYPE {
            BlockReport::outcome(self.run_child(call).await)
        } else {
            self.inner.run(call).await
        }
    }

    fn counts_toward_parallelism(&self, block_type: &str) -> bool {
        // A subworkflow holds no slot while its child runs: the child has its
        // own bound, and waiting on it must not starve the parent or the child.
        block_type != SUBWORKFLOW_BLOCK_TYPE && self.inner.counts_toward_parallelism(block_type)
    }

    fn acts_outside(&self, block_type: &str) -> bool {
        // A child execution runs blocks of its own, which may.
        block_type == SUBWORKFLOW_BLOCK_TYPE || self.inner.acts_outside(block_type)
    }

    async fn evaluate(&self, expression: &str, references: &[Value], cancel: Cancellation) -> Result<Value, String> {
        self.inner.evaluate(expression, references, cancel).await
    }
}

impl<R: BlockRunner> Subworkflows<R> {
    /// Runs the child workflow a `workflow` block names. When the parent
    /// stops, the scheduler drops this run, which cancels the child.
    async fn run_child(&self, call: BlockCall) -> Result<BlockOutcome, BlockError> {
        let failed = |message: String| Err(BlockError::new(BlockErrorKind::Workflow, message));
        let parent = &self.parent;
        let params = &call.params;
        let child_id = params["workflowId"].as_str().unwrap_or_default().to_string();
        let mut chain = parent.call_chain.clone();
        chain.push(parent.workflow_id.clone());
        match check_call_chain(&chain, &child_id) {
            Ok(()) => {}
            Err(ExecuteError::WorkflowCycle(_)) => {
                return failed(format!(
                    "workflow_cycle: `{child_id}` is already in the call chain {}",
                    chain.join(" → ")
                ));
            }
            Err(_) => {
                return failed(format!("workflow_depth: the call chain is deeper than {MAX_CALL_DEPTH} workflows"));
            }
        }
        let Some(source) = &parent.workflows else {
            return failed("subworkflows are not available in this execution".into());
        };
        let Some(state) = source.workflow(&child_id) else {
            return failed(format!("no workflow `{child_id}`"));
        };
        let child_execution_id = format!("{}/{}", parent.execution_id, call.info.context_id);
        let child = ExecutionRequest {
            execution_id: child_execution_id.clone(),
            spec: ExecutionSpec {
                workflow_id: child_id.clone(),
                state: Arc::new(state),
                input: params.get("input").cloned().unwrap_or(Value::Null),
                env: parent.env.clone(),
                max_parallel_nodes: Some(parent.parallel),
                call_chain: chain,
                parent_execution_id: Some(parent.execution_id.clone()),
                ..Default::default()
            },
            // Its own signal: a failing child must not cancel its parent, while
            // stopping the parent stops the child (below, and when this run is dropped).
            cancel: Cancellation::default(),
            workflows: parent.workflows.clone(),
            ..Default::default()
        };
        // The scheduler stops waiting on this run (and drops it) when the
        // parent stops, so no select here: one less level of stack for every
        // level of the call chain.
        let _stop_child = CancelOnDrop(child.cancel.clone());
        match self.children.execute(child).await {
            Err(ExecuteError::Invalid(problems)) => {
                failed(format!("workflow `{child_id}` is invalid: {} problem(s)", problems.len()))
            }
            Err(other) => failed(other.to_string()),
            Ok(result) => match result.status {
                ExecutionStatus::Completed => Ok(BlockOutcome::Done {
                    output: json!({
                        "executionId": child_execution_id,
                        "parentExecutionId": parent.execution_id,
                        "workflowId": child_id,
                        "status": "completed",
                        "output": result.output,
                    }),
                }),
                ExecutionStatus::Cancelled => Err(BlockError::new(BlockErrorKind::Cancelled, "cancelled")),
                ExecutionStatus::Paused => {
                    failed(format!("workflow `{child_id}` paused; pausing inside a subworkflow is not supported yet"))
                }
                _ => failed(format!("workflow `{child_id}` failed: {}", result.error.unwrap_or_default())),
            },
        }
    }
}
