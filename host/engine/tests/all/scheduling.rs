//! The scheduler's rules (SPEC section 3), pinned with a fake runner.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sandflow_engine::result::{PauseKind, PausePoint, ResumeStatus};
use sandflow_engine::{BlockErrorKind, Checkpoint, CheckpointOutcome, ExecuteError, ExecutionStatus, ResumeRequest};
use serde_json::{Value, json};
use support::{Recorder, engine, request, run, workflow};

fn chain(ids: &[&str]) -> Value {
    let mut blocks = serde_json::Map::new();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut edges = Vec::new();
    let mut previous = "start".to_string();
    for id in ids {
        blocks.insert(
            id.to_string(),
            json!({"type": "echo", "name": id.to_uppercase(), "params": {"from": format!("<{previous}>")}}),
        );
        edges.push(json!({"source": previous, "target": id}));
        previous = id.to_string();
    }
    json!({"blocks": blocks, "edges": edges})
}

#[tokio::test]
async fn a_chain_runs_in_order_and_outputs_by_block_id() {
    let (engine, runner) = engine();
    let result = run(&engine, request(workflow(chain(&["a", "b", "c"])))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert!(result.success);
    assert_eq!(*runner.started.lock().unwrap(), ["start", "a", "b", "c"]);
    assert_eq!(result.output["start"], json!({"n": 1}));
    assert_eq!(result.output["a"], json!({"from": {"n": 1}}));
    assert_eq!(result.output["c"], json!({"from": {"from": {"from": {"n": 1}}}}));
    let orders: Vec<u64> = result.logs.iter().map(|l| l.execution_order).collect();
    assert_eq!(orders, [1, 2, 3, 4]);
    assert_eq!(result.final_state.executed_blocks, ["start", "a", "b", "c"]);
}

fn fan_out(width: usize, ms: u64) -> Value {
    let mut blocks = serde_json::Map::new();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut edges = Vec::new();
    for i in 0..width {
        blocks.insert(format!("s{i}"), json!({"type": "slow", "name": format!("Slow {i}"), "params": {"ms": ms}}));
        edges.push(json!({"source": "start", "target": format!("s{i}")}));
    }
    json!({"blocks": blocks, "edges": edges})
}

#[tokio::test]
async fn max_parallel_nodes_is_never_exceeded() {
    let (engine, runner) = engine();
    let mut request = request(workflow(fan_out(12, 15)));
    request.spec.max_parallel_nodes = Some(3);
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Completed);
    assert_eq!(runner.max_running.load(Ordering::SeqCst), 3);
    assert_eq!(result.output.len(), 13);
}

#[tokio::test]
async fn independent_blocks_run_together_up_to_the_bound() {
    let (engine, runner) = engine();
    let mut request = request(workflow(fan_out(8, 50)));
    request.spec.max_parallel_nodes = Some(8);
    run(&engine, request).await;
    assert_eq!(runner.max_running.load(Ordering::SeqCst), 8, "all eight slow blocks were in flight at once");
}

#[tokio::test]
async fn max_parallel_nodes_outside_the_range_is_refused() {
    let (engine, runner) = engine();
    for bad in [0, 65] {
        let mut request = request(workflow(chain(&["a"])));
        request.spec.max_parallel_nodes = Some(bad);
        let error = engine.execute(request).await.unwrap_err();
        assert_eq!(error, ExecuteError::MaxParallelNodes { got: bad, max: 64 });
    }
    assert_eq!(runner.total_runs(), 0);
}

fn branching(select: &str) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "check": {"type": "condition", "name": "Check", "params": {"select": select, "conditions": [{"id": "big", "expression": "true"}, {"id": "else"}]}},
            "big": {"type": "echo", "name": "Big"},
            "bigger": {"type": "echo", "name": "Bigger"},
            "small": {"type": "echo", "name": "Small"},
            "join": {"type": "echo", "name": "Join", "params": {"big": "<bigger>", "small": "<small>"}}
        },
        "edges": [
            {"source": "start", "target": "check"},
            {"source": "check", "target": "big", "sourceHandle": "condition-big"},
            {"source": "big", "target": "bigger"},
            {"source": "check", "target": "small", "sourceHandle": "condition-else"},
            {"source": "bigger", "target": "join"},
            {"source": "small", "target": "join"}
        ]
    })
}

