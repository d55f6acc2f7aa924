//! Workflow parsing and validation over arbitrary and almost valid states:
//! validation never panics, is deterministic, survives a serde round trip,
//! reports every dangling edge (and only those as dangling), and names only
//! blocks and containers that exist.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use sandflow_engine::graph::Problem;
use sandflow_engine::model::WorkflowState;
use sandflow_engine::validate::{ValidationSettings, validate};
use serde_json::{Map, Value, json};

use super::strategies::{config, json as any_json, text};

/// Input schemas of the block types the generated workflows use (`mystery` has none).
pub fn schemas() -> HashMap<String, Value> {
    let branches = json!({"type": "array", "items": {
        "type": "object", "required": ["id"],
        "properties": {"id": {"type": "string"}, "expression": {"type": "string"}},
    }});
    HashMap::from([
        ("start".to_string(), json!({"type": "object"})),
        (
            "function".to_string(),
            json!({"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "input": {}}}),
        ),
        (
            "api".to_string(),
            json!({
                "type": "object", "required": ["url"], "additionalProperties": false,
                "properties": {
                    "url": {"type": "string"},
                    "method": {"enum": ["GET", "POST"]},
                    "retries": {"type": "integer", "minimum": 0, "maximum": 10},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                },
            }),
        ),
        (
            "condition".to_string(),
            json!({"type": "object", "required": ["conditions"], "properties": {"conditions": branches}}),
        ),
        ("router".to_string(), json!({"type": "object", "required": ["routes"], "properties": {"routes": branches}})),
        ("transform".to_string(), json!({"type": "object", "properties": {"filter": {"type": "string"}}})),
    ])
}

/// IDs the generator draws from: blocks, containers, and IDs that never exist.
const BLOCK_IDS: &[&str] = &["start", "b1", "b2", "b3", "b4", "b5", "b6"];
const CONTAINER_IDS: &[&str] = &["loop1", "loop2", "par1", "par2"];
const GHOST_IDS: &[&str] = &["ghost", "nope", "", "b 1", "START"];
const TYPES: &[&str] = &["start", "function", "api", "condition", "router", "transform", "mystery"];
const NAMES: &[&str] = &["Start", "Fetch", "Fetch Data", "fetch data", "Check", "X", "", "日本"];
const HANDLES: &[Option<&str>] = &[
    None,
    Some("source"),
    Some("error"),
    Some("condition-big"),
    Some("condition-else"),
    Some("router-r1"),
    Some("condition-"),
    Some("bogus"),
];

fn any_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(BLOCK_IDS),
        2 => prop::sample::select(CONTAINER_IDS),
        1 => prop::sample::select(GHOST_IDS),
    ]
    .prop_map(str::to_string)
}

/// A string param: text, or a reference to something from the ID pools.
fn param_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => text(),
        2 => (any_id(), "[a-z]{1,4}(\\.[0-9])?").prop_map(|(id, path)| format!("<{id}.{path}>")),
        1 => any_id().prop_map(|id| format!("<{id}>")),
        1 => prop::sample::select(&[
            "<loop.index>", "<loop.currentItem>", "<parallel.index>", "<parallel.currentItem>",
            "<variable.counter>", "<variable.missing>", "{{TOKEN}}", "<loop.idx> > 2",
        ][..]).prop_map(str::to_string),
    ]
}

fn param_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => param_text().prop_map(Value::String),
        1 => any_json(3, 12),
        1 => prop::collection::vec(
                (prop::sample::select(&["big", "else", "r1", "x"][..]), prop::option::of(param_text())),
                0..3,
            )
            .prop_map(|branches| {
                Value::Array(branches.into_iter().map(|(id, expression)| match expression {
                    Some(expression) => json!({"id": id, "expression": expression}),
                    None => json!({"id": id}),
                }).collect())
            }),
    ]
}

fn params() -> impl Strategy<Value = Map<String, Value>> {
    let keys = prop::sample::select(
        &["code", "url", "input", "conditions", "routes", "expression", "method", "filter", "retries"][..],
    );
    prop::collection::btree_map(keys.prop_map(str::to_string), param_value(), 0..4)
        .prop_map(|members| members.into_iter().collect())
}

