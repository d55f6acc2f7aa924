//! The scheduler: runs a scope (the top level, or one loop iteration or
//! parallel branch) as a DAG, with every block run under one per-execution
//! bound, and containers as nodes that run their own scopes.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Semaphore;

use crate::execution::{Checkpoint, CheckpointOutcome, ExecutionEvent, ExecutionRequest, ResumeRequest};
use crate::graph::{ScopeId, WorkflowGraph};
use crate::model::{Handle, LoopType, ParallelType};
use std::borrow::Cow;

use crate::budget::{self, Spent};
use crate::reference::{self, BlockIndex, BlockLookup, ContainerField, EnvLookup, KeyMatch, ReferenceScope, Syntax};
use crate::result::{BlockLog, ContainerScope, PauseKind, PausePoint, ResumeStatus};
use crate::runner::{BlockCall, BlockOutcome, BlockReport, BlockRunner, CallInfo, Cancellation};
use crate::subworkflow::SUBWORKFLOW_BLOCK_TYPE;

/// Shared state of one execution while it runs.
pub(crate) struct ExecutionContext<R> {
    pub runner: Arc<R>,
    pub request: ExecutionRequest,
    pub graph: WorkflowGraph,
    /// Resolves reference keys (IDs, normalized names) to block IDs.
    pub blocks: BlockIndex,
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
    /// For starting child executions of `workflow` blocks.
    pub settings: crate::execution::EngineSettings,
    /// Keeps the request's environment values out of what leaves the engine.
    pub redactor: reference::Redactor,
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

/// The values a loop iteration or parallel branch binds.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub kind: ContainerKind,
    pub container: String,
    pub index: u64,
    pub current_item: Value,
    /// Shared by every iteration or branch: copying it per branch would make a
    /// fan-out quadratic in its width.
    pub items: Arc<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    Loop,
    Parallel,
}

/// One running instance of a scope.
pub(crate) struct Frame {
    /// Prefix of the context IDs of the runs in this frame, e.g. `loop1[2].`.
    pub prefix: String,
    pub binding: Option<Binding>,
    /// Outputs of the nodes of this frame that finished (handled errors included).
    pub outputs: Mutex<HashMap<String, Value>>,
    pub parent: Option<Arc<Frame>>,
    /// Raised when a sibling branch failed: start nothing new in this frame.
    pub stop: Arc<AtomicBool>,
}

impl Frame {
    pub fn top() -> Self {
        Self { prefix: String::new(), binding: None, outputs: Mutex::default(), parent: None, stop: Arc::default() }
    }

    fn child(self: &Arc<Self>, binding: Binding, stop: Arc<AtomicBool>) -> Arc<Self> {
        let prefix = format!("{}{}[{}].", self.prefix, binding.container, binding.index);
        Arc::new(Self { prefix, binding: Some(binding), outputs: Mutex::default(), parent: Some(self.clone()), stop })
    }

    /// The innermost binding of a kind, searching outwards.
    fn binding_of(&self, kind: ContainerKind) -> Option<&Binding> {
        let mut frame = Some(self);
        while let Some(current) = frame {
            if let Some(binding) = &current.binding
                && binding.kind == kind
            {
                return Some(binding);
            }
            frame = current.parent.as_deref();
        }
        None
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.parent.as_ref().is_some_and(|p| p.stopped())
    }
}

/// How a node (block or container) of a scope ended.
#[derive(Debug, Clone)]
pub(crate) enum NodeEnd {
    Succeeded {
        output: Value,
        route: Option<String>,
    },
    /// `message` is `"<blockName>: <message>"`, for the execution's error;
    /// `output_error` is what an error edge's `{"error": ...}` output carries.
    Failed {
        message: String,
        output_error: String,
    },
    Paused,
    /// Stopped because the execution failed or was cancelled.
    Halted,
}

impl NodeEnd {
    /// A container's failure: the message is already attributed to a block.
    fn failed(message: String) -> Self {
        Self::Failed { output_error: message.clone(), message }
    }
}

/// Per node of a scope: incoming edges not yet decided, and those that fired.
struct EdgeTally<'a> {
    undecided: HashMap<&'a str, usize>,
    fired: HashMap<&'a str, usize>,
}