#[tokio::test]
async fn a_condition_takes_only_the_selected_branch_and_skips_the_rest_transitively() {
    let (engine, runner) = engine();
    let result = run(&engine, request(workflow(branching("else")))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(runner.runs_of("big"), 0);
    assert_eq!(runner.runs_of("bigger"), 0);
    assert!(!result.output.contains_key("big") && !result.output.contains_key("bigger"));
    assert_eq!(result.final_state.decisions["check"], "else");
    // The join still runs (one live edge) and sees null for the skipped branch.
    assert_eq!(result.output["join"], json!({"big": null, "small": {}}));
}

#[tokio::test]
async fn an_error_edge_handles_a_failure() {
    let (engine, _) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "fetch": {"type": "fail", "name": "Fetch", "params": {"message": "503 from upstream"}},
            "next": {"type": "echo", "name": "Next"},
            "recover": {"type": "echo", "name": "Recover", "params": {"why": "<fetch.error>"}}
        },
        "edges": [
            {"source": "start", "target": "fetch"},
            {"source": "fetch", "target": "next"},
            {"source": "fetch", "target": "recover", "sourceHandle": "error"}
        ]
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(result.output["fetch"], json!({"error": "503 from upstream"}));
    assert_eq!(result.output["recover"], json!({"why": "503 from upstream"}));
    assert!(!result.output.contains_key("next"));
    let log = result.logs.iter().find(|l| l.block_id == "fetch").unwrap();
    assert!(log.error_handled && !log.success);
}

#[tokio::test]
async fn a_failure_without_an_error_edge_fails_the_execution_and_starts_nothing_new() {
    let (engine, runner) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "fetch": {"type": "fail", "name": "Fetch Data", "params": {"message": "timeout"}},
            "slow": {"type": "slow", "name": "Slow", "params": {"ms": 100}},
            "after": {"type": "echo", "name": "After"}
        },
        "edges": [
            {"source": "start", "target": "fetch"},
            {"source": "start", "target": "slow"},
            {"source": "slow", "target": "after"}
        ]
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert!(!result.success);
    assert_eq!(result.error.as_deref(), Some("Fetch Data: timeout"));
    assert_eq!(runner.runs_of("after"), 0);
}

fn in_loop(loop_def: Value, member: Value) -> Value {
    json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "each": member, "after": {"type": "echo", "name": "After", "params": {"all": "<loop1.results>"}}},
        "edges": [{"source": "start", "target": "loop1"}, {"source": "loop1", "target": "after"}],
        "loops": {"loop1": loop_def}
    })
}

#[tokio::test]
async fn every_loop_type_iterates_and_collects_results() {
    let member = json!({"type": "echo", "name": "Each", "parentId": "loop1", "params": {"i": "<loop.index>", "item": "<loop.currentItem>"}});
    let cases = [
        (json!({"nodes": ["each"], "loopType": "for", "iterations": 3}), json!([0, 1, 2]), json!([0, 1, 2])),
        (
            json!({"nodes": ["each"], "loopType": "forEach", "forEachItems": ["a", "b"]}),
            json!([0, 1]),
            json!(["a", "b"]),
        ),
        (json!({"nodes": ["each"], "loopType": "forEach", "forEachItems": {"k": 1}}), json!([0]), json!([["k", 1]])),
        // Sim accepts the collection as JSON text.
        (
            json!({"nodes": ["each"], "loopType": "forEach", "forEachItems": "[1, 2, {\"x\": 3}]"}),
            json!([0, 1, 2]),
            json!([1, 2, {"x": 3}]),
        ),
        (
            json!({"nodes": ["each"], "loopType": "while", "whileCondition": "<loop.index> < 2"}),
            json!([0, 1]),
            json!([0, 1]),
        ),
        (json!({"nodes": ["each"], "loopType": "doWhile", "whileCondition": "false"}), json!([0]), json!([0])),
        (json!({"nodes": ["each"], "loopType": "while", "whileCondition": "false"}), json!([]), json!([])),
    ];
    for (loop_def, indexes, items) in cases {
        let (engine, _) = engine();
        let result = run(&engine, request(workflow(in_loop(loop_def.clone(), member.clone())))).await;
        assert_eq!(result.status, ExecutionStatus::Completed, "{loop_def}: {:?}", result.error);
        let results = result.output["loop1"]["results"].as_array().unwrap().clone();
        let got_indexes: Vec<Value> = results.iter().map(|r| r["each"]["i"].clone()).collect();
        let got_items: Vec<Value> = results.iter().map(|r| r["each"]["item"].clone()).collect();
        assert_eq!(Value::Array(got_indexes), indexes, "{loop_def}");
        assert_eq!(Value::Array(got_items), items, "{loop_def}");
        assert_eq!(result.output["after"]["all"], result.output["loop1"]["results"]);
    }
}

