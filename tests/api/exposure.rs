//! Issue 11, finding 16 (the parts besides redaction): execution IDs that
//! could name paths are refused, `/metrics` is not public unless asked for,
//! and the event stream is what the OpenAPI document says it is.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::flows;
use crate::harness::{HitServer, Resp, Server, free_port, shared};

#[test]
fn execution_ids_that_could_name_a_path_are_400_naming_the_field() {
    let server = shared();
    let token = server.token("exposure-ids");
    for id in ["..", ".", "../etc", "a/../b", "a..b", ".hidden", "line\nbreak", "tab\there", "nul\u{0}", "x/y"] {
        let mut request = flows::inline("ids", flows::function("return 1;"));
        request["options"] = json!({"executionId": id});
        let body = server.execute(&token, &request).expect_error(400, "bad_request");
        assert!(body["error"].as_str().unwrap().contains("options.executionId"), "{id:?}: {body}");
    }
    let mut request = flows::inline("ids", flows::function("return 1;"));
    request["options"] = json!({"executionId": "run.2026-12-01:a_b-1"});
    server.execute(&token, &request).expect(200);
}

#[test]
fn metrics_are_served_only_on_their_own_address_by_default() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = Server::start_without_public_metrics(&[], &["--metrics-addr", &metrics_addr]);
    let token = server.token("exposure-metrics");
    server.execute(&token, &flows::inline("metered", flows::function("return 1;"))).expect(200);

    let public = Resp::from(server.request(Method::GET, "/metrics", None).send());
    let body = public.expect_error(404, "not_found");
    assert!(body["error"].as_str().unwrap().contains("--metrics-addr"), "{body}");
    // A token does not open it either: the counters are the whole server's.
    server.get("/metrics", &token).expect_error(404, "not_found");

    let private = reqwest::blocking::get(format!("http://{metrics_addr}/metrics")).unwrap();
    assert_eq!(private.status(), 200);
    let text = private.text().unwrap();
    assert!(text.contains("sandflow_executions_total{status=\"completed\"} 1"), "{text}");
}

/// `{event, data}` per event, as SSE parsers (Schemathesis' among them) read a stream.
fn events_of(text: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for chunk in text.replace("\r\n", "\n").split("\n\n") {
        let mut name = String::from("message");
        let mut data = Vec::new();
        for line in chunk.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                name = value.strip_prefix(' ').unwrap_or(value).to_string();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
            }
        }
        if !data.is_empty() {
            events.push(json!({"event": name, "data": data.join("\n")}));
        }
    }
    events
}

#[test]
fn the_event_stream_matches_its_openapi_description() {
    let server = shared();
    let token = server.token("exposure-sse");
    let document = Resp::from(server.request(Method::GET, "/openapi.json", None).send()).expect(200);
    let media = &document["paths"]["/v1/executions/{id}/events"]["get"]["responses"]["200"]["content"];
    let schema = media["text/event-stream"]["schema"].clone();
    let validator = jsonschema::validator_for(&schema).expect("the event schema compiles");

    // A live stream: a block that waits on a slow call, so `block_started` is seen too.
    let hits = HitServer::start("sse-slow", Duration::from_secs(1));
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "api", "name": "Call", "params": {"url": hits.url("sse-slow"), "timeoutMs": 20000}},
            "after": {"type": "function", "name": "After", "params": {"code": "return 'ran';"}}
        },
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "after"}]
    });
    let request = json!({"workflowId": "sse", "workflow": state, "options": {"executionId": "exposure-sse-1"}});
    let caller = {
        let token = token.clone();
        std::thread::spawn(move || shared().execute(&token, &request))
    };
    hits.wait_for_hit("sse-slow", server);
    let response = server.get("/v1/executions/exposure-sse-1/events", &token);
    caller.join().unwrap().expect(200);
    assert!(response.content_type().starts_with("text/event-stream"), "{:?}", response.headers);
    // After the end, the stored stream: finished blocks and the end event.
    let stored = server.get("/v1/executions/exposure-sse-1/events", &token);

    let mut events = events_of(&response.text);
    events.extend(events_of(&stored.text));
    for name in ["block_started", "block_finished", "execution_finished"] {
        assert!(events.iter().any(|e| e["event"] == name), "no {name} in {events:#?}");
    }
    let branches = schema["oneOf"].as_array().expect("one schema per kind of event");
    for event in &events {
        let errors: Vec<String> = validator.iter_errors(event).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{event} does not match the document: {errors:?}");
        // `data` is JSON text whose shape `contentSchema` gives.
        let branch = branches
            .iter()
            .find(|b| b["properties"]["event"]["enum"].as_array().unwrap().contains(&event["event"]))
            .expect("a branch for the event");
        let data: Value = serde_json::from_str(event["data"].as_str().unwrap()).expect("data is JSON");
        let content = &branch["properties"]["data"]["contentSchema"];
        let content = jsonschema::validator_for(content).expect("the content schema compiles");
        let errors: Vec<String> = content.iter_errors(&data).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{event}: data does not match its contentSchema: {errors:?}");
    }
}
