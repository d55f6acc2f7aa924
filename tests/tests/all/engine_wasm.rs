//! The engine over real components: hostile blocks inside workflows.

use std::sync::Arc;
use std::time::Duration;

use sandflow_engine::{Engine, EngineSettings, ExecutionRequest, ExecutionSpec, ExecutionStatus, WorkflowState};
use sandflow_tests::{guests, runtime_with};
use sandflow_wasm_runner::WasmBlockRunner;
use serde_json::json;

async fn engine() -> Engine<WasmBlockRunner> {
    let mut runner = WasmBlockRunner::with_standard_blocks(runtime_with(|c| c.fuel = false)).await.unwrap();
    runner.add_block("hostile", guests::HOSTILE).await.unwrap();
    Engine::new(Arc::new(runner), EngineSettings::default())
}

fn spin_workflow(error_edge: bool) -> WorkflowState {
    let mut edges = vec![json!({"source": "start", "target": "spin"}), json!({"source": "start", "target": "other"})];
    if error_edge {
        edges.push(json!({"source": "spin", "target": "recover", "sourceHandle": "error"}));
    }
    let mut blocks = json!({
        "start": {"type": "start", "name": "Start"},
        "spin": {"type": "hostile", "name": "Spin", "params": {"attack": "spin"}, "limits": {"timeoutMs": 200}},
        "other": {"type": "transform", "name": "Other", "params": {"filter": ".n + 1", "input": "<start>"}}
    });
    if error_edge {
        blocks["recover"] =
            json!({"type": "transform", "name": "Recover", "params": {"filter": ".", "input": "<spin.error>"}});
    }
    serde_json::from_value(json!({"blocks": blocks, "edges": edges})).unwrap()
}

fn request(state: WorkflowState) -> ExecutionRequest {
    ExecutionRequest {
        execution_id: "e".into(),
        spec: ExecutionSpec {
            workflow_id: "w".into(),
            state: state.into(),
            input: json!({"n": 1}),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_block_fails_only_itself_and_takes_its_error_edge() {
    let engine = engine().await;
    let result = engine.execute(request(spin_workflow(true))).await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(result.output["other"], json!({"result": 2}));
    assert_eq!(result.output["recover"], json!({"result": "timed out after 200ms"}));
    assert!(result.logs.iter().any(|l| l.block_id == "spin" && l.error_handled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_block_without_an_error_edge_fails_the_execution_with_its_name() {
    let engine = engine().await;
    let result = engine.execute(request(spin_workflow(false))).await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("Spin: timed out after 200ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_execution_stops_a_spinning_component() {
    let engine = engine().await;
    let mut state = spin_workflow(false);
    state.blocks.get_mut("spin").unwrap().limits = None; // the default 10 s deadline
    let request = request(state);
    let cancel = request.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let result = tokio::time::timeout(Duration::from_secs(5), engine.execute(request))
        .await
        .expect("cancellation ends the execution long before the block's own 10 s deadline")
        .unwrap();
    assert_eq!(result.status, ExecutionStatus::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_while_loop_evaluates_its_javascript_condition_in_a_sandbox() {
    let engine = engine().await;
    let state: WorkflowState = serde_json::from_value(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "step": {"type": "transform", "name": "Step", "params": {"filter": ". * 10", "input": "<loop.index>"}}
        },
        "edges": [{"source": "start", "target": "loop1"}],
        "loops": {"loop1": {"nodes": ["step"], "loopType": "while", "whileCondition": "<loop.index> < 3 && <step.result> !== 10"}}
    }))
    .unwrap();
    let result = engine.execute(request(state)).await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    // Iteration 1 outputs 10, so the condition before iteration 2 is false.
    assert_eq!(result.output["loop1"], json!({"results": [{"step": {"result": 0}}, {"step": {"result": 10}}]}));
}
