//! Validation reports every problem of a workflow at once, before anything runs.

mod containers;
mod grants;
mod references;

use std::collections::HashMap;

use sandflow_engine::graph::Problem;
use sandflow_engine::model::WorkflowState;
use sandflow_engine::validate::{ValidationSettings, validate};
use serde_json::{Value, json};

fn schemas() -> HashMap<String, Value> {
    let branches = json!({"type": "array", "items": {
        "type": "object", "required": ["id"],
        "properties": {"id": {"type": "string"}, "expression": {"type": "string"}},
    }});
    HashMap::from([
        ("start".to_string(), json!({"type": "object"})),
        (
            "function".to_string(),
            json!({
                "type": "object", "required": ["code"],
                "properties": {"code": {"type": "string"}, "input": {}},
            }),
        ),
        (
            "api".to_string(),
            json!({
                "type": "object", "required": ["url"], "additionalProperties": false,
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "method": {"enum": ["GET", "POST"]},
                    "retries": {"type": "integer", "minimum": 0},
                    "body": {"anyOf": [{"type": "object", "properties": {"n": {"type": "integer"}}}, {"type": "null"}]},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }),
        ),
        (
            "condition".to_string(),
            json!({"type": "object", "required": ["conditions"], "properties": {"conditions": branches}}),
        ),
        ("router".to_string(), json!({"type": "object", "required": ["routes"], "properties": {"routes": branches}})),
    ])
}

fn state(workflow: Value) -> WorkflowState {
    serde_json::from_value(workflow).expect("test workflows deserialize")
}

fn problems_with(workflow: Value, settings: &ValidationSettings) -> Vec<Problem> {
    validate(&state(workflow), &schemas(), settings).err().unwrap_or_default()
}

fn problems(workflow: Value) -> Vec<Problem> {
    problems_with(workflow, &ValidationSettings::default())
}

/// Whether some problem is at `block`/`field` and its message contains `needle`.
fn has(problems: &[Problem], block: Option<&str>, field: Option<&str>, needle: &str) -> bool {
    problems.iter().any(|p| p.block_id.as_deref() == block && p.field.as_deref() == field && p.message.contains(needle))
}

#[track_caller]
fn assert_has(problems: &[Problem], block: Option<&str>, field: Option<&str>, needle: &str) {
    assert!(has(problems, block, field, needle), "no problem {block:?}/{field:?} ~ {needle:?} in {problems:#?}");
}

/// The SPEC section 2 example.
fn spec_example() -> Value {
    json!({
        "blocks": {
            "start":  {"type": "start", "name": "Start"},
            "fetch":  {"type": "api", "name": "Fetch", "params": {"url": "<start.url>", "method": "GET"}},
            "check":  {"type": "condition", "name": "Check",
                       "params": {"conditions": [{"id": "big", "expression": "<fetch.data.count> > 10"}, {"id": "else"}]}},
            "each":   {"type": "function", "name": "Each", "parentId": "loop1",
                       "params": {"code": "return input.item * 2;", "input": {"item": "<loop.currentItem>"}}},
            "notify": {"type": "function", "name": "Notify", "params": {"code": "return 'ok';"},
                       "limits": {"fuel": 50000000, "memoryBytes": 33554432, "timeoutMs": 5000},
                       "env": ["SLACK_TOKEN"]}
        },
        "edges": [
            {"source": "start", "target": "fetch"},
            {"source": "fetch", "target": "check"},
            {"source": "check", "target": "loop1", "sourceHandle": "condition-big"},
            {"source": "check", "target": "notify", "sourceHandle": "condition-else"},
            {"source": "fetch", "target": "notify", "sourceHandle": "error"}
        ],
        "loops": {"loop1": {"nodes": ["each"], "loopType": "forEach", "forEachItems": "<fetch.data.items>"}},
        "parallels": {},
        "variables": {"v1": {"name": "counter", "type": "number", "value": 0}}
    })
}

/// A start block plus `blocks`, chained in the order given by `edges`.
fn with_start(blocks: Value, edges: Value) -> Value {
    let mut all = json!({"start": {"type": "start", "name": "Start"}});
    all.as_object_mut().unwrap().extend(blocks.as_object().unwrap().clone());
    json!({"blocks": all, "edges": edges})
}

fn function(code: &str) -> Value {
    json!({"type": "function", "name": code, "params": {"code": code}})
}

