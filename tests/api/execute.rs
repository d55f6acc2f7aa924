//! `POST /v1/workflows/execute` and `GET /v1/executions/{id}`.

use serde_json::{Value, json};

use crate::flows;
use crate::harness::shared;

/// Creates workflow `id` with `state` as its draft.
fn create(token: &str, id: &str, state: Value) {
    shared().post("/v1/workflows", token, &json!({"id": id, "name": id, "state": state})).expect(201);
}

#[test]
fn execute_answers_200_with_the_execution_result() {
    let server = shared();
    let token = server.token("ex-shape");
    let mut request = flows::inline("shape", flows::function("console.log('doubling'); return input.n * 2;"));
    request["options"] = json!({"input": {"n": 21}});
    let result = server.execute(&token, &request).expect(200);

    assert_eq!(result["success"], true, "{result:#}");
    assert_eq!(result["status"], "completed");
    assert!(result["executionId"].as_str().is_some_and(|id| !id.is_empty()), "{result:#}");
    assert_eq!(result["output"]["start"], json!({"n": 21}), "{result:#}");
    assert_eq!(result["output"]["f"]["result"], 42, "{result:#}");
    assert_eq!(result["error"], Value::Null);
    assert_eq!(result["pausePoints"], json!([]));

    let logs = result["logs"].as_array().expect("logs");
    let log = logs.iter().find(|l| l["blockId"] == "f").expect("a log of the function block");
    assert_eq!(log["blockName"], "Compute");
    assert_eq!(log["blockType"], "function");
    assert_eq!(log["success"], true);
    assert_eq!(log["errorHandled"], false);
    assert_eq!(log["error"], Value::Null);
    assert_eq!(log["output"]["result"], 42);
    assert_eq!(log["input"]["input"], json!({"n": 21}), "the resolved params: {log:#}");
    assert!(log["fuelConsumed"].as_u64().is_some_and(|fuel| fuel > 0), "{log:#}");
    assert!(log["memoryPeakBytes"].as_u64().is_some_and(|bytes| bytes > 0), "{log:#}");
    assert!(log["executionOrder"].is_u64() && log["durationMs"].is_u64(), "{log:#}");
    assert!(log["startedAt"].is_string() && log["endedAt"].is_string(), "{log:#}");
    for key in ["loopId", "parallelId", "iterationIndex"] {
        assert!(log.get(key).is_some(), "{key} missing: {log:#}");
    }
    assert!(log["guestLogs"].is_array(), "{log:#}");

    let final_state = &result["finalState"];
    assert_eq!(final_state["blockStates"]["f"]["executed"], true, "{final_state:#}");
    assert_eq!(final_state["blockStates"]["f"]["output"]["result"], 42, "{final_state:#}");
    let executed = final_state["executedBlocks"].as_array().expect("executedBlocks");
    assert!(executed.contains(&json!("start")) && executed.contains(&json!("f")), "{final_state:#}");
    assert!(final_state["decisions"].is_object() && final_state["variables"].is_object(), "{final_state:#}");
}

#[test]
fn get_execution_returns_the_stored_result() {
    let server = shared();
    let token = server.token("ex-get");
    let result = server.execute(&token, &flows::inline("stored", flows::function("return 'kept';"))).expect(200);
    let id = result["executionId"].as_str().unwrap();
    let stored = server.get(&format!("/v1/executions/{id}"), &token).expect(200);
    assert_eq!(stored["executionId"], id);
    assert_eq!(stored["status"], "completed");
    assert_eq!(stored["success"], true);
    assert_eq!(stored["output"], result["output"]);
    assert_eq!(stored["finalState"], result["finalState"]);
    assert_eq!(stored["logs"].as_array().map(Vec::len), result["logs"].as_array().map(Vec::len));
    server.get("/v1/executions/no-such-execution", &token).expect_error(404, "not_found");
}

#[test]
fn the_deployed_version_runs_unless_use_draft_state_is_set() {
    let server = shared();
    let token = server.token("ex-versions");
    create(&token, "versioned", flows::function("return 'deployed';"));
    server.post("/v1/workflows/versioned/deploy", &token, &json!({})).expect(200);
    server
        .put("/v1/workflows/versioned/draft", &token, &json!({"state": flows::function("return 'draft';")}))
        .expect(200);

    let deployed = server.execute(&token, &json!({"workflowId": "versioned"})).expect(200);
    assert_eq!(deployed["output"]["f"]["result"], "deployed", "{deployed:#}");
    let draft = server.execute(&token, &json!({"workflowId": "versioned", "useDraftState": true})).expect(200);
    assert_eq!(draft["output"]["f"]["result"], "draft", "{draft:#}");
    let explicit = server.execute(&token, &json!({"workflowId": "versioned", "useDraftState": false})).expect(200);
    assert_eq!(explicit["output"]["f"]["result"], "deployed", "{explicit:#}");
}

