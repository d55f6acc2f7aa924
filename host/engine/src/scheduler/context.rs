//! The shared state of one running execution, and the `ExecutionResult` it
//! is assembled into at the end.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Semaphore;

use super::frame::Frame;
use crate::admission::Admitted;
use crate::budget::Spent;
use crate::graph::WorkflowGraph;
use crate::reference::{BlockIndex, FoundByText, Redactor};
use crate::request::{Checkpoint, ExecutionRequest, ResumeRequest};
use crate::result::{BlockLog, BlockState, ExecutionResult, ExecutionStatus, FinalState, PausePoint, ResumeStatus};
use crate::runner::{BlockRunner, Cancellation};
use crate::settings::EngineSettings;

/// Shared state of one execution while it runs.
pub(crate) struct ExecutionContext<R> {
    pub runner: Arc<R>,
    pub request: ExecutionRequest,
    pub graph: Arc<WorkflowGraph>,
    /// Resolves reference keys (IDs, normalized names) to block IDs.
    pub blocks: Arc<BlockIndex>,
    /// The references of the workflow's texts, as validation found them.
    pub found: Arc<FoundByText>,
    pub permits: Semaphore,
    pub order: AtomicU64,
    pub variables: Mutex<BTreeMap<String, Value>>,
    pub logs: Mutex<Vec<BlockLog>>,
    pub pause_points: Mutex<Vec<PausePoint>>,
    pub decisions: Mutex<BTreeMap<String, String>>,
    /// Top-level nodes in the order they finished.
    pub executed: Mutex<Vec<String>>,
    /// The first unhandled failure, as `"<blockName>: <message>"`.
    pub failure: Mutex<Option<String>>,
    pub memo: HashMap<String, Checkpoint>,
    pub resumed: Option<(ResumeRequest, PausePoint)>,
    /// Iterations any loop may run.
    pub loop_cap: u64,
    /// The execution budgets, among others.
    pub settings: EngineSettings,
    /// Keeps the request's environment values out of what leaves the engine.
    pub redactor: Redactor,
    /// What the execution has produced so far, against its budgets.
    pub spent: Spent,
    /// A timed pause point resumed with input its schema refuses: its context
    /// ID and why, so the block fails instead of being resumed.
    pub timer_refused: Option<(String, String)>,
    /// Stops every block run: raised by a failure, by the request's
    /// cancellation, and by a `response` block, which ends the execution as
    /// Sim's does without cancelling it.
    pub stop_runs: Cancellation,
    /// A `response` block finished: the execution is complete, whatever else
    /// was still running or paused.
    pub responded: AtomicBool,
}

/// The block type whose success ends the execution (SPEC 7).
pub const RESPONSE_BLOCK_TYPE: &str = "response";

impl<R: BlockRunner> ExecutionContext<R> {
    /// The shared state of an execution that passed admission, before anything runs.
    pub fn new(runner: Arc<R>, settings: EngineSettings, request: ExecutionRequest, admitted: Admitted) -> Arc<Self> {
        let Admitted { parallel, graph, blocks, found, validated_now: _, memo, resumed, timer_refused, variables } =
            admitted;
        let next_order = memo.values().filter_map(|c| c.log.as_ref()).map(|l| l.execution_order + 1).max().unwrap_or(1);
        Arc::new(Self {
            runner,
            graph,
            blocks,
            found,
            permits: Semaphore::new(parallel),
            order: AtomicU64::new(next_order),
            variables: Mutex::new(variables),
            // One log per block run: most executions run each block once.
            logs: Mutex::new(Vec::with_capacity(request.spec.state.blocks.len())),
            pause_points: Default::default(),
            decisions: Default::default(),
            executed: Default::default(),
            failure: Default::default(),
            memo,
            resumed,
            loop_cap: settings.validation.max_loop_iterations,
            settings,
            redactor: Redactor::new(&request.spec.env.values().collect::<Vec<_>>()),
            spent: Default::default(),
            timer_refused,
            stop_runs: Cancellation::default(),
            responded: AtomicBool::new(false),
            request,
        })
    }

    /// Runs the execution to its end and assembles its result.
    pub async fn run(self: Arc<Self>) -> ExecutionResult {
        let top = Arc::new(Frame::top());
        self.clone().run_top(top.clone()).await;
        self.result(&top)
    }

    pub(super) fn halted(&self) -> bool {
        self.failure.lock().expect("failure lock").is_some()
            || self.stop_runs.is_cancelled()
            || self.request.cancel.is_cancelled()
    }

    /// Records the execution's failure (the first one wins) and stops every run.
    pub(super) fn fail(&self, message: String) {
        self.failure.lock().expect("failure lock").get_or_insert(message);
        self.stop_runs.cancel();
    }

    /// Runs the top-level scope; the request's cancellation is passed on to
    /// `stop_runs`, the one signal every run and wait below listens to.
    async fn run_top(self: Arc<Self>, top: Arc<Frame>) {
        let run = self.clone().run_scope(None, top);
        let forward = async {
            self.request.cancel.cancelled().await;
            self.stop_runs.cancel();
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = run => {}
            () = forward => {}
        }
    }

    pub(super) fn is_response_block(&self, id: &str) -> bool {
        self.request.spec.state.blocks.get(id).is_some_and(|b| b.block_type == RESPONSE_BLOCK_TYPE)
    }

    pub(super) fn block_name(&self, id: &str) -> String {
        self.request.spec.state.blocks.get(id).map(|b| b.name.clone()).unwrap_or_else(|| id.to_string())
    }

    /// Assembles the `ExecutionResult`, with environment values redacted. It
    /// takes what the execution gathered rather than copy it: nothing runs after it.
    fn result(&self, top: &Frame) -> ExecutionResult {
        let failure = self.failure.lock().expect("failure lock").clone();
        let pause_points: Vec<PausePoint> = std::mem::take(&mut *self.pause_points.lock().expect("pause lock"));
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
        let output: BTreeMap<String, Value> =
            std::mem::take(&mut *top.outputs.lock().expect("outputs lock")).into_iter().collect();
        let mut logs = std::mem::take(&mut *self.logs.lock().expect("logs lock"));
        logs.sort_by_key(|log| log.execution_order);
        let execution_times: HashMap<&str, u64> = logs.iter().map(|l| (l.block_id.as_str(), l.duration_ms)).collect();
        let executed_blocks = std::mem::take(&mut *self.executed.lock().expect("executed lock"));
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
            decisions: std::mem::take(&mut *self.decisions.lock().expect("decisions lock")),
            variables: std::mem::take(&mut *self.variables.lock().expect("variables lock")),
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
