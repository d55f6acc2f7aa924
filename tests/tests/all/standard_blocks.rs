//! The embedded standard blocks, run through the real runtime as components.

use sandflow_runtime::{BlockOutcome, BlockRun, BlockRunError, RunLimits, RunRequest, Runtime};
use sandflow_stdblocks::{STANDARD_BLOCKS, standard_block};
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

async fn run_block(runtime: &Runtime, block_type: &str, params: Value, limits: Option<RunLimits>) -> BlockRun {
    let block = standard_block(block_type).unwrap_or_else(|| panic!("no standard block `{block_type}`"));
    let loaded = runtime.load(block.component).await.expect("standard block loads");
    runtime.run(&loaded, RunRequest { params, limits, ..Default::default() }).await
}

/// A runaway script ends in the interpreter's own limit or the host's.
fn assert_runaway_stopped(run: &BlockRun) {
    assert!(
        matches!(
            &run.outcome,
            Err(BlockRunError::Failed(_) | BlockRunError::OutOfFuel { .. } | BlockRunError::Timeout { .. })
        ),
        "{:?}",
        run.outcome
    );
}

#[tokio::test]
async fn every_standard_block_satisfies_the_world_and_names_itself() {
    let runtime = runtime_with(|_| {});
    for block in STANDARD_BLOCKS {
        let loaded = runtime.load(block.component).await.unwrap_or_else(|e| panic!("{}: {e}", block.block_type));
        assert_eq!(loaded.manifest().name, block.block_type);
        assert!(loaded.manifest().input_schema.is_object());
    }
}

#[tokio::test]
async fn start_outputs_its_input_unchanged() {
    let runtime = runtime_with(|_| {});
    let input = json!({"url": "https://example.com", "n": 3, "tags": ["a", "b"]});
    let run = run_block(&runtime, "start", input.clone(), None).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(input)));
}

#[tokio::test]
async fn transform_runs_a_jq_filter_over_its_input() {
    let runtime = runtime_with(|_| {});
    let input = json!({"orders": [{"id": 1, "total": 30}, {"id": 2, "total": 120}, {"id": 3, "total": 500}]});
    let cases = [
        (".orders | length", json!(3)),
        ("[.orders[] | select(.total > 100) | .id]", json!([2, 3])),
        (".orders | map(.total * 2)", json!([60, 240, 1000])),
        (".orders[] | .id", json!([1, 2, 3])),
        ("empty", Value::Null),
        ("{count: (.orders | length), first: .orders[0].id} | to_entries | map(.key)", json!(["count", "first"])),
    ];
    for (filter, expected) in cases {
        let run = run_block(&runtime, "transform", json!({"filter": filter, "input": input}), None).await;
        assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"result": expected}))), "filter {filter}");
    }
}

#[tokio::test]
async fn transform_rejects_a_filter_that_does_not_parse() {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "transform", json!({"filter": ".orders | map(", "input": {}}), None).await;
    match &run.outcome {
        Err(BlockRunError::InvalidInput(message)) => assert!(message.contains("filter"), "{message}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let run = run_block(&runtime, "transform", json!({"filtre": "."}), None).await;
    assert!(matches!(&run.outcome, Err(BlockRunError::InvalidInput(m)) if m.contains("filtre")), "{:?}", run.outcome);
}

#[tokio::test]
async fn transform_reports_jq_runtime_errors_as_failures() {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "transform", json!({"filter": ".a", "input": 3}), None).await;
    assert!(
        matches!(&run.outcome, Err(BlockRunError::Failed(m)) if m.contains("Cannot index number")),
        "jq's message: {:?}",
        run.outcome
    );
}

#[tokio::test]
async fn transform_cannot_run_away() {
    let runtime = runtime_with(|c| c.fuel = true);
    let limits = RunLimits { fuel: 200_000_000, ..RunLimits::default() };
    let run = run_block(&runtime, "transform", json!({"filter": "last(range(1e12))"}), Some(limits)).await;
    assert_eq!(run.outcome, Err(BlockRunError::OutOfFuel { limit: 200_000_000 }));
}

