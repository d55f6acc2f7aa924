//! `GET /v1/executions/{id}/events`: server-sent events.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{HitServer, shared};

/// `(event, data)` pairs of an event stream.
fn parse_events(text: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for chunk in text.replace("\r\n", "\n").split("\n\n") {
        let mut name = String::from("message");
        let mut data = String::new();
        for line in chunk.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                name = value.trim().to_string();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if !data.is_empty() {
            events.push((name, serde_json::from_str(&data).unwrap_or(Value::String(data))));
        }
    }
    events
}

#[test]
fn events_of_a_finished_execution_list_its_blocks_then_execution_finished() {
    let server = shared();
    let token = server.token("events-finished");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "one": {"type": "function", "name": "One", "params": {"code": "return 1;"}},
            "two": {"type": "function", "name": "Two", "params": {"code": "return 2;"}}
        },
        "edges": [{"source": "start", "target": "one"}, {"source": "one", "target": "two"}]
    });
    let mut request = json!({"workflowId": "evented", "workflow": state});
    request["options"] = json!({"executionId": "events-1"});
    server.execute(&token, &request).expect(200);

    let response = server.get("/v1/executions/events-1/events", &token);
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.content_type().starts_with("text/event-stream"), "{:?}", response.headers);
    let events = parse_events(&response.text);
    for block in ["one", "two"] {
        let finished = events.iter().find(|(name, data)| name == "block_finished" && data["blockId"] == block);
        let (_, data) = finished.unwrap_or_else(|| panic!("no block_finished for {block}: {events:#?}"));
        assert_eq!(data["success"], true, "{data}");
    }
    let (last, data) = events.last().expect("events");
    assert_eq!(last, "execution_finished", "{events:#?}");
    assert_eq!(data["status"], "completed", "{data}");
    assert_eq!(data["executionId"], "events-1", "{data}");
    assert_eq!(events.iter().filter(|(name, _)| name == "execution_finished").count(), 1, "{events:#?}");

    server.get("/v1/executions/no-such/events", &token).expect_error(404, "not_found");
}

#[test]
fn events_of_a_running_execution_stream_live_until_it_finishes() {
    let server = shared();
    let token = server.token("events-live");
    let hits = HitServer::start("slow", Duration::from_secs(2));
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "api", "name": "Call", "params": {"url": hits.url("slow"), "timeoutMs": 20000}},
            "after": {"type": "function", "name": "After", "params": {"code": "return 'ran';"}}
        },
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "after"}]
    });
    let request = json!({"workflowId": "live", "workflow": state, "options": {"executionId": "events-live-1"}});
    let caller = {
        let token = token.clone();
        std::thread::spawn(move || shared().execute(&token, &request))
    };
    hits.wait_for_hit("slow", server);

    // Subscribed while `call` runs: the stream lasts until the execution ends.
    let response = server.get("/v1/executions/events-live-1/events", &token);
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.content_type().starts_with("text/event-stream"), "{:?}", response.headers);
    let events = parse_events(&response.text);
    let started = events.iter().position(|(name, data)| name == "block_started" && data["blockId"] == "after");
    let finished = events.iter().position(|(name, data)| name == "block_finished" && data["blockId"] == "after");
    assert!(started.is_some() && finished.is_some() && started < finished, "live progress of `after`: {events:#?}");
    assert!(events.iter().any(|(name, data)| name == "block_finished" && data["blockId"] == "call"), "{events:#?}");
    let (last, data) = events.last().expect("events");
    assert_eq!(last, "execution_finished", "{events:#?}");
    assert_eq!(data["status"], "completed", "{data}");
    caller.join().expect("caller").expect(200);
}

#[test]
fn events_of_a_paused_execution_end_with_execution_paused() {
    let server = shared();
    let token = server.token("events-paused");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ask": {"type": "human_in_the_loop", "name": "Ask", "params": {"response": {"ok?": true}}}
        },
        "edges": [{"source": "start", "target": "ask"}]
    });
    let mut request = json!({"workflowId": "evented-pause", "workflow": state});
    request["options"] = json!({"executionId": "events-paused-1"});
    server.execute(&token, &request).expect(202);

    let events = parse_events(&server.get("/v1/executions/events-paused-1/events", &token).text);
    assert!(events.iter().any(|(name, data)| name == "block_paused" && data["blockId"] == "ask"), "{events:#?}");
    let (last, data) = events.last().expect("events");
    assert_eq!((last.as_str(), &data["status"]), ("execution_paused", &json!("paused")), "{events:#?}");
    assert!(!events.iter().any(|(name, _)| name == "execution_finished"), "{events:#?}");
}
