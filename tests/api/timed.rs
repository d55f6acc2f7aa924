//! Timed pauses: a `wait` past the 5 s threshold becomes a pause point the
//! server resumes by itself, also after being killed and restarted.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::flows;
use crate::harness::{Resp, Server, shared};

const COMPLETION: Duration = Duration::from_secs(60);

/// Executes the 6 s wait and checks the 202 and its timed pause point.
fn start_waiting(server: &Server, token: &str, execution_id: &str) {
    let mut request = flows::inline("waiting", flows::wait(6000));
    request["options"] = json!({"executionId": execution_id});
    let paused = server.execute(token, &request).expect(202);
    assert_eq!(paused["status"], "paused", "{paused:#}");
    let point = &paused["pausePoints"][0];
    assert_eq!(point["pauseKind"], "time", "{paused:#}");
    assert_eq!(point["blockId"], "wait", "{paused:#}");
    assert_eq!(point["resumeStatus"], "paused", "{paused:#}");
    assert!(point["resumeAt"].is_string(), "a timed pause says when: {paused:#}");
    assert!(paused["output"].get("done").is_none(), "{paused:#}");
}

fn finished(body: &Value) -> bool {
    matches!(body["status"].as_str(), Some("completed" | "failed" | "cancelled"))
}

fn assert_waited_out(result: &Value) {
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["wait"]["mode"], "paused", "{result:#}");
    assert_eq!(result["output"]["wait"]["waitedMs"], 6000, "{result:#}");
    assert_eq!(result["output"]["done"]["result"], "paused", "{result:#}");
}

#[test]
fn a_wait_past_the_threshold_is_a_timed_pause_the_server_resumes_itself() {
    let server = shared();
    let token = server.token("timed-pause");
    start_waiting(server, &token, "timed-1");
    let result = server.poll_execution(&token, "timed-1", COMPLETION, finished);
    assert_waited_out(&result);
}

#[test]
fn paused_executions_and_custom_blocks_survive_a_kill_and_restart() {
    let mut server = Server::start(&[]);
    let token = server.token("timed-restart");
    start_waiting(&server, &token, "timed-2");
    let mut approval = flows::inline("approval", flows::approval());
    approval["options"] = json!({"executionId": "human-2"});
    let paused = server.execute(&token, &approval).expect(202);
    let context_id = paused["pausePoints"][0]["contextId"].as_str().unwrap().to_string();
    let registered = Resp::from(
        server
            .request(Method::POST, "/v1/blocks?type=echo", Some(&token))
            .header(CONTENT_TYPE, "application/wasm")
            .body(sandflow_tests::guests::ECHO.to_vec())
            .send(),
    );
    registered.expect(201);

    server.kill();
    server.restart();

    // The timer picks the stored timed pause up again.
    let result = server.poll_execution(&token, "timed-2", COMPLETION, finished);
    assert_waited_out(&result);
    // The human pause is still open, and resumes.
    assert_eq!(server.get("/v1/executions/human-2", &token).expect(200)["status"], "paused");
    let done = server
        .post("/v1/executions/human-2/resume", &token, &json!({"contextId": context_id, "input": {"approved": true}}))
        .expect(200);
    assert_eq!(done["output"]["after"]["result"], "shipped", "{done:#}");
    // The custom block is loaded from the store.
    let echo = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "e": {"type": "echo", "name": "Echo", "params": {"kept": true}}
        },
        "edges": [{"source": "start", "target": "e"}]
    });
    let ran = server.execute(&token, &flows::inline("echoing", echo)).expect(200);
    assert_eq!(ran["output"]["e"], json!({"kept": true}), "{ran:#}");
}
