//! Custom blocks: `POST /v1/blocks?type=NAME` and `GET /v1/blocks`.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::harness::{Resp, shared};

fn register(token: &str, block_type: &str, content_type: &str, body: &[u8]) -> Resp {
    Resp::from(
        shared()
            .request(Method::POST, &format!("/v1/blocks?type={block_type}"), Some(token))
            .header(CONTENT_TYPE, content_type)
            .body(body.to_vec())
            .send(),
    )
}

fn echo() -> &'static [u8] {
    sandflow_tests::guests::ECHO
}

#[test]
fn a_registered_component_is_201_with_its_manifest_and_the_tenant_can_run_it() {
    let server = shared();
    let token = server.token("blocks-register");
    let registered = register(&token, "echo", "application/wasm", echo()).expect(201);
    assert_eq!(registered["type"], "echo", "{registered:#}");
    assert_eq!(registered["kind"], "custom", "{registered:#}");
    assert_eq!(registered["manifest"]["name"], "echo", "{registered:#}");
    assert_eq!(registered["manifest"]["description"], "Returns its params", "{registered:#}");
    assert!(registered["digest"].as_str().is_some_and(|d| !d.is_empty()), "{registered:#}");

    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "e": {"type": "echo", "name": "Echo", "params": {"greeting": "hi <start.name>", "n": "<start.n>"}}
        },
        "edges": [{"source": "start", "target": "e"}]
    });
    server.post("/v1/workflows", &token, &json!({"id": "echoing", "name": "Echoing", "state": state})).expect(201);
    let mut request = json!({"workflowId": "echoing", "useDraftState": true});
    request["options"] = json!({"input": {"name": "bob", "n": 7}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["e"], json!({"greeting": "hi bob", "n": 7}), "{result:#}");
    let log = result["logs"].as_array().unwrap().iter().find(|l| l["blockId"] == "e").unwrap();
    assert_eq!(log["blockType"], "echo", "{log:#}");
}

#[test]
fn the_block_list_has_the_standard_blocks_and_the_tenants_own() {
    let server = shared();
    let token = server.token("blocks-list");
    register(&token, "mirror", "application/wasm", echo()).expect(201);
    let listed = server.get("/v1/blocks", &token).expect(200);
    let blocks = listed["blocks"].as_array().expect("blocks");
    for standard in ["start", "function", "api", "wait", "human_in_the_loop"] {
        let block = blocks.iter().find(|b| b["type"] == standard).unwrap_or_else(|| panic!("{standard}: {listed:#}"));
        assert_eq!(block["kind"], "standard", "{block}");
        assert!(block["manifest"]["inputSchema"].is_object(), "{block}");
    }
    let mirror = blocks.iter().find(|b| b["type"] == "mirror").unwrap_or_else(|| panic!("{listed:#}"));
    assert_eq!(mirror["kind"], "custom");
    assert_eq!(mirror["manifest"]["name"], "echo");
}

