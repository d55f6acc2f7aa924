//! Every example in `examples/README.md` runs with `sandflow run` and gives
//! the result the README states.

use std::process::Command;

use serde_json::{Value, json};

use crate::scratch_file;

fn sandflow_run(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .arg("--cache-dir")
        .arg(sandflow_tests::component_cache_dir())
        .arg("run")
        .args(args)
        .output()
        .expect("sandflow runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let result = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), result, stderr)
}

#[test]
fn error_edge_example_takes_the_error_edge_only_on_failure() {
    let (code, result, stderr) = sandflow_run(&["examples/error-edge.json", "--input", r#"{"price": "21"}"#]);
    assert_eq!((code, &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(result["output"]["double"], json!({"result": 42}));
    assert!(result["output"].get("fallback").is_none());

    let (code, result, stderr) = sandflow_run(&["examples/error-edge.json", "--input", r#"{"price": "abc"}"#]);
    assert_eq!((code, &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    // jq 1.8's own message for `"abc" | tonumber`.
    let error = result["output"]["parse"]["error"].as_str().unwrap();
    assert_eq!(error, "string (\"abc\") cannot be parsed as a number", "{result:#}");
    assert_eq!(result["output"]["fallback"]["result"]["price"], json!(0));
    assert!(result["output"].get("double").is_none());
    assert!(stderr.contains("failed   parse"), "{stderr}");
}

#[test]
fn loop_example_totals_every_order() {
    let input = r#"{"orders": [{"id": 1, "net": 10}, {"id": 2, "net": 25}]}"#;
    let (code, result, stderr) = sandflow_run(&["examples/loop.json", "--input", input]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(result["output"]["each_order"]["results"].as_array().unwrap().len(), 2);
    assert_eq!(result["output"]["total"], json!({"result": 42.0}));
}

#[test]
fn parallel_example_fans_out_one_branch_per_word() {
    let input = r#"{"words": ["wasm", "sandbox", "flow"]}"#;
    let (code, result, stderr) =
        sandflow_run(&["examples/parallel-fan-out.json", "--input", input, "--max-parallel", "2"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(result["output"]["fan_out"]["results"].as_array().unwrap().len(), 3);
    assert_eq!(result["output"]["longest"], json!({"result": "sandbox"}));
}

#[test]
fn pause_example_pauses_then_resumes_the_same_execution_once() {
    let checkpoints = scratch_file("pause-example", "checkpoints.json", b"");
    let file = checkpoints.to_str().unwrap();
    let (code, paused, stderr) =
        sandflow_run(&["examples/pause.json", "--input", r#"{"order": 42}"#, "--checkpoints", file]);
    assert_eq!((code, &paused["status"]), (Some(0), &json!("paused")), "{stderr}");
    assert_eq!(paused["pausePoints"][0]["contextId"], json!("approve"));
    assert_eq!(paused["output"]["receipt"], json!({"result": "Order 42 received"}));

    let resume = [
        "examples/pause.json",
        "--checkpoints",
        file,
        "--resume",
        "approve",
        "--resume-input",
        r#"{"approved": true}"#,
    ];
    let (code, done, stderr) = sandflow_run(&resume);
    assert_eq!((code, &done["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(done["executionId"], paused["executionId"]);
    assert_eq!(done["output"]["refund"], json!({"result": {"refunded": true}}));
    assert!(stderr.contains("finished approve") && !stderr.contains("finished receipt"), "{stderr}");

    let (code, _, stderr) = sandflow_run(&resume);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("pause point `approve` was already resumed"), "{stderr}");
}

#[test]
fn an_invalid_workflow_is_reported_with_every_problem() {
    let workflow = scratch_file(
        "invalid-workflow",
        "bad.json",
        br#"{"blocks": {"x": {"type": "nope", "name": "X"}}, "edges": [{"source": "x", "target": "ghost"}]}"#,
    );
    let (code, _, stderr) = sandflow_run(&[workflow.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid workflow"), "{stderr}");
    assert!(stderr.contains("nope") && stderr.contains("ghost") && stderr.contains("start"), "{stderr}");
}

#[test]
fn subworkflow_example_runs_the_loop_example_as_a_child() {
    let input = r#"{"orders": [{"id": 1, "net": 10}, {"id": 2, "net": 25}]}"#;
    let (code, result, stderr) = sandflow_run(&["examples/subworkflow.json", "--input", input]);
    assert_eq!((code, &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(result["output"]["report"], json!({"result": "total: 42.0"}));
    assert_eq!(result["output"]["totals"]["workflowId"], json!("loop"));
    assert_eq!(result["output"]["totals"]["parentExecutionId"], result["executionId"]);
}

#[test]
fn branching_example_takes_only_the_branch_its_condition_selects() {
    let (code, result, stderr) = sandflow_run(&["examples/branching.json", "--input", r#"{"total": 250}"#]);
    assert_eq!((code, &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(result["output"]["review"], json!({"result": {"queue": "review", "total": 250}}));
    assert!(result["output"].get("auto").is_none());
    assert_eq!(result["finalState"]["decisions"]["check"], json!("big"));

    let (_, result, stderr) = sandflow_run(&["examples/branching.json", "--input", r#"{"total": 20}"#]);
    assert_eq!(result["output"]["auto"], json!({"result": {"queue": "auto", "total": 20}}), "{stderr}");
    assert!(result["output"].get("review").is_none());
}

/// A local HTTP server answering `/items.json`, on its own thread and runtime.
fn items_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let app = axum::Router::new()
                .route("/items.json", axum::routing::get(|| async { axum::Json(json!({"items": ["a", "b", "c"]})) }));
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

#[test]
fn api_example_fetches_from_an_allowed_server_and_the_metadata_call_is_refused() {
    let addr = items_server();
    let input = format!(r#"{{"url": "http://{addr}/items.json"}}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["--allow-http", "127.0.0.1", "--cache-dir"])
        .arg(sandflow_tests::component_cache_dir())
        .args(["run", "examples/api.json", "--input", &input])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!((out.status.code(), &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(result["output"]["fetch"]["status"], 200);
    assert_eq!(result["output"]["count"], json!({"result": 3, "stdout": ""}));
    let refused = result["output"]["refused"]["result"].as_str().unwrap();
    assert!(refused.contains("request refused: 169.254.169.254"), "{refused}");

    // Without the allow-list entry the local server is refused too.
    let (code, result, stderr) = sandflow_run(&["examples/api.json", "--input", &input]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(result["error"].as_str().unwrap().contains("127.0.0.1 is a loopback address"), "{result}");
}

#[test]
fn wait_example_sleeps_then_waits_out_a_timed_pause() {
    let (code, result, stderr) = sandflow_run(&["examples/wait.json"]);
    assert_eq!((code, &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(result["output"]["done"]["result"], json!(["slept", "paused"]));
    assert!(stderr.contains("waiting  long"), "{stderr}");
    assert_eq!(result["pausePoints"][0]["pauseKind"], "time");
    assert_eq!(result["pausePoints"][0]["resumeStatus"], "resumed");
}

#[test]
fn order_summary_example_routes_renders_and_responds() {
    let input = r#"{"customer": "Ada", "country": "nl", "items": [1, 2]}"#;
    let (code, result, stderr) = sandflow_run(&["examples/order-summary.json", "--input", input]);
    assert_eq!((code, &result["status"]), (Some(0), &json!("completed")), "{stderr}");
    assert_eq!(result["output"]["route"]["selectedRoute"], "eu");
    assert_eq!(
        result["output"]["reply_eu"],
        json!({"data": {"message": "Dear Ada, your 2 items ship from Rotterdam."}, "status": 201, "headers": {}})
    );
    assert!(result["output"].get("world_text").is_none() && result["output"].get("reply_world").is_none());
    assert_eq!(result["finalState"]["variables"]["customer"], "Ada");

    let input = r#"{"customer": "Bo", "country": "us", "items": [1]}"#;
    let (_, result, stderr) = sandflow_run(&["examples/order-summary.json", "--input", input]);
    assert_eq!(
        result["output"]["reply_world"]["data"]["message"], "Dear Bo, your 1 items ship from Austin.",
        "{stderr}"
    );
}