#[tokio::test]
async fn a_loop_stops_at_the_iteration_cap() {
    let (engine, _) = engine();
    let member = json!({"type": "echo", "name": "Each", "parentId": "loop1"});
    let state = in_loop(json!({"nodes": ["each"], "loopType": "while", "whileCondition": "true"}), member);
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("loop1: loop exceeded 1000 iterations"));
}

fn in_parallel(parallel: Value, members: Value) -> Value {
    let mut blocks = members.as_object().unwrap().clone();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    json!({"blocks": blocks, "edges": [{"source": "start", "target": "par"}], "parallels": {"par": parallel}})
}

#[tokio::test]
async fn parallels_run_one_branch_per_count_or_item() {
    let members = json!({"b": {"type": "echo", "name": "B", "params": {"i": "<parallel.index>", "item": "<parallel.currentItem>"}}});
    let (engine, _) = engine();
    let result = run(
        &engine,
        request(workflow(in_parallel(json!({"nodes": ["b"], "parallelType": "count", "count": 3}), members.clone()))),
    )
    .await;
    assert_eq!(
        result.output["par"]["results"],
        json!([{"b": {"i": 0, "item": 0}}, {"b": {"i": 1, "item": 1}}, {"b": {"i": 2, "item": 2}}])
    );
    let result = run(
        &engine,
        request(workflow(in_parallel(
            json!({"nodes": ["b"], "parallelType": "collection", "distribution": ["x", "y"]}),
            members,
        ))),
    )
    .await;
    assert_eq!(result.output["par"]["results"], json!([{"b": {"i": 0, "item": "x"}}, {"b": {"i": 1, "item": "y"}}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_parallel_branches_finish_under_the_bound() {
    let (engine, runner) = engine();
    let members = json!({"b": {"type": "slow", "name": "B", "params": {"ms": 0}}});
    let mut request =
        request(workflow(in_parallel(json!({"nodes": ["b"], "parallelType": "count", "count": 10000}), members)));
    request.spec.max_parallel_nodes = Some(8);
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Completed);
    assert_eq!(result.output["par"]["results"].as_array().unwrap().len(), 10_000);
    assert_eq!(runner.runs_of("b"), 10_000);
    assert!(runner.max_running.load(Ordering::SeqCst) <= 8);
}

#[tokio::test]
async fn containers_nest() {
    let (engine, _) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "leaf": {"type": "echo", "name": "Leaf", "params": {"branch": "<parallel.index>", "iteration": "<loop.index>"}}
        },
        "edges": [{"source": "start", "target": "par"}],
        "parallels": {"par": {"nodes": ["inner"], "parallelType": "count", "count": 2}},
        "loops": {"inner": {"nodes": ["leaf"], "loopType": "for", "iterations": 2}}
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(result.output["par"]["results"][1]["inner"]["results"][0]["leaf"], json!({"branch": 1, "iteration": 0}));
    let contexts: Vec<String> =
        result.logs.iter().map(|l| format!("{:?}/{:?}", l.parallel_id, l.iteration_index)).collect();
    assert_eq!(contexts.len(), 5);
}

fn with_pause() -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "approve": {"type": "pause", "name": "Approve", "params": {"question": "ship it?"}},
            "ship": {"type": "echo", "name": "Ship", "params": {"answer": "<approve>"}},
            "other": {"type": "echo", "name": "Other"}
        },
        "edges": [
            {"source": "start", "target": "approve"},
            {"source": "approve", "target": "ship"},
            {"source": "start", "target": "other"}
        ]
    })
}