fn block() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(TYPES),
        prop::sample::select(NAMES),
        prop::option::of(params()),
        prop::option::of(any::<bool>()),
        prop::option::weighted(0.2, any_id()),
        prop::option::weighted(0.2, (0u64..3, 0u64..2_000_000_000)),
        prop::option::weighted(0.2, prop::collection::vec(prop::sample::select(&["TOKEN", "9X", "A_B", ""][..]), 0..3)),
    )
        .prop_map(|(block_type, name, params, enabled, parent, limit, env)| {
            let mut block = json!({"type": block_type, "name": name});
            if let Some(params) = params {
                block["params"] = Value::Object(params);
            }
            if let Some(enabled) = enabled {
                block["enabled"] = json!(enabled);
            }
            if let Some(parent) = parent {
                block["parentId"] = json!(parent);
            }
            if let Some((which, value)) = limit {
                let field = ["fuel", "memoryBytes", "timeoutMs"][which as usize];
                block["limits"] = json!({ field: value });
            }
            if let Some(env) = env {
                block["env"] = json!(env);
            }
            block
        })
}

fn edge() -> impl Strategy<Value = Value> {
    (any_id(), any_id(), prop::sample::select(HANDLES)).prop_map(|(source, target, handle)| match handle {
        Some(handle) => json!({"source": source, "target": target, "sourceHandle": handle}),
        None => json!({"source": source, "target": target}),
    })
}

fn container_nodes() -> impl Strategy<Value = Value> {
    prop::collection::vec(any_id(), 0..4).prop_map(|nodes| json!(nodes))
}

fn a_loop() -> impl Strategy<Value = Value> {
    (
        container_nodes(),
        prop::sample::select(&["for", "forEach", "while", "doWhile"][..]),
        prop::option::of(prop_oneof![0u64..5, Just(1001), Just(u64::MAX)]),
        prop::option::of(prop_oneof![param_value(), any_json(2, 8)]),
        prop::option::of(param_text()),
    )
        .prop_map(|(nodes, loop_type, iterations, items, condition)| {
            let mut def = json!({"nodes": nodes, "loopType": loop_type});
            if let Some(n) = iterations {
                def["iterations"] = json!(n);
            }
            if let Some(items) = items {
                def["forEachItems"] = items;
            }
            if let Some(condition) = condition {
                def["whileCondition"] = json!(condition);
            }
            def
        })
}

fn a_parallel() -> impl Strategy<Value = Value> {
    (
        container_nodes(),
        prop::sample::select(&["count", "collection"][..]),
        prop::option::of(prop_oneof![0u64..5, Just(10_001)]),
        prop::option::of(param_value()),
    )
        .prop_map(|(nodes, parallel_type, count, distribution)| {
            let mut def = json!({"nodes": nodes, "parallelType": parallel_type});
            if let Some(n) = count {
                def["count"] = json!(n);
            }
            if let Some(items) = distribution {
                def["distribution"] = items;
            }
            def
        })
}

fn variable() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["counter", "Counter", "my var", "a.b", "total", ""][..]),
        prop::sample::select(&["string", "number", "boolean", "object", "array"][..]),
        any_json(2, 6),
    )
        .prop_map(|(name, kind, value)| json!({"name": name, "type": kind, "value": value}))
}

/// A workflow state with the right shape and random content: blocks of the
/// standard types, random edges and handles, containers, references in params.
pub fn almost_valid_state() -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map(prop::sample::select(BLOCK_IDS).prop_map(str::to_string), block(), 1..7),
        prop::collection::vec(edge(), 0..10),
        prop::collection::btree_map(prop::sample::select(&CONTAINER_IDS[..2]).prop_map(str::to_string), a_loop(), 0..2),
        prop::collection::btree_map(prop::sample::select(&CONTAINER_IDS[2..]).prop_map(str::to_string), a_parallel(), 0..2),
        prop::collection::btree_map("v[0-9]", variable(), 0..3),
    )
        .prop_map(|(blocks, edges, loops, parallels, variables)| {
            json!({"blocks": blocks, "edges": edges, "loops": loops, "parallels": parallels, "variables": variables})
        })
}