#[test]
fn a_workflow_never_deployed_is_409_not_deployed_without_use_draft_state() {
    let server = shared();
    let token = server.token("ex-not-deployed");
    create(&token, "undeployed", flows::function("return 1;"));
    server.execute(&token, &json!({"workflowId": "undeployed"})).expect_error(409, "not_deployed");
    server.execute(&token, &json!({"workflowId": "undeployed", "useDraftState": true})).expect(200);
}

#[test]
fn an_unknown_workflow_is_404() {
    let server = shared();
    let token = server.token("ex-unknown");
    server.execute(&token, &json!({"workflowId": "ghost"})).expect_error(404, "not_found");
    server.execute(&token, &json!({"workflowId": "ghost", "useDraftState": true})).expect_error(404, "not_found");
}

#[test]
fn an_inline_workflow_needs_workflows_write() {
    let server = shared();
    let execute_only = server.token_scoped("ex-inline", "workflows:execute");
    server
        .execute(&execute_only, &flows::inline("inline-only", flows::function("return 1;")))
        .expect_error(403, "forbidden");
    let writer = server.token_scoped("ex-inline", "workflows:execute workflows:write");
    let result = server.execute(&writer, &flows::inline("inline-only", flows::function("return 1;"))).expect(200);
    assert_eq!(result["output"]["f"]["result"], 1);
    // The inline run only names the workflow; nothing was stored under that ID.
    let reader = server.token("ex-inline");
    server.get("/v1/workflows/inline-only", &reader).expect_error(404, "not_found");
}

#[test]
fn unknown_fields_are_400_at_the_top_level_and_in_options() {
    let server = shared();
    let token = server.token("ex-unknown-fields");
    let mut top = flows::inline("fields", flows::function("return 1;"));
    top["surprise"] = json!(true);
    let error = server.execute(&token, &top).expect_error(400, "bad_request");
    assert!(error["error"].as_str().unwrap().contains("surprise"), "{error}");

    let mut nested = flows::inline("fields", flows::function("return 1;"));
    nested["options"] = json!({"input": {}, "retries": 3});
    let error = server.execute(&token, &nested).expect_error(400, "bad_request");
    assert!(error["error"].as_str().unwrap().contains("retries"), "{error}");

    let missing_id = json!({"workflow": flows::function("return 1;")});
    server.execute(&token, &missing_id).expect_error(400, "bad_request");
}

#[test]
fn max_parallel_nodes_outside_1_to_64_is_400() {
    let server = shared();
    let token = server.token("ex-parallel");
    for bad in [0, 65, -1] {
        let mut request = flows::inline("parallel", flows::function("return 1;"));
        request["options"] = json!({"maxParallelNodes": bad});
        server.execute(&token, &request).expect_error(400, "bad_request");
    }
    for good in [1, 64] {
        let mut request = flows::inline("parallel", flows::function("return 1;"));
        request["options"] = json!({"maxParallelNodes": good});
        server.execute(&token, &request).expect(200);
    }
}

#[test]
fn a_call_chain_holding_the_workflow_itself_is_409_workflow_cycle() {
    let server = shared();
    let token = server.token("ex-cycle");
    let mut request = flows::inline("looping", flows::function("return 1;"));
    request["callChain"] = json!(["caller", "looping"]);
    server.execute(&token, &request).expect_error(409, "workflow_cycle");

    request["callChain"] = json!(["caller", ""]);
    server.execute(&token, &request).expect_error(400, "bad_request");
    request["callChain"] = json!(["caller"]);
    server.execute(&token, &request).expect(200);
}

#[test]
fn a_reused_execution_id_is_409_execution_exists() {
    let server = shared();
    let token = server.token("ex-reuse");
    let mut request = flows::inline("reuse", flows::function("return 'first';"));
    request["options"] = json!({"executionId": "fixed-id-1"});
    let first = server.execute(&token, &request).expect(200);
    assert_eq!(first["executionId"], "fixed-id-1");

    request["workflow"] = flows::function("return 'second';");
    server.execute(&token, &request).expect_error(409, "execution_exists");
    let stored = server.get("/v1/executions/fixed-id-1", &token).expect(200);
    assert_eq!(stored["output"]["f"]["result"], "first", "the first execution is untouched: {stored:#}");
}

