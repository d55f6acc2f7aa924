//! Issue 11, finding 2: JSON Schemas that refer back to themselves without
//! consuming input are refused with 400 wherever a tenant can hand one in
//! (a `human_in_the_loop` `inputSchema`, literal or by reference, and a
//! custom block's manifest), and the server's memory stays where it was.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::harness::{Resp, Server};

/// How much the server may grow while the bombs are thrown (the issue's bound).
const MEMORY_BOUND_BYTES: u64 = 100 << 20;

fn bombs() -> Vec<Value> {
    vec![
        json!({"allOf": [{"$ref": "#"}]}),
        json!({"anyOf": [{"$ref": "#"}]}),
        json!({"not": {"$ref": "#"}}),
        json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"oneOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}),
    ]
}

/// The server process's resident memory, from /proc.
fn rss_bytes(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).expect("the server runs");
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("VmRSS");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS in kB");
    kib * 1024
}

/// Runs `request` on its own thread while watching the server's memory: fails
/// (and the harness kills the server) as soon as it grows past the bound.
fn within_memory_bound(server: &Server, baseline: u64, what: &str, request: impl FnOnce() -> Resp + Send) -> Resp {
    std::thread::scope(|scope| {
        let (sender, answer) = mpsc::channel();
        scope.spawn(move || {
            let _ = sender.send(request());
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let grown = rss_bytes(server).saturating_sub(baseline);
            if grown >= MEMORY_BOUND_BYTES {
                // Killed at once: a bomb grows the server by gigabytes a second, and the
                // request thread (which the scope waits for) only returns once it is gone.
                // SAFETY: signals our own child process.
                unsafe { libc::kill(server.pid() as i32, libc::SIGKILL) };
                panic!("{what}: the server grew by {} MiB, past the bound", grown >> 20);
            }
            match answer.recv_timeout(Duration::from_millis(20)) {
                Ok(response) => return response,
                Err(mpsc::RecvTimeoutError::Timeout) => assert!(Instant::now() < deadline, "{what}: no answer"),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the request failed"),
            }
        }
    })
}

fn approval_with(schema: Value) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "approve": {"type": "human_in_the_loop", "name": "Approve",
                        "params": {"response": {"q": "?"}, "inputSchema": schema}}
        },
        "edges": [{"source": "start", "target": "approve"}]
    })
}

#[test]
fn self_referencing_schemas_are_refused_with_400_and_memory_stays_flat() {
    let server = Server::start(&[]);
    let token = server.token("bombs");
    // Warm up (the first execution loads what every later one shares), then measure.
    let warm = json!({"workflowId": "warm", "workflow": approval_with(json!({"type": "object"}))});
    server.execute(&token, &warm).expect(202);
    let baseline = rss_bytes(&server);

    for (n, bomb) in bombs().into_iter().enumerate() {
        // 1. A literal inputSchema: refused at validation, nothing runs.
        let request = json!({"workflowId": format!("bomb-{n}"), "workflow": approval_with(bomb.clone())});
        let refused = within_memory_bound(&server, baseline, "validation", || server.execute(&token, &request));
        let body = refused.expect_error(400, "invalid_workflow");
        let problem = &body["details"][0];
        assert_eq!(problem["field"], "params.inputSchema", "{body}");
        assert!(problem["message"].as_str().unwrap().contains("refers back to itself"), "{body}");

        // 2. The same schema by reference: it pauses, and the resume is refused.
        let request = json!({
            "workflowId": format!("bomb-ref-{n}"),
            "workflow": approval_with(json!("<start.schema>")),
            "options": {"executionId": format!("bomb-ref-{n}"), "input": {"schema": bomb}}
        });
        server.execute(&token, &request).expect(202);
        let resume = json!({"contextId": "approve", "input": {"approved": true}});
        let path = format!("/v1/executions/bomb-ref-{n}/resume");
        let refused = within_memory_bound(&server, baseline, "resume", || server.post(&path, &token, &resume));
        let body = refused.expect_error(400, "invalid_resume_input");
        assert!(body["error"].as_str().unwrap().contains("refers back to itself"), "{body}");
    }

    // 3. A custom block whose manifest input schema is a bomb: refused at upload.
    let component = sandflow_tests::wat_guests::with_input_schema(r##"{"allOf":[{"$ref":"#"}]}"##);
    let upload = || {
        Resp::from(
            server
                .request(reqwest::Method::POST, "/v1/blocks?type=bomb", Some(&token))
                .header(CONTENT_TYPE, "application/wasm")
                .body(component.clone())
                .send(),
        )
    };
    let body = within_memory_bound(&server, baseline, "upload", upload).expect_error(400, "invalid_schema");
    assert!(body["error"].as_str().unwrap().contains("input-schema"), "{body}");
    // Nothing was registered, and a sound schema through the same path is accepted.
    let blocks = server.get("/v1/blocks", &token).expect(200);
    assert!(!blocks["blocks"].as_array().unwrap().iter().any(|b| b["type"] == "bomb"), "{blocks}");
    let sound = sandflow_tests::wat_guests::with_input_schema(r#"{"type":"object"}"#);
    let registered = Resp::from(
        server
            .request(reqwest::Method::POST, "/v1/blocks?type=sound", Some(&token))
            .header(CONTENT_TYPE, "application/wasm")
            .body(sound)
            .send(),
    )
    .expect(201);
    assert_eq!(registered["manifest"]["inputSchema"], json!({"type": "object"}), "{registered}");

    // A tree schema (recursion through `properties`) is still fine.
    let tree = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
    let request = json!({"workflowId": "tree", "workflow": approval_with(tree),
                         "options": {"executionId": "tree-1"}});
    server.execute(&token, &request).expect(202);
    let resume = json!({"contextId": "approve", "input": {"child": {"child": {}}}});
    server.post("/v1/executions/tree-1/resume", &token, &resume).expect(200);
}
