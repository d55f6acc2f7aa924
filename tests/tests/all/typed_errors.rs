//! The engine tells block failures apart: a hostile component's timeout,
//! fuel exhaustion, memory limit, trap, cancellation and its own reported
//! failure reach the engine as distinct `BlockErrorKind`s, with the runtime's
//! message unchanged in what the execution reports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandflow_engine::{
    BlockCall, BlockErrorKind, BlockReport, BlockRunner, Cancellation, Engine, EngineSettings, ExecutionRequest,
    ExecutionSpec, ExecutionStatus, WorkflowState,
};
use sandflow_tests::{guests, runtime_with};
use sandflow_wasm_runner::WasmBlockRunner;
use serde_json::{Value, json};

/// The real runner, recording the failure kind of every report the engine receives.
struct Seen {
    inner: WasmBlockRunner,
    kinds: Mutex<Vec<(String, BlockErrorKind)>>,
}

impl BlockRunner for Seen {
    fn input_schemas(&self) -> HashMap<String, Value> {
        self.inner.input_schemas()
    }

    async fn run(&self, call: BlockCall) -> BlockReport {
        let block_id = call.info.block_id.clone();
        let report = self.inner.run(call).await;
        if let Err(error) = &report.outcome {
            self.kinds.lock().unwrap().push((block_id, error.kind));
        }
        report
    }

    async fn evaluate(&self, expression: &str, references: &[Value], cancel: Cancellation) -> Result<Value, String> {
        self.inner.evaluate(expression, references, cancel).await
    }
}

async fn hostile_runner() -> WasmBlockRunner {
    hostile_runner_with_fuel(true).await
}

async fn hostile_runner_with_fuel(fuel: bool) -> WasmBlockRunner {
    let mut runner = WasmBlockRunner::with_standard_blocks(runtime_with(|c| c.fuel = fuel)).await.unwrap();
    runner.add_block("hostile", guests::HOSTILE).await.unwrap();
    runner
}

/// `start` → one hostile block named `Attack`.
fn attack(params: Value, limits: Value) -> WorkflowState {
    serde_json::from_value(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "attack": {"type": "hostile", "name": "Attack", "params": params, "limits": limits}
        },
        "edges": [{"source": "start", "target": "attack"}]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_distinguishes_timeout_fuel_memory_trap_and_reported_failures() {
    let seen = Arc::new(Seen { inner: hostile_runner().await, kinds: Mutex::default() });
    let engine = Engine::new(seen.clone(), EngineSettings::default());
    let cases = [
        (
            attack(json!({"attack": "spin"}), json!({"timeoutMs": 200, "fuel": 10_000_000_000u64})),
            BlockErrorKind::Timeout,
            "timed out after 200ms",
        ),
        (
            attack(json!({"attack": "spin"}), json!({"fuel": 20_000_000})),
            BlockErrorKind::OutOfFuel,
            "out of fuel: the block used its budget of 20000000 fuel units",
        ),
        (
            attack(json!({"attack": "memory_bomb"}), json!({"memoryBytes": 32 << 20})),
            BlockErrorKind::MemoryLimit,
            "memory limit exceeded: the block asked for ",
        ),
        (attack(json!({"attack": "panic", "message": "the block gave up"}), json!({})), BlockErrorKind::Trap, "trap: "),
        (attack(json!({"attack": "fail", "message": "nope"}), json!({})), BlockErrorKind::Reported, "nope"),
    ];
    for (state, kind, message) in cases {
        seen.kinds.lock().unwrap().clear();
        let request = ExecutionRequest {
            execution_id: "e".into(),
            spec: ExecutionSpec {
                workflow_id: "w".into(),
                state: state.into(),
                input: json!({}),
                ..Default::default()
            },
            ..Default::default()
        };
        let result = engine.execute(request).await.unwrap();
        assert_eq!(result.status, ExecutionStatus::Failed, "{kind:?}");
        let error = result.error.unwrap();
        assert!(error.starts_with(&format!("Attack: {message}")), "{kind:?}: {error}");
        assert_eq!(*seen.kinds.lock().unwrap(), vec![("attack".to_string(), kind)], "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_reaches_the_engine_as_cancelled() {
    // Fuel off, as in the runtime's own cancel test: on a fast machine the spin
    // would otherwise run out of fuel before the cancel arrives.
    let runner = hostile_runner_with_fuel(false).await;
    let cancel = Cancellation::default();
    let call = BlockCall {
        block_type: "hostile".into(),
        info: Default::default(),
        params: json!({"attack": "spin"}),
        env: HashMap::new(),
        variables: Default::default(),
        limits: None,
        cancel: cancel.clone(),
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let report = tokio::time::timeout(Duration::from_secs(5), runner.run(call))
        .await
        .expect("cancelling stops the block long before its own deadline");
    let error = report.outcome.expect_err("a cancelled run fails");
    assert_eq!(error.kind, BlockErrorKind::Cancelled);
    assert_eq!(error.message, "cancelled");
}