#[tokio::test]
async fn a_pause_stops_its_branch_and_resume_continues_the_same_execution() {
    let (engine, runner) = engine();
    let recorder = Arc::new(Recorder::default());
    let mut first = request(workflow(with_pause()));
    first.observer = Some(recorder.clone());
    let paused = run(&engine, first).await;
    assert_eq!(paused.status, ExecutionStatus::Paused);
    assert_eq!(paused.pause_points.len(), 1);
    let point = &paused.pause_points[0];
    assert_eq!(
        (point.context_id.as_str(), point.pause_kind, point.resume_status),
        ("approve", PauseKind::Human, ResumeStatus::Paused)
    );
    assert_eq!(point.response, json!({"question": "ship it?"}));
    assert!(paused.output.contains_key("other") && !paused.output.contains_key("ship"));

    let mut resume = request(workflow(with_pause()));
    resume.checkpoints = recorder.0.lock().unwrap().clone();
    resume.resume = Some(ResumeRequest { context_id: "approve".into(), input: json!({"approved": true}) });
    resume.observer = Some(recorder.clone());
    let done = run(&engine, resume).await;
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    assert_eq!(done.output["ship"], json!({"answer": {"approved": true}}));
    assert_eq!(done.pause_points[0].resume_status, ResumeStatus::Resumed);
    // Finished blocks were replayed from checkpoints, not run again.
    assert_eq!(runner.runs_of("start"), 1);
    assert_eq!(runner.runs_of("other"), 1);
    assert_eq!(runner.runs_of("approve"), 2);

    // Resuming the same point again is a conflict.
    let mut again = request(workflow(with_pause()));
    again.checkpoints = recorder.0.lock().unwrap().clone();
    again.resume = Some(ResumeRequest { context_id: "approve".into(), input: json!({}) });
    assert_eq!(engine.execute(again).await.unwrap_err(), ExecuteError::AlreadyResumed("approve".into()));
}

#[tokio::test]
async fn a_resume_input_that_misses_the_input_schema_is_refused_and_the_pause_stays_open() {
    let (engine, runner) = engine();
    let recorder = Arc::new(Recorder::default());
    let mut state = with_pause();
    state["blocks"]["approve"]["params"]["inputSchema"] = json!({
        "type": "object",
        "required": ["approved"],
        "properties": {"approved": {"type": "boolean"}}
    });
    let mut first = request(workflow(state.clone()));
    first.observer = Some(recorder.clone());
    let paused = run(&engine, first).await;
    assert_eq!(paused.pause_points[0].input_schema.as_ref().unwrap()["required"], json!(["approved"]));

    let mut bad = request(workflow(state.clone()));
    bad.checkpoints = recorder.0.lock().unwrap().clone();
    bad.resume = Some(ResumeRequest { context_id: "approve".into(), input: json!({"approved": "yes"}) });
    let error = engine.execute(bad).await.unwrap_err();
    let ExecuteError::ResumeInputInvalid { context_id, problems } = &error else { panic!("{error:?}") };
    assert_eq!(context_id, "approve");
    assert!(problems[0].contains("/approved") && problems[0].contains("boolean"), "{problems:?}");
    // Nothing ran for the refused resume.
    assert_eq!(runner.runs_of("approve"), 1);

    let mut good = request(workflow(state));
    good.checkpoints = recorder.0.lock().unwrap().clone();
    good.resume = Some(ResumeRequest { context_id: "approve".into(), input: json!({"approved": true}) });
    let done = run(&engine, good).await;
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    assert_eq!(done.output["ship"], json!({"answer": {"approved": true}}));
}

#[tokio::test]
async fn a_null_input_schema_is_no_schema_before_and_after_the_store() {
    let (engine, _) = engine();
    let recorder = Arc::new(Recorder::default());
    let mut state = with_pause();
    state["blocks"]["approve"]["params"]["inputSchema"] = Value::Null;
    let mut first = request(workflow(state.clone()));
    first.observer = Some(recorder.clone());
    let paused = run(&engine, first).await;
    let point = &paused.pause_points[0];
    assert_eq!(point.input_schema, None);
    // What the store writes reads back as the same pause point.
    let stored: PausePoint = serde_json::from_value(serde_json::to_value(point).unwrap()).unwrap();
    assert_eq!(&stored, point);

    let mut resume = request(workflow(state));
    resume.checkpoints = recorder.0.lock().unwrap().clone();
    resume.resume = Some(ResumeRequest { context_id: "approve".into(), input: json!({"anything": 1}) });
    let done = run(&engine, resume).await;
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
}

#[tokio::test]
async fn pauses_inside_a_loop_and_a_parallel_have_unique_context_ids() {
    let (engine, _) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "pause", "name": "Ask", "params": {"n": "<parallel.index>"}}
        },
        "edges": [{"source": "start", "target": "par"}],
        "parallels": {"par": {"nodes": ["ask"], "parallelType": "count", "count": 3}}
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Paused);
    let mut contexts: Vec<_> = result.pause_points.iter().map(|p| p.context_id.clone()).collect();
    contexts.sort();
    assert_eq!(contexts, ["par[0].ask", "par[1].ask", "par[2].ask"]);
    assert_eq!(result.pause_points[0].parallel_scope.as_ref().unwrap().container_id, "par");

    let member = json!({"type": "pause", "name": "Ask", "parentId": "loop1"});
    let result = run(
        &engine,
        request(workflow(in_loop(json!({"nodes": ["each"], "loopType": "for", "iterations": 3}), member))),
    )
    .await;
    assert_eq!(result.status, ExecutionStatus::Paused);
    // A loop stops at the paused iteration.
    assert_eq!(result.pause_points.len(), 1);
    assert_eq!(result.pause_points[0].context_id, "loop1[0].each");
    assert_eq!(result.pause_points[0].loop_scope.as_ref().unwrap().index, 0);
}

