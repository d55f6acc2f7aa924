//! One block run: its params resolved, a slot taken, the run itself, what it
//! produced held to the execution's limits, and its checkpoint recorded.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::context::ExecutionContext;
use super::frame::{ContainerKind, Frame, NodeEnd};
use super::references::FrameScope;
use crate::admission::check_resume_input;
use crate::budget;
use crate::model::{BlockDef, Handle};
use crate::reference;
use crate::request::{Checkpoint, CheckpointOutcome, ExecutionEvent};
use crate::result::{BlockLog, ContainerScope, PauseKind, PausePoint, ResumeStatus};
use crate::runner::{BlockCall, BlockError, BlockErrorKind, BlockOutcome, BlockReport, BlockRunner, CallInfo};

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

impl<R: BlockRunner> ExecutionContext<R> {
    /// Runs one block (or replays its checkpoint) in `frame`. The work before
    /// and after the run is in plain functions: a `workflow` block nests a
    /// whole child execution inside this future's poll, so what this frame
    /// keeps on the stack is paid once per level of the call chain.
    pub(super) async fn run_block(self: Arc<Self>, id: &str, frame: Arc<Frame>) -> NodeEnd {
        let context_id = format!("{}{id}", frame.prefix);
        if let Some(checkpoint) = self.memo.get(&context_id) {
            self.spent.charge_replayed(checkpoint);
            return self.replay(Cow::Borrowed(checkpoint));
        }
        let block = self.request.spec.state.blocks.get(id).expect("scheduled blocks exist");
        let params = self.params(block, &frame);
        let permit = if self.runner.counts_toward_parallelism(&block.block_type) {
            Some(tokio::select! {
                permit = self.permits.acquire() => permit.expect("permits are never closed"),
                () = self.stop_runs.cancelled() => return NodeEnd::Halted,
            })
        } else {
            None
        };
        if self.halted() {
            return NodeEnd::Halted;
        }
        if self.runner.acts_outside(&block.block_type)
            && let Some(observer) = &self.request.observer
        {
            // What finished before an outside action is durable before it happens.
            tokio::select! {
                () = observer.flushed() => {}
                () = self.stop_runs.cancelled() => return NodeEnd::Halted,
            }
        }
        let started = self.start(id, &context_id, block);
        let report = match self.call(id, &context_id, block, &params) {
            Ok(call) => tokio::select! {
                report = self.runner.run(call) => report,
                () = self.stop_runs.cancelled() => return NodeEnd::Halted,
            },
            Err(refused) => BlockReport::outcome(Err(refused)),
        };
        drop(permit);
        if self.stop_runs.is_cancelled() {
            // Whatever the block reported, it was stopped: by the cancellation,
            // a failure elsewhere, or a `response` block.
            return NodeEnd::Halted;
        }
        let (checkpoint, over_budget) = self.record(id, block, context_id, &frame, params, started, report);
        if let Some(observer) = &self.request.observer {
            // Not waited for here: the next block that acts outside waits
            // (above), and the execution's result is stored after every checkpoint.
            observer.event(ExecutionEvent::BlockFinished(Box::new(checkpoint.clone())));
        }
        if over_budget && let CheckpointOutcome::Failed { message, .. } = &checkpoint.outcome {
            self.fail(format!("{}: {message}", block.name));
        }
        self.replay(Cow::Owned(checkpoint))
    }

    /// The block's params with every reference resolved from `frame`; the
    /// top-level `start` block's params are the execution's input.
    fn params(&self, block: &BlockDef, frame: &Frame) -> Result<Value, String> {
        if block.block_type == "start" && frame.prefix.is_empty() {
            return Ok(self.request.spec.input.clone());
        }
        let scope = FrameScope { context: self, frame, grants: block.env.as_deref().unwrap_or_default() };
        let resolved = match &block.params {
            Some(params) => reference::resolve_block_param_map(&block.block_type, params, &scope),
            None => reference::resolve_block_param_map(&block.block_type, &serde_json::Map::new(), &scope),
        };
        resolved.map_err(|e| e.to_string())
    }

