//! Engine overhead: a chain of 40 trivial blocks (on an engine that has run
//! it before, and on a new one), and a 1,000-branch parallel fan-out at
//! maxParallelNodes 1, 2 and 8.
//!
//! Run with `cargo bench -p sandflow-tests --bench engine`.

use std::collections::HashMap;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sandflow_engine::{
    BlockCall, BlockOutcome, BlockReport, BlockRunner, Cancellation, Engine, EngineSettings, ExecutionRequest,
    ExecutionSpec, ExecutionStatus, WorkflowState,
};
use sandflow_tests::{guests, runtime_with};
use sandflow_wasm_runner::WasmBlockRunner;
use serde_json::{Value, json};

/// Answers every block at once: what is left is the engine's own cost.
struct NoopRunner;

impl BlockRunner for NoopRunner {
    fn input_schemas(&self) -> HashMap<String, Value> {
        ["start", "echo"].into_iter().map(|t| (t.to_string(), json!({"type": "object"}))).collect()
    }

    async fn run(&self, call: BlockCall) -> BlockReport {
        BlockReport::outcome(Ok(BlockOutcome::Done { output: call.params }))
    }

    async fn evaluate(&self, _expression: &str, _references: &[Value], _cancel: Cancellation) -> Result<Value, String> {
        Ok(json!(false))
    }
}

fn chain(length: usize) -> WorkflowState {
    let mut blocks = serde_json::Map::new();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut edges = Vec::new();
    let mut previous = "start".to_string();
    for i in 1..length {
        let id = format!("b{i}");
        blocks.insert(
            id.clone(),
            json!({"type": "echo", "name": id, "params": {"step": i, "prev": format!("<{previous}.step>")}}),
        );
        edges.push(json!({"source": previous, "target": id}));
        previous = id;
    }
    serde_json::from_value(json!({"blocks": blocks, "edges": edges})).unwrap()
}

fn fan_out(branches: u64) -> WorkflowState {
    serde_json::from_value(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "leaf": {"type": "echo", "name": "Leaf", "params": {"i": "<parallel.index>"}}
        },
        "edges": [{"source": "start", "target": "par"}],
        "parallels": {"par": {"nodes": ["leaf"], "parallelType": "count", "count": branches}}
    }))
    .unwrap()
}

fn request(state: &WorkflowState, parallel: usize) -> ExecutionRequest {
    ExecutionRequest {
        execution_id: "bench".into(),
        spec: ExecutionSpec {
            workflow_id: "bench".into(),
            state: Arc::new(state.clone()),
            input: json!({"step": 0}),
            max_parallel_nodes: Some(parallel),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn execute<R: BlockRunner>(engine: &Engine<R>, request: ExecutionRequest) {
    let result = engine.execute(request).await.expect("valid workflow");
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
}

fn engine_benchmarks(c: &mut Criterion) {
    let executor = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let wasm = executor.block_on(async {
        let mut runner = WasmBlockRunner::with_standard_blocks(runtime_with(|_| {})).await.unwrap();
        runner.add_block("echo", guests::ECHO).await.unwrap();
        Engine::new(Arc::new(runner), EngineSettings::default())
    });
    let noop = Engine::new(Arc::new(NoopRunner), EngineSettings::default());

    let chain_40 = chain(40);
    let mut group = c.benchmark_group("chain_40");
    group.bench_function("wasm_blocks", |b| b.iter(|| executor.block_on(execute(&wasm, request(&chain_40, 4)))));
    group.bench_function("noop_runner", |b| b.iter(|| executor.block_on(execute(&noop, request(&chain_40, 4)))));
    // A new engine each time: nothing remembered from earlier executions (no
    // compiled schema, no recently validated workflow), as for a workflow run once.
    group.bench_function("noop_runner_cold_engine", |b| {
        b.iter(|| {
            let cold = Engine::new(Arc::new(NoopRunner), EngineSettings::default());
            executor.block_on(execute(&cold, request(&chain_40, 4)))
        })
    });
    group.bench_function("validation_only", |b| b.iter(|| noop.validate(&chain_40).expect("valid")));
    group.finish();

    let fan = fan_out(1000);
    let mut group = c.benchmark_group("fan_out_1000");
    group.sample_size(10);
    for parallel in [1, 2, 8] {
        group.bench_function(format!("wasm_max_parallel_{parallel}"), |b| {
            b.iter(|| executor.block_on(execute(&wasm, request(&fan, parallel))))
        });
    }
    group.bench_function("noop_runner_max_parallel_8", |b| {
        b.iter(|| executor.block_on(execute(&noop, request(&fan, 8))))
    });
    group.finish();
}

criterion_group!(benches, engine_benchmarks);
criterion_main!(benches);