#[test]
fn environment_values_never_appear_in_results_or_logs() {
    let server = shared();
    let token = server.token("ex-redact");
    let secret = "s3cr3t-Value-9f2c";
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "f": {"type": "function", "name": "Leak", "env": ["API_KEY"],
                  "params": {"code": "console.log('key is ' + input.key); return {echo: input.key, header: input.header};",
                             "input": {"key": "{{API_KEY}}", "header": "Bearer {{API_KEY}}"}}},
            "boom": {"type": "function", "name": "Boom", "env": ["API_KEY"],
                     "params": {"code": "throw new Error('rejected ' + input.key);", "input": {"key": "{{API_KEY}}"}}}
        },
        "edges": [{"source": "start", "target": "f"}, {"source": "f", "target": "boom"}]
    });
    let mut request = flows::inline("redact", state);
    request["options"] = json!({"environmentVariables": {"API_KEY": secret}});
    let response = server.execute(&token, &request);
    assert!(!response.text.contains(secret), "the secret leaked: {}", response.text);
    let result = response.expect(200);
    assert_eq!(result["status"], "failed", "{result:#}");
    assert_eq!(result["output"]["f"]["result"]["echo"], "[REDACTED]", "{result:#}");
    assert_eq!(result["output"]["f"]["result"]["header"], "Bearer [REDACTED]", "{result:#}");
    assert!(result["output"]["f"]["stdout"].as_str().unwrap().contains("[REDACTED]"), "{result:#}");
    assert!(result["error"].as_str().unwrap().contains("[REDACTED]"), "{result:#}");

    let id = result["executionId"].as_str().unwrap();
    let stored = server.get(&format!("/v1/executions/{id}"), &token);
    assert!(!stored.text.contains(secret), "the stored result leaks the secret: {}", stored.text);
    let events = server.get(&format!("/v1/executions/{id}/events"), &token);
    assert!(!events.text.contains(secret), "the events leak the secret: {}", events.text);
}

#[test]
fn a_failing_block_without_an_error_edge_fails_the_execution_with_200() {
    let server = shared();
    let token = server.token("ex-fail");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "f": {"type": "function", "name": "Explode", "params": {"code": "throw new Error('boom');"}},
            "next": {"type": "function", "name": "Next", "params": {"code": "return 1;"}}
        },
        "edges": [{"source": "start", "target": "f"}, {"source": "f", "target": "next"}]
    });
    let result = server.execute(&token, &flows::inline("failing", state)).expect(200);
    assert_eq!(result["success"], false, "{result:#}");
    assert_eq!(result["status"], "failed");
    let error = result["error"].as_str().expect("an error");
    assert!(error.starts_with("Explode: "), "{error}");
    assert!(error.contains("boom"), "{error}");
    assert!(result["output"].get("next").is_none(), "nothing runs after the failure: {result:#}");
    let log =
        result["logs"].as_array().unwrap().iter().find(|l| l["blockId"] == "f").expect("a log of the failed block");
    assert_eq!(log["success"], false);
    assert!(log["error"].as_str().is_some_and(|e| e.contains("boom")), "{log:#}");

    let stored = server.get(&format!("/v1/executions/{}", result["executionId"].as_str().unwrap()), &token).expect(200);
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["error"], result["error"]);
}

#[test]
fn a_failing_block_with_an_error_edge_is_handled() {
    let server = shared();
    let token = server.token("ex-error-edge");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "f": {"type": "function", "name": "Explode", "params": {"code": "throw new Error('boom');"}},
            "ok": {"type": "function", "name": "Ok", "params": {"code": "return 'unreached';"}},
            "fallback": {"type": "function", "name": "Fallback",
                         "params": {"code": "return 'handled: ' + input;", "input": "<f.error>"}}
        },
        "edges": [
            {"source": "start", "target": "f"},
            {"source": "f", "target": "ok"},
            {"source": "f", "target": "fallback", "sourceHandle": "error"}
        ]
    });
    let result = server.execute(&token, &flows::inline("handled", state)).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert!(result["output"]["f"]["error"].as_str().is_some_and(|e| e.contains("boom")), "{result:#}");
    assert!(result["output"]["fallback"]["result"].as_str().unwrap().starts_with("handled: "), "{result:#}");
    assert!(result["output"].get("ok").is_none(), "{result:#}");
    let log = result["logs"].as_array().unwrap().iter().find(|l| l["blockId"] == "f").unwrap();
    assert_eq!(log["errorHandled"], true, "{log:#}");
}

