//! Blocks written in TypeScript and Python (issue 15), uploaded with
//! `POST /v1/blocks` and run in workflows through the API, and the hostile
//! checks that apply to them: each attack ends the block in its typed error,
//! and the server keeps answering.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use std::sync::OnceLock;

use crate::flows;
use crate::harness::{Resp, Server};
use sandflow_tests::lang_guests;

/// The server these tests share. A JS or Python component is 12 to 19 MB of
/// wasm (an engine or interpreter inside): compiling one takes tens of
/// seconds in a test build on a loaded 2-core machine, so uploads get more
/// than the default 60 s here. Each digest is compiled once per test run (the
/// compiled-component cache is shared).
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start_serving(&[], &["--compile-timeout", "600s"]))
}

fn register(server: &Server, token: &str, block_type: &str, component: &[u8]) -> Value {
    Resp::from(
        server
            .request(Method::POST, &format!("/v1/blocks?type={block_type}"), Some(token))
            .header(CONTENT_TYPE, "application/wasm")
            .body(component.to_vec())
            .send(),
    )
    .expect(201)
}

/// `start` → `b`, a block of `block_type` with `params` and `extra` fields (limits, env).
fn one_block(block_type: &str, params: Value, extra: Value) -> Value {
    let mut block = json!({"type": block_type, "name": "Block", "params": params});
    if let (Some(block), Some(extra)) = (block.as_object_mut(), extra.as_object()) {
        block.extend(extra.clone());
    }
    json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "b": block},
        "edges": [{"source": "start", "target": "b"}]
    })
}

fn assert_healthy(server: &Server) {
    Resp::from(server.request(Method::GET, "/healthz", None).send()).expect(200);
}

#[test]
fn a_typescript_block_feeds_a_python_block_in_one_workflow() {
    let server = server();
    let token = server.token("languages-chain");
    let ts = register(server, &token, "greet-ts", &lang_guests::js("greet"));
    assert_eq!(ts["manifest"]["name"], "greet", "{ts:#}");
    let py = register(server, &token, "echo-py", &lang_guests::python("echo"));
    assert_eq!(py["kind"], "custom", "{py:#}");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "greet": {"type": "greet-ts", "name": "Greet", "params": {"name": "<start.who>"}},
            "echo": {"type": "echo-py", "name": "Echo", "params": {"said": "<greet.text>", "n": "<start.n>"}}
        },
        "edges": [{"source": "start", "target": "greet"}, {"source": "greet", "target": "echo"}]
    });
    let mut request = flows::inline("ts-then-python", state);
    request["options"] = json!({"input": {"who": "Ada", "n": 3}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["greet"]["text"], "Hello, Ada!", "{result:#}");
    assert_eq!(result["output"]["echo"], json!({"said": "Hello, Ada!", "n": 3}), "{result:#}");
    let greet_log = result["logs"].as_array().unwrap().iter().find(|l| l["blockId"] == "greet").unwrap();
    assert_eq!(greet_log["blockType"], "greet-ts", "{greet_log:#}");
}

#[test]
fn a_python_block_refuses_bad_params_with_invalid_input() {
    let server = server();
    let token = server.token("languages-python-invalid");
    register(server, &token, "greet-py", &lang_guests::python("greet"));
    let result = server
        .execute(&token, &flows::inline("py-empty", one_block("greet-py", json!({"name": ""}), json!({}))))
        .expect(200);
    assert_eq!(result["status"], "failed", "{result:#}");
    let error = result["error"].as_str().unwrap_or_default();
    assert!(error.contains("must not be empty"), "{error}");
    let result = server
        .execute(&token, &flows::inline("py-ok", one_block("greet-py", json!({"name": "Grace"}), json!({}))))
        .expect(200);
    assert_eq!(result["output"]["b"]["text"], "Hello, Grace!", "{result:#}");
}

