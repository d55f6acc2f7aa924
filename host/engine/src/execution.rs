//! One execution: the request, the checkpoints it may start from, and the
//! `ExecutionResult` it ends with.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::budget::ExecutionBudgets;
use crate::graph::{Problem, WorkflowGraph};
use crate::model::WorkflowState;
use crate::reference::{BlockIndex, Redactor};
use crate::result::{
    BlockLog, BlockState, ExecutionResult, ExecutionStatus, FinalState, PauseKind, PausePoint, ResumeStatus,
};
use crate::runner::{BlockOutcome, BlockRunner, Cancellation};
use crate::scheduler::{ExecutionContext, Frame};
use crate::subworkflow::{MAX_CALL_DEPTH, SUBWORKFLOW_BLOCK_TYPE, WorkflowSource, subworkflow_input_schema};
use crate::validate::{ValidationSettings, validate_with_env};

/// Server-wide settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Largest `maxParallelNodes` a request may ask for.
    pub max_parallel_nodes: usize,
    /// `maxParallelNodes` when the request gives none.
    pub default_parallel_nodes: usize,
    pub validation: ValidationSettings,
    /// What one execution may produce in all.
    pub budgets: ExecutionBudgets,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            max_parallel_nodes: 64,
            default_parallel_nodes: 4,
            validation: ValidationSettings::default(),
            budgets: ExecutionBudgets::default(),
        }
    }
}

/// Everything one execution needs.
#[derive(Clone, Default)]
pub struct ExecutionRequest {
    pub execution_id: String,
    pub workflow_id: String,
    pub state: WorkflowState,
    /// The start block's output.
    pub input: Value,
    /// Environment values for `{{NAME}}` and granted env handles; redacted everywhere.
    pub env: HashMap<String, String>,
    /// Overrides of workflow variables, by variable name.
    pub workflow_variables: BTreeMap<String, Value>,
    /// At most this many block runs at once; the engine default when `None`.
    pub max_parallel_nodes: Option<usize>,
    pub cancel: Cancellation,
    /// Block runs that already finished in this execution (after a crash, for
    /// a resume, or for a run from a block): reused, never run again.
    pub checkpoints: Vec<Checkpoint>,
    pub resume: Option<ResumeRequest>,
    /// Re-run a block and everything downstream of it, keeping the other
    /// outputs of an earlier execution of the same workflow.
    pub run_from: Option<RunFrom>,
    /// The workflows that led to this one, outermost first (for cycle detection).
    pub call_chain: Vec<String>,
    /// Set when a `workflow` block started this execution.
    pub parent_execution_id: Option<String>,
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
#[derive(Debug, Clone, PartialEq)]
pub struct RunFrom {
    pub start_block_id: String,
    pub previous: FinalState,
}

/// How a finished block run ended, as stored in a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum CheckpointOutcome {
    Succeeded { outcome: BlockOutcome },
    Failed { message: String },
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
    /// awaits it after each finished block and before anything that follows
    /// the block runs, so that with an observer that stores checkpoints a
    /// block counts as finished only once its checkpoint is committed: crash
    /// recovery never runs a block again whose successors had started.
    fn flushed(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// Why an execution could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecuteError {
    #[error("invalid workflow: {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("maxParallelNodes must be between 1 and {max}, got {got}")]
    MaxParallelNodes { got: usize, max: usize },
    #[error("no pause point `{0}` in this execution")]
    UnknownPausePoint(String),
    #[error("pause point `{0}` was already resumed")]
    AlreadyResumed(String),
    /// The resume input does not match the pause point's input schema; the
    /// pause point stays open.
    #[error("resume input for `{context_id}` does not match its input schema: {}", .problems.join("; "))]
    ResumeInputInvalid { context_id: String, problems: Vec<String> },
    #[error("run from block: {0}")]
    RunFrom(String),
    #[error("workflow `{0}` is already in the call chain")]
    WorkflowCycle(String),
    #[error("the call chain is deeper than {0} workflows")]
    CallChainTooDeep(usize),
    /// The engine itself failed (a bug, never the workflow's fault); the
    /// execution ends failed with this message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ExecuteError {
    /// The same error with environment values replaced in what it quotes
    /// (a schema's `enum` or `const` may hold a granted value).
    pub fn redacted(self, redactor: &Redactor) -> Self {
        match self {
            Self::ResumeInputInvalid { context_id, problems } => Self::ResumeInputInvalid {
                context_id,
                problems: problems.iter().map(|problem| redactor.text(problem)).collect(),
            },
            Self::RunFrom(message) => Self::RunFrom(redactor.text(&message)),
            Self::Internal(message) => Self::Internal(redactor.text(&message)),
            other => other,
        }
    }
}

/// Runs workflows with a [`BlockRunner`].
pub struct Engine<R> {
    runner: Arc<R>,
    settings: EngineSettings,
}

impl<R: BlockRunner> Engine<R> {
    pub fn new(runner: Arc<R>, settings: EngineSettings) -> Self {
        Self { runner, settings }
    }

