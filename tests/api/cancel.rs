//! `POST /v1/executions/{id}/cancel`.

use std::time::Duration;

use serde_json::json;

use crate::flows;
use crate::harness::{HitServer, shared};

#[test]
fn cancelling_a_paused_execution_ends_it_cancelled() {
    let server = shared();
    let token = server.token("cancel-paused");
    let mut request = flows::inline("approval", flows::approval());
    request["options"] = json!({"executionId": "to-cancel"});
    let paused = server.execute(&token, &request).expect(202);
    let context_id = paused["pausePoints"][0]["contextId"].as_str().unwrap().to_string();

    let cancelled = server.post("/v1/executions/to-cancel/cancel", &token, &json!({})).expect(200);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled:#}");
    let stored = server.get("/v1/executions/to-cancel", &token).expect(200);
    assert_eq!(stored["status"], "cancelled", "{stored:#}");
    assert_eq!(stored["success"], false, "{stored:#}");
    assert!(stored["output"].get("after").is_none(), "{stored:#}");

    // Cancelled is final: no resume, no second cancel.
    server
        .post("/v1/executions/to-cancel/resume", &token, &json!({"contextId": context_id, "input": {"approved": true}}))
        .expect(409);
    server.post("/v1/executions/to-cancel/cancel", &token, &json!({})).expect(409);
    assert_eq!(server.get("/v1/executions/to-cancel", &token).expect(200)["status"], "cancelled");
}

#[test]
fn cancelling_a_finished_execution_is_409() {
    let server = shared();
    let token = server.token("cancel-finished");
    let done = server.execute(&token, &flows::inline("quick", flows::function("return 1;"))).expect(200);
    let id = done["executionId"].as_str().unwrap();
    server.post(&format!("/v1/executions/{id}/cancel"), &token, &json!({})).expect(409);
    assert_eq!(server.get(&format!("/v1/executions/{id}"), &token).expect(200)["status"], "completed");
    server.post("/v1/executions/never-ran/cancel", &token, &json!({})).expect_error(404, "not_found");
}

/// start → call (an `api` block the hit server holds) → after.
fn held_call(hits: &HitServer) -> serde_json::Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "api", "name": "Call", "params": {"url": hits.url("held"), "timeoutMs": 25000}},
            "after": {"type": "function", "name": "After", "params": {"code": "return 'ran';"}}
        },
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "after"}]
    })
}

#[test]
fn cancelling_a_running_execution_stops_it() {
    let server = shared();
    let token = server.token("cancel-running");
    let hits = HitServer::start("held", Duration::from_secs(20));
    let mut request = flows::inline("held", held_call(&hits));
    request["options"] = json!({"executionId": "running-1"});
    let caller = {
        let token = token.clone();
        std::thread::spawn(move || shared().execute(&token, &request))
    };
    hits.wait_for_hit("held", server);
    assert_eq!(server.get("/v1/executions/running-1", &token).expect(200)["status"], "running");

    let cancelled = server.post("/v1/executions/running-1/cancel", &token, &json!({})).expect(200);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled:#}");
    let answered = caller.join().expect("caller").expect(200);
    assert_eq!(answered["status"], "cancelled", "{answered:#}");
    assert_eq!(answered["success"], false, "{answered:#}");
    assert!(answered["output"].get("after").is_none(), "{answered:#}");
    let stored = server.get("/v1/executions/running-1", &token).expect(200);
    assert_eq!(stored["status"], "cancelled", "{stored:#}");
    assert!(stored["output"].get("after").is_none(), "{stored:#}");
    server.post("/v1/executions/running-1/cancel", &token, &json!({})).expect(409);
}

#[test]
fn a_cancelled_timed_pause_is_never_resumed() {
    let server = shared();
    let token = server.token("cancel-timed");
    let mut request = flows::inline("waiting", flows::wait(5500));
    request["options"] = json!({"executionId": "timed-cancel"});
    let paused = server.execute(&token, &request).expect(202);
    assert_eq!(paused["pausePoints"][0]["pauseKind"], "time", "{paused:#}");
    server.post("/v1/executions/timed-cancel/cancel", &token, &json!({})).expect(200);
    // Past the pause's resumeAt, with the server's timer polling meanwhile.
    std::thread::sleep(Duration::from_secs(8));
    let stored = server.get("/v1/executions/timed-cancel", &token).expect(200);
    assert_eq!(stored["status"], "cancelled", "{stored:#}");
    assert!(stored["output"].get("done").is_none(), "{stored:#}");
}
