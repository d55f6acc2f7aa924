//! Crash recovery: SIGKILL the server while a block runs, start it again on
//! the same data directory, and the execution continues from its last
//! checkpoint: finished blocks never run again.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{HitServer, Server};

/// start → a1 → a2 → a3 → a4, each an `api` call to the hit server.
fn chain(hits: &HitServer) -> Value {
    let mut blocks = serde_json::Map::new();
    blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut edges = Vec::new();
    let mut previous = "start".to_string();
    for n in 1..=4 {
        let id = format!("a{n}");
        blocks.insert(
            id.clone(),
            json!({"type": "api", "name": format!("Call {n}"),
                   "params": {"url": hits.url(&id), "method": "GET", "timeoutMs": 20000}}),
        );
        edges.push(json!({"source": previous, "target": id}));
        previous = id;
    }
    json!({"blocks": blocks, "edges": edges})
}

#[test]
fn after_a_sigkill_mid_block_the_execution_resumes_from_its_checkpoints() {
    // The first call of a3 hangs long enough to be killed in flight.
    let hits = HitServer::start("a3", Duration::from_secs(15));
    let mut server = Server::start(&["--allow-http", "127.0.0.1"]);
    let token = server.token("recovery");

    let request = json!({
        "workflowId": "chain",
        "workflow": chain(&hits),
        "options": {"executionId": "crash-1"}
    });
    let url = server.url("/v1/workflows/execute");
    let caller_token = token.clone();
    // The request dies with the server; its answer does not matter.
    let caller = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        client.post(url).bearer_auth(caller_token).json(&request).send().map(|r| r.status().as_u16())
    });

    hits.wait_for_hit("a3", &server);
    server.kill();
    let answered = caller.join().expect("caller thread");
    assert!(answered.is_err(), "the execute request cannot have finished: {answered:?}");
    assert_eq!((hits.count("a1"), hits.count("a2"), hits.count("a4")), (1, 1, 0), "killed while a3 ran");

    server.restart();
    let result = server.poll_execution(&token, "crash-1", Duration::from_secs(90), |body| {
        matches!(body["status"].as_str(), Some("completed" | "failed" | "cancelled"))
    });
    assert_eq!(result["status"], "completed", "{result:#}\nserver log:\n{}", server.log());
    assert_eq!(hits.count("a1"), 1, "a1 finished before the crash and must not run again");
    assert_eq!(hits.count("a2"), 1, "a2 finished before the crash and must not run again");
    assert_eq!(hits.count("a3"), 2, "a3 was cut off, so it runs again");
    assert_eq!(hits.count("a4"), 1);
    for block in ["start", "a1", "a2", "a3", "a4"] {
        assert!(result["output"].get(block).is_some(), "{block} missing from the output: {result:#}");
    }
    assert_eq!(result["output"]["a1"]["data"], json!({"block": "a1", "hit": 1}), "{result:#}");
    assert_eq!(result["output"]["a2"]["data"], json!({"block": "a2", "hit": 1}), "{result:#}");
    assert_eq!(result["output"]["a3"]["data"], json!({"block": "a3", "hit": 2}), "{result:#}");
    assert_eq!(result["output"]["a4"]["data"], json!({"block": "a4", "hit": 1}), "{result:#}");
    assert_eq!(result["output"]["a4"]["status"], 200, "{result:#}");
}

#[test]
fn a_resume_cut_off_by_a_sigkill_continues_after_restart_with_its_input() {
    let hits = HitServer::start("call", Duration::from_secs(15));
    let mut server = Server::start(&["--allow-http", "127.0.0.1"]);
    let token = server.token("recovery-resume");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "approve": {"type": "human_in_the_loop", "name": "Approve",
                        "params": {"response": {"question": "Go?"}, "inputSchema": crate::flows::approval_schema()}},
            "call": {"type": "api", "name": "Call", "params": {"url": hits.url("call"), "timeoutMs": 20000}},
            "done": {"type": "function", "name": "Done", "params": {"code": "return input.hit;", "input": "<call.data>"}}
        },
        "edges": [
            {"source": "start", "target": "approve"},
            {"source": "approve", "target": "call"},
            {"source": "call", "target": "done"}
        ]
    });
    let request = json!({"workflowId": "gated", "workflow": state, "options": {"executionId": "resume-crash"}});
    let paused = server.execute(&token, &request).expect(202);
    let context_id = paused["pausePoints"][0]["contextId"].as_str().unwrap().to_string();

    let url = server.url("/v1/executions/resume-crash/resume");
    let caller_token = token.clone();
    let resume = json!({"contextId": context_id, "input": {"approved": true}});
    let body = resume.clone();
    let caller = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        client.post(url).bearer_auth(caller_token).json(&body).send().map(|r| r.status().as_u16())
    });
    // The approval ran with its input and `call` is in flight: crash now. `call` starts only
    // once the approval's checkpoint is committed, so the approval must not open again.
    hits.wait_for_hit("call", &server);
    server.kill();
    assert!(caller.join().expect("caller").is_err(), "the resume request cannot have finished");

    server.restart();
    let result = server.poll_execution(&token, "resume-crash", Duration::from_secs(90), |body| {
        matches!(body["status"].as_str(), Some("completed" | "failed" | "cancelled" | "paused"))
    });
    assert_eq!(result["status"], "completed", "the approval finished before the crash: {result:#}");
    assert_eq!(result["output"]["approve"]["approved"], true, "{result:#}");
    assert_eq!(result["output"]["done"]["result"], 2, "{result:#}");
    assert_eq!(hits.count("call"), 2, "`call` was cut off, so it runs again, once");
    server.post("/v1/executions/resume-crash/resume", &token, &resume).expect(409);
}
