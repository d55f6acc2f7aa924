//! Ordinary user code through the real server (issue 12): object keys keep the
//! order they were written in, from the request through every block to the
//! response; a `response` block ends the execution as Sim Studio's does, and a
//! forEach collection may be JSON text as Sim sends it; a misspelt granted
//! environment name is refused before anything runs.

use serde_json::{Value, json};

use crate::flows;
use crate::harness::shared;

/// Where each of `keys` first appears in `text`, which must be in that order.
#[track_caller]
fn assert_in_order(text: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("`{key}` missing from {text}")))
        .collect();
    assert!(positions.is_sorted(), "keys {keys:?} out of order at {positions:?} in {text}");
}

#[test]
fn object_keys_keep_their_order_through_every_block_and_the_response() {
    let server = shared();
    let token = server.token("order");
    // Neither sorted nor reverse-sorted, so any reordering shows.
    let input = json!({"zulu": 1, "alpha": 2, "mike": 3});
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "js": {"type": "function", "name": "Keys in JavaScript",
                   "params": {"code": "return {keys: Object.keys(input), echoed: input, built: {yankee: 1, bravo: 2}};",
                              "input": "<start>"}},
            "jq": {"type": "transform", "name": "Keys in jq",
                   "params": {"filter": "{keys: keys_unsorted, entries: [to_entries[].key], added: (. + {delta: 4})}",
                              "input": "<js.result.echoed>"}}
        },
        "edges": [{"source": "start", "target": "js"}, {"source": "js", "target": "jq"}]
    });
    let mut request = flows::inline("order", state);
    request["options"] = json!({"input": input});
    let response = server.execute(&token, &request);
    assert_eq!(response.status, 200, "{}", response.text);
    let result = response.json;

    let written = json!(["zulu", "alpha", "mike"]);
    assert_eq!(result["output"]["js"]["result"]["keys"], written, "{result:#}");
    assert_eq!(result["output"]["jq"]["result"]["keys"], written, "{result:#}");
    assert_eq!(result["output"]["jq"]["result"]["entries"], written, "{result:#}");

    // The response text itself: objects built in the blocks and echoed back keep their order.
    let jq_text = serde_json::to_string(&result["output"]["jq"]["result"]["added"]).unwrap();
    assert_in_order(&jq_text, &["zulu", "alpha", "mike", "delta"]);
    let start_at = response.text.find("\"start\"").expect("the start block's output");
    assert_in_order(&response.text[start_at..], &["zulu", "alpha", "mike"]);
    let built_at = response.text.find("\"built\"").expect("the object the function built");
    assert_in_order(&response.text[built_at..], &["yankee", "bravo"]);

    // And the stored result, read back, is in the same order.
    let id = result["executionId"].as_str().unwrap();
    let stored = server.get(&format!("/v1/executions/{id}"), &token);
    assert_eq!(stored.status, 200, "{}", stored.text);
    let built_at = stored.text.find("\"built\"").expect("the stored result holds the built object");
    assert_in_order(&stored.text[built_at..], &["yankee", "bravo"]);
    assert_eq!(stored.json["output"]["jq"]["result"]["keys"], written);
}

#[test]
fn a_response_block_ends_the_execution_and_nothing_after_it_runs() {
    let server = shared();
    let token = server.token("respond");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "reply": {"type": "response", "name": "Reply", "params": {"data": {"ok": "<start.n>"}, "status": 201}},
            "after": {"type": "function", "name": "After", "params": {"code": "return 'ran';"}}
        },
        "edges": [{"source": "start", "target": "reply"}, {"source": "reply", "target": "after"}]
    });
    let mut request = flows::inline("respond", state);
    request["options"] = json!({"input": {"n": 5}});
    let result = server.execute(&token, &request).expect(200);

    assert_eq!(result["success"], true, "{result:#}");
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["reply"]["data"], json!({"ok": 5}), "{result:#}");
    assert_eq!(result["output"]["reply"]["status"], 201, "{result:#}");
    assert_eq!(result["output"].get("after"), None, "the block after the response must not run: {result:#}");
    let ran: Vec<&Value> = result["logs"].as_array().unwrap().iter().map(|log| &log["blockId"]).collect();
    assert_eq!(ran, [&json!("start"), &json!("reply")], "{result:#}");
}