#[test]
fn garbage_bytes_are_422_and_the_server_stays_up() {
    let server = shared();
    let token = server.token("blocks-garbage");
    register(&token, "junk", "application/wasm", b"#!/bin/sh\nrm -rf /\n").expect_error(422, "invalid_component");
    // A core module, not a component.
    register(&token, "core", "application/wasm", &wat::parse_str("(module)").unwrap())
        .expect_error(422, "invalid_component");
    // A component that imports something outside the world.
    let foreign = wat::parse_str(r#"(component (import "evil:host/escape" (func)))"#).unwrap();
    register(&token, "foreign", "application/wasm", &foreign).expect_error(422, "invalid_component");

    Resp::from(server.request(Method::GET, "/healthz", None).send()).expect(200);
    let listed = server.get("/v1/blocks", &token).expect(200);
    assert!(!listed.to_string().contains("\"junk\""), "{listed:#}");
}

#[test]
fn a_component_not_sent_as_application_wasm_is_415() {
    let server = shared();
    let token = server.token("blocks-content-type");
    register(&token, "octets", "application/octet-stream", echo()).expect_error(415, "unsupported_media_type");
    register(&token, "jsonish", "application/json", echo()).expect_error(415, "unsupported_media_type");
}

#[test]
fn a_standard_type_name_is_409() {
    let server = shared();
    let token = server.token("blocks-standard-name");
    for name in ["function", "start", "workflow"] {
        register(&token, name, "application/wasm", echo()).expect_error(409, "block_exists");
    }
}

#[test]
fn registering_needs_blocks_write() {
    let server = shared();
    let token = server.token_scoped("blocks-scope", "workflows:read workflows:write workflows:execute");
    register(&token, "sneaky", "application/wasm", echo()).expect_error(403, "forbidden");
    let listed = server.get("/v1/blocks", &token).expect(200);
    assert!(!listed.to_string().contains("sneaky"), "{listed:#}");
}

#[test]
fn a_bad_type_name_is_400() {
    let server = shared();
    let token = server.token("blocks-bad-name");
    register(&token, "Has%20Space", "application/wasm", echo()).expect_error(400, "bad_request");
    let missing = Resp::from(
        server
            .request(Method::POST, "/v1/blocks", Some(&token))
            .header(CONTENT_TYPE, "application/wasm")
            .body(echo().to_vec())
            .send(),
    );
    missing.expect_error(400, "bad_request");
}

#[test]
fn a_component_over_4_mib_is_not_refused_as_too_large() {
    // Components have their own limit (32 MiB), above the 4 MiB of JSON bodies.
    let server = shared();
    let token = server.token("blocks-mid-size");
    let mut bytes = b"\0asm".to_vec();
    bytes.resize(5 << 20, 0);
    register(&token, "midsize", "application/wasm", &bytes).expect_error(422, "invalid_component");
}

#[test]
fn a_component_over_32_mib_is_413_in_the_envelope() {
    let server = shared();
    let token = server.token("blocks-too-large");
    let mut bytes = b"\0asm".to_vec();
    bytes.resize(33 << 20, 0);
    register(&token, "huge", "application/wasm", &bytes).expect_error(413, "payload_too_large");
}

#[test]
fn a_refused_component_is_not_echoed_back() {
    let server = shared();
    let token = server.token("blocks-echo-back");
    let garbage = vec![0u8; 1 << 20];
    let response = register(&token, "zeros", "application/wasm", &garbage);
    let start: String = response.text.chars().take(300).collect();
    assert_eq!(response.status, 422, "{start}");
    assert!(response.text.len() < 16 << 10, "a 1 MiB upload got a {} byte answer: {start}…", response.text.len());
}

#[test]
fn a_component_with_an_init_hook_is_pre_initialized_at_upload_and_each_execution_starts_fresh() {
    let server = shared();
    let token = server.token("blocks-preinit");
    // The component as built, not its snapshot: the server takes the snapshot.
    register(&token, "primes", "application/wasm", sandflow_tests::guests::PREPARED).expect(201);
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "p": {"type": "primes", "name": "Primes", "params": {"index": "<start.index>"}}
        },
        "edges": [{"source": "start", "target": "p"}]
    });
    server.post("/v1/workflows", &token, &json!({"id": "primes", "name": "Primes", "state": state})).expect(201);
    for index in [0, 999] {
        let mut request = json!({"workflowId": "primes", "useDraftState": true});
        request["options"] = json!({"input": {"index": index}});
        let result = server.execute(&token, &request).expect(200);
        assert_eq!(result["status"], "completed", "{result:#}");
        let expected_prime = if index == 0 { 2 } else { 7919 };
        assert_eq!(
            result["output"]["p"],
            json!({"prime": expected_prime, "preparedBeforeRun": true, "runsSeen": 1}),
            "{result:#}"
        );
    }
}

#[test]
fn an_init_that_spins_or_calls_an_import_is_422_init_failed_and_registers_nothing() {
    let server = shared();
    let token = server.token("blocks-bad-init");
    let spins = sandflow_tests::wat_guests::init_that_spins();
    let refused = register(&token, "spinner", "application/wasm", &spins).expect_error(422, "init_failed");
    assert!(refused.to_string().contains("fuel"), "{refused:#}");
    let calls = sandflow_tests::wat_guests::init_that_calls_an_import();
    let refused = register(&token, "caller", "application/wasm", &calls).expect_error(422, "init_failed");
    assert!(refused.to_string().contains("insecure-seed"), "{refused:#}");
    let listed = server.get("/v1/blocks", &token).expect(200);
    let custom: Vec<_> = listed["blocks"].as_array().unwrap().iter().filter(|b| b["kind"] == "custom").collect();
    assert!(custom.is_empty(), "{listed:#}");
    Resp::from(server.request(Method::GET, "/healthz", None).send()).expect(200);
}