    /// Reports the run as started and starts its clocks.
    fn start(&self, id: &str, context_id: &str, block: &BlockDef) -> Started {
        if let Some(observer) = &self.request.observer {
            observer.event(ExecutionEvent::BlockStarted {
                context_id: context_id.to_string(),
                block_id: id.to_string(),
                block_name: block.name.clone(),
                block_type: block.block_type.clone(),
            });
        }
        Started {
            execution_order: self.order.fetch_add(1, Ordering::SeqCst),
            started_at: now_rfc3339(),
            started: Instant::now(),
        }
    }

    /// The call to make for this run, or why the run is refused before it starts.
    fn call(
        &self,
        id: &str,
        context_id: &str,
        block: &BlockDef,
        params: &Result<Value, String>,
    ) -> Result<BlockCall, BlockError> {
        let refused = |message: String| Err(BlockError::new(BlockErrorKind::InvalidInput, message));
        let params = match params {
            Ok(params) => params,
            Err(message) => return refused(format!("params: {message}")),
        };
        // A timer came due on a pause point whose schema refuses its
        // input: the block fails rather than wait for ever.
        if let Some((_, message)) = self.timer_refused.as_ref().filter(|(context, _)| context == context_id) {
            return refused(message.clone());
        }
        let resume_input = match &self.resumed {
            Some((resume, _)) if resume.context_id == context_id => Some(resume.input.clone()),
            _ => None,
        };
        let granted: HashMap<String, String> = block
            .env
            .iter()
            .flatten()
            .filter_map(|name| self.request.spec.env.get(name).map(|value| (name.clone(), value.clone())))
            .collect();
        Ok(BlockCall {
            block_type: block.block_type.clone(),
            info: CallInfo {
                execution_id: self.request.execution_id.clone(),
                workflow_id: self.request.spec.workflow_id.clone(),
                block_id: id.to_string(),
                block_name: block.name.clone(),
                context_id: context_id.to_string(),
                attempt: 1,
                resume_input,
            },
            params: params.clone(),
            env: granted,
            variables: self.variables.lock().expect("variables lock").clone(),
            limits: block.limits,
            cancel: self.stop_runs.clone(),
        })
    }

    /// Holds a finished run to the limits and makes it a checkpoint; true when
    /// it broke a budget, which fails the execution.
    #[allow(clippy::too_many_arguments, reason = "one run's parts, each used once")]
    fn record(
        &self,
        id: &str,
        block: &BlockDef,
        context_id: String,
        frame: &Frame,
        params: Result<Value, String>,
        started: Started,
        mut report: BlockReport,
    ) -> (Checkpoint, bool) {
        let name = &block.name;
        let over_budget = self.hold_to_limits(&mut report);
        let duration = started.started.elapsed();
        let has_error_edge = !over_budget
            && self
                .graph
                .scope(&self.graph.scope_of(id))
                .outgoing
                .get(id)
                .is_some_and(|edges| edges.iter().any(|e| e.handle() == Handle::Error));
        let loop_binding = frame.binding_of(ContainerKind::Loop).cloned();
        let parallel_binding = frame.binding_of(ContainerKind::Parallel).cloned();
        let innermost = frame.binding.clone();
        let (output, error) = match &report.outcome {
            Ok(BlockOutcome::Done { output } | BlockOutcome::Route { output, .. }) => (Some(output.clone()), None),
            Ok(BlockOutcome::Pause { response, .. }) => (Some(response.clone()), None),
            Err(error) => (has_error_edge.then(|| json!({"error": error.message})), Some(error.message.clone())),
        };
        let log = BlockLog {
            block_id: id.to_string(),
            block_name: name.clone(),
            block_type: block.block_type.clone(),
            execution_order: started.execution_order,
            started_at: started.started_at,
            ended_at: now_rfc3339(),
            duration_ms: duration.as_millis() as u64,
            success: report.outcome.is_ok(),
            input: params.unwrap_or(Value::Null),
            output,
            error,
            error_handled: report.outcome.is_err() && has_error_edge,
            loop_id: loop_binding.as_ref().map(|b| b.container.clone()),
            parallel_id: parallel_binding.as_ref().map(|b| b.container.clone()),
            iteration_index: innermost.as_ref().map(|b| b.index),
            fuel_consumed: report.fuel_consumed,
            memory_peak_bytes: report.memory_peak_bytes,
            guest_logs: report.logs.clone(),
        };
        let pause = match &report.outcome {
            Ok(BlockOutcome::Pause { response, resume_after_ms, input_schema }) => Some(PausePoint {
                context_id: context_id.clone(),
                block_id: id.to_string(),
                block_name: name.clone(),
                pause_kind: if resume_after_ms.is_some() { PauseKind::Time } else { PauseKind::Human },
                response: response.clone(),
                registered_at: now_rfc3339(),
                // `hold_to_limits` bounded `ms`, so the sum cannot overflow.
                resume_at: resume_after_ms.map(|ms| {
                    (OffsetDateTime::now_utc() + Duration::from_millis(ms)).format(&Rfc3339).unwrap_or_default()
                }),
                resume_status: ResumeStatus::Paused,
                loop_scope: loop_binding.map(|b| ContainerScope { container_id: b.container, index: b.index }),
                parallel_scope: parallel_binding.map(|b| ContainerScope { container_id: b.container, index: b.index }),
                // JSON `null` is no schema: it is stored as an absent field and read back as
                // `None`, so treating it as a schema here would refuse every resume before a
                // restart and accept any after it.
                input_schema: input_schema.clone().filter(|schema| !schema.is_null()),
            }),
            _ => None,
        };
        let checkpoint = Checkpoint {
            context_id,
            block_id: id.to_string(),
            outcome: match report.outcome {
                Ok(outcome) => CheckpointOutcome::Succeeded { outcome },
                Err(error) => CheckpointOutcome::Failed { message: error.message, error_kind: error.kind },
            },
            variable_writes: report.variable_writes,
            log: Some(log),
            pause,
        };
        (checkpoint, over_budget)
    }

