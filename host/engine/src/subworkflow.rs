//! The `workflow` block: runs another workflow of the same tenant as a child
//! execution, refusing cycles and over-deep chains before the child starts.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::execution::{Engine, ExecuteError, ExecutionRequest};
use crate::model::WorkflowState;
use crate::result::ExecutionStatus;
use crate::runner::{BlockReport, BlockRunner, Cancellation};
use crate::scheduler::ExecutionContext;

/// The block type the engine runs itself rather than through the runner.
pub const SUBWORKFLOW_BLOCK_TYPE: &str = "workflow";

/// Longest call chain (SPEC 3): a deeper child is refused.
pub const MAX_CALL_DEPTH: usize = 25;

/// Finds child workflows by ID; implementations only answer for one tenant.
pub trait WorkflowSource: Send + Sync {
    /// The workflow state to run for `workflow_id`, if it exists.
    fn workflow(&self, workflow_id: &str) -> Option<WorkflowState>;
}

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

impl<R: BlockRunner> ExecutionContext<R> {
    /// Runs the child workflow a `workflow` block names; `None` when the
    /// parent was cancelled meanwhile.
    pub(crate) async fn run_child(&self, context_id: &str, params: &Value) -> Option<BlockReport> {
        let failed = |message: String| Some(BlockReport::outcome(Err(message)));
        let child_id = params["workflowId"].as_str().unwrap_or_default().to_string();
        let mut chain = self.request.call_chain.clone();
        chain.push(self.request.workflow_id.clone());
        if chain.contains(&child_id) {
            return failed(format!("workflow_cycle: `{child_id}` is already in the call chain {}", chain.join(" → ")));
        }
        if chain.len() > MAX_CALL_DEPTH {
            return failed(format!("workflow_depth: the call chain is deeper than {MAX_CALL_DEPTH} workflows"));
        }
        let Some(source) = &self.request.workflows else {
            return failed("subworkflows are not available in this execution".into());
        };
        let Some(state) = source.workflow(&child_id) else {
            return failed(format!("no workflow `{child_id}`"));
        };
        let child_execution_id = format!("{}/{context_id}", self.request.execution_id);
        let child = ExecutionRequest {
            execution_id: child_execution_id.clone(),
            workflow_id: child_id.clone(),
            state,
            input: params.get("input").cloned().unwrap_or(Value::Null),
            env: self.request.env.clone(),
            max_parallel_nodes: Some(self.permits_total()),
            // Its own signal: a failing child must not cancel its parent, while
            // cancelling the parent stops the child (below).
            cancel: Cancellation::default(),
            call_chain: chain,
            parent_execution_id: Some(self.request.execution_id.clone()),
            workflows: self.request.workflows.clone(),
            ..Default::default()
        };
        let engine = Engine::new(self.runner.clone(), self.settings.clone());
        // Boxed: an execution may contain itself through its children.
        let child_cancel = child.cancel.clone();
        let result: std::pin::Pin<Box<dyn Future<Output = _> + Send + '_>> = Box::pin(engine.execute(child));
        let result = tokio::select! {
            result = result => result,
            () = self.stop_runs.cancelled() => {
                child_cancel.cancel();
                return None;
            }
        };
        match result {
            Err(ExecuteError::Invalid(problems)) => {
                failed(format!("workflow `{child_id}` is invalid: {} problem(s)", problems.len()))
            }
            Err(other) => failed(other.to_string()),
            Ok(result) => match result.status {
                ExecutionStatus::Completed => Some(BlockReport::outcome(Ok(crate::runner::BlockOutcome::Done {
                    output: json!({
                        "executionId": child_execution_id,
                        "parentExecutionId": self.request.execution_id,
                        "workflowId": child_id,
                        "status": "completed",
                        "output": result.output,
                    }),
                }))),
                ExecutionStatus::Cancelled => None,
                ExecutionStatus::Paused => {
                    failed(format!("workflow `{child_id}` paused; pausing inside a subworkflow is not supported yet"))
                }
                _ => failed(format!("workflow `{child_id}` failed: {}", result.error.unwrap_or_default())),
            },
        }
    }

    fn permits_total(&self) -> usize {
        self.request.max_parallel_nodes.unwrap_or(self.settings.default_parallel_nodes)
    }
}

/// A fixed set of workflows, for tests and the CLI.
impl WorkflowSource for std::collections::HashMap<String, WorkflowState> {
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