/// What a node becomes once its last incoming edge is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Pending,
    Ready,
    Skipped,
}

impl<'a> EdgeTally<'a> {
    fn new(scope: &'a crate::graph::Scope) -> Self {
        let undecided = scope.nodes.iter().map(|n| (n.as_str(), scope.incoming.get(n).map_or(0, Vec::len))).collect();
        Self { undecided, fired: HashMap::new() }
    }

    /// Decides one edge into `target`: the node runs when its last edge is
    /// decided and at least one fired, and is skipped when none did.
    fn decide(&mut self, target: &str, fires: bool) -> Settled {
        let (key, left) = self.undecided.get_key_value(target).map(|(k, v)| (*k, *v)).expect("edge target in scope");
        if fires {
            *self.fired.entry(key).or_default() += 1;
        }
        self.undecided.insert(key, left - 1);
        match (left - 1, self.fired.get(key).copied().unwrap_or(0)) {
            (0, 0) => Settled::Skipped,
            (0, _) => Settled::Ready,
            _ => Settled::Pending,
        }
    }
}

fn settle(settled: Settled, target: &str, ready: &mut Vec<String>, skipped: &mut Vec<String>) {
    match settled {
        Settled::Ready => ready.push(target.to_string()),
        Settled::Skipped => skipped.push(target.to_string()),
        Settled::Pending => {}
    }
}

/// How a scope ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScopeEnd {
    Finished,
    Paused,
    Failed(String),
    Halted,
}

type NodeFuture<'a> = Pin<Box<dyn Future<Output = (String, NodeEnd)> + Send + 'a>>;

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

impl<R: BlockRunner> ExecutionContext<R> {
    fn halted(&self) -> bool {
        self.failure.lock().expect("failure lock").is_some()
            || self.stop_runs.is_cancelled()
            || self.request.cancel.is_cancelled()
    }

    /// Records the execution's failure (the first one wins) and stops every run.
    fn fail(&self, message: String) {
        self.failure.lock().expect("failure lock").get_or_insert(message);
        self.stop_runs.cancel();
    }

