//! Tenancy: another tenant's workflows, executions and custom blocks are
//! invisible, answered exactly as if they did not exist.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::flows;
use crate::harness::{Resp, Server, shared};

/// The body with `id` replaced, so answers about two different IDs compare.
fn without(resp: Resp, id: &str) -> (u16, String) {
    (resp.status, resp.text.replace(id, "ID"))
}

/// Asserts that `theirs` (about another tenant's `id`) is the same 404 as
/// `missing` (about an ID that exists nowhere).
#[track_caller]
fn same_404(theirs: Resp, id: &str, missing: Resp, missing_id: &str) {
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    assert_eq!(theirs.json["code"], "not_found", "{}", theirs.text);
    assert_eq!(without(theirs, id), without(missing, missing_id));
}

#[test]
fn another_tenants_workflow_is_404_on_every_route() {
    let server = shared();
    let alice = server.token("tenancy-wf-alice");
    let bob = server.token("tenancy-wf-bob");
    let state = flows::function("return 'alice secret plan';");
    server.post("/v1/workflows", &alice, &json!({"id": "plan", "name": "Alice Plan", "state": state})).expect(201);
    server.post("/v1/workflows/plan/deploy", &alice, &json!({})).expect(200);

    let read = server.get("/v1/workflows/plan", &bob);
    assert!(!read.text.contains("Alice Plan") && !read.text.contains("secret"), "{}", read.text);
    same_404(read, "plan", server.get("/v1/workflows/nope", &bob), "nope");

    let draft = json!({"state": flows::function("return 'bob was here';")});
    same_404(
        server.put("/v1/workflows/plan/draft", &bob, &draft),
        "plan",
        server.put("/v1/workflows/nope/draft", &bob, &draft),
        "nope",
    );
    // Even an invalid state is about a workflow bob cannot see.
    let bad = json!({"state": {"blocks": {}, "edges": []}});
    same_404(
        server.put("/v1/workflows/plan/draft", &bob, &bad),
        "plan",
        server.put("/v1/workflows/nope/draft", &bob, &bad),
        "nope",
    );
    same_404(
        server.post("/v1/workflows/plan/deploy", &bob, &json!({})),
        "plan",
        server.post("/v1/workflows/nope/deploy", &bob, &json!({})),
        "nope",
    );
    same_404(server.delete("/v1/workflows/plan", &bob), "plan", server.delete("/v1/workflows/nope", &bob), "nope");
    for use_draft in [false, true] {
        same_404(
            server.execute(&bob, &json!({"workflowId": "plan", "useDraftState": use_draft})),
            "plan",
            server.execute(&bob, &json!({"workflowId": "nope", "useDraftState": use_draft})),
            "nope",
        );
    }

    // Alice's workflow is untouched: same draft, one version, still runs.
    let mine = server.get("/v1/workflows/plan", &alice).expect(200);
    assert_eq!(mine["draft"]["blocks"]["f"]["params"]["code"], "return 'alice secret plan';", "{mine:#}");
    assert_eq!(mine["deployedVersion"], 1, "{mine:#}");
    let run = server.execute(&alice, &json!({"workflowId": "plan"})).expect(200);
    assert_eq!(run["output"]["f"]["result"], "alice secret plan");

    // IDs are per tenant: bob may have his own "plan".
    server
        .post(
            "/v1/workflows",
            &bob,
            &json!({"id": "plan", "name": "Bob Plan", "state": flows::function("return 'bob';")}),
        )
        .expect(201);
    assert_eq!(server.get("/v1/workflows/plan", &alice).expect(200)["name"], "Alice Plan");
    assert_eq!(server.get("/v1/workflows/plan", &bob).expect(200)["name"], "Bob Plan");
}