#[tokio::test]
async fn resuming_an_unknown_pause_point_is_refused() {
    let (engine, _) = engine();
    let mut request = request(workflow(with_pause()));
    request.resume = Some(ResumeRequest { context_id: "nope".into(), input: json!({}) });
    assert_eq!(engine.execute(request).await.unwrap_err(), ExecuteError::UnknownPausePoint("nope".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_spinning_block_and_the_execution_ends_cancelled() {
    let (engine, runner) = engine();
    let state = json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "spin": {"type": "spin", "name": "Spin"}, "after": {"type": "echo", "name": "After"}},
        "edges": [{"source": "start", "target": "spin"}, {"source": "spin", "target": "after"}]
    });
    let request = request(workflow(state));
    let cancel = request.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let result = run(&engine, request).await;
    assert_eq!(result.status, ExecutionStatus::Cancelled);
    assert_eq!(runner.runs_of("after"), 0);
}

#[tokio::test]
async fn an_execution_continues_from_its_checkpoints_without_rerunning_finished_blocks() {
    let (engine, _) = engine();
    let recorder = Arc::new(Recorder::default());
    let mut first = request(workflow(chain(&["a", "b", "c"])));
    first.observer = Some(recorder.clone());
    let full = run(&engine, first).await;
    // Pretend the process died after `a`: keep only the first two checkpoints.
    let kept: Vec<Checkpoint> = recorder.0.lock().unwrap().iter().take(2).cloned().collect();
    let (engine, runner) = support::engine();
    let mut again = request(workflow(chain(&["a", "b", "c"])));
    again.checkpoints = kept;
    let continued = run(&engine, again).await;
    assert_eq!(*runner.started.lock().unwrap(), ["b", "c"]);
    assert_eq!(continued.output, full.output);
    assert_eq!(continued.logs.len(), 4);
}

#[tokio::test]
async fn variables_written_by_a_block_are_seen_by_later_blocks() {
    let (engine, _) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "set": {"type": "setvar", "name": "Set", "params": {"name": "counter", "value": 5}},
            "read": {"type": "echo", "name": "Read", "params": {"counter": "<variable.counter>"}}
        },
        "edges": [{"source": "start", "target": "set"}, {"source": "set", "target": "read"}],
        "variables": {"v1": {"name": "counter", "type": "number", "value": 0}}
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.output["read"], json!({"counter": 5}));
    assert_eq!(result.final_state.variables["counter"], json!(5));
}

#[tokio::test]
async fn environment_values_are_redacted_everywhere() {
    let (engine, _) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "echo", "name": "Call", "env": ["TOKEN"], "params": {"auth": "Bearer {{TOKEN}}"}},
            "boom": {"type": "fail", "name": "Boom", "env": ["TOKEN"], "params": {"message": "rejected {{TOKEN}}"}}
        },
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "boom"}]
    });
    let mut request = request(workflow(state));
    request.spec.env.insert("TOKEN".into(), "s3cr3t-value".into());
    let result = run(&engine, request).await;
    let text = serde_json::to_string(&result).unwrap();
    assert!(!text.contains("s3cr3t-value"), "{text}");
    assert_eq!(result.output["call"], json!({"auth": "Bearer [REDACTED]"}));
    assert_eq!(result.error.as_deref(), Some("Boom: rejected [REDACTED]"));
}

