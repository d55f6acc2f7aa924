//! Data never becomes code, and environment references are grants (SPEC 2;
//! issue 11 findings 8, 9 and 10), through the HTTP API with the real blocks.

use serde_json::{Value, json};

use crate::flows;
use crate::harness::shared;

/// The input of finding 8: a `__proto__` key that an object literal would turn
/// into a prototype, and a string that would close a pasted string literal.
fn hostile_input() -> Value {
    json!({
        "user": {"__proto__": {"isAdmin": true}},
        "name": "bob",
        "quote": "\"); globalThis.pwned = true; (\"",
        "items": [1, 2, 3],
    })
}

#[test]
fn references_in_javascript_are_values_never_source() {
    let server = shared();
    let token = server.token("data-js");
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "check": {"type": "condition", "name": "Check", "params": {"conditions": [
                {"id": "admin", "expression": "<start.user>.isAdmin === true"},
                {"id": "bob", "expression": "<start.name> === 'bob' && <start.items>.length > 2"},
                {"id": "else"}
            ]}},
            "route": {"type": "router", "name": "Route", "params": {"routes": [
                {"id": "pwned", "expression": "<start.quote> && typeof globalThis.pwned !== 'undefined'"},
                {"id": "quoted", "expression": "<start.quote>.startsWith('\"); ')"},
                {"id": "default"}
            ]}},
            "f": {"type": "function", "name": "F", "params": {
                "code": "return {admin: <start.user>.isAdmin === true, inputAdmin: input.user.isAdmin === true, quote: <start.quote>, pwned: typeof globalThis.pwned};",
                "input": "<start>"
            }},
            "count": {"type": "function", "name": "Count", "parentId": "loop1",
                      "params": {"code": "return <loop.index>;"}}
        },
        "edges": [
            {"source": "start", "target": "check"}, {"source": "start", "target": "route"},
            {"source": "start", "target": "f"}, {"source": "start", "target": "loop1"}
        ],
        "loops": {"loop1": {"nodes": ["count"], "loopType": "while",
                            "whileCondition": "<loop.index> < <start.items>.length && !<start.user>.isAdmin"}}
    });
    let mut request = flows::inline("data-js", state);
    request["options"] = json!({"input": hostile_input()});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["check"]["selectedCondition"], "bob", "{result:#}");
    assert_eq!(result["output"]["route"]["selectedRoute"], "quoted", "{result:#}");
    assert_eq!(
        result["output"]["f"]["result"],
        json!({"admin": false, "inputAdmin": false, "quote": hostile_input()["quote"], "pwned": "undefined"}),
        "{result:#}"
    );
    let counts: Vec<Value> = result["output"]["loop1"]["results"]
        .as_array()
        .expect("loop results")
        .iter()
        .map(|r| r["count"]["result"].clone())
        .collect();
    assert_eq!(counts, vec![json!(0), json!(1), json!(2)], "{result:#}");
    // What the block received: the source with `__refs[i]`, the values beside it.
    let log = result["logs"].as_array().unwrap().iter().find(|l| l["blockId"] == "check").unwrap();
    assert_eq!(log["input"]["conditions"][0]["expression"], "__refs[0].isAdmin === true", "{log:#}");
    assert_eq!(log["input"]["conditions"][0]["references"], json!([{"__proto__": {"isAdmin": true}}]), "{log:#}");
}

/// `start` → `t`, a template block over `data` = `{"name": "Ada", "secret": …}`.
fn template(text: &str) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "t": {"type": "template", "name": "T",
                  "params": {"template": text, "data": {"name": "Ada", "secret": "hidden-field"}}}
        },
        "edges": [{"source": "start", "target": "t"}]
    })
}

#[test]
fn references_in_template_text_are_variables_never_template_source() {
    let server = shared();
    let token = server.token("data-template");
    let text = "Got: <start.x> | {% if <start.n> > 2 %}{{ <start.n> * 2 }}{% endif %}";
    let mut request = flows::inline("data-template", template(text));
    request["options"] = json!({"input": {"x": "{{ 7*7 }} {{ data }}", "n": 3}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["t"]["text"], "Got: {{ 7*7 }} {{ data }} | 6", "{result:#}");
}

#[test]
fn jinja_variables_naming_no_provided_env_variable_render_from_data() {
    let server = shared();
    let token = server.token("data-template");
    let mut request = flows::inline("data-jinja", template("Hello {{name}} and {{ name }}"));
    request["options"] = json!({"environmentVariables": {"OTHER": "other-value-7f3a"}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["t"]["text"], "Hello Ada and Ada", "{result:#}");
}

#[test]
fn env_references_resolve_only_in_granted_blocks() {
    let server = shared();
    let token = server.token("data-grants");
    let secret = "grant-s3cret-77";
    let state = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "ok": {"type": "function", "name": "Ok", "env": ["SECRET"],
                   "params": {"code": "return {{SECRET}}.length;"}},
            "thief": {"type": "function", "name": "Thief",
                      "params": {"code": "return input;", "input": {"stolen": "{{SECRET}}"}}}
        },
        "edges": [{"source": "start", "target": "ok"}, {"source": "start", "target": "thief"}]
    });
    let mut request = flows::inline("data-grants", state.clone());
    request["options"] = json!({"environmentVariables": {"SECRET": secret}});
    let refused = server.execute(&token, &request);
    assert!(!refused.text.contains(secret), "{}", refused.text);
    let body = refused.expect_error(400, "invalid_workflow");
    let details = body["details"].as_array().expect("details");
    assert_eq!(details.len(), 1, "{body:#}");
    assert_eq!(details[0]["blockId"], "thief", "{body:#}");
    assert_eq!(details[0]["field"], "params.input.stolen", "{body:#}");
    assert!(details[0]["message"].as_str().unwrap().contains("`SECRET`"), "{body:#}");

    // Without the thief the granted block gets the value (as data, in its code).
    let mut granted = state;
    granted["blocks"].as_object_mut().unwrap().remove("thief");
    granted["edges"].as_array_mut().unwrap().pop();
    let mut request = flows::inline("data-grants-ok", granted);
    request["options"] = json!({"environmentVariables": {"SECRET": secret}});
    let result = server.execute(&token, &request).expect(200);
    assert_eq!(result["status"], "completed", "{result:#}");
    assert_eq!(result["output"]["ok"]["result"], secret.len(), "{result:#}");

    // Not provided, `{{SECRET}}` is text.
    let result = server.execute(&token, &flows::inline("data-grants-text", request["workflow"].clone())).expect(200);
    assert_eq!(result["status"], "failed", "`{{{{SECRET}}}}.length` is a syntax error as text: {result:#}");
}
