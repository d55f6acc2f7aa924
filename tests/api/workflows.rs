//! Workflow routes: create, read, replace the draft, deploy, delete.

use serde_json::{Value, json};

use crate::flows;
use crate::harness::shared;

fn create(tenant_token: &str, id: &str, state: Value) -> Value {
    shared().post("/v1/workflows", tenant_token, &json!({"id": id, "name": "Orders", "state": state})).expect(201)
}

#[test]
fn create_answers_201_with_the_workflow_and_the_state_as_its_draft() {
    let server = shared();
    let token = server.token("wf-create");
    let created = create(&token, "orders", flows::function("return 1;"));
    assert_eq!(created["id"], "orders");
    assert_eq!(created["name"], "Orders");
    assert_eq!(created["draft"]["blocks"]["f"]["params"]["code"], "return 1;", "{created}");
    assert_eq!(created["draft"]["edges"][0]["target"], "f", "{created}");
    assert_eq!(created["deployedVersion"], Value::Null);
    assert_eq!(created["versions"], json!([]));

    let read = server.get("/v1/workflows/orders", &token).expect(200);
    assert_eq!(read, created);
}

#[test]
fn a_draft_reads_back_with_its_blocks_and_variables_in_the_order_written() {
    let server = shared();
    let token = server.token("wf-order");
    let state = json!({
        "blocks": {
            "zeta": {"type": "start", "name": "Start"},
            "alpha": {"type": "function", "name": "Alpha", "params": {"code": "return 1;"}},
            "mid": {"type": "function", "name": "Mid", "params": {"code": "return 2;"}}
        },
        "edges": [{"source": "zeta", "target": "alpha"}, {"source": "alpha", "target": "mid"}],
        "variables": {
            "v9": {"name": "last", "type": "number", "value": 0},
            "v1": {"name": "first", "type": "string", "value": "x"}
        }
    });
    let keys = |object: &Value| object.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let created = create(&token, "ordered", state);
    let read = server.get("/v1/workflows/ordered", &token).expect(200);
    for body in [&created, &read] {
        assert_eq!(keys(&body["draft"]["blocks"]), ["zeta", "alpha", "mid"], "{body}");
        assert_eq!(keys(&body["draft"]["variables"]), ["v9", "v1"], "{body}");
    }
}

#[test]
fn create_without_an_id_gets_a_generated_one() {
    let server = shared();
    let token = server.token("wf-generated-id");
    let created = server
        .post("/v1/workflows", &token, &json!({"name": "Anonymous", "state": flows::function("return 1;")}))
        .expect(201);
    let id = created["id"].as_str().expect("an id");
    assert!(!id.is_empty());
    assert_eq!(server.get(&format!("/v1/workflows/{id}"), &token).expect(200)["name"], "Anonymous");
}

#[test]
fn creating_an_existing_id_is_409() {
    let server = shared();
    let token = server.token("wf-duplicate");
    create(&token, "dup", flows::function("return 1;"));
    server
        .post("/v1/workflows", &token, &json!({"id": "dup", "name": "Again", "state": flows::function("return 2;")}))
        .expect_error(409, "workflow_exists");
    // The first one is untouched.
    let read = server.get("/v1/workflows/dup", &token).expect(200);
    assert_eq!(read["name"], "Orders");
    assert_eq!(read["draft"]["blocks"]["f"]["params"]["code"], "return 1;");
}

#[test]
fn an_invalid_state_is_400_invalid_workflow_naming_every_problem() {
    let server = shared();
    let token = server.token("wf-invalid");
    let state = json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "x": {"type": "no_such_block", "name": "X"}},
        "edges": [{"source": "start", "target": "x"}, {"source": "x", "target": "ghost"}]
    });
    let error = server
        .post("/v1/workflows", &token, &json!({"id": "bad", "name": "Bad", "state": state}))
        .expect_error(400, "invalid_workflow");
    let details = error["details"].as_array().expect("details");
    assert!(details.len() >= 2, "both the unknown type and the dangling edge: {error}");
    for detail in details {
        assert!(detail["message"].as_str().is_some_and(|m| !m.is_empty()), "{detail}");
        for key in detail.as_object().unwrap().keys() {
            assert!(["blockId", "field", "message"].contains(&key.as_str()), "unexpected key {key}: {detail}");
        }
    }
    assert!(details.iter().any(|d| d["blockId"] == "x"), "the unknown type is named on its block: {error}");
    let text = error.to_string();
    assert!(text.contains("no_such_block"), "{text}");
    assert!(text.contains("ghost"), "{text}");
    // Nothing was stored.
    server.get("/v1/workflows/bad", &token).expect_error(404, "not_found");
}