/// One local change that may break the state's shape: a value replaced by
/// arbitrary JSON at a random place, or a member removed.
fn mutate(state: &mut Value, path: &[usize], replacement: Option<Value>) {
    let mut current = state;
    for (depth, choice) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let next = match current {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(choice % map.len()).cloned().expect("index is in range");
                if last {
                    match replacement {
                        Some(value) => map.insert(key, value),
                        None => map.remove(&key),
                    };
                    return;
                }
                map.get_mut(&key).expect("key exists")
            }
            Value::Array(items) if !items.is_empty() => {
                let index = choice % items.len();
                if last {
                    match replacement {
                        Some(value) => items[index] = value,
                        None => drop(items.remove(index)),
                    }
                    return;
                }
                &mut items[index]
            }
            _ => return,
        };
        current = next;
    }
}

fn mutated_state() -> impl Strategy<Value = Value> {
    (
        almost_valid_state(),
        prop::collection::vec((prop::collection::vec(any::<usize>(), 1..5), prop::option::of(any_json(2, 6))), 0..3),
    )
        .prop_map(|(mut state, mutations)| {
            for (path, replacement) in mutations {
                mutate(&mut state, &path, replacement);
            }
            state
        })
}

/// The IDs of every block and container of `state`.
fn node_ids(state: &WorkflowState) -> BTreeSet<&str> {
    state.blocks.keys().chain(state.loops.keys()).chain(state.parallels.keys()).map(String::as_str).collect()
}

fn dangling_message(end: &str) -> String {
    format!("`{end}` is not a block or container")
}

/// The problems validation must report for the dangling ends of `state`'s edges.
pub fn dangling_problems(state: &WorkflowState) -> BTreeSet<Problem> {
    let nodes = node_ids(state);
    let mut expected = BTreeSet::new();
    for (index, edge) in state.edges.iter().enumerate() {
        for end in [&edge.source, &edge.target] {
            if !nodes.contains(end.as_str()) {
                expected.insert(Problem::workflow(&format!("edges[{index}]"), dangling_message(end)));
            }
        }
    }
    expected
}

/// Every property validation owes any state that parses.
fn check_validation(state: &WorkflowState) -> Result<(), TestCaseError> {
    let (schemas, settings) = (schemas(), ValidationSettings::default());
    let first = validate(state, &schemas, &settings);
    prop_assert_eq!(&first, &validate(state, &schemas, &settings), "validation is not deterministic");

    let text = serde_json::to_string(state).expect("a parsed state serializes");
    let reparsed: WorkflowState = serde_json::from_str(&text).expect("a serialized state parses");
    prop_assert_eq!(&reparsed, state, "the state changed in a serde round trip");
    prop_assert_eq!(&first, &validate(&reparsed, &schemas, &settings), "validation changed after a round trip");

    let problems = first.err().unwrap_or_default();
    let mut sorted = problems.clone();
    sorted.sort();
    sorted.dedup();
    prop_assert_eq!(&sorted, &problems, "problems are not sorted and unique");

    let expected = dangling_problems(state);
    let reported: BTreeSet<Problem> = problems
        .iter()
        .filter(|p| p.block_id.is_none() && p.message.ends_with("is not a block or container"))
        .filter(|p| p.field.as_deref().is_some_and(|f| f.starts_with("edges[")))
        .cloned()
        .collect();
    prop_assert_eq!(reported, expected, "dangling edges reported differ from those in the state");

    let nodes = node_ids(state);
    for problem in &problems {
        if let Some(id) = &problem.block_id {
            prop_assert!(nodes.contains(id.as_str()), "problem names no block or container: {problem:?}");
        }
        prop_assert!(!problem.message.is_empty(), "a problem without a message: {problem:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary JSON rarely parses as a state; when it does, validation holds up.
    #[test]
    fn arbitrary_json_parses_or_is_refused_and_validates_without_panicking(value in any_json(6, 64)) {
        if let Ok(state) = serde_json::from_value::<WorkflowState>(value) {
            check_validation(&state)?;
        }
    }

    #[test]
    fn almost_valid_states_validate_deterministically_and_report_every_dangling_edge(value in almost_valid_state()) {
        let state: WorkflowState = serde_json::from_value(value).expect("the generator builds well-shaped states");
        check_validation(&state)?;
    }

    /// Parsing text must refuse, never panic, whatever a local change did.
    #[test]
    fn mutated_states_parse_or_are_refused_and_validate(value in mutated_state()) {
        let text = value.to_string();
        if let Ok(state) = serde_json::from_str::<WorkflowState>(&text) {
            check_validation(&state)?;
        }
    }
}
