//! Issue 11, finding 12: environment values never reach the data directory
//! in the clear: not in the stored request, not in checkpoints, not in the
//! WAL. The test is the issue's own: `strings` over the data directory.

use std::path::Path;

use serde_json::json;

use crate::harness::Server;

/// A value no workflow text, log line or key could contain by chance.
const SECRET: &str = "tok-7f3a9c1e-SEALED-5b2d";

/// Every file under `dir` (the SQLite file, its WAL and shared memory, the
/// keys, ...), read whole.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("the data dir reads").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.push((path.display().to_string(), bytes));
            }
        }
    }
    files
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn no_secret_value_is_found_in_the_data_directory() {
    let server = Server::start(&[]);
    let token = server.token("sealed");
    let env = json!({"TOKEN": SECRET});
    // A granted block that uses the value and returns it: its checkpoint holds
    // the resolved params and the output.
    let uses_it = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "use": {"type": "function", "name": "Use", "env": ["TOKEN"],
                    "params": {"code": "return input.token;", "input": {"token": "{{TOKEN}}"}}}
        },
        "edges": [{"source": "start", "target": "use"}]
    });
    let request = json!({"workflowId": "sealed-done", "workflow": uses_it,
                         "options": {"executionId": "sealed-1", "environmentVariables": env}});
    let done = server.execute(&token, &request).expect(200);
    assert_eq!(done["status"], "completed", "{done}");

    // The same, then a pause: the request stays stored until a resume comes.
    let mut paused_state = uses_it.clone();
    paused_state["blocks"]["approve"] = json!({"type": "human_in_the_loop", "name": "Approve",
                                               "params": {"response": {"question": "ok?"}}});
    paused_state["edges"] = json!([{"source": "start", "target": "use"}, {"source": "use", "target": "approve"}]);
    let request = json!({"workflowId": "sealed-paused", "workflow": paused_state,
                         "options": {"executionId": "sealed-2", "environmentVariables": env}});
    let paused = server.execute(&token, &request).expect(202);
    assert_eq!(paused["status"], "paused", "{paused}");

    let files = files_under(server.data_dir());
    assert!(files.iter().any(|(name, _)| name.ends_with("sandflow.db")), "no database among {files:?}");
    for (name, bytes) in &files {
        assert!(!holds(bytes, SECRET.as_bytes()), "{name} holds the secret value in the clear");
    }

    // Sealed is not lost: after a crash the paused execution still resumes,
    // and the block after the pause can still be given the value.
    let mut server = server;
    server.restart();
    let resumed = server
        .post("/v1/executions/sealed-2/resume", &token, &json!({"contextId": "approve", "input": {"ok": true}}))
        .expect(200);
    assert_eq!(resumed["status"], "completed", "{resumed}");
    for (name, bytes) in &files_under(server.data_dir()) {
        assert!(!holds(bytes, SECRET.as_bytes()), "{name} holds the secret value in the clear after the resume");
    }
}

#[test]
fn a_recovered_execution_opens_its_sealed_request_and_checkpoints() {
    let mut server = Server::start(&[]);
    let token = server.token("sealed-recovery");
    // The value is needed again after the restart: by the block after the pause.
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "first": {"type": "function", "name": "First", "env": ["TOKEN"],
                      "params": {"code": "return input.t.length;", "input": {"t": "{{TOKEN}}"}}},
            "approve": {"type": "human_in_the_loop", "name": "Approve", "params": {"response": {}}},
            "second": {"type": "function", "name": "Second", "env": ["TOKEN"],
                       "params": {"code": "return input.t.length + input.n;",
                                  "input": {"t": "{{TOKEN}}", "n": "<first.result>"}}}
        },
        "edges": [{"source": "start", "target": "first"}, {"source": "first", "target": "approve"},
                  {"source": "approve", "target": "second"}]
    });
    let request = json!({"workflowId": "sealed-recover", "workflow": state,
                         "options": {"executionId": "sealed-r1", "environmentVariables": {"TOKEN": SECRET}}});
    server.execute(&token, &request).expect(202);
    server.restart();
    let resumed = server
        .post("/v1/executions/sealed-r1/resume", &token, &json!({"contextId": "approve", "input": {}}))
        .expect(200);
    assert_eq!(resumed["status"], "completed", "{resumed}");
    // `first` was replayed from its sealed checkpoint, `second` got the value.
    let twice = 2 * SECRET.len();
    assert_eq!(resumed["output"]["second"]["result"], json!(twice), "{resumed}");
}