    /// Holds a finished run to the execution's limits before anything of it is
    /// kept: an output or variable nested too deep fails the block; a spent
    /// budget fails it with nothing of its output kept, and returns true (the
    /// execution then fails, whatever error edges the block has).
    fn hold_to_limits(&self, report: &mut BlockReport) -> bool {
        let budgets = &self.settings.budgets;
        let depth = budgets.max_json_depth;
        let limit =
            |result: Result<(), String>| result.map_err(|message| BlockError::new(BlockErrorKind::Limit, message));
        let refused = match &report.outcome {
            Ok(BlockOutcome::Done { output } | BlockOutcome::Route { output, .. }) => {
                limit(budget::check_depth("the block's output", output, depth))
            }
            Ok(BlockOutcome::Pause { resume_after_ms: Some(ms), .. }) if *ms > budget::MAX_TIMED_PAUSE_MS => {
                Err(BlockError::new(
                    BlockErrorKind::Limit,
                    format!(
                        "a timed pause of {ms} ms is longer than the maximum of {} ms (366 days)",
                        budget::MAX_TIMED_PAUSE_MS
                    ),
                ))
            }
            // The timer resumes with `{}`: a schema that refuses it would leave
            // the pause point waiting for ever.
            Ok(BlockOutcome::Pause { resume_after_ms: Some(_), input_schema: Some(schema), .. })
                if check_resume_input("", schema, &json!({})).is_err() =>
            {
                Err(BlockError::new(
                    BlockErrorKind::InvalidOutput,
                    "a timed pause's inputSchema must accept the timer's resume input `{}`",
                ))
            }
            Ok(BlockOutcome::Pause { response, .. }) => {
                limit(budget::check_depth("the pause response", response, depth))
            }
            Err(_) => Ok(()),
        }
        .and_then(|()| {
            limit(
                report
                    .variable_writes
                    .iter()
                    .try_for_each(|(name, value)| budget::check_depth(&format!("variable `{name}`"), value, depth)),
            )
        });
        if let Err(error) = refused {
            report.outcome = Err(error);
            report.variable_writes.clear();
            return false;
        }
        match self.spent.charge(budgets, report) {
            Ok(()) => false,
            Err(message) => {
                report.outcome = Err(BlockError::new(BlockErrorKind::Budget, message));
                report.variable_writes.clear();
                report.logs.clear();
                true
            }
        }
    }
}

/// When and in which order a block run started.
struct Started {
    execution_order: u64,
    started_at: String,
    started: Instant,
}