#[tokio::test]
async fn env_references_resolve_only_where_granted() {
    let (engine, runner) = engine();
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "granted": {"type": "echo", "name": "Granted", "env": ["TOKEN"], "params": {"t": "{{TOKEN}}", "j": "{{name}}"}},
            "thief": {"type": "echo", "name": "Thief", "params": {"t": "{{TOKEN}}"}}
        },
        "edges": [{"source": "start", "target": "granted"}, {"source": "start", "target": "thief"}]
    });
    let mut refused = request(workflow(state.clone()));
    refused.spec.env.insert("TOKEN".into(), "s3cr3t-value".into());
    let ExecuteError::Invalid(problems) = engine.execute(refused).await.unwrap_err() else {
        panic!("expected Invalid")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].block_id.as_deref(), problems[0].field.as_deref()), (Some("thief"), Some("params.t")));
    assert!(problems[0].message.contains("`TOKEN`"), "{problems:?}");
    assert_eq!(runner.total_runs(), 0);

    let mut state = state;
    state["blocks"].as_object_mut().unwrap().remove("thief");
    state["edges"].as_array_mut().unwrap().pop();
    let mut allowed = request(workflow(state));
    allowed.spec.env.insert("TOKEN".into(), "s3cr3t-value".into());
    let result = run(&engine, allowed).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    // The value reached the block (the output is redacted afterwards); `{{name}}` stayed text.
    assert_eq!(result.output["granted"], json!({"t": "[REDACTED]", "j": "{{name}}"}));
}

#[tokio::test]
async fn a_while_condition_gets_its_references_as_values() {
    let (engine, runner) = engine();
    let member = json!({"type": "echo", "name": "Each", "parentId": "loop1"});
    let state = in_loop(json!({"nodes": ["each"], "loopType": "while", "whileCondition": "<loop.index> < 2"}), member);
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    let evaluated = runner.evaluated.lock().unwrap().clone();
    let expected: Vec<(String, Vec<Value>)> = (0..3).map(|i| ("__refs[0] < 2".to_string(), vec![json!(i)])).collect();
    assert_eq!(evaluated, expected, "the source never holds the value");
}

#[tokio::test]
async fn an_invalid_workflow_is_rejected_before_anything_runs() {
    let (engine, runner) = engine();
    let state = json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "x": {"type": "nope", "name": "X"}},
        "edges": [{"source": "start", "target": "x"}, {"source": "x", "target": "ghost"}]
    });
    let error = engine.execute(request(workflow(state))).await.unwrap_err();
    let ExecuteError::Invalid(problems) = error else { panic!("expected Invalid") };
    assert!(problems.len() >= 2, "{problems:?}");
    assert_eq!(runner.total_runs(), 0);
}

fn diamond() -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "left": {"type": "echo", "name": "Left", "params": {"n": "<start.n>"}},
            "right": {"type": "echo", "name": "Right", "params": {"n": "<start.n>"}},
            "join": {"type": "echo", "name": "Join", "params": {"left": "<left.n>", "right": "<right.n>"}},
            "each": {"type": "echo", "name": "Each"}
        },
        "edges": [
            {"source": "start", "target": "left"},
            {"source": "start", "target": "right"},
            {"source": "left", "target": "join"},
            {"source": "right", "target": "join"},
            {"source": "start", "target": "loop1"}
        ],
        "loops": {"loop1": {"nodes": ["each"], "loopType": "for", "iterations": 2}}
    })
}

#[tokio::test]
async fn run_from_block_reruns_the_block_and_its_downstream_only() {
    let (engine, _) = engine();
    let first = run(&engine, request(workflow(diamond()))).await;
    assert_eq!(first.status, ExecutionStatus::Completed, "{:?}", first.error);

    let (engine, runner) = support::engine();
    let mut again = request(workflow(diamond()));
    again.execution_id = "exec-2".into();
    again.spec.input = json!({"n": 99});
    again.spec.run_from =
        Some(sandflow_engine::RunFrom { start_block_id: "left".into(), previous: first.final_state.clone() });
    let rerun = run(&engine, again).await;
    assert_eq!(rerun.status, ExecutionStatus::Completed, "{:?}", rerun.error);
    assert_eq!(*runner.started.lock().unwrap(), ["left", "join"]);
    // `left` re-ran against the stored start output, not the new input.
    assert_eq!(rerun.output["join"], json!({"left": 1, "right": 1}));
    assert_eq!(rerun.output["loop1"], first.output["loop1"]);
    assert_eq!(rerun.logs.iter().map(|l| l.block_id.as_str()).collect::<Vec<_>>(), ["left", "join"]);
}

#[tokio::test]
async fn run_from_a_block_inside_a_container_is_refused() {
    let (engine, runner) = engine();
    let mut again = request(workflow(diamond()));
    again.spec.run_from =
        Some(sandflow_engine::RunFrom { start_block_id: "each".into(), previous: Default::default() });
    let error = engine.execute(again).await.unwrap_err();
    assert!(matches!(&error, ExecuteError::RunFrom(m) if m.contains("inside a loop or parallel")), "{error}");
    assert_eq!(runner.total_runs(), 0);
}

