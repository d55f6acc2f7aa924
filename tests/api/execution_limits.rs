//! Every execution ends, within its budgets: redaction that cannot corrupt a
//! result, engine failures that fail the execution and give its slot back,
//! per-execution budgets on outputs, variables and logs, bounded timed
//! pauses, one JSON depth on the way in and back from the store (issue 11,
//! findings 1, 3, 4, 5, 7, 11, 13 and the number secret of 16).

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::flows;
use crate::harness::{Resp, Server, shared};

/// Registers the hostile test guest as the tenant's `hostile` block.
fn register_hostile(server: &Server, token: &str) {
    Resp::from(
        server
            .request(Method::POST, "/v1/blocks?type=hostile", Some(token))
            .header(CONTENT_TYPE, "application/wasm")
            .body(sandflow_tests::guests::HOSTILE.to_vec())
            .send(),
    )
    .expect(201);
}

/// `start` → `h`, the hostile block doing `attack`.
fn hostile(attack: Value) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "h": {"type": "hostile", "name": "Hostile", "params": attack}
        },
        "edges": [{"source": "start", "target": "h"}]
    })
}

/// `start` → a parallel of `count` branches, each running `member`.
fn fan_out(count: u64, member: Value) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "m": member,
        },
        "edges": [{"source": "start", "target": "p"}],
        "parallels": {"p": {"nodes": ["m"], "parallelType": "count", "count": count}}
    })
}

/// The value of a gauge or counter on `/metrics`.
fn metric(server: &Server, name: &str) -> f64 {
    let text = server.request(Method::GET, "/metrics", None).send().expect("metrics").text().expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn assert_failed_naming(result: &Value, needle: &str) {
    assert_eq!(result["status"], "failed", "{result:#}");
    let error = result["error"].as_str().unwrap_or_default();
    assert!(error.contains(needle), "the error names {needle:?}: {error}");
}

#[test]
fn environment_values_found_in_json_text_leave_every_execution_finished_and_the_slot_free() {
    // Finding 1: `e`, `on`, `us`, `error`, `human` occur in the result's own
    // JSON text; replacing that text broke the result and leaked the slot.
    let server = Server::start(&[]);
    let token = server.token("limits-env-text");
    let values = ["e", "on", "us", "error", "human"];
    let state = flows::function("return {region: 'us', note: 'a human error', on: true};");
    // 1,100 executes on four connections, each carrying one of the values.
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (server, token, state) = (&server, &token, &state);
            scope.spawn(move || {
                for n in 0..275 {
                    let value = values[(thread * 275 + n) % values.len()];
                    let mut request = flows::inline("env-text", state.clone());
                    request["options"] = json!({"environmentVariables": {"V": value}});
                    let result = server.execute(token, &request).expect(200);
                    assert_eq!(result["status"], "completed", "{result:#}");
                    assert_eq!(result["output"]["f"]["result"]["region"], "us", "{result:#}");
                }
            });
        }
    });
    assert_eq!(metric(&server, "sandflow_executions_in_flight"), 0.0);
    // "human" and "error" are long enough to redact: in values, never in keys.
    let mut request = flows::inline("env-text", state);
    request["options"] = json!({"environmentVariables": {"A": "human", "B": "error"}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["output"]["f"]["result"], json!({"region": "us", "note": "a [REDACTED] [REDACTED]", "on": true}));
    assert!(result["logs"][1].get("error").is_some(), "keys survive: {result:#}");
    // Another tenant is served at once.
    let other = server.token("limits-env-text-other");
    let result = server.execute(&other, &flows::inline("other", flows::function("return 1;"))).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
}

#[test]
fn a_secret_returned_as_a_number_is_redacted() {
    let server = shared();
    let token = server.token("limits-number-secret");
    let mut request = flows::inline("pin", flows::function("return {pin: 123456, other: 1234567};"));
    request["options"] = json!({"environmentVariables": {"PIN": "123456"}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["output"]["f"]["result"], json!({"pin": "[REDACTED]", "other": 1234567}), "{result:#}");
    assert!(!result.to_string().contains("123456,"), "{result:#}");
}

#[test]
fn a_timed_pause_far_in_the_future_fails_its_block_and_the_execution_ends() {
    let server = shared();
    let token = server.token("limits-far-timer");
    register_hostile(server, &token);
    for ms in [1_000_000_000_000_000u64, u64::MAX / 2] {
        let state = hostile(json!({"attack": "pause", "response": {}, "resume_after_ms": ms}));
        let result = server.execute(&token, &flows::inline("far", state)).expect(200);
        assert_failed_naming(&result, "366 days");
        let id = result["executionId"].as_str().unwrap();
        let stored = server.get(&format!("/v1/executions/{id}"), &token).expect(200);
        assert_eq!(stored["status"], "failed", "{stored:#}");
    }
}

#[test]
fn a_timed_pause_whose_schema_refuses_the_timers_input_fails_instead_of_retrying() {
    let server = shared();
    let token = server.token("limits-timer-schema");
    register_hostile(server, &token);
    let schema = json!({"type": "object", "required": ["approved"]});
    let state = hostile(json!({"attack": "pause", "response": {}, "resume_after_ms": 50, "input_schema": schema}));
    let result = server.execute(&token, &flows::inline("timer-schema", state)).expect(200);
    assert_failed_naming(&result, "must accept the timer's resume input");
}

#[test]
fn outputs_past_the_execution_budget_fail_it_naming_the_limit() {
    // Finding 4: 200 branches of 1 MB each from a 300-byte request.
    let server = shared();
    let token = server.token("limits-output-budget");
    let member =
        json!({"type": "function", "name": "Big", "params": {"code": "return Array(900).fill('x'.repeat(1000));"}});
    let response = server.execute(&token, &flows::inline("amplify", fan_out(200, member)));
    let result = response.expect(200);
    assert_failed_naming(&result, "maxOutputBytes");
    let size = result.to_string().len();
    assert!(size < 64 << 20, "the answer stays bounded: {size} bytes");
}

#[test]
fn variable_writes_past_the_budget_fail_the_execution() {
    // The `variables` block also outputs what it assigned: a variable budget
    // below the output budget is the one this loop spends first.
    let server = Server::start(&["--max-variable-bytes", "2000000"]);
    let token = server.token("limits-variable-budget");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "set": {"type": "variables", "name": "Set", "parentId": "loop",
                    "params": {"assignments": [{"name": "big", "value": "<start.big>"}]}}
        },
        "edges": [{"source": "start", "target": "loop"}],
        "loops": {"loop": {"nodes": ["set"], "loopType": "for", "iterations": 100}},
        "variables": {"v1": {"name": "big", "type": "string", "value": ""}}
    });
    let mut request = flows::inline("variables-budget", state);
    request["options"] = json!({"input": {"big": "v".repeat(200_000)}});
    let result = server.execute(&token, &request).expect(200);
    assert_failed_naming(&result, "more than 2000000 bytes of variable writes (limit `maxVariableBytes`)");
}