    /// Runs the top-level scope; the request's cancellation is passed on to
    /// `stop_runs`, the one signal every run and wait below listens to.
    pub async fn run_top(self: Arc<Self>, top: Arc<Frame>) {
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

    fn is_response_block(&self, id: &str) -> bool {
        self.request.state.blocks.get(id).is_some_and(|b| b.block_type == RESPONSE_BLOCK_TYPE)
    }

    fn block_name(&self, id: &str) -> String {
        self.request.state.blocks.get(id).map(|b| b.name.clone()).unwrap_or_else(|| id.to_string())
    }

    /// Runs the nodes of `scope` in `frame` until nothing is runnable.
    pub fn run_scope(
        self: Arc<Self>,
        scope: ScopeId,
        frame: Arc<Frame>,
    ) -> Pin<Box<dyn Future<Output = ScopeEnd> + Send>> {
        Box::pin(async move {
            let definition = self.graph.scope(&scope);
            let mut tally = EdgeTally::new(definition);
            // At the top level only `start` begins the run; other nodes without
            // incoming edges are unreachable. In a container every entry node starts.
            let mut ready: Vec<String> = Vec::new();
            let mut skipped: Vec<String> = Vec::new();
            for node in definition.entry_nodes() {
                let is_start = self.request.state.blocks.get(&node).is_some_and(|b| b.block_type == "start");
                if scope.is_some() || is_start {
                    ready.push(node);
                } else {
                    skipped.push(node);
                }
            }
            let mut running: FuturesUnordered<NodeFuture<'_>> = FuturesUnordered::new();
            let mut paused = false;
            let mut failed: Option<String> = None;
            loop {
                // Deactivate untaken branches transitively.
                while let Some(node) = skipped.pop() {
                    for edge in definition.outgoing.get(&node).into_iter().flatten() {
                        let settled = tally.decide(&edge.target, false);
                        settle(settled, &edge.target, &mut ready, &mut skipped);
                    }
                }
                let stop = failed.is_some() || self.halted() || frame.stopped();
                for node in ready.drain(..) {
                    if stop {
                        continue;
                    }
                    let enabled = self.request.state.blocks.get(&node).is_none_or(|b| b.is_enabled());
                    if !enabled {
                        skipped.push(node);
                        continue;
                    }
                    let (context, frame) = (self.clone(), frame.clone());
                    running.push(Box::pin(async move {
                        let end = context.run_node(&node, frame).await;
                        (node, end)
                    }));
                }
                if !skipped.is_empty() {
                    continue;
                }
                let Some((node, end)) = running.next().await else { break };
                let outgoing = definition.outgoing.get(&node).map(Vec::as_slice).unwrap_or_default();
                let has_error_edge = outgoing.iter().any(|e| e.handle() == Handle::Error);
                let fires: Box<dyn Fn(&Handle) -> bool> = match &end {
                    NodeEnd::Succeeded { output, route } => {
                        frame.outputs.lock().expect("outputs lock").insert(node.clone(), output.clone());
                        if let Some(route) = route
                            && frame.prefix.is_empty()
                        {
                            self.decisions.lock().expect("decisions lock").insert(node.clone(), route.clone());
                        }
                        let route = route.clone();
                        Box::new(move |handle: &Handle| match handle {
                            Handle::Source => true,
                            Handle::Condition(id) | Handle::Router(id) => route.as_deref() == Some(id.as_str()),
                            Handle::Error | Handle::Unknown(_) => false,
                        })
                    }
                    NodeEnd::Failed { output_error, .. } if has_error_edge => {
                        frame
                            .outputs
                            .lock()
                            .expect("outputs lock")
                            .insert(node.clone(), json!({"error": output_error}));
                        Box::new(|handle: &Handle| *handle == Handle::Error)
                    }
                    NodeEnd::Failed { message, .. } => {
                        failed.get_or_insert(message.clone());
                        continue;
                    }
                    NodeEnd::Paused => {
                        paused = true;
                        continue;
                    }
                    NodeEnd::Halted => continue,
                };
                if frame.prefix.is_empty() {
                    self.executed.lock().expect("executed lock").push(node.clone());
                }
                for edge in outgoing {
                    let settled = tally.decide(&edge.target, fires(&edge.handle()));
                    settle(settled, &edge.target, &mut ready, &mut skipped);
                }
            }
            if let Some(message) = failed {
                if scope.is_none() {
                    self.fail(message.clone());
                }
                return ScopeEnd::Failed(message);
            }
            if self.halted() {
                return ScopeEnd::Halted;
            }
            if paused { ScopeEnd::Paused } else { ScopeEnd::Finished }
        })
    }

    async fn run_node(self: Arc<Self>, node: &str, frame: Arc<Frame>) -> NodeEnd {
        // A container's output carried over by a run from a block.
        if let Some(checkpoint) = self.memo.get(&format!("{}{node}", frame.prefix))
            && !self.request.state.blocks.contains_key(node)
        {
            return self.replay(checkpoint);
        }
        if let Some(container) = self.request.state.loops.get(node) {
            let container = container.clone();
            return self.run_loop(node, &container, frame).await;
        }
        if let Some(container) = self.request.state.parallels.get(node) {
            let container = container.clone();
            return self.run_parallel(node, &container, frame).await;
        }
        self.run_block(node, frame).await
    }

    /// Resolves a container's item source (an array, an object, or a reference to one).
    fn container_items(&self, source: Option<&Value>, frame: &Frame, container: &str) -> Result<Vec<Value>, String> {
        let resolved = match source {
            Some(Value::String(text)) => reference::resolve_string(text, &FrameScope::ungranted(self, frame))
                .map_err(|e| format!("{container}: {e}"))?,
            Some(other) => other.clone(),
            None => Value::Null,
        };
        // Sim accepts a collection written as JSON text (`"[1, 2, 3]"`), directly
        // or through a reference to a string; other text stays an error.
        let resolved = match resolved {
            Value::String(text) => match serde_json::from_str::<Value>(text.trim()) {
                Ok(parsed @ (Value::Array(_) | Value::Object(_))) => parsed,
                _ => {
                    return Err(format!(
                        "{container}: items must be an array, an object or JSON text of one, got the string {:?}",
                        text.chars().take(80).collect::<String>()
                    ));
                }
            },
            other => other,
        };
        match resolved {
            Value::Array(items) => Ok(items),
            Value::Object(map) => Ok(map.into_iter().map(|(k, v)| json!([k, v])).collect()),
            Value::Null => Ok(Vec::new()),
            other => Err(format!("{container}: items must be an array or an object, got {other}")),
        }
    }

    async fn run_loop(self: Arc<Self>, id: &str, definition: &crate::model::LoopDef, frame: Arc<Frame>) -> NodeEnd {
        let cap = self.loop_cap;
        let items = match definition.loop_type {
            LoopType::ForEach => match self.container_items(definition.for_each_items.as_ref(), &frame, id) {
                Ok(items) => items,
                Err(message) => return NodeEnd::failed(message),
            },
            _ => Vec::new(),
        };
        let items_value = Arc::new(Value::Array(items.clone()));
        let scope = Some(id.to_string());
        let mut results: Vec<Value> = Vec::new();
        let mut last_outputs: HashMap<String, Value> = HashMap::new();
        let mut index: u64 = 0;
        loop {
            let more = match definition.loop_type {
                LoopType::For => index < definition.iterations.unwrap_or(0),
                LoopType::ForEach => (index as usize) < items.len(),
                LoopType::While | LoopType::DoWhile => {
                    if definition.loop_type == LoopType::DoWhile && index == 0 {
                        true
                    } else {
                        // The condition sees the next index and the members' latest outputs.
                        let binding = self.binding(id, ContainerKind::Loop, index, Value::Null, items_value.clone());
                        let probe = frame.child(binding, frame.stop.clone());
                        *probe.outputs.lock().expect("outputs lock") = last_outputs.clone();
                        let expression = definition.while_condition.as_deref().unwrap_or("false");
                        match self.condition(expression, &probe, id).await {
                            Ok(truthy) => truthy,
                            Err(end) => return end,
                        }
                    }
                }
            };
            if !more {
                break;
            }
            if index >= cap {
                return NodeEnd::failed(format!("{id}: loop exceeded {cap} iterations"));
            }
            let current_item = items.get(index as usize).cloned().unwrap_or(json!(index));
            let binding = self.binding(id, ContainerKind::Loop, index, current_item, items_value.clone());
            let child = frame.child(binding, frame.stop.clone());
            match self.clone().run_scope(scope.clone(), child.clone()).await {
                ScopeEnd::Finished => {
                    last_outputs = child.outputs.lock().expect("outputs lock").clone();
                    results.push(Value::Object(last_outputs.clone().into_iter().collect()));
                }
                ScopeEnd::Paused => return NodeEnd::Paused,
                ScopeEnd::Failed(message) => return NodeEnd::failed(message),
                ScopeEnd::Halted => return NodeEnd::Halted,
            }
            index += 1;
        }
        NodeEnd::Succeeded { output: json!({"results": results}), route: None }
    }

    async fn run_parallel(
        self: Arc<Self>,
        id: &str,
        definition: &crate::model::ParallelDef,
        frame: Arc<Frame>,
    ) -> NodeEnd {
        let items = match definition.parallel_type {
            ParallelType::Count => (0..definition.count.unwrap_or(0)).map(|i| json!(i)).collect(),
            ParallelType::Collection => match self.container_items(definition.distribution.as_ref(), &frame, id) {
                Ok(items) => items,
                Err(message) => return NodeEnd::failed(message),
            },
        };
        let items_value = Arc::new(Value::Array(items.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let scope = Some(id.to_string());
        let branches: FuturesUnordered<_> = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let binding = self.binding(id, ContainerKind::Parallel, index as u64, item, items_value.clone());
                let child = frame.child(binding, stop.clone());
                let (context, scope, stop) = (self.clone(), scope.clone(), stop.clone());
                async move {
                    let end = context.run_scope(scope, child.clone()).await;
                    if matches!(end, ScopeEnd::Failed(_)) {
                        // A failed branch fails the container: start nothing new in its siblings.
                        stop.store(true, Ordering::SeqCst);
                    }
                    (index, end, child)
                }
            })
            .collect();
        let mut ends: Vec<(usize, ScopeEnd, Arc<Frame>)> = branches.collect().await;
        ends.sort_by_key(|(index, ..)| *index);
        if let Some((_, ScopeEnd::Failed(message), _)) =
            ends.iter().find(|(_, end, _)| matches!(end, ScopeEnd::Failed(_)))
        {
            return NodeEnd::failed(message.clone());
        }
        if ends.iter().any(|(_, end, _)| *end == ScopeEnd::Halted) {
            return NodeEnd::Halted;
        }
        if ends.iter().any(|(_, end, _)| *end == ScopeEnd::Paused) {
            return NodeEnd::Paused;
        }
        let results: Vec<Value> = ends
            .into_iter()
            .map(|(_, _, child)| {
                Value::Object(child.outputs.lock().expect("outputs lock").clone().into_iter().collect())
            })
            .collect();
        NodeEnd::Succeeded { output: json!({"results": results}), route: None }
    }

    fn binding(
        &self,
        container: &str,
        kind: ContainerKind,
        index: u64,
        current_item: Value,
        items: Arc<Value>,
    ) -> Binding {
        Binding { kind, container: container.to_string(), index, current_item, items }
    }

    /// Evaluates a `while` condition in the loop's next iteration's frame.
    async fn condition(&self, expression: &str, frame: &Frame, id: &str) -> Result<bool, NodeEnd> {
        let script = reference::resolve_script(expression, &FrameScope::ungranted(self, frame), Syntax::JavaScript)
            .map_err(|e| NodeEnd::failed(format!("{id}: whileCondition: {e}")))?;
        let value = tokio::select! {
            value = self.runner.evaluate(&script.source, &script.references, self.stop_runs.clone()) => value,
            () = self.stop_runs.cancelled() => return Err(NodeEnd::Halted),
        };
        match value {
            Ok(value) => Ok(truthy(&value)),
            Err(message) => Err(NodeEnd::failed(format!("{id}: whileCondition: {message}"))),
        }
    }

    async fn run_block(self: Arc<Self>, id: &str, frame: Arc<Frame>) -> NodeEnd {
        let context_id = format!("{}{id}", frame.prefix);
        let block = self.request.state.blocks.get(id).expect("scheduled blocks exist").clone();
        let name = block.name.clone();
        if let Some(checkpoint) = self.memo.get(&context_id) {
            self.spent.charge_replayed(checkpoint);
            return self.replay(checkpoint);
        }
        let params = if block.block_type == "start" && frame.prefix.is_empty() {
            Ok(self.request.input.clone())
        } else {
            let params = Value::Object(block.params.clone().unwrap_or_default());
            let scope = FrameScope { context: &self, frame: &frame, grants: block.env.as_deref().unwrap_or_default() };
            reference::resolve_block_params(&block.block_type, &params, &scope).map_err(|e| e.to_string())
        };
        // A subworkflow holds no slot while its child runs: the child has its
        // own bound, and waiting on it must not starve the parent or the child.
        let is_subworkflow = block.block_type == SUBWORKFLOW_BLOCK_TYPE;
        let permit = if is_subworkflow {
            None
        } else {
            Some(tokio::select! {
                permit = self.permits.acquire() => permit.expect("permits are never closed"),
                () = self.stop_runs.cancelled() => return NodeEnd::Halted,
            })
        };
        if self.halted() {
            return NodeEnd::Halted;
        }
        if let Some(observer) = &self.request.observer {
            observer.event(ExecutionEvent::BlockStarted {
                context_id: context_id.clone(),
                block_id: id.to_string(),
                block_name: name.clone(),
                block_type: block.block_type.clone(),
            });
        }
        let execution_order = self.order.fetch_add(1, Ordering::SeqCst);
        let started_at = now_rfc3339();
        let started = Instant::now();
        let resume_input = match &self.resumed {
            Some((resume, _)) if resume.context_id == context_id => Some(resume.input.clone()),
            _ => None,
        };
        let granted: HashMap<String, String> = block
            .env
            .iter()
            .flatten()
            .filter_map(|name| self.request.env.get(name).map(|value| (name.clone(), value.clone())))
            .collect();
        let report = match &params {
            Err(message) => crate::runner::BlockReport::outcome(Err(format!("params: {message}"))),
            Ok(params) if is_subworkflow => match self.run_child(&context_id, params).await {
                Some(report) => report,
                None => return NodeEnd::Halted,
            },
            Ok(params) => {
                let call = BlockCall {
                    block_type: block.block_type.clone(),
                    info: CallInfo {
                        execution_id: self.request.execution_id.clone(),
                        workflow_id: self.request.workflow_id.clone(),
                        block_id: id.to_string(),
                        block_name: name.clone(),
                        attempt: 1,
                        resume_input,
                    },
                    params: params.clone(),
                    env: granted,
                    variables: self.variables.lock().expect("variables lock").clone(),
                    limits: block.limits,
                    cancel: self.stop_runs.clone(),
                };
                match self.timer_refused.as_ref().filter(|(context, _)| *context == context_id) {
                    // A timer came due on a pause point whose schema refuses its
                    // input: the block fails rather than wait for ever.
                    Some((_, message)) => crate::runner::BlockReport::outcome(Err(message.clone())),
                    None => tokio::select! {
                        report = self.runner.run(call) => report,
                        () = self.stop_runs.cancelled() => return NodeEnd::Halted,
                    },
                }
            }
        };
        drop(permit);
        if self.stop_runs.is_cancelled() {
            // Whatever the block reported, it was stopped: by the cancellation,
            // a failure elsewhere, or a `response` block.
            return NodeEnd::Halted;
        }
        let mut report = report;
        let over_budget = self.admit(&mut report);
        let duration = started.elapsed();
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
            Err(message) => (has_error_edge.then(|| json!({"error": message})), Some(message.clone())),
        };
        let log = BlockLog {
            block_id: id.to_string(),
            block_name: name.clone(),
            block_type: block.block_type.clone(),
            execution_order,
            started_at,
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
                // `admit` bounded `ms`, so the sum cannot overflow.
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
                Err(message) => CheckpointOutcome::Failed { message },
            },
            variable_writes: report.variable_writes,
            log: Some(log),
            pause,
        };
        if let Some(observer) = &self.request.observer {
            observer.event(ExecutionEvent::BlockFinished(Box::new(checkpoint.clone())));
            // A stopped execution schedules nothing after this block, so
            // it need not wait for the commit.
            tokio::select! {
                () = observer.flushed() => {}
                () = self.stop_runs.cancelled() => {}
            }
        }
        if over_budget && let CheckpointOutcome::Failed { message } = &checkpoint.outcome {
            self.fail(format!("{name}: {message}"));
        }
        self.replay(&checkpoint)
    }

    /// Holds a finished run to the execution's limits before anything of it is
    /// kept: an output or variable nested too deep fails the block; a spent
    /// budget fails it with nothing of its output kept, and returns true (the
    /// execution then fails, whatever error edges the block has).
    fn admit(&self, report: &mut BlockReport) -> bool {
        let budgets = &self.settings.budgets;
        let depth = budgets.max_json_depth;
        let too_deep = match &report.outcome {
            Ok(BlockOutcome::Done { output } | BlockOutcome::Route { output, .. }) => {
                budget::check_depth("the block's output", output, depth)
            }
            Ok(BlockOutcome::Pause { resume_after_ms: Some(ms), .. }) if *ms > budget::MAX_TIMED_PAUSE_MS => {
                Err(format!(
                    "a timed pause of {ms} ms is longer than the maximum of {} ms (366 days)",
                    budget::MAX_TIMED_PAUSE_MS
                ))
            }
            // The timer resumes with `{}`: a schema that refuses it would leave
            // the pause point waiting for ever.
            Ok(BlockOutcome::Pause { resume_after_ms: Some(_), input_schema: Some(schema), .. })
                if crate::execution::check_resume_input("", schema, &json!({})).is_err() =>
            {
                Err("a timed pause's inputSchema must accept the timer's resume input `{}`".to_string())
            }
            Ok(BlockOutcome::Pause { response, .. }) => budget::check_depth("the pause response", response, depth),
            Err(_) => Ok(()),
        }
        .and_then(|()| {
            report
                .variable_writes
                .iter()
                .try_for_each(|(name, value)| budget::check_depth(&format!("variable `{name}`"), value, depth))
        });
        if let Err(message) = too_deep {
            report.outcome = Err(message);
            report.variable_writes.clear();
            return false;
        }
        match self.spent.charge(budgets, report) {
            Ok(()) => false,
            Err(message) => {
                report.outcome = Err(message);
                report.variable_writes.clear();
                report.logs.clear();
                true
            }
        }
    }

    /// Applies a finished run (fresh or from a checkpoint) to the execution.
    fn replay(&self, checkpoint: &Checkpoint) -> NodeEnd {
        if let Some(log) = &checkpoint.log {
            self.logs.lock().expect("logs lock").push(log.clone());
        }
        if let Some((resume, pause)) = &self.resumed
            && resume.context_id == checkpoint.context_id
        {
            let mut resumed = pause.clone();
            resumed.resume_status = ResumeStatus::Resumed;
            self.pause_points.lock().expect("pause lock").push(resumed);
        }
        match &checkpoint.outcome {
            CheckpointOutcome::Succeeded { outcome } => {
                if matches!(outcome, BlockOutcome::Done { .. }) && self.is_response_block(&checkpoint.block_id) {
                    // Sim's rule: the response ends the execution; what still
                    // runs is stopped and nothing new starts.
                    self.responded.store(true, Ordering::SeqCst);
                    self.stop_runs.cancel();
                }
                let mut variables = self.variables.lock().expect("variables lock");
                for (name, value) in &checkpoint.variable_writes {
                    variables.insert(name.clone(), value.clone());
                }
                match outcome {
                    BlockOutcome::Done { output } => NodeEnd::Succeeded { output: output.clone(), route: None },
                    BlockOutcome::Route { route, output } => {
                        NodeEnd::Succeeded { output: output.clone(), route: Some(route.clone()) }
                    }
                    BlockOutcome::Pause { .. } => {
                        if let Some(pause) = &checkpoint.pause {
                            self.pause_points.lock().expect("pause lock").push(pause.clone());
                        }
                        NodeEnd::Paused
                    }
                }
            }
            CheckpointOutcome::Failed { message } => NodeEnd::Failed {
                message: format!("{}: {message}", self.block_name(&checkpoint.block_id)),
                output_error: message.clone(),
            },
        }
    }
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// What references resolve to from inside one frame.
struct FrameScope<'a, R> {
    context: &'a ExecutionContext<R>,
    frame: &'a Frame,
    /// The environment variables `{{NAME}}` may resolve to here: the block's `env`.
    grants: &'a [String],
}