    /// The block runner.
    pub fn runner(&self) -> &Arc<R> {
        &self.runner
    }

    /// Validates a workflow against the runner's block catalogue (a draft: no
    /// environment variables provided, so no grant is checked).
    pub fn validate(&self, state: &WorkflowState) -> Result<(), Vec<Problem>> {
        self.validate_with_env(state, &std::collections::BTreeSet::new())
    }

    /// Validates a workflow for an execution that provides `provided_env`: also
    /// every `{{NAME}}` of a provided variable must be granted by its block's `env`.
    pub fn validate_with_env(
        &self,
        state: &WorkflowState,
        provided_env: &std::collections::BTreeSet<String>,
    ) -> Result<(), Vec<Problem>> {
        let mut schemas = self.runner.input_schemas();
        schemas.insert(SUBWORKFLOW_BLOCK_TYPE.to_string(), subworkflow_input_schema());
        validate_with_env(state, &schemas, &self.settings.validation, provided_env)
    }

    /// Runs (or continues, or resumes) an execution to completion, failure,
    /// cancellation or pause.
    pub async fn execute(&self, request: ExecutionRequest) -> Result<ExecutionResult, ExecuteError> {
        let parallel = request.max_parallel_nodes.unwrap_or(self.settings.default_parallel_nodes);
        if parallel == 0 || parallel > self.settings.max_parallel_nodes {
            return Err(ExecuteError::MaxParallelNodes { got: parallel, max: self.settings.max_parallel_nodes });
        }
        if request.call_chain.contains(&request.workflow_id) {
            return Err(ExecuteError::WorkflowCycle(request.workflow_id.clone()));
        }
        if request.call_chain.len() > MAX_CALL_DEPTH {
            return Err(ExecuteError::CallChainTooDeep(MAX_CALL_DEPTH));
        }
        let provided_env = request.env.keys().cloned().collect();
        self.validate_with_env(&request.state, &provided_env).map_err(ExecuteError::Invalid)?;
        let mut memo: HashMap<String, Checkpoint> =
            request.checkpoints.iter().map(|c| (c.context_id.clone(), c.clone())).collect();
        let mut resumed = None;
        let mut timer_refused = None;
        if let Some(resume) = &request.resume {
            let checkpoint = memo
                .remove(&resume.context_id)
                .ok_or_else(|| ExecuteError::UnknownPausePoint(resume.context_id.clone()))?;
            // A later checkpoint of the same context replaces the paused one once it is resumed.
            let pause = match checkpoint.pause {
                Some(pause) if pause.resume_status == ResumeStatus::Paused => pause,
                _ => return Err(ExecuteError::AlreadyResumed(resume.context_id.clone())),
            };
            if let Some(schema) = &pause.input_schema
                && let Err(error) = check_resume_input(&resume.context_id, schema, &resume.input)
            {
                // A caller is told and may retry; a timer would retry for ever.
                if pause.pause_kind != PauseKind::Time {
                    return Err(error);
                }
                timer_refused = Some((resume.context_id.clone(), error.to_string()));
            }
            resumed = Some((resume.clone(), pause));
        }

        let (graph, _) = WorkflowGraph::build(&request.state);
        let mut variables_from = None;
        if let Some(run_from) = &request.run_from {
            for checkpoint in carried_over(&graph, run_from)? {
                memo.entry(checkpoint.context_id.clone()).or_insert(checkpoint);
            }
            variables_from = Some(run_from.previous.variables.clone());
        }
        let blocks = BlockIndex::new(&request.state);
        let mut variables: BTreeMap<String, Value> = variables_from
            .unwrap_or_else(|| request.state.variables.values().map(|v| (v.name.clone(), v.value.clone())).collect());
        for (name, value) in &request.workflow_variables {
            variables.insert(name.clone(), value.clone());
        }
        let next_order = memo.values().filter_map(|c| c.log.as_ref()).map(|l| l.execution_order + 1).max().unwrap_or(1);
        let context = Arc::new(ExecutionContext {
            runner: self.runner.clone(),
            graph,
            blocks,
            permits: Semaphore::new(parallel),
            order: AtomicU64::new(next_order),
            variables: std::sync::Mutex::new(variables),
            logs: Default::default(),
            pause_points: Default::default(),
            decisions: Default::default(),
            executed: Default::default(),
            failure: Default::default(),
            memo,
            resumed,
            loop_cap: self.settings.validation.max_loop_iterations,
            settings: self.settings.clone(),
            redactor: Redactor::new(&request.env.values().collect::<Vec<_>>()),
            spent: Default::default(),
            timer_refused,
            stop_runs: Cancellation::default(),
            responded: AtomicBool::new(false),
            request,
        });
        let top = Arc::new(Frame::top());
        context.clone().run_top(top.clone()).await;
        Ok(context.result(&top))
    }
}

/// The outputs a run from `start_block_id` keeps: every top-level node that is
/// not the start block or downstream of it, as checkpoints without logs.
/// Checks that a run from a block can start where it asks to, without running
/// anything: the same refusals `Engine::execute` would give.
pub fn check_run_from(state: &WorkflowState, run_from: &RunFrom) -> Result<(), ExecuteError> {
    let (graph, _) = WorkflowGraph::build(state);
    carried_over(&graph, run_from).map(|_| ())
}

fn carried_over(graph: &WorkflowGraph, run_from: &RunFrom) -> Result<Vec<Checkpoint>, ExecuteError> {
    let start = run_from.start_block_id.as_str();
    let top = graph.scope(&None);
    if !top.nodes.contains(start) {
        return Err(if graph.container_of.contains_key(start) {
            ExecuteError::RunFrom(format!("`{start}` is inside a loop or parallel; run from its container instead"))
        } else {
            ExecuteError::RunFrom(format!("no block `{start}` in this workflow"))
        });
    }
    let mut downstream = std::collections::BTreeSet::from([start.to_string()]);
    let mut queue = vec![start.to_string()];
    while let Some(node) = queue.pop() {
        for edge in top.outgoing.get(&node).into_iter().flatten() {
            if downstream.insert(edge.target.clone()) {
                queue.push(edge.target.clone());
            }
        }
    }
    let previous = &run_from.previous.block_states;
    let missing: Vec<String> = top.ancestors(start).into_iter().filter(|id| !previous.contains_key(id)).collect();
    if !missing.is_empty() {
        return Err(ExecuteError::RunFrom(format!(
            "upstream block(s) {} never ran in execution being re-run",
            missing.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let decisions = &run_from.previous.decisions;
    Ok(top
        .nodes
        .iter()
        .filter(|id| !downstream.contains(*id))
        .filter_map(|id| {
            let output = previous.get(id)?.output.clone();
            let outcome = match decisions.get(id) {
                Some(route) => BlockOutcome::Route { route: route.clone(), output },
                None => BlockOutcome::Done { output },
            };
            Some(Checkpoint {
                context_id: id.clone(),
                block_id: id.clone(),
                outcome: CheckpointOutcome::Succeeded { outcome },
                variable_writes: BTreeMap::new(),
                log: None,
                pause: None,
            })
        })
        .collect())
}

impl<R: BlockRunner> ExecutionContext<R> {
    /// Assembles the `ExecutionResult`, with environment values redacted.
    fn result(&self, top: &Frame) -> ExecutionResult {
        let failure = self.failure.lock().expect("failure lock").clone();
        let pause_points: Vec<PausePoint> = self.pause_points.lock().expect("pause lock").clone();
        let waiting = pause_points.iter().any(|p| p.resume_status == ResumeStatus::Paused);
        let status = if let Some(_failure) = &failure {
            ExecutionStatus::Failed
        } else if self.responded.load(Ordering::SeqCst) {
            // A `response` block ended the execution: complete, even if a
            // cancellation came after it or a branch was left paused.
            ExecutionStatus::Completed
        } else if self.request.cancel.is_cancelled() {
            ExecutionStatus::Cancelled
        } else if waiting {
            ExecutionStatus::Paused
        } else {
            ExecutionStatus::Completed
        };
        let error = match status {
            ExecutionStatus::Cancelled => Some("execution cancelled".to_string()),
            _ => failure,
        };
        let output: BTreeMap<String, Value> = top.outputs.lock().expect("outputs lock").clone().into_iter().collect();
        let mut logs = self.logs.lock().expect("logs lock").clone();
        logs.sort_by_key(|log| log.execution_order);
        let execution_times: HashMap<&str, u64> = logs.iter().map(|l| (l.block_id.as_str(), l.duration_ms)).collect();
        let executed_blocks = self.executed.lock().expect("executed lock").clone();
        let block_states = output
            .iter()
            .map(|(id, value)| {
                let state = BlockState {
                    output: value.clone(),
                    executed: true,
                    execution_time_ms: execution_times.get(id.as_str()).copied().unwrap_or(0),
                };
                (id.clone(), state)
            })
            .collect();
        let final_state = FinalState {
            block_states,
            executed_blocks,
            decisions: self.decisions.lock().expect("decisions lock").clone(),
            variables: self.variables.lock().expect("variables lock").clone(),
        };
        let mut result = ExecutionResult {
            success: matches!(status, ExecutionStatus::Completed | ExecutionStatus::Paused),
            status,
            execution_id: self.request.execution_id.clone(),
            output,
            error,
            pause_points,
            logs,
            final_state,
        };
        result.redact(&self.redactor);
        result
    }
}

/// Checks a resume input against the schema its pause point declared: the
/// engine does so before a resume runs, and a server may do it earlier.
pub fn check_resume_input(context_id: &str, schema: &Value, input: &Value) -> Result<(), ExecuteError> {
    let invalid = |problems| ExecuteError::ResumeInputInvalid { context_id: context_id.to_string(), problems };
    // Before compiling: a schema that refers back to itself in place would never finish.
    crate::validate::check_schema_bounds(schema)
        .map_err(|refused| invalid(vec![format!("the input schema is refused: {refused}")]))?;
    let validator =
        jsonschema::validator_for(schema).map_err(|e| invalid(vec![format!("the input schema is unusable: {e}")]))?;
    let problems: Vec<String> = validator
        .iter_errors(input)
        .take(20)
        .map(|e| {
            let path = e.instance_path.as_str().to_string();
            if path.is_empty() { e.to_string() } else { format!("{path}: {e}") }
        })
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(invalid(problems)) }
}