#[test]
fn empty_log_entries_are_counted_per_run_and_per_execution() {
    // Finding 5: two million empty `log` calls passed the byte cap.
    let server = shared();
    let token = server.token("limits-log-entries");
    register_hostile(server, &token);
    let flood = hostile(json!({"attack": "empty_logs", "count": 2_000_000}));
    let result = server.execute(&token, &flows::inline("log-flood", flood)).expect(200);
    assert_failed_naming(&result, "log entries");
    let member = json!({"type": "hostile", "name": "Logs", "params": {"attack": "empty_logs", "count": 900}});
    let result = server.execute(&token, &flows::inline("log-budget", fan_out(20, member))).expect(200);
    assert_failed_naming(&result, "maxLogEntries");
}

#[test]
fn a_refused_resume_does_not_echo_a_granted_secret() {
    // Finding 11: a schema `enum` holding `{{SECRET}}` was quoted in the 400.
    let server = shared();
    let token = server.token("limits-resume-secret");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "human_in_the_loop", "name": "Ask", "env": ["SECRET"],
                    "params": {"response": {"question": "code?"},
                               "inputSchema": {"type": "object", "properties": {"code": {"enum": ["{{SECRET}}"]}}}}}
        },
        "edges": [{"source": "start", "target": "ask"}]
    });
    let mut request = flows::inline("resume-secret", state);
    request["options"] = json!({"environmentVariables": {"SECRET": "swordfish-42"}});
    let paused = server.execute(&token, &request).expect(202);
    assert!(!paused.to_string().contains("swordfish-42"), "{paused:#}");
    let id = paused["executionId"].as_str().unwrap();
    let context = paused["pausePoints"][0]["contextId"].as_str().unwrap();
    let body = json!({"contextId": context, "input": {"code": "guess"}});
    let refused =
        server.post(&format!("/v1/executions/{id}/resume"), &token, &body).expect_error(400, "invalid_resume_input");
    assert!(!refused.to_string().contains("swordfish-42"), "{refused:#}");
    assert!(refused.to_string().contains("[REDACTED]"), "{refused:#}");
}

#[test]
fn outputs_nested_past_the_depth_limit_fail_their_block_and_every_read_works() {
    // Finding 13: a 127-deep output was stored but could not be read back.
    let server = shared();
    let token = server.token("limits-depth");
    register_hostile(server, &token);
    for (depth, expected) in [(127, "failed"), (64, "completed")] {
        let state = hostile(json!({"attack": "nest", "depth": depth}));
        let result = server.execute(&token, &flows::inline("deep", state)).expect(200);
        assert_eq!(result["status"], expected, "depth {depth}: {}", result["error"]);
        if expected == "failed" {
            assert_failed_naming(&result, "maxJsonDepth");
        }
        let id = result["executionId"].as_str().unwrap();
        let stored = server.get(&format!("/v1/executions/{id}"), &token).expect(200);
        assert_eq!(stored["status"], expected);
        let events = server.request(Method::GET, &format!("/v1/executions/{id}/events"), Some(&token)).send().unwrap();
        assert_eq!(events.status(), 200);
        assert!(events.text().unwrap().contains("execution_finished"));
    }
}

#[test]
fn request_bodies_nested_past_the_depth_limit_are_refused_before_anything_is_stored() {
    let server = shared();
    let token = server.token("limits-body-depth");
    let mut input = json!(1);
    for _ in 0..100 {
        input = json!([input]);
    }
    let mut request = flows::inline("deep-input", flows::function("return 1;"));
    request["options"] = json!({"input": input, "executionId": "deep-input-1"});
    let refused = server.execute(&token, &request).expect_error(400, "bad_request");
    assert!(refused["error"].as_str().unwrap().contains("nests deeper than"), "{refused:#}");
    server.get("/v1/executions/deep-input-1", &token).expect_error(404, "not_found");
}