#[test]
fn spec_example_is_valid() {
    assert_eq!(problems(spec_example()), vec![]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut workflow = spec_example();
    let blocks = workflow["blocks"].as_object_mut().unwrap();
    blocks.insert("mystery".into(), json!({"type": "teleport", "name": "Mystery"}));
    blocks["notify"]["limits"]["fuel"] = json!(u64::MAX);
    blocks["fetch"]["params"]["retries"] = json!("three");
    blocks["check"]["params"]["conditions"][0]["expression"] = json!("<nowhere.count> > 10");
    workflow["edges"].as_array_mut().unwrap().push(json!({"source": "notify", "target": "ghost"}));
    workflow["variables"]["v1"]["value"] = json!("zero");

    let found = problems(workflow);
    assert_has(&found, Some("mystery"), Some("type"), "unknown block type `teleport`");
    assert_has(&found, Some("notify"), Some("limits.fuel"), "above the server maximum");
    assert_has(&found, Some("fetch"), Some("params.retries"), "integer");
    assert_has(&found, Some("check"), Some("params.conditions[0].expression"), "unknown block `nowhere`");
    assert_has(&found, None, Some("edges[5]"), "`ghost` is not a block");
    assert_has(&found, None, Some("variables.v1.value"), "declared a number");
    assert_eq!(found.len(), 6, "{found:#?}");
}

#[test]
fn problems_are_sorted_and_deduplicated() {
    let found = problems(with_start(
        json!({"b": {"type": "nope", "name": "B"}, "a": {"type": "nope", "name": "A", "env": ["1x", "1x"]}}),
        json!([{"source": "start", "target": "zz"}]),
    ));
    let mut sorted = found.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(found, sorted);
    assert_eq!(found[0].block_id, None, "workflow-wide problems come first: {found:#?}");
    assert_has(&found, Some("a"), Some("env[1]"), "not an environment variable name");
}

#[test]
fn unknown_block_type_is_rejected() {
    let found = problems(with_start(json!({"x": {"type": "Function", "name": "X"}}), json!([])));
    assert_eq!(found, vec![Problem::at("x", "type", "unknown block type `Function`")]);
}

#[test]
fn missing_start_block_is_rejected() {
    let found = problems(json!({"blocks": {"f": function("return 1;")}}));
    assert_has(&found, None, Some("blocks"), "start block");
}

#[test]
fn two_start_blocks_are_rejected() {
    let found = problems(json!({"blocks": {
        "s1": {"type": "start", "name": "S1"}, "s2": {"type": "start", "name": "S2"},
    }}));
    assert_has(&found, Some("s1"), Some("type"), "one of 2 start blocks");
    assert_has(&found, Some("s2"), Some("type"), "one of 2 start blocks");
}

#[test]
fn start_block_inside_a_container_or_behind_an_edge_is_rejected() {
    let found = problems(json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "f": function("return 1;")},
        "edges": [{"source": "f", "target": "loop1"}],
        "loops": {"loop1": {"nodes": ["start"], "loopType": "for", "iterations": 2}},
    }));
    assert_has(&found, Some("start"), None, "cannot be inside a container (`loop1`)");
    let found = problems(with_start(json!({"f": function("return 1;")}), json!([{"source": "f", "target": "start"}])));
    assert_has(&found, Some("start"), None, "cannot be the target of an edge");
}

#[test]
fn dangling_and_boundary_crossing_edges_are_reported() {
    let found = problems(json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "inner": function("return 1;")},
        "edges": [{"source": "start", "target": "inner"}, {"source": "ghost", "target": "start"}],
        "loops": {"loop1": {"nodes": ["inner"], "loopType": "for", "iterations": 1}},
    }));
    assert_has(&found, None, Some("edges[0]"), "crosses a container boundary");
    assert_has(&found, None, Some("edges[1]"), "`ghost` is not a block");
}

#[test]
fn unknown_handle_is_rejected() {
    let found = problems(with_start(
        json!({"f": function("return 1;")}),
        json!([{"source": "start", "target": "f", "sourceHandle": "success"}]),
    ));
    assert_eq!(
        found,
        vec![Problem::workflow(
            "edges[0].sourceHandle",
            "unknown handle `success`; use source, error, condition-<id> or router-<id>"
        )]
    );
}

#[test]
fn condition_handle_must_name_one_of_its_conditions() {
    let mut workflow = spec_example();
    workflow["edges"][2]["sourceHandle"] = json!("condition-huge");
    let found = problems(workflow);
    assert_eq!(
        found,
        vec![Problem::workflow("edges[2].sourceHandle", "`check` has no condition `huge` in its params.conditions")]
    );
}