#[test]
fn mustache_text_that_names_no_provided_variable_passes_through_every_language() {
    let server = shared();
    let token = server.token("mustache");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "greet": {"type": "template", "name": "Greet",
                      "params": {"template": "Hello {{name}}, key {{ API_KEY }}", "data": {"name": "Ada", "API_KEY": "data's own"}}},
            "js": {"type": "function", "name": "Js", "params": {"code": "return 'Hi {{name}} and {{ name }}';"}},
            "jq": {"type": "transform", "name": "Jq", "params": {"filter": "\"{{name}} stays\""}}
        },
        "edges": [{"source": "start", "target": "greet"}, {"source": "start", "target": "js"}, {"source": "start", "target": "jq"}]
    });
    let mut request = flows::inline("mustache", state);
    // Provided to the execution, granted to no block: the text naming it is not a reference to it
    // in Jinja's spaced form, and `{{name}}` names no provided variable at all.
    request["options"] = json!({"environmentVariables": {"API_KEY": "k-secret-value-1"}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["greet"]["text"], "Hello Ada, key data's own", "{result:#}");
    assert_eq!(result["output"]["js"]["result"], "Hi {{name}} and {{ name }}", "{result:#}");
    assert_eq!(result["output"]["jq"]["result"], "{{name}} stays", "{result:#}");
}