#[tokio::test]
async fn run_from_block_with_an_upstream_block_that_never_ran_is_refused() {
    let (engine, runner) = engine();
    let mut again = request(workflow(diamond()));
    again.spec.run_from =
        Some(sandflow_engine::RunFrom { start_block_id: "join".into(), previous: Default::default() });
    let error = engine.execute(again).await.unwrap_err();
    assert!(matches!(&error, ExecuteError::RunFrom(m) if m.contains("`left`") && m.contains("never ran")), "{error}");
    assert_eq!(runner.total_runs(), 0);
}

#[tokio::test]
async fn a_timed_pause_is_a_time_pause_point_with_its_resume_time() {
    let (engine, _) = engine();
    let state = json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "wait": {"type": "timer", "name": "Wait", "params": {"ms": 3_600_000}}},
        "edges": [{"source": "start", "target": "wait"}]
    });
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Paused);
    let point = &result.pause_points[0];
    assert_eq!(point.pause_kind, PauseKind::Time);
    let registered =
        time::OffsetDateTime::parse(&point.registered_at, &time::format_description::well_known::Rfc3339).unwrap();
    let resume_at = time::OffsetDateTime::parse(
        point.resume_at.as_deref().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let delay = resume_at - registered;
    assert!(delay >= time::Duration::minutes(59) && delay <= time::Duration::minutes(61), "{delay}");
}

#[tokio::test]
async fn a_foreach_collection_may_be_json_text_behind_a_reference() {
    let member = json!({"type": "echo", "name": "Each", "parentId": "loop1", "params": {"item": "<loop.currentItem>"}});
    let loop_def = json!({"nodes": ["each"], "loopType": "forEach", "forEachItems": "<start.list>"});
    let (engine, _) = engine();
    let mut req = request(workflow(in_loop(loop_def.clone(), member.clone())));
    req.spec.input = json!({"list": "[\"a\", \"b\"]"});
    let result = run(&engine, req).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(result.output["loop1"]["results"], json!([{"each": {"item": "a"}}, {"each": {"item": "b"}}]));
    // Text that is not JSON of an array or object is still refused, by name.
    let mut req = request(workflow(in_loop(loop_def, member)));
    req.spec.input = json!({"list": "a, b"});
    let result = run(&engine, req).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(
        result.error.as_deref(),
        Some("loop1: items must be an array, an object or JSON text of one, got the string \"a, b\"")
    );
}

/// start → wait → response → after, and start → spin (runs until stopped) → never.
fn responding() -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "wait": {"type": "slow", "name": "Wait", "params": {"ms": 50}},
            "reply": {"type": "response", "name": "Reply", "params": {"data": {"ok": true}, "status": 201}},
            "after": {"type": "echo", "name": "After"},
            "spin": {"type": "spin", "name": "Spin"},
            "never": {"type": "echo", "name": "Never"},
        },
        "edges": [
            {"source": "start", "target": "wait"}, {"source": "wait", "target": "reply"},
            {"source": "reply", "target": "after"},
            {"source": "start", "target": "spin"}, {"source": "spin", "target": "never"},
        ]
    })
}

#[tokio::test]
async fn a_response_block_ends_the_execution_as_completed() {
    let (engine, runner) = engine();
    let result = run(&engine, request(workflow(responding()))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert!(result.success);
    assert_eq!(result.output["reply"], json!({"data": {"ok": true}, "status": 201}));
    // What was running is stopped and leaves no output; nothing new starts.
    let started = runner.started.lock().unwrap().clone();
    assert!(started.contains(&"spin".to_string()), "{started:?}");
    for id in ["after", "never"] {
        assert!(!started.contains(&id.to_string()), "{id} started after the response: {started:?}");
    }
    let mut keys: Vec<&String> = result.output.keys().collect();
    keys.sort();
    assert_eq!(keys, ["reply", "start", "wait"]);
}

#[tokio::test]
async fn a_response_ends_the_execution_even_with_a_branch_paused() {
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "pause", "name": "Ask"},
            "wait": {"type": "slow", "name": "Wait", "params": {"ms": 30}},
            "reply": {"type": "response", "name": "Reply", "params": {"data": "done"}},
        },
        "edges": [
            {"source": "start", "target": "ask"},
            {"source": "start", "target": "wait"}, {"source": "wait", "target": "reply"},
        ]
    });
    let (engine, _) = engine();
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(result.output["reply"]["data"], json!("done"));
}