#[test]
fn replacing_the_draft_validates_it_and_keeps_the_old_draft_on_error() {
    let server = shared();
    let token = server.token("wf-draft");
    create(&token, "drafty", flows::function("return 1;"));

    let replaced =
        server.put("/v1/workflows/drafty/draft", &token, &json!({"state": flows::function("return 2;")})).expect(200);
    assert_eq!(replaced["draft"]["blocks"]["f"]["params"]["code"], "return 2;", "{replaced}");

    let two_starts = json!({
        "blocks": {"a": {"type": "start", "name": "A"}, "b": {"type": "start", "name": "B"}},
        "edges": []
    });
    let error = server
        .put("/v1/workflows/drafty/draft", &token, &json!({"state": two_starts}))
        .expect_error(400, "invalid_workflow");
    assert!(!error["details"].as_array().expect("details").is_empty(), "{error}");
    let bad_params = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "w": {"type": "wait", "name": "W", "params": {"durationMs": "soon"}}
        },
        "edges": [{"source": "start", "target": "w"}]
    });
    let error = server
        .put("/v1/workflows/drafty/draft", &token, &json!({"state": bad_params}))
        .expect_error(400, "invalid_workflow");
    assert!(error["details"].as_array().unwrap().iter().any(|d| d["blockId"] == "w"), "{error}");

    let read = server.get("/v1/workflows/drafty", &token).expect(200);
    assert_eq!(read["draft"]["blocks"]["f"]["params"]["code"], "return 2;", "{read}");
    server
        .put("/v1/workflows/never-created/draft", &token, &json!({"state": flows::function("return 3;")}))
        .expect_error(404, "not_found");
}

#[test]
fn deploy_freezes_the_draft_as_numbered_versions() {
    let server = shared();
    let token = server.token("wf-deploy");
    create(&token, "shipping", flows::function("return 1;"));
    let first = server.post("/v1/workflows/shipping/deploy", &token, &json!({})).expect(200);
    assert_eq!(first["version"], 1, "{first}");
    let second = server.post("/v1/workflows/shipping/deploy", &token, &json!({})).expect(200);
    assert_eq!(second["version"], 2, "{second}");

    let read = server.get("/v1/workflows/shipping", &token).expect(200);
    assert_eq!(read["deployedVersion"], 2, "{read}");
    let versions = read["versions"].as_array().expect("versions");
    assert_eq!(versions.iter().map(|v| v["version"].clone()).collect::<Vec<_>>(), vec![json!(1), json!(2)]);
    assert!(versions.iter().all(|v| v["deployedAt"].is_string()), "{read}");

    server.post("/v1/workflows/not-there/deploy", &token, &json!({})).expect_error(404, "not_found");
}

#[test]
fn delete_removes_the_workflow() {
    let server = shared();
    let token = server.token("wf-delete");
    create(&token, "doomed", flows::function("return 1;"));
    server.delete("/v1/workflows/doomed", &token).expect(200);
    server.get("/v1/workflows/doomed", &token).expect_error(404, "not_found");
    server.delete("/v1/workflows/doomed", &token).expect_error(404, "not_found");
    server.execute(&token, &json!({"workflowId": "doomed", "useDraftState": true})).expect_error(404, "not_found");
}

#[test]
fn an_unknown_workflow_is_404() {
    let server = shared();
    let token = server.token("wf-unknown");
    server.get("/v1/workflows/nothing-here", &token).expect_error(404, "not_found");
}
