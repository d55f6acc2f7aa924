//! A fake block runner: block types written in Rust, with counters the
//! scheduling tests read.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandflow_engine::{
    BlockCall, BlockError, BlockErrorKind, BlockOutcome, BlockReport, BlockRunner, Cancellation, Checkpoint, Engine,
    EngineSettings, ExecutionEvent, ExecutionObserver, ExecutionRequest, ExecutionResult, ExecutionSpec, WorkflowState,
};
use serde_json::{Value, json};

/// Block types: `start`, `echo` (output = params), `fail` (`message`),
/// `slow` (sleeps `ms`), `condition` / `router` (route = `select`),
/// `pause` (pauses with params; on resume outputs the resume input),
/// `timer` (a timed pause of `ms`),
/// `spin` (runs until cancelled), `setvar` (writes `name` = `value`).
#[derive(Default)]
pub struct FakeRunner {
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
    /// Block IDs in the order their runs started.
    pub started: Mutex<Vec<String>>,
    /// Every `evaluate` call: the expression as the engine sent it, and its references.
    pub evaluated: Mutex<Vec<(String, Vec<Value>)>>,
}

impl FakeRunner {
    pub fn runs_of(&self, block_id: &str) -> usize {
        self.started.lock().unwrap().iter().filter(|id| *id == block_id).count()
    }

    pub fn total_runs(&self) -> usize {
        self.started.lock().unwrap().len()
    }
}

impl BlockRunner for FakeRunner {
    fn input_schemas(&self) -> HashMap<String, Value> {
        let open = json!({"type": "object"});
        let mut schemas: HashMap<String, Value> =
            ["start", "echo", "call", "slow", "pause", "timer", "spin", "setvar", "condition", "router", "response"]
                .into_iter()
                .map(|t| (t.to_string(), open.clone()))
                .collect();
        schemas.insert(
            "fail".into(),
            json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
        );
        schemas
    }

    /// `call` stands for a block that reaches outside its sandbox (an `api` block); the
    /// others only compute.
    fn acts_outside(&self, block_type: &str) -> bool {
        block_type == "call"
    }

    async fn run(&self, call: BlockCall) -> BlockReport {
        self.started.lock().unwrap().push(call.info.block_id.clone());
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let params = call.params.clone();
        let outcome = match call.block_type.as_str() {
            "start" | "echo" | "call" | "response" => Ok(BlockOutcome::Done { output: params }),
            "fail" => Err(BlockError::reported(params["message"].as_str().unwrap_or("failed"))),
            "slow" => {
                tokio::time::sleep(Duration::from_millis(params["ms"].as_u64().unwrap_or(20))).await;
                Ok(BlockOutcome::Done { output: params })
            }
            "condition" | "router" => Ok(BlockOutcome::Route {
                route: params["select"].as_str().unwrap_or_default().to_string(),
                output: json!({"selected": params["select"]}),
            }),
            "pause" => match call.info.resume_input {
                Some(input) => Ok(BlockOutcome::Done { output: input }),
                None => Ok(BlockOutcome::Pause {
                    input_schema: params.get("inputSchema").cloned(),
                    response: params,
                    resume_after_ms: None,
                }),
            },
            "timer" => match call.info.resume_input {
                Some(_) => Ok(BlockOutcome::Done { output: json!({"waited": params["ms"]}) }),
                None => Ok(BlockOutcome::Pause {
                    response: json!({}),
                    resume_after_ms: params["ms"].as_u64(),
                    input_schema: params.get("inputSchema").cloned(),
                }),
            },
            "spin" => {
                while !call.cancel.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(BlockError::new(BlockErrorKind::Cancelled, "cancelled"))
            }
            "setvar" => {
                self.running.fetch_sub(1, Ordering::SeqCst);
                let name = params["name"].as_str().unwrap_or_default().to_string();
                let mut report = BlockReport::outcome(Ok(BlockOutcome::Done { output: json!({"set": name}) }));
                report.variable_writes = BTreeMap::from([(name, params["value"].clone())]);
                return report;
            }
            other => Err(BlockError::new(BlockErrorKind::Other, format!("fake runner has no block type `{other}`"))),
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        BlockReport::outcome(outcome)
    }

    /// A tiny stand-in for JavaScript: `A < B` over numbers, `true`, `false`;
    /// `__refs[i]` stands for `references[i]` (a number or a boolean here).
    async fn evaluate(&self, expression: &str, references: &[Value], _cancel: Cancellation) -> Result<Value, String> {
        self.evaluated.lock().unwrap().push((expression.to_string(), references.to_vec()));
        let mut expression = expression.trim().to_string();
        for (i, value) in references.iter().enumerate().rev() {
            expression = expression.replace(&format!("__refs[{i}]"), &value.to_string());
        }
        let expression = expression.as_str();
        if let Some((left, right)) = expression.split_once('<') {
            let number = |s: &str| s.trim().parse::<f64>().map_err(|e| format!("`{s}`: {e}"));
            return Ok(json!(number(left)? < number(right)?));
        }
        match expression {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            other => Err(format!("cannot evaluate `{other}`")),
        }
    }
}

/// Keeps every checkpoint an execution reports, to resume or recover from.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Checkpoint>>);

impl ExecutionObserver for Recorder {
    fn event(&self, event: ExecutionEvent) {
        if let ExecutionEvent::BlockFinished(checkpoint) = event {
            self.0.lock().unwrap().push(*checkpoint);
        }
    }
}

pub fn workflow(value: Value) -> WorkflowState {
    serde_json::from_value(value).expect("test workflow parses")
}

pub fn engine() -> (Engine<FakeRunner>, Arc<FakeRunner>) {
    let runner = Arc::new(FakeRunner::default());
    (Engine::new(runner.clone(), EngineSettings::default()), runner)
}

pub fn request(state: WorkflowState) -> ExecutionRequest {
    ExecutionRequest {
        execution_id: "exec-1".into(),
        spec: ExecutionSpec {
            workflow_id: "wf-1".into(),
            state: state.into(),
            input: json!({"n": 1}),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub async fn run(engine: &Engine<FakeRunner>, request: ExecutionRequest) -> ExecutionResult {
    tokio::time::timeout(Duration::from_secs(60), engine.execute(request))
        .await
        .expect("the execution finishes")
        .expect("the execution starts")
}