#[test]
fn router_handle_must_name_one_of_its_routes() {
    let found = problems(with_start(
        json!({
            "r": {"type": "router", "name": "R", "params": {"routes": [{"id": "a", "expression": "true"}, {"id": "b"}]}},
            "x": function("return 1;"), "y": function("return 2;"),
        }),
        json!([
            {"source": "start", "target": "r"},
            {"source": "r", "target": "x", "sourceHandle": "router-a"},
            {"source": "r", "target": "y", "sourceHandle": "router-c"},
        ]),
    ));
    assert_eq!(found, vec![Problem::workflow("edges[2].sourceHandle", "`r` has no router `c` in its params.routes")]);
}

#[test]
fn branch_handles_of_other_sources_and_referenced_lists_are_not_checked() {
    let found = problems(with_start(
        json!({
            "custom": function("return 1;"),
            "dyn": {"type": "condition", "name": "Dyn", "params": {"conditions": "<start.conditions>"}},
            "x": function("return 2;"), "y": function("return 3;"),
        }),
        json!([
            {"source": "start", "target": "custom"},
            {"source": "start", "target": "dyn"},
            {"source": "custom", "target": "x", "sourceHandle": "condition-anything"},
            {"source": "dyn", "target": "y", "sourceHandle": "condition-whatever"},
        ]),
    ));
    assert_eq!(found, vec![]);
}

#[test]
fn error_edge_from_a_container_is_allowed() {
    let mut workflow = spec_example();
    workflow["edges"]
        .as_array_mut()
        .unwrap()
        .push(json!({"source": "loop1", "target": "notify", "sourceHandle": "error"}));
    assert_eq!(problems(workflow), vec![]);
}

