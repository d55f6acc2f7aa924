//! `workflow` blocks: child executions, call chains, cycles and depth.

use crate::support;

use std::collections::HashMap;
use std::sync::Arc;

use sandflow_engine::{ExecuteError, ExecutionStatus, WorkflowSource, WorkflowState};
use serde_json::{Value, json};
use support::{engine, request, run, workflow};

fn calls(child: &str) -> WorkflowState {
    workflow(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "workflow", "name": "Call", "params": {"workflowId": child, "input": {"from": "<start.n>"}}}
        },
        "edges": [{"source": "start", "target": "call"}]
    }))
}

fn leaf() -> WorkflowState {
    workflow(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "echo": {"type": "echo", "name": "Echo", "params": {"got": "<start.from>"}}
        },
        "edges": [{"source": "start", "target": "echo"}]
    }))
}

fn source(entries: Vec<(&str, WorkflowState)>) -> Arc<dyn WorkflowSource> {
    Arc::new(entries.into_iter().map(|(id, state)| (id.to_string(), state)).collect::<HashMap<_, _>>())
}

#[tokio::test]
async fn a_workflow_block_runs_the_child_and_outputs_its_result() {
    let (engine, runner) = engine();
    let mut request = request(calls("child"));
    request.spec.workflow_id = "parent".into();
    request.workflows = Some(source(vec![("child", leaf())]));
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    let call = &result.output["call"];
    assert_eq!(call["output"]["echo"], json!({"got": 1}));
    assert_eq!(call["parentExecutionId"], json!("exec-1"));
    assert_eq!(call["executionId"], json!("exec-1/call"));
    assert_eq!(runner.runs_of("echo"), 1);
}

#[tokio::test]
async fn a_workflow_calling_itself_is_refused_before_the_child_starts() {
    let (engine, runner) = engine();
    let mut request = request(calls("self"));
    request.spec.workflow_id = "self".into();
    request.workflows = Some(source(vec![("self", calls("self"))]));
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    let error = result.error.unwrap();
    assert!(error.starts_with("Call: workflow_cycle: `self` is already in the call chain"), "{error}");
    assert_eq!(runner.total_runs(), 1, "only the parent's start ran");
}

#[tokio::test]
async fn a_to_b_to_a_is_refused_before_the_second_a_starts() {
    let (engine, runner) = engine();
    let mut request = request(calls("b"));
    request.spec.workflow_id = "a".into();
    request.workflows = Some(source(vec![("a", calls("b")), ("b", calls("a"))]));
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    let error = result.error.unwrap();
    assert!(error.contains("workflow_cycle: `a` is already in the call chain a → b"), "{error}");
    // a's start and b's start ran; a second a never started.
    assert_eq!(runner.runs_of("start"), 2);
}

#[tokio::test]
async fn a_call_chain_deeper_than_25_is_refused() {
    let (engine, _) = engine();
    let mut chain: Vec<(String, WorkflowState)> =
        (0..30).map(|i| (format!("w{i}"), calls(&format!("w{}", i + 1)))).collect();
    chain.push(("w30".into(), leaf()));
    let mut request = request(calls("w1"));
    request.spec.workflow_id = "w0".into();
    request.workflows = Some(Arc::new(chain.into_iter().collect::<HashMap<_, _>>()));
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert!(result.error.as_deref().unwrap().contains("deeper than 25"), "{:?}", result.error);
}

#[tokio::test]
async fn a_request_whose_chain_holds_its_own_workflow_is_a_cycle() {
    let (engine, runner) = engine();
    let mut request = request(leaf());
    request.spec.workflow_id = "a".into();
    request.spec.call_chain = vec!["x".into(), "a".into()];
    assert_eq!(engine.execute(request).await.unwrap_err(), ExecuteError::WorkflowCycle("a".into()));
    assert_eq!(runner.total_runs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_subworkflows_under_a_bound_of_one_do_not_deadlock() {
    let (engine, _) = engine();
    let parent = workflow(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "workflow", "name": "Call", "params": {"workflowId": "middle", "input": {"from": "<parallel.index>"}}}
        },
        "edges": [{"source": "start", "target": "par"}],
        "parallels": {"par": {"nodes": ["call"], "parallelType": "count", "count": 6}}
    }));
    let mut request = request(parent);
    request.spec.workflow_id = "top".into();
    request.spec.max_parallel_nodes = Some(1);
    let middle = workflow(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "workflow", "name": "Call", "params": {"workflowId": "leaf", "input": {"from": "<start.from>"}}}
        },
        "edges": [{"source": "start", "target": "call"}]
    }));
    request.workflows = Some(source(vec![("middle", middle), ("leaf", leaf())]));
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    let results = result.output["par"]["results"].as_array().unwrap();
    let got: Vec<Value> =
        results.iter().map(|r| r["call"]["output"]["call"]["output"]["echo"]["got"].clone()).collect();
    let expected: Vec<Value> = (0..6).map(|i| json!(i)).collect();
    assert_eq!(got, expected);
}