#[test]
fn another_tenants_execution_is_404_on_every_route() {
    let server = shared();
    let alice = server.token("tenancy-ex-alice");
    let bob = server.token("tenancy-ex-bob");
    let mut request = flows::inline("approval", flows::approval());
    request["options"] = json!({"executionId": "alice-run-1"});
    let paused = server.execute(&alice, &request).expect(202);
    let context_id = paused["pausePoints"][0]["contextId"].as_str().unwrap().to_string();

    same_404(
        server.get("/v1/executions/alice-run-1", &bob),
        "alice-run-1",
        server.get("/v1/executions/nope", &bob),
        "nope",
    );
    let events = server.get("/v1/executions/alice-run-1/events", &bob);
    assert_eq!(events.status, 404, "{}", events.text);
    assert_eq!(events.json["code"], "not_found", "{}", events.text);
    let resume = json!({"contextId": context_id, "input": {"approved": true}});
    same_404(
        server.post("/v1/executions/alice-run-1/resume", &bob, &resume),
        "alice-run-1",
        server.post("/v1/executions/nope/resume", &bob, &resume),
        "nope",
    );
    same_404(
        server.post("/v1/executions/alice-run-1/cancel", &bob, &json!({})),
        "alice-run-1",
        server.post("/v1/executions/nope/cancel", &bob, &json!({})),
        "nope",
    );

    // Execution IDs are per tenant too: bob reusing alice's is no conflict.
    let mut bobs = flows::inline("mine", flows::function("return 'bob';"));
    bobs["options"] = json!({"executionId": "alice-run-1"});
    assert_eq!(server.execute(&bob, &bobs).expect(200)["output"]["f"]["result"], "bob");

    // Alice's execution is still paused and still hers to resume.
    let still = server.get("/v1/executions/alice-run-1", &alice).expect(200);
    assert_eq!(still["status"], "paused", "{still:#}");
    let done = server.post("/v1/executions/alice-run-1/resume", &alice, &resume).expect(200);
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["output"]["after"]["result"], "shipped", "{done:#}");
}

fn register(server: &Server, token: &str, block_type: &str) -> Resp {
    Resp::from(
        server
            .request(Method::POST, &format!("/v1/blocks?type={block_type}"), Some(token))
            .header(CONTENT_TYPE, "application/wasm")
            .body(sandflow_tests::guests::ECHO.to_vec())
            .send(),
    )
}

fn uses(block_type: &str) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "custom": {"type": block_type, "name": "Custom", "params": {"said": "hello"}}
        },
        "edges": [{"source": "start", "target": "custom"}]
    })
}

#[test]
fn another_tenants_custom_block_type_is_unknown() {
    let server = shared();
    let alice = server.token("tenancy-block-alice");
    let bob = server.token("tenancy-block-bob");
    register(server, &alice, "privateecho").expect(201);
    let ran = server.execute(&alice, &flows::inline("custom", uses("privateecho"))).expect(200);
    assert_eq!(ran["output"]["custom"], json!({"said": "hello"}), "{ran:#}");

    let error =
        server.execute(&bob, &flows::inline("custom", uses("privateecho"))).expect_error(400, "invalid_workflow");
    let details = error["details"].as_array().expect("details");
    assert!(
        details.iter().any(|d| d["blockId"] == "custom" && d["message"].as_str().unwrap().contains("privateecho")),
        "{error:#}"
    );
    server
        .post("/v1/workflows", &bob, &json!({"id": "steal", "name": "Steal", "state": uses("privateecho")}))
        .expect_error(400, "invalid_workflow");

    let listed = server.get("/v1/blocks", &bob).expect(200);
    assert!(!listed.to_string().contains("privateecho"), "{listed:#}");
    // Bob may register his own block under the same name.
    register(server, &bob, "privateecho").expect(201);
}

#[test]
fn a_workflow_block_cannot_run_another_tenants_workflow() {
    let server = shared();
    let alice = server.token("tenancy-sub-alice");
    let bob = server.token("tenancy-sub-bob");
    let state = flows::function("return 'alice only';");
    server.post("/v1/workflows", &alice, &json!({"id": "private", "name": "Private", "state": state})).expect(201);
    server.post("/v1/workflows/private/deploy", &alice, &json!({})).expect(200);
    let caller = |child: &str| {
        json!({
            "blocks": {
                "start": {"type": "start", "name": "Start"},
                "call": {"type": "workflow", "name": "Call", "params": {"workflowId": child}}
            },
            "edges": [{"source": "start", "target": "call"}]
        })
    };
    let mine = server.execute(&alice, &flows::inline("caller", caller("private"))).expect(200);
    assert_eq!(mine["output"]["call"]["output"]["f"]["result"], "alice only", "{mine:#}");

    let theirs = server.execute(&bob, &flows::inline("caller", caller("private")));
    assert!(!theirs.text.contains("alice only"), "{}", theirs.text);
    let theirs = theirs.expect(200);
    assert_eq!(theirs["status"], "failed", "{theirs:#}");
    let missing = server.execute(&bob, &flows::inline("caller", caller("absent"))).expect(200);
    assert_eq!(
        theirs["error"].as_str().unwrap().replace("private", "ID"),
        missing["error"].as_str().unwrap().replace("absent", "ID"),
        "the same failure as for a workflow that does not exist"
    );
}
