//! Server limits and ordering, against an in-process server with small
//! limits on a real socket: body size, blocks per workflow, execution time,
//! and a resume that arrives while the pause is still being stored.

use std::path::PathBuf;
use std::time::Duration;

use sandflow_server::{ServerLimits, TokenKeys};
use serde_json::{Value, json};

use crate::support::embedded_server;

struct TestServer {
    base: String,
    token: String,
    client: reqwest::Client,
    _data: tempfile::TempDir,
}

impl TestServer {
    async fn start(limits: ServerLimits) -> Self {
        Self::start_with(limits, TokenKeys::default()).await
    }

    async fn start_with(limits: ServerLimits, token_keys: TokenKeys) -> Self {
        let (app, token, data) = embedded_server(limits, token_keys).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(sandflow_server::serve(app, listener));
        Self { base, token, client: reqwest::Client::new(), _data: data }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response =
            self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn workflow(blocks: Value, edges: Value) -> Value {
    json!({"blocks": blocks, "edges": edges})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_blocks_and_execution_time_are_limited_with_clear_errors() {
    let limits = ServerLimits {
        max_body_bytes: 64 << 10,
        max_blocks_per_workflow: 3,
        max_execution_time: Duration::from_secs(1),
        ..ServerLimits::default()
    };
    let server = TestServer::start(limits).await;

    let padding = "x".repeat(70 << 10);
    let (status, body) = server.post("/v1/workflows", &json!({"name": padding, "state": {}})).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")), "{body}");

    let four = workflow(
        json!({
            "start": {"type": "start", "name": "Start"},
            "a": {"type": "response", "name": "A"},
            "b": {"type": "response", "name": "B"},
            "c": {"type": "response", "name": "C"}
        }),
        json!([{"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "c"}]),
    );
    let (status, body) = server.post("/v1/workflows", &json!({"id": "four", "name": "Four", "state": four})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("4 blocks, over the limit of 3"), "{body}");

    let slow = workflow(
        json!({
            "start": {"type": "start", "name": "Start"},
            "nap": {"type": "wait", "name": "Nap", "params": {"durationMs": 3000}}
        }),
        json!([{"source": "start", "target": "nap"}]),
    );
    let request = json!({"workflowId": "slow", "workflow": slow});
    let (status, body) = server.post("/v1/workflows/execute", &request).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("failed")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("time limit of 1s"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_that_arrives_before_the_pause_is_stored_waits_for_it() {
    let server = TestServer::start(ServerLimits::default()).await;
    // `approve` pauses at once; the execution goes on running `nap` for 2 s,
    // and only then stores its pause points.
    let state = workflow(
        json!({
            "start": {"type": "start", "name": "Start"},
            "approve": {"type": "human_in_the_loop", "name": "Approve", "params": {"response": {"ok?": true}}},
            "nap": {"type": "wait", "name": "Nap", "params": {"durationMs": 2000}}
        }),
        json!([{"source": "start", "target": "approve"}, {"source": "start", "target": "nap"}]),
    );
    let request = json!({"workflowId": "race", "workflow": state, "options": {"executionId": "race-1"}});
    let first = {
        let base = server.base.clone();
        let token = server.token.clone();
        tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/v1/workflows/execute"))
                .bearer_auth(token)
                .json(&request)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, resumed) =
        server.post("/v1/executions/race-1/resume", &json!({"contextId": "approve", "input": {"yes": 1}})).await;
    assert_eq!((status, resumed["status"].as_str()), (200, Some("completed")), "{resumed}");
    assert_eq!(resumed["output"]["approve"]["yes"], 1);
    assert_eq!(resumed["output"]["nap"]["mode"], "slept");
    let (status, paused) = first.await.unwrap();
    assert_eq!((status, paused["status"].as_str()), (202, Some("paused")), "{paused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_over_the_stored_size_keeps_its_outputs_and_drops_guest_logs() {
    let server = TestServer::start(ServerLimits { max_stored_log_bytes: 600, ..ServerLimits::default() }).await;
    let state = workflow(
        json!({
            "start": {"type": "start", "name": "Start"},
            "ping": {"type": "api", "name": "Ping", "params": {"url": format!("{}/healthz", server.base)}}
        }),
        json!([{"source": "start", "target": "ping"}]),
    );
    let (status, body) = server.post("/v1/workflows/execute", &json!({"workflowId": "logs", "workflow": state})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")), "{body}");
    assert_eq!(body["output"]["ping"]["data"], json!({"status": "ok"}));
    let ping = body["logs"].as_array().unwrap().iter().find(|log| log["blockId"] == "ping").unwrap();
    let lines = ping["guestLogs"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{ping}");
    assert!(lines[0]["message"].as_str().unwrap().contains("guest logs dropped"), "{ping}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_rs256_key_and_issuer_are_honoured() {
    let keys = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
    let token_keys = TokenKeys {
        rs256_public_key_pem: Some(std::fs::read(keys.join("rsa-public.pem")).unwrap()),
        issuer: Some("https://idp.example".into()),
        ..TokenKeys::default()
    };
    let server = TestServer::start_with(ServerLimits::default(), token_keys).await;
    let get = |token: String| {
        let request = server.client.get(format!("{}/v1/blocks", server.base)).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // The server's own HS256 token, issued with the issuer, still works.
    assert_eq!(get(server.token.clone()).await, 200);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let private =
        jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(keys.join("rsa-private.pem")).unwrap()).unwrap();
    let sign = |issuer: &str| {
        let claims =
            json!({"sub": "idp-user", "tenant": "acme", "scope": "workflows:read", "exp": now + 600, "iss": issuer});
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &private).unwrap()
    };
    assert_eq!(get(sign("https://idp.example")).await, 200);
    assert_eq!(get(sign("https://evil.example")).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execute_over_the_running_cap_is_429_and_stores_nothing() {
    let server = TestServer::start(ServerLimits { max_running_executions: 1, ..ServerLimits::default() }).await;
    let slow = workflow(
        json!({
            "start": {"type": "start", "name": "Start"},
            "nap": {"type": "wait", "name": "Nap", "params": {"durationMs": 2000}}
        }),
        json!([{"source": "start", "target": "nap"}]),
    );
    let first = {
        let (base, token) = (server.base.clone(), server.token.clone());
        let request = json!({"workflowId": "busy", "workflow": slow.clone(), "options": {"executionId": "busy-1"}});
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let response =
                client.post(format!("{base}/v1/workflows/execute")).bearer_auth(token).json(&request).send().await;
            response.unwrap().status().as_u16()
        })
    };
    // Wait until the first execution is running (its row exists), then ask for another.
    let mut running = false;
    for _ in 0..100 {
        let response = server.client.get(format!("{}/v1/executions/busy-1", server.base)).bearer_auth(&server.token);
        if response.send().await.unwrap().status() == 200 {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(running, "the first execution never started");
    let request = json!({"workflowId": "busy", "workflow": slow, "options": {"executionId": "busy-2"}});
    let (status, body) = server.post("/v1/workflows/execute", &request).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("overloaded")), "{body}");
    assert_eq!(first.await.unwrap(), 200);
    // The refused execution was not stored: its ID is free.
    let response = server.client.get(format!("{}/v1/executions/busy-2", server.base)).bearer_auth(&server.token);
    assert_eq!(response.send().await.unwrap().status(), 404);
    let (status, body) = server.post("/v1/workflows/execute", &request).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")), "{body}");
}