impl<'a, R> FrameScope<'a, R> {
    /// A scope with no grants, for container fields (`forEachItems`, `whileCondition`, …).
    fn ungranted(context: &'a ExecutionContext<R>, frame: &'a Frame) -> Self {
        Self { context, frame, grants: &[] }
    }
}

impl<R: BlockRunner> ReferenceScope for FrameScope<'_, R> {
    fn block(&self, key: &str) -> BlockLookup<'_> {
        let KeyMatch::Found(id) = self.context.blocks.resolve(key) else {
            return BlockLookup::Unknown;
        };
        let mut frame = Some(self.frame);
        while let Some(current) = frame {
            if let Some(output) = current.outputs.lock().expect("outputs lock").get(id) {
                return BlockLookup::Output(Cow::Owned(output.clone()));
            }
            frame = current.parent.as_deref();
        }
        BlockLookup::NotRun
    }

    fn variable(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.context.variables.lock().expect("variables lock").get(name).cloned().map(Cow::Owned)
    }

    fn loop_value(&self, field: ContainerField) -> Option<Cow<'_, Value>> {
        binding_value(self.frame.binding_of(ContainerKind::Loop)?, field).map(Cow::Owned)
    }

    fn parallel_value(&self, field: ContainerField) -> Option<Cow<'_, Value>> {
        binding_value(self.frame.binding_of(ContainerKind::Parallel)?, field).map(Cow::Owned)
    }

    fn env(&self, name: &str) -> EnvLookup {
        match self.context.request.env.get(name) {
            None => EnvLookup::NotProvided,
            Some(value) if self.grants.iter().any(|g| g == name) => EnvLookup::Granted(value.clone()),
            Some(_) => EnvLookup::NotGranted,
        }
    }
}

fn binding_value(binding: &Binding, field: ContainerField) -> Option<Value> {
    Some(match field {
        ContainerField::Index => json!(binding.index),
        ContainerField::CurrentItem => binding.current_item.clone(),
        ContainerField::Items => Value::clone(&binding.items),
    })
}
