//! The `template`, `response` and `variables` standard blocks, run through the real runtime as components.

use std::collections::BTreeMap;

use sandflow_runtime::{BlockOutcome, BlockRun, BlockRunError, RunRequest, Runtime};
use sandflow_stdblocks::standard_block;
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

async fn run_block(runtime: &Runtime, block_type: &str, params: Value) -> BlockRun {
    let block = standard_block(block_type).unwrap_or_else(|| panic!("no standard block `{block_type}`"));
    let loaded = runtime.load(block.component).await.expect("standard block loads");
    assert_eq!(loaded.manifest().name, block_type);
    runtime.run(&loaded, RunRequest { params, ..Default::default() }).await
}

fn invalid_input(run: &BlockRun) -> &str {
    match &run.outcome {
        Err(BlockRunError::InvalidInput(message)) => message,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn template_renders_its_data() {
    let runtime = runtime_with(|_| {});
    let params = json!({
        "template": "Hi {{ user.name }}: {% for o in orders %}{{ o.id }}{% if not loop.last %}, {% endif %}{% endfor %} ({{ orders | length }})",
        "data": {"user": {"name": "Ada"}, "orders": [{"id": 1}, {"id": 2}]}
    });
    let run = run_block(&runtime, "template", params).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"text": "Hi Ada: 1, 2 (2)"}))));
    let run = run_block(&runtime, "template", json!({"template": "[{{ missing }}]"})).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"text": "[]"}))));
}

#[tokio::test]
async fn template_that_does_not_parse_is_invalid_input() {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "template", json!({"template": "ok\n{% if x %}never closed"})).await;
    let message = invalid_input(&run);
    assert!(message.contains("syntax error") && message.contains("line"), "{message}");
    let run = run_block(&runtime, "template", json!({"template": "x", "date": {}})).await;
    assert!(invalid_input(&run).contains("date"));
}

#[tokio::test]
async fn template_render_errors_and_runaway_loops_fail_cleanly() {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "template", json!({"template": "{{ 1 | nope }}"})).await;
    assert!(matches!(&run.outcome, Err(BlockRunError::Failed(m)) if m.contains("unknown filter")), "{:?}", run.outcome);
    let nested = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let run = run_block(&runtime, "template", json!({"template": nested})).await;
    assert!(matches!(&run.outcome, Err(BlockRunError::Failed(m)) if m.contains("out of fuel")), "{:?}", run.outcome);
}

#[tokio::test]
async fn response_echoes_data_status_and_headers() {
    let runtime = runtime_with(|_| {});
    let params = json!({"data": {"id": 7}, "status": 201, "headers": {"Location": "/items/7"}});
    let run = run_block(&runtime, "response", params.clone()).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(params)));
    let run = run_block(&runtime, "response", json!({})).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"data": null, "status": 200, "headers": {}}))));
}

#[tokio::test]
async fn response_with_a_bad_status_is_invalid_input() {
    let runtime = runtime_with(|_| {});
    for status in [0, 99, 600] {
        let run = run_block(&runtime, "response", json!({"data": 1, "status": status})).await;
        let message = invalid_input(&run);
        assert!(message.contains("status"), "{message}");
    }
}

#[tokio::test]
async fn variables_writes_reach_the_run() {
    let runtime = runtime_with(|_| {});
    let params = json!({"assignments": [
        {"name": "count", "value": 1},
        {"name": "user", "value": {"id": 9, "tags": ["a"]}},
        {"name": "count", "value": 2}
    ]});
    let run = run_block(&runtime, "variables", params).await;
    let expected: BTreeMap<String, Value> =
        [("count".to_string(), json!(2)), ("user".to_string(), json!({"id": 9, "tags": ["a"]}))].into();
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"assigned": expected}))));
    assert_eq!(run.variable_writes, expected);
}

#[tokio::test]
async fn variables_with_an_empty_name_is_invalid_input_and_writes_nothing() {
    let runtime = runtime_with(|_| {});
    let params = json!({"assignments": [{"name": "ok", "value": 1}, {"name": "", "value": 2}]});
    let run = run_block(&runtime, "variables", params).await;
    assert!(invalid_input(&run).contains("assignments[1].name"));
    assert!(run.variable_writes.is_empty(), "{:?}", run.variable_writes);
}
