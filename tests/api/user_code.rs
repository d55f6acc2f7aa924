//! Ordinary user code through the real server (issue 12): object keys keep the
//! order they were written in, from the request through every block to the
//! response; a `response` block ends the execution as Sim Studio's does.

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