#[tokio::test]
async fn a_response_inside_a_loop_ends_the_whole_execution() {
    let member = json!({"type": "response", "name": "Reply", "parentId": "loop1", "params": {"data": "<loop.index>"}});
    let state = in_loop(json!({"nodes": ["each"], "loopType": "for", "iterations": 5}), member);
    let (engine, runner) = engine();
    let result = run(&engine, request(workflow(state))).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    assert_eq!(runner.runs_of("each"), 1, "the first iteration's response ends the loop");
    assert_eq!(runner.runs_of("after"), 0);
}

/// Records events, and commits each flush only after yielding to the
/// scheduler a few times, as a store's write would.
#[derive(Default)]
struct SlowCommits(Arc<std::sync::Mutex<Vec<String>>>);

impl sandflow_engine::ExecutionObserver for SlowCommits {
    fn event(&self, event: sandflow_engine::ExecutionEvent) {
        let line = match event {
            sandflow_engine::ExecutionEvent::BlockStarted { context_id, .. } => format!("started {context_id}"),
            sandflow_engine::ExecutionEvent::BlockFinished(checkpoint) => format!("finished {}", checkpoint.context_id),
        };
        self.0.lock().unwrap().push(line);
    }

    fn flushed(&self) -> futures::future::BoxFuture<'static, ()> {
        let log = self.0.clone();
        Box::pin(async move {
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            let mut log = log.lock().unwrap();
            let last = log.iter().rev().find_map(|line| line.strip_prefix("finished ")).unwrap_or("-").to_string();
            log.push(format!("committed {last}"));
        })
    }
}

#[tokio::test]
async fn a_block_that_acts_outside_starts_only_after_every_earlier_checkpoint_is_committed() {
    let (engine, _runner) = engine();
    let observer = Arc::new(SlowCommits::default());
    let mut state = chain(&["a", "b", "c"]);
    state["blocks"]["b"]["type"] = json!("call");
    let mut chained = request(workflow(state));
    chained.observer = Some(observer.clone());
    let result = run(&engine, chained).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    let log = observer.0.lock().unwrap().clone();
    let expected = [
        "started start",
        "finished start",
        "started a",
        "finished a",
        // `b` reaches outside: start and `a` are committed before it starts.
        "committed a",
        "started b",
        "finished b",
        // `c` only computes: it does not wait for `b`'s commit.
        "started c",
        "finished c",
    ];
    assert_eq!(log, expected);
}

#[tokio::test]
async fn blocks_that_only_compute_never_wait_for_a_commit() {
    let (engine, _runner) = engine();
    let observer = Arc::new(SlowCommits::default());
    let mut chained = request(workflow(chain(&["a", "b"])));
    chained.observer = Some(observer.clone());
    let result = run(&engine, chained).await;
    assert_eq!(result.status, ExecutionStatus::Completed, "{:?}", result.error);
    let log = observer.0.lock().unwrap().clone();
    assert!(!log.iter().any(|line| line.starts_with("committed")), "{log:?}");
    assert_eq!(log.len(), 6, "{log:?}");
}

#[tokio::test]
async fn a_failed_blocks_checkpoint_keeps_the_kind_of_failure_through_the_store() {
    let (engine, _) = engine();
    let recorder = Arc::new(Recorder::default());
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "bad": {"type": "fail", "name": "Bad", "params": {"message": "no luck"}}
        },
        "edges": [{"source": "start", "target": "bad"}]
    });
    let mut first = request(workflow(state));
    first.observer = Some(recorder.clone());
    let failed = run(&engine, first).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{:?}", failed.error);
    let checkpoint = recorder.0.lock().unwrap().iter().find(|c| c.block_id == "bad").cloned().expect("bad ran");

    // As a server stores it and reads it back after a crash.
    let stored = serde_json::to_value(&checkpoint).unwrap();
    assert_eq!(stored["outcome"], json!({"kind": "failed", "message": "no luck", "errorKind": "reported"}));
    let read: Checkpoint = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(read, checkpoint);
    assert!(matches!(
        read.outcome,
        CheckpointOutcome::Failed { error_kind: BlockErrorKind::Reported, ref message } if message == "no luck"
    ));

    // A checkpoint stored before kinds were kept still reads, as `other`.
    let mut older = stored;
    older["outcome"].as_object_mut().unwrap().remove("errorKind");
    let read: Checkpoint = serde_json::from_value(older).unwrap();
    assert!(matches!(read.outcome, CheckpointOutcome::Failed { error_kind: BlockErrorKind::Other, .. }));
}