#[test]
fn references_in_a_jq_filter_are_values_never_source() {
    let server = shared();
    let token = server.token("jq-refs");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "pick": {"type": "transform", "name": "Pick",
                     "params": {"filter": "[.[] | select(. > <start.min>)] | {big: ., label: \"over <start.min> for <start.who>\", who: <start.who>}",
                                "input": "<start.values>"}}
        },
        "edges": [{"source": "start", "target": "pick"}]
    });
    let mut request = flows::inline("jq-refs", state);
    // Pasted into the filter as text, `who` would close the string and run `$ENV`.
    let who = "\") | $ENV | (\"";
    request["options"] = json!({"input": {"min": 2, "who": who, "values": [1, 2, 3, 4]}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(
        result["output"]["pick"]["result"],
        json!({"big": [3, 4], "label": format!("over 2 for {who}"), "who": who}),
        "{result:#}"
    );
}

#[test]
fn a_foreach_collection_given_as_json_text_is_iterated() {
    let server = shared();
    let token = server.token("foreach-text");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "each": {"type": "function", "name": "Each", "parentId": "loop1",
                     "params": {"code": "return {kind: typeof input.item, item: input.item, index: input.index, times10: input.item * 10};",
                                "input": {"item": "<loop.currentItem>", "index": "<loop.index>"}}},
            "after": {"type": "function", "name": "After",
                      "params": {"code": "return input.map(r => r.each.result.times10);", "input": "<loop1.results>"}}
        },
        "edges": [{"source": "start", "target": "loop1"}, {"source": "loop1", "target": "after"}],
        "loops": {"loop1": {"nodes": ["each"], "loopType": "forEach", "forEachItems": "<start.list>"}}
    });
    let mut request = flows::inline("foreach-text", state);
    // Sim sends the collection as the text of a JSON array.
    request["options"] = json!({"input": {"list": "[1, 2, 3]"}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");

    let results = result["output"]["loop1"]["results"].as_array().unwrap_or_else(|| panic!("no results: {result:#}"));
    let each: Vec<&Value> = results.iter().map(|iteration| &iteration["each"]["result"]).collect();
    assert_eq!(
        each,
        [
            &json!({"kind": "number", "item": 1, "index": 0, "times10": 10}),
            &json!({"kind": "number", "item": 2, "index": 1, "times10": 20}),
            &json!({"kind": "number", "item": 3, "index": 2, "times10": 30}),
        ],
        "each item of the parsed array reached the loop body, as a number: {result:#}"
    );
    assert_eq!(result["output"]["after"]["result"], json!([10, 20, 30]), "{result:#}");
}

#[test]
fn a_response_block_stops_a_branch_that_is_still_running() {
    let server = shared();
    let token = server.token("respond-early");
    let wait_ms = 4500;
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            // A short gate, so the long wait has surely started when the response ends the run.
            "gate": {"type": "wait", "name": "Gate", "params": {"durationMs": 200}},
            "reply": {"type": "response", "name": "Reply", "params": {"data": {"id": "<start.id>", "state": "accepted"}, "status": 202}},
            "slow": {"type": "wait", "name": "Slow", "params": {"durationMs": wait_ms}},
            "afterSlow": {"type": "function", "name": "After Slow", "params": {"code": "return 'ran';"}}
        },
        "edges": [
            {"source": "start", "target": "gate"}, {"source": "gate", "target": "reply"},
            {"source": "start", "target": "slow"}, {"source": "slow", "target": "afterSlow"}
        ]
    });
    let mut request = flows::inline("respond-early", state);
    request["options"] = json!({"input": {"id": 7}, "executionId": "respond-early-1"});
    let started = std::time::Instant::now();
    let result = server.execute(&token, &request).expect(200);
    let took = started.elapsed();

    // The slack is for a loaded machine: waiting the branch out would take the whole wait.
    assert!(took < std::time::Duration::from_millis(wait_ms / 2), "answered only after {took:?}: {result:#}");
    assert_eq!(result["success"], true, "{result:#}");
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["reply"]["data"], json!({"id": 7, "state": "accepted"}), "{result:#}");
    assert_eq!(result["output"]["reply"]["status"], 202, "{result:#}");
    for stopped in ["slow", "afterSlow"] {
        assert_eq!(result["output"].get(stopped), None, "`{stopped}` was stopped and has no output: {result:#}");
    }

    // Nothing of the stopped branch runs later either.
    std::thread::sleep(std::time::Duration::from_millis(wait_ms + 1000).saturating_sub(started.elapsed()));
    let stored = server.get("/v1/executions/respond-early-1", &token).expect(200);
    assert_eq!(stored["status"], "completed", "{stored:#}");
    assert_eq!(stored["output"]["reply"]["data"], json!({"id": 7, "state": "accepted"}), "{stored:#}");
    for stopped in ["slow", "afterSlow"] {
        assert_eq!(stored["output"].get(stopped), None, "`{stopped}` ran after the response: {stored:#}");
    }
}

#[test]
fn a_misspelt_granted_environment_name_is_refused_naming_the_close_variable() {
    let server = shared();
    let token = server.token("misspelt-env");
    let secret = "k-misspelt-secret-1";
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "call": {"type": "function", "name": "Call", "env": ["API_KEY"],
                     "params": {"code": "return 'Bearer {{API_KY}}';"}}
        },
        "edges": [{"source": "start", "target": "call"}]
    });
    let mut request = flows::inline("misspelt-env", state);
    request["options"] = json!({"executionId": "misspelt-env-1", "environmentVariables": {"API_KEY": secret}});
    let refused = server.execute(&token, &request);
    assert!(!refused.text.contains(secret), "{}", refused.text);
    let body = refused.expect_error(400, "invalid_workflow");
    let details = body["details"].as_array().expect("details");
    assert_eq!(details.len(), 1, "{body:#}");
    assert_eq!(details[0]["blockId"], "call", "{body:#}");
    assert_eq!(details[0]["field"], "params.code", "{body:#}");
    let message = details[0]["message"].as_str().unwrap();
    assert!(message.contains("API_KY") && message.contains("`API_KEY`"), "names the typo and the grant: {body:#}");
    // Refused before anything was stored: the ID is still free.
    server.get("/v1/executions/misspelt-env-1", &token).expect_error(404, "not_found");
}