#[test]
fn cycle_outside_a_loop_is_rejected() {
    let found = problems(with_start(
        json!({"a": function("return 1;"), "b": function("return 2;"), "after": function("return 3;")}),
        json!([
            {"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "a"},
            {"source": "b", "target": "after"},
        ]),
    ));
    assert_eq!(
        found,
        vec![Problem::workflow("edges", "a cycle through `a`, `b`; only a loop may run blocks again")],
        "blocks merely downstream of the cycle are not named"
    );
}

#[test]
fn self_edge_is_a_cycle() {
    let found = problems(with_start(json!({"a": function("return 1;")}), json!([{"source": "a", "target": "a"}])));
    assert_has(&found, None, Some("edges"), "a cycle through `a`");
}

#[test]
fn cycle_inside_a_loop_is_rejected_but_the_iteration_is_not_a_cycle() {
    let workflow = |edges: Value| {
        json!({
            "blocks": {"start": {"type": "start", "name": "Start"}, "a": function("return 1;"), "b": function("return 2;")},
            "edges": edges,
            "loops": {"loop1": {"nodes": ["a", "b"], "loopType": "while", "whileCondition": "<loop.index> < 3"}},
        })
    };
    let acyclic = json!([{"source": "start", "target": "loop1"}, {"source": "a", "target": "b"}]);
    assert_eq!(problems(workflow(acyclic)), vec![]);
    let cyclic =
        json!([{"source": "start", "target": "loop1"}, {"source": "a", "target": "b"}, {"source": "b", "target": "a"}]);
    let found = problems(workflow(cyclic));
    assert_has(&found, Some("loop1"), Some("nodes"), "a cycle through `a`, `b`");
}

#[test]
fn params_are_checked_against_the_input_schema() {
    let found = problems(with_start(
        json!({
            "f": {"type": "api", "name": "F", "params": {
                "url": 42, "method": "DELETE", "retries": -1, "extra": true, "headers": {"x": 1}}},
            "cond": {"type": "condition", "name": "Cond", "params": {"conditions": [{"expression": "true"}]}},
        }),
        json!([{"source": "start", "target": "f"}, {"source": "start", "target": "cond"}]),
    ));
    for (block, field) in [
        ("f", "params.url"),
        ("f", "params.method"),
        ("f", "params.retries"),
        ("f", "params"),
        ("f", "params.headers.x"),
        ("cond", "params.conditions[0]"),
    ] {
        assert_has(&found, Some(block), Some(field), "");
    }
    assert_has(&found, Some("cond"), Some("params.conditions[0]"), "\"id\" is a required property");
    assert_eq!(found.len(), 6, "{found:#?}");
}

#[test]
fn schema_check_skips_fields_holding_references() {
    let found = problems(with_start(
        json!({"f": {"type": "api", "name": "F", "params": {
            "url": "<start.url>", "method": "<start.method>", "retries": "<start.retries>",
            "body": {"n": "<start.n>"}, "headers": {"auth": "Bearer {{TOKEN}}"},
        }}}),
        json!([{"source": "start", "target": "f"}]),
    ));
    assert_eq!(found, vec![], "a reference may resolve to anything");
    let found = problems(with_start(
        json!({"f": {"type": "api", "name": "F", "params": {"url": "<start.url>", "retries": "three", "method": "<div>"}}}),
        json!([{"source": "start", "target": "f"}]),
    ));
    assert_has(&found, Some("f"), Some("params.retries"), "integer");
    assert_has(&found, Some("f"), Some("params.method"), "");
    assert_eq!(found.len(), 2, "literal text is still checked: {found:#?}");
}

#[test]
fn block_without_params_is_checked_as_an_empty_object() {
    let found =
        problems(with_start(json!({"f": {"type": "api", "name": "F"}}), json!([{"source": "start", "target": "f"}])));
    assert_has(&found, Some("f"), Some("params"), "\"url\" is a required property");
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn invalid_input_schema_is_reported_not_panicked_on() {
    let mut schemas = schemas();
    schemas.insert("broken".into(), json!({"type": "no-such-type"}));
    let workflow = state(with_start(json!({"b": {"type": "broken", "name": "B"}}), json!([])));
    let found = validate(&workflow, &schemas, &ValidationSettings::default()).unwrap_err();
    assert_has(&found, Some("b"), Some("type"), "the input schema of block type `broken` is invalid");
}

#[test]
fn limits_above_the_maximum_are_rejected() {
    let settings =
        ValidationSettings { max_fuel: 100, max_memory_bytes: 1000, max_timeout_ms: 10, ..Default::default() };
    let mut block = function("return 1;");
    block["limits"] = json!({"fuel": 101, "memoryBytes": 1001, "timeoutMs": 0});
    let found = problems_with(with_start(json!({"f": block}), json!([{"source": "start", "target": "f"}])), &settings);
    assert_eq!(
        found,
        vec![
            Problem::at("f", "limits.fuel", "101 is above the server maximum of 100"),
            Problem::at("f", "limits.memoryBytes", "1001 is above the server maximum of 1000"),
            Problem::at("f", "limits.timeoutMs", "must be at least 1"),
        ]
    );
    let mut block = function("return 1;");
    block["limits"] = json!({"fuel": 100, "memoryBytes": 1000, "timeoutMs": 10});
    assert_eq!(
        problems_with(with_start(json!({"f": block}), json!([])), &settings),
        vec![],
        "the maximum itself is allowed"
    );
}

#[test]
fn too_many_blocks_are_rejected() {
    let settings = ValidationSettings { max_blocks: 2, ..Default::default() };
    let two = with_start(json!({"a": function("return 1;")}), json!([]));
    assert_eq!(problems_with(two, &settings), vec![]);
    let three = with_start(json!({"a": function("return 1;"), "b": function("return 2;")}), json!([]));
    assert_eq!(
        problems_with(three, &settings),
        vec![Problem::workflow("blocks", "3 blocks is above the maximum of 2")]
    );
}

#[test]
fn invalid_env_names_are_rejected() {
    let mut block = function("return 1;");
    block["env"] = json!(["GOOD_1", "_ok", "1BAD", "has-dash", ""]);
    let found = problems(with_start(json!({"f": block}), json!([])));
    let fields: Vec<_> = found.iter().map(|p| p.field.clone().unwrap()).collect();
    assert_eq!(fields, ["env[2]", "env[3]", "env[4]"], "{found:#?}");
}

#[test]
fn disabled_blocks_are_still_validated() {
    let found = problems(with_start(
        json!({"off": {"type": "api", "name": "Off", "enabled": false, "params": {"url": "<nowhere.x>", "retries": "x"},
                       "limits": {"fuel": u64::MAX}}}),
        json!([{"source": "start", "target": "off"}]),
    ));
    assert_has(&found, Some("off"), Some("params.url"), "unknown block `nowhere`");
    assert_has(&found, Some("off"), Some("params.retries"), "integer");
    assert_has(&found, Some("off"), Some("limits.fuel"), "above the server maximum");
}

#[test]
fn default_settings_are_the_documented_maxima() {
    let settings = ValidationSettings::default();
    assert_eq!(
        settings,
        ValidationSettings {
            max_fuel: 10_000_000_000,
            max_memory_bytes: 1024 * 1024 * 1024,
            max_timeout_ms: 300_000,
            max_loop_iterations: 1000,
            max_parallel_branches: 10_000,
            max_blocks: 1000,
        }
    );
}