/// start → a (reads the input) → b (reads a).
fn two_steps() -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "a": {"type": "function", "name": "A", "params": {"code": "return input.n;", "input": "<start>"}},
            "b": {"type": "function", "name": "B", "params": {"code": "return input * 10;", "input": "<a.result>"}}
        },
        "edges": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"}]
    })
}

#[test]
fn run_from_block_keeps_upstream_outputs_and_reruns_downstream() {
    let server = shared();
    let token = server.token("ex-run-from");
    let mut first = flows::inline("steps", two_steps());
    first["options"] = json!({"executionId": "steps-1", "input": {"n": 1}});
    let first = server.execute(&token, &first).expect(200);
    assert_eq!(first["output"]["b"]["result"], 10, "{first:#}");

    let mut again = flows::inline("steps", two_steps());
    again["options"] = json!({"input": {"n": 2}});
    again["runFromBlock"] = json!({"executionId": "steps-1", "startBlockId": "b"});
    let again = server.execute(&token, &again).expect(200);
    assert_ne!(again["executionId"], "steps-1", "a new execution: {again:#}");
    assert_eq!(again["output"]["a"]["result"], 1, "a is upstream of b and keeps its output: {again:#}");
    assert_eq!(again["output"]["b"]["result"], 10, "{again:#}");
    let reran: Vec<_> = again["logs"].as_array().unwrap().iter().map(|l| l["blockId"].clone()).collect();
    assert!(reran.contains(&json!("b")) && !reran.contains(&json!("a")), "{reran:?}");

    let mut unknown = flows::inline("steps", two_steps());
    unknown["runFromBlock"] = json!({"executionId": "never-was", "startBlockId": "b"});
    server.execute(&token, &unknown).expect_error(404, "not_found");
    // Another tenant's execution is unknown too.
    let other = server.token("ex-run-from-other");
    let mut theirs = flows::inline("steps", two_steps());
    theirs["runFromBlock"] = json!({"executionId": "steps-1", "startBlockId": "b"});
    server.execute(&other, &theirs).expect_error(404, "not_found");
}

#[test]
fn a_workflow_block_runs_a_child_workflow_and_refuses_a_cycle() {
    let server = shared();
    let token = server.token("ex-subworkflow");
    server
        .post(
            "/v1/workflows",
            &token,
            &json!({"id": "child", "name": "Child", "state": flows::function("return input.n + 1;")}),
        )
        .expect(201);
    let parent = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "workflow", "name": "Call", "params": {"workflowId": "child", "input": {"n": 41}}}
        },
        "edges": [{"source": "start", "target": "call"}]
    });
    let result = server.execute(&token, &flows::inline("parent", parent)).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["call"]["output"]["f"]["result"], 42, "{result:#}");

    let selfish = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "again": {"type": "workflow", "name": "Again", "params": {"workflowId": "selfish"}}
        },
        "edges": [{"source": "start", "target": "again"}]
    });
    server.post("/v1/workflows", &token, &json!({"id": "selfish", "name": "Selfish", "state": selfish})).expect(201);
    let result = server.execute(&token, &json!({"workflowId": "selfish", "useDraftState": true})).expect(200);
    assert_eq!(result["status"], "failed", "{result:#}");
    assert!(result["error"].as_str().unwrap().contains("workflow_cycle"), "{result:#}");
}

#[test]
fn an_invalid_inline_workflow_or_execution_id_is_400() {
    let server = shared();
    let token = server.token("ex-invalid-inline");
    let state = json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "x": {"type": "nope", "name": "X"}},
        "edges": [{"source": "start", "target": "x"}]
    });
    let mut request = flows::inline("bad-inline", state);
    request["options"] = json!({"executionId": "bad-inline-1"});
    let error = server.execute(&token, &request).expect_error(400, "invalid_workflow");
    assert!(error["details"].as_array().unwrap().iter().any(|d| d["blockId"] == "x"), "{error:#}");
    // Refused before anything was stored: the ID is still free.
    server.get("/v1/executions/bad-inline-1", &token).expect_error(404, "not_found");

    let mut request = flows::inline("ok", flows::function("return 1;"));
    request["options"] = json!({"executionId": "has/slash"});
    server.execute(&token, &request).expect_error(400, "bad_request");
    request["options"] = json!({"executionId": ""});
    server.execute(&token, &request).expect_error(400, "bad_request");
}