#[test]
fn the_example_blocks_run_in_their_example_workflows() {
    let server = server();
    let token = server.token("languages-examples");
    for example in ["csv-ts", "dates-py"] {
        let dir = lang_guests::repo_root().join("examples/blocks").join(example);
        let workflow: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("workflow.json")).unwrap()).unwrap();
        let component = lang_guests::example(example);
        // The workflow names the block by its manifest name.
        let manifest = register(server, &token, example, &component)["manifest"].clone();
        let state = rename_block_type(workflow["state"].clone(), manifest["name"].as_str().unwrap(), example);
        let mut request = flows::inline(example, state);
        request["options"] = json!({"input": workflow["input"]});
        let result = server.execute(&token, &request).expect(200);
        assert_eq!(result["status"], "completed", "{example}: {result:#}");
        let expected = &workflow["expectedOutput"];
        for (block, output) in expected.as_object().unwrap() {
            assert_eq!(&result["output"][block], output, "{example}: {result:#}");
        }
    }
}

/// The example workflow's custom block type, registered here under `registered`.
fn rename_block_type(mut state: Value, from: &str, to: &str) -> Value {
    for block in state["blocks"].as_object_mut().unwrap().values_mut() {
        if block["type"] == from {
            block["type"] = json!(to);
        }
    }
    state
}

/// Every hostile attack of the JS and the Python guest, each ending in the typed
/// error the runtime reports for it, with the server answering after each.
#[test]
fn hostile_javascript_and_python_blocks_end_in_typed_errors_and_the_server_stays_healthy() {
    let server = server();
    let token = server.token("languages-hostile");
    register(server, &token, "hostile-js", &lang_guests::js("hostile"));
    register(server, &token, "hostile-py", &lang_guests::python("hostile"));
    let limits = json!({"limits": {"fuel": 300_000_000u64, "timeoutMs": 10_000}});
    for block_type in ["hostile-js", "hostile-py"] {
        let cases = [
            (json!({"attack": "spin"}), "out of fuel"),
            (json!({"attack": "memory_bomb"}), "memory limit exceeded"),
            (json!({"attack": "fetch", "url": "http://169.254.169.254/latest/meta-data/"}), "refused"),
            (json!({"attack": "log_flood"}), "log limit exceeded"),
        ];
        for (attack, expected) in cases {
            let state = one_block(block_type, attack.clone(), limits.clone());
            let result = server.execute(&token, &flows::inline("hostile", state)).expect(200);
            assert_eq!(result["status"], "failed", "{block_type} {attack}: {result:#}");
            let error = result["error"].as_str().unwrap_or_default();
            assert!(error.contains(expected), "{block_type} {attack}: expected {expected:?} in {error:?}");
            assert_healthy(server);
        }
        // An environment variable the workflow did not grant reads as absent,
        // through the env handle and through WASI.
        let mut request =
            flows::inline("env", one_block(block_type, json!({"attack": "read_env", "name": "SECRET"}), json!({})));
        request["options"] = json!({"environmentVariables": {"SECRET": "hunter2"}});
        let result = server.execute(&token, &request).expect(200);
        assert_eq!(result["status"], "completed", "{block_type}: {result:#}");
        assert_eq!(result["output"]["b"]["granted"], Value::Null, "{block_type}: {result:#}");
        assert_eq!(result["output"]["b"]["wasi"], Value::Null, "{block_type}: {result:#}");
        assert!(!result.to_string().contains("hunter2"), "{block_type}: {result:#}");
        // Granted, it is readable through the handle only.
        let granted =
            one_block(block_type, json!({"attack": "read_env", "name": "SECRET"}), json!({"env": ["SECRET"]}));
        let mut request = flows::inline("env-granted", granted);
        request["options"] = json!({"environmentVariables": {"SECRET": "hunter2"}});
        let result = server.execute(&token, &request).expect(200);
        assert_eq!(result["output"]["b"]["granted"], "[REDACTED]", "{block_type}: {result:#}");
        assert_eq!(result["output"]["b"]["wasi"], Value::Null, "{block_type}: {result:#}");
        assert_healthy(server);
    }
    // Python's print() joins the log under the same cap.
    let state = one_block("hostile-py", json!({"attack": "print_flood"}), limits);
    let result = server.execute(&token, &flows::inline("print", state)).expect(200);
    let error = result["error"].as_str().unwrap_or_default();
    assert!(error.contains("log limit exceeded"), "{result:#}");
    assert_healthy(server);
}