#[tokio::test]
async fn human_in_the_loop_pauses_then_outputs_the_resume_input_with_submitted_at() {
    let runtime = runtime_with(|_| {});
    let block = runtime.load(standard_block("human_in_the_loop").unwrap().component).await.unwrap();
    let params = json!({"response": {"question": "ship it?"}});
    let first = runtime.run(&block, RunRequest { params: params.clone(), ..Default::default() }).await;
    assert_eq!(
        first.outcome,
        Ok(BlockOutcome::Pause {
            response: json!({"question": "ship it?"}),
            resume_after_ms: None,
            input_schema: None
        })
    );
    let mut request = RunRequest { params, ..Default::default() };
    request.info.resume_input = Some(json!({"approved": true}));
    let resumed = runtime.run(&block, request).await;
    let Ok(BlockOutcome::Done(output)) = resumed.outcome else { panic!("{:?}", resumed.outcome) };
    assert_eq!(output["approved"], json!(true));
    let submitted = output["submittedAt"].as_str().unwrap();
    assert!(submitted.starts_with("20") && submitted.ends_with('Z'), "{submitted}");
}

#[tokio::test]
async fn condition_takes_the_first_truthy_expression_or_the_else_branch() {
    let runtime = runtime_with(|_| {});
    let conditions = |count: u64| {
        json!({"conditions": [
            {"id": "big", "expression": format!("{{\"count\": {count}}}.count > 10")},
            {"id": "list", "expression": "[1, 2, 3].length > 5"},
            {"id": "else"}
        ]})
    };
    let run = run_block(&runtime, "condition", conditions(12), None).await;
    assert_eq!(
        run.outcome,
        Ok(BlockOutcome::Route {
            route: "big".into(),
            output: json!({"selectedCondition": "big", "conditionResult": true})
        })
    );
    let run = run_block(&runtime, "condition", conditions(3), None).await;
    assert_eq!(
        run.outcome,
        Ok(BlockOutcome::Route {
            route: "else".into(),
            output: json!({"selectedCondition": "else", "conditionResult": false})
        })
    );
}

#[tokio::test]
async fn condition_reports_javascript_errors_and_runaway_loops_as_failures() {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "condition", json!({"conditions": [{"id": "bad", "expression": "1 +"}]}), None).await;
    assert!(
        matches!(&run.outcome, Err(BlockRunError::Failed(m)) if m.contains("bad") && m.contains("SyntaxError")),
        "{:?}",
        run.outcome
    );
    let spin = json!({"conditions": [{"id": "spin", "expression": "(() => { while (true) {} })()"}]});
    let run = run_block(&runtime, "condition", spin, None).await;
    assert_runaway_stopped(&run);
}

#[tokio::test]
async fn router_takes_the_matching_route_or_the_default_and_fails_without_one() {
    let runtime = runtime_with(|_| {});
    let routes = json!({"routes": [{"id": "vip", "expression": "\"gold\" === 'gold'"}, {"id": "default"}]});
    let run = run_block(&runtime, "router", routes, None).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Route { route: "vip".into(), output: json!({"selectedRoute": "vip"}) }));
    let routes = json!({"routes": [{"id": "vip", "expression": "false"}, {"id": "default"}]});
    let run = run_block(&runtime, "router", routes, None).await;
    assert_eq!(
        run.outcome,
        Ok(BlockOutcome::Route { route: "default".into(), output: json!({"selectedRoute": "default"}) })
    );
    let routes = json!({"routes": [{"id": "vip", "expression": "false"}]});
    let run = run_block(&runtime, "router", routes, None).await;
    assert!(
        matches!(&run.outcome, Err(BlockRunError::Failed(m)) if m.contains("no route matched")),
        "{:?}",
        run.outcome
    );
}

#[tokio::test]
async fn function_runs_javascript_over_its_input_and_captures_console_output() {
    let runtime = runtime_with(|_| {});
    let params = json!({"code": "console.log('doubling', input.n); return input.n * 2;", "input": {"n": 21}});
    let run = run_block(&runtime, "function", params, None).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"result": 42, "stdout": "doubling 21"}))));
    let run = run_block(&runtime, "function", json!({"code": "throw new Error('nope');"}), None).await;
    assert!(matches!(&run.outcome, Err(BlockRunError::Failed(m)) if m.starts_with("Error: nope")), "{:?}", run.outcome);
}

#[tokio::test]
async fn function_with_an_endless_loop_fails_only_itself() {
    let runtime = runtime_with(|c| c.fuel = true);
    let run = run_block(&runtime, "function", json!({"code": "while (true) {}"}), None).await;
    assert_runaway_stopped(&run);
    let run = run_block(&runtime, "function", json!({"code": "return [1, 2, 3].map(x => x * x);"}), None).await;
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"result": [1, 4, 9], "stdout": ""}))));
}
