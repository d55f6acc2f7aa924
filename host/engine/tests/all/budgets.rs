//! Per-execution budgets, bounded timed pauses and structural redaction,
//! with the fake runner: every execution ends, with a message naming the limit.

use crate::support;

use std::sync::Arc;

use sandflow_engine::{EngineSettings, ExecutionBudgets, ExecutionStatus, ResumeRequest};
use serde_json::{Value, json};
use support::{FakeRunner, Recorder, request, run, workflow};

fn engine_with(budgets: ExecutionBudgets) -> sandflow_engine::Engine<FakeRunner> {
    sandflow_engine::Engine::new(Arc::new(FakeRunner::default()), EngineSettings { budgets, ..Default::default() })
}

/// `start` → a parallel of `count` `echo` branches of `params`, with an
/// error edge from the parallel to `handler`.
fn fan_out(count: u64, params: Value) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "e": {"type": "echo", "name": "Echo", "params": params},
            "handler": {"type": "echo", "name": "Handler", "params": {}}
        },
        "edges": [{"source": "start", "target": "p"}, {"source": "p", "target": "handler", "sourceHandle": "error"}],
        "parallels": {"p": {"nodes": ["e"], "parallelType": "count", "count": count}}
    })
}

fn single(block_type: &str, params: Value) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "b": {"type": block_type, "name": "B", "params": params},
            "handler": {"type": "echo", "name": "Handler", "params": {}}
        },
        "edges": [{"source": "start", "target": "b"}, {"source": "b", "target": "handler", "sourceHandle": "error"}]
    })
}

fn error_of(result: &sandflow_engine::ExecutionResult) -> &str {
    result.error.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn outputs_past_the_output_budget_fail_the_execution_even_with_an_error_edge() {
    let engine = engine_with(ExecutionBudgets { max_output_bytes: 1_000, ..Default::default() });
    let result = run(&engine, request(workflow(fan_out(50, json!({"text": "x".repeat(100)}))))).await;
    assert_eq!(result.status, ExecutionStatus::Failed, "{result:?}");
    assert!(error_of(&result).contains("maxOutputBytes"), "{}", error_of(&result));
    assert!(!result.output.contains_key("handler"), "a spent budget is not handled: {:?}", result.output);
}

#[tokio::test]
async fn outputs_within_the_budget_complete() {
    let engine = engine_with(ExecutionBudgets { max_output_bytes: 100_000, ..Default::default() });
    let result = run(&engine, request(workflow(fan_out(50, json!({"text": "x".repeat(100)}))))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{result:?}");
}

#[tokio::test]
async fn variable_writes_past_the_budget_fail_the_execution() {
    let engine = engine_with(ExecutionBudgets { max_variable_bytes: 500, ..Default::default() });
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "set": {"type": "setvar", "name": "Set", "params": {"name": "big", "value": "v".repeat(100)}}
        },
        "edges": [{"source": "start", "target": "loop"}],
        "loops": {"loop": {"nodes": ["set"], "loopType": "for", "iterations": 10}}
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Failed, "{result:?}");
    assert!(error_of(&result).contains("maxVariableBytes"), "{}", error_of(&result));
}

#[tokio::test]
async fn an_output_nested_past_the_depth_limit_fails_its_block() {
    let engine = engine_with(ExecutionBudgets::default());
    let mut deep = json!(1);
    for _ in 0..70 {
        deep = json!([deep]);
    }
    let result = run(&engine, request(workflow(single("echo", json!({"deep": deep}))))).await;
    // The block's own failure: its error edge handles it.
    assert_eq!(result.status, ExecutionStatus::Completed, "{result:?}");
    let error = result.output["b"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("maxJsonDepth"), "{error}");
}

#[tokio::test]
async fn a_timed_pause_past_the_maximum_fails_its_block() {
    let engine = engine_with(ExecutionBudgets::default());
    for ms in [u64::MAX, u64::MAX / 2, 1_000_000_000_000_000] {
        let mut state = single("timer", json!({"ms": ms}));
        state["edges"].as_array_mut().unwrap().pop();
        let result = run(&engine, request(workflow(state))).await;
        assert_eq!(result.status, ExecutionStatus::Failed, "{result:?}");
        assert!(error_of(&result).contains("366 days"), "{}", error_of(&result));
    }
}

#[tokio::test]
async fn a_timed_pause_whose_schema_refuses_the_timers_input_fails_at_once() {
    let engine = engine_with(ExecutionBudgets::default());
    let schema = json!({"type": "object", "required": ["approved"]});
    let mut state = single("timer", json!({"ms": 10, "inputSchema": schema}));
    state["edges"].as_array_mut().unwrap().pop();
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Failed, "{result:?}");
    assert!(error_of(&result).contains("must accept the timer's resume input"), "{}", error_of(&result));
}

#[tokio::test]
async fn a_stored_timed_pause_whose_schema_refuses_the_timer_fails_its_block_instead_of_retrying() {
    // A pause point stored before the check above existed: its timer's `{}`
    // resume fails the block, and the execution ends.
    let engine = engine_with(ExecutionBudgets::default());
    let mut state = single("timer", json!({"ms": 10, "inputSchema": {"type": "object"}}));
    state["edges"].as_array_mut().unwrap().pop();
    let recorder = Arc::new(Recorder::default());
    let mut first = request(workflow(state.clone()));
    first.observer = Some(recorder.clone());
    assert_eq!(run(&engine, first).await.status, ExecutionStatus::Paused);
    let mut checkpoints = recorder.0.lock().unwrap().clone();
    for checkpoint in &mut checkpoints {
        if let Some(pause) = &mut checkpoint.pause {
            pause.input_schema = Some(json!({"type": "object", "required": ["approved"]}));
        }
    }
    let mut timer = request(workflow(state));
    timer.checkpoints = checkpoints;
    timer.resume = Some(ResumeRequest { context_id: "b".into(), input: json!({}) });
    let result = run(&engine, timer).await;
    assert_eq!(result.status, ExecutionStatus::Failed, "{result:?}");
    assert!(error_of(&result).contains("approved"), "{}", error_of(&result));
}

#[tokio::test]
async fn redaction_rewrites_values_never_keys_nor_the_results_own_fields() {
    let engine = engine_with(ExecutionBudgets::default());
    let mut execution = request(workflow(single("echo", json!({"error": "an error", "completed": "completed"}))));
    execution.spec.env = [("A".to_string(), "error".to_string()), ("B".to_string(), "completed".to_string())].into();
    let result = run(&engine, execution).await;
    assert_eq!(result.status, ExecutionStatus::Completed);
    assert_eq!(result.output["b"], json!({"error": "an [REDACTED]", "completed": "[REDACTED]"}));
    let text = serde_json::to_string(&result).unwrap();
    assert!(text.contains(r#""status":"completed""#), "{text}");
}
