//! Workflows valid by construction: random DAGs of standard blocks with loops
//! and parallels, references only to what is upstream, variables of the right
//! type. Validation must accept every one, and once dangling edges are added,
//! report exactly those. Also the schema checks: params without references get
//! a problem exactly when the block type's schema refuses them.

use std::collections::BTreeSet;

use proptest::prelude::*;
use sandflow_engine::graph::Problem;
use sandflow_engine::model::WorkflowState;
use sandflow_engine::validate::{ValidationSettings, validate};
use serde_json::{Map, Value, json};

use super::strategies::config;
use super::workflows::{dangling_problems, schemas};

/// One block of the chain, as random choices the builder maps onto what exists.
#[derive(Debug, Clone)]
struct BlockSpec {
    kind: usize,
    /// Picks what each reference points to (modulo what is visible).
    refs: Vec<usize>,
    /// Picks an edge's handle among those the source offers.
    handle: usize,
    /// Reference by name (`<Block 2.x>`) rather than by ID.
    by_name: bool,
    enabled: Option<bool>,
    limits: Option<(u64, u64, u64)>,
}

#[derive(Debug, Clone)]
enum NodeSpec {
    Block(BlockSpec),
    /// loopType choice, its count or literal length, whether items are a reference, members.
    Loop(usize, u64, bool, Vec<BlockSpec>),
    /// parallelType choice, its count or literal length, whether the distribution is a reference, members.
    Parallel(usize, u64, bool, Vec<BlockSpec>),
}

fn block_spec() -> impl Strategy<Value = BlockSpec> {
    (
        0usize..5,
        prop::collection::vec(any::<usize>(), 3),
        any::<usize>(),
        any::<bool>(),
        prop::option::weighted(0.2, any::<bool>()),
        prop::option::weighted(0.2, (1u64..=10_000_000_000, 1u64..=1 << 30, 1u64..=300_000)),
    )
        .prop_map(|(kind, refs, handle, by_name, enabled, limits)| BlockSpec {
            kind,
            refs,
            handle,
            by_name,
            enabled,
            limits,
        })
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    let members = || prop::collection::vec(block_spec(), 1..4);
    prop_oneof![
        4 => block_spec().prop_map(NodeSpec::Block),
        1 => (0usize..4, 1u64..=1000, any::<bool>(), members()).prop_map(|(t, n, r, m)| NodeSpec::Loop(t, n, r, m)),
        1 => (0usize..2, 1u64..=10_000, any::<bool>(), members())
            .prop_map(|(t, n, r, m)| NodeSpec::Parallel(t, n, r, m)),
    ]
}

/// A visible node: its ID, its name when it is a block, and the handles its
/// outgoing edges may use.
#[derive(Debug, Clone)]
struct Visible {
    id: String,
    name: Option<String>,
    handles: Vec<Option<String>>,
}

const KINDS: [&str; 5] = ["function", "api", "condition", "router", "transform"];

#[derive(Default)]
struct Builder {
    blocks: Map<String, Value>,
    edges: Vec<Value>,
    loops: Map<String, Value>,
    parallels: Map<String, Value>,
    variables: Vec<String>,
}

impl Builder {
    /// A reference to something `seed` picks among `visible`, the variables and
    /// the enclosing container (`container`: `loop` or `parallel`).
    fn reference(&self, seed: usize, by_name: bool, visible: &[Visible], container: Option<&str>) -> String {
        let mut options: Vec<String> = visible
            .iter()
            .map(|v| match (&v.name, by_name) {
                (Some(name), true) => format!("<{name}.data.x>"),
                _ => format!("<{}.items.0>", v.id),
            })
            .collect();
        options.extend(self.variables.iter().map(|name| format!("<variable.{name}>")));
        if let Some(kind) = container {
            options.extend(["index", "currentItem", "items"].map(|field| format!("<{kind}.{field}>")));
        }
        options.push("{{TOKEN}}".into());
        options.push("plain text, a < b and b > c".into());
        options[seed % options.len()].clone()
    }

    fn edge(&mut self, source: &Visible, target: &str, seed: usize) {
        let handle = &source.handles[seed % source.handles.len()];
        self.edges.push(match handle {
            Some(handle) => json!({"source": source.id, "target": target, "sourceHandle": handle}),
            None => json!({"source": source.id, "target": target}),
        });
    }

    /// Adds block `id` and returns how it is seen downstream.
    fn block(
        &mut self,
        id: &str,
        name: String,
        spec: &BlockSpec,
        visible: &[Visible],
        container: Option<(&str, &str)>,
    ) -> Visible {
        let r = |i: usize| self.reference(spec.refs[i], spec.by_name, visible, container.map(|c| c.1));
        let kind = KINDS[spec.kind % KINDS.len()];
        let (params, handles) = match kind {
            "function" => (json!({"code": format!("return {} + 1;", r(0)), "input": {"x": r(1)}}), vec![]),
            "api" => (
                json!({"url": format!("https://example.test/{}", r(0)), "method": "POST",
                       "headers": {"x-h": r(1)}, "retries": spec.refs[2] % 11}),
                vec![],
            ),
            "condition" => (
                json!({"conditions": [{"id": "c0", "expression": format!("{} > 1", r(0))}, {"id": "else"}]}),
                vec![Some("condition-c0".to_string()), Some("condition-else".to_string())],
            ),
            "router" => (
                json!({"routes": [{"id": "r0", "expression": format!("{} == 2", r(0))}, {"id": "r1"}]}),
                vec![Some("router-r0".to_string()), Some("router-r1".to_string())],
            ),
            _ => (json!({"filter": ".x", "input": r(0)}), vec![]),
        };
        let mut handles = handles;
        handles.extend([None, Some("source".to_string()), Some("error".to_string())]);
        let mut block = json!({"type": kind, "name": name, "params": params});
        if let Some((parent, _)) = container
            && spec.by_name
        {
            block["parentId"] = json!(parent);
        }
        if let Some(enabled) = spec.enabled {
            block["enabled"] = json!(enabled);
        }
        if let Some((fuel, memory, timeout)) = spec.limits {
            block["limits"] = json!({"fuel": fuel, "memoryBytes": memory, "timeoutMs": timeout});
        }
        if spec.refs[1].is_multiple_of(3) {
            block["env"] = json!(["TOKEN"]);
        }
        self.blocks.insert(id.to_string(), block);
        Visible { id: id.to_string(), name: Some(name), handles }
    }

    /// Members `members` of container `id` in a chain; they see `outside` and each other.
    fn members(&mut self, id: &str, kind: &str, members: &[BlockSpec], outside: &[Visible]) -> Vec<String> {
        let mut visible = outside.to_vec();
        let mut previous: Option<Visible> = None;
        let mut ids = Vec::new();
        for (i, spec) in members.iter().enumerate() {
            let member_id = format!("{id}_m{i}");
            let seen = self.block(&member_id, format!("{id} member {i}"), spec, &visible, Some((id, kind)));
            if let Some(previous) = &previous {
                self.edge(previous, &member_id, spec.handle);
            }
            ids.push(member_id);
            visible.push(seen.clone());
            previous = Some(seen);
        }
        ids
    }

    fn collection(&self, reference: bool, len: u64, visible: &[Visible]) -> Value {
        if reference {
            json!(self.reference(len as usize, false, visible, None).replace("plain text, a < b and b > c", "<start>"))
        } else {
            json!((0..len.min(5)).collect::<Vec<_>>())
        }
    }
}

/// Builds the workflow: `start`, then each node of `chain` after the previous
/// one (plus an extra edge from an earlier node when `extra` picks one).
fn build(chain: &[NodeSpec], extra: &[usize], variables: &[(usize, usize)]) -> Value {
    let mut b = Builder::default();
    let mut vars = Map::new();
    for (i, (kind, seed)) in variables.iter().enumerate() {
        let name = format!("var{i}");
        let (kind, value) = match kind % 5 {
            0 => ("string", json!(format!("s{seed}"))),
            1 => ("number", json!(seed % 1000)),
            2 => ("boolean", json!(seed % 2 == 0)),
            3 => ("object", json!({"k": seed % 7})),
            _ => ("array", json!([seed % 3])),
        };
        vars.insert(format!("v{i}"), json!({"name": name, "type": kind, "value": value}));
        b.variables.push(name);
    }
    b.blocks.insert("start".into(), json!({"type": "start", "name": "Start"}));
    let mut visible = vec![Visible { id: "start".into(), name: Some("Start".into()), handles: vec![None] }];
    for (k, node) in chain.iter().enumerate() {
        let k = k + 1;
        let seen = match node {
            NodeSpec::Block(spec) => b.block(&format!("t{k}"), format!("Block {k}"), spec, &visible, None),
            NodeSpec::Loop(kind, n, reference, members) => {
                let id = format!("loop{k}");
                let nodes = b.members(&id, "loop", members, &visible);
                let mut def = json!({"nodes": nodes});
                match kind % 4 {
                    0 => def
                        .as_object_mut()
                        .unwrap()
                        .extend([("loopType".into(), json!("for")), ("iterations".into(), json!(n))]),
                    1 => {
                        def["loopType"] = json!("forEach");
                        def["forEachItems"] = b.collection(*reference, *n, &visible);
                    }
                    kind => {
                        def["loopType"] = json!(if kind == 2 { "while" } else { "doWhile" });
                        def["whileCondition"] = json!(format!("<loop.index> < {}", n % 10));
                    }
                }
                b.loops.insert(id.clone(), def);
                Visible { id, name: None, handles: vec![None, Some("error".into())] }
            }
            NodeSpec::Parallel(kind, n, reference, members) => {
                let id = format!("par{k}");
                let nodes = b.members(&id, "parallel", members, &visible);
                let def = if kind % 2 == 0 {
                    json!({"nodes": nodes, "parallelType": "count", "count": n})
                } else {
                    json!({"nodes": nodes, "parallelType": "collection", "distribution": b.collection(*reference, *n, &visible)})
                };
                b.parallels.insert(id.clone(), def);
                Visible { id, name: None, handles: vec![None, Some("error".into())] }
            }
        };
        let previous = visible.last().expect("start is always visible").clone();
        b.edge(&previous, &seen.id, extra.get(k).copied().unwrap_or(0));
        if let Some(&pick) = extra.get(k)
            && visible.len() > 1
            && pick % 2 == 0
        {
            let earlier = visible[pick / 2 % (visible.len() - 1)].clone();
            b.edge(&earlier, &seen.id, pick / 3);
        }
        visible.push(seen);
    }
    json!({"blocks": b.blocks, "edges": b.edges, "loops": b.loops, "parallels": b.parallels, "variables": vars})
}

fn valid_state() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(node_spec(), 0..6),
        prop::collection::vec(any::<usize>(), 7),
        prop::collection::vec((any::<usize>(), any::<usize>()), 0..3),
    )
        .prop_map(|(chain, extra, variables)| build(&chain, &extra, &variables))
}

/// Dangling edges to add: (ghost end is the source?, index of the other end, ghost name).
fn dangling_edges() -> impl Strategy<Value = Vec<(bool, usize, &'static str)>> {
    prop::collection::vec(
        (any::<bool>(), any::<usize>(), prop::sample::select(&["ghost", "Start", "t 1", ""][..])),
        1..4,
    )
}

/// `api` params from small pools, so both valid and invalid ones are common;
/// no string holds `<` or `{`, so no reference can excuse an error.
fn api_params() -> impl Strategy<Value = Value> {
    let value = |options: &'static [&'static str]| {
        prop::sample::select(options)
            .prop_map(|text| serde_json::from_str::<Value>(text).expect("pool entries are JSON"))
    };
    (
        prop::option::weighted(0.8, value(&[r#""https://a.test""#, "7", "null", r#""""#])),
        prop::option::of(value(&[r#""GET""#, r#""POST""#, r#""PUT""#, "1"])),
        prop::option::of(value(&["0", "10", "11", "-1", "2.5", r#""3""#])),
        prop::option::of(value(&[r#"{}"#, r#"{"a": "b"}"#, r#"{"a": 1}"#, "[]"])),
        prop::option::of(value(&["null", "{}", r#"{"x": [1]}"#, "[1]", "0"])),
        prop::option::weighted(0.1, value(&["true"])),
    )
        .prop_map(|(url, method, retries, headers, body, extra)| {
            let fields = [
                ("url", url),
                ("method", method),
                ("retries", retries),
                ("headers", headers),
                ("body", body),
                ("extra", extra),
            ];
            Value::Object(fields.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect())
        })
}

fn validate_value(value: &Value) -> Result<(), Vec<Problem>> {
    let state: WorkflowState = serde_json::from_value(value.clone()).expect("built states deserialize");
    validate(&state, &schemas(), &ValidationSettings::default())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn workflows_valid_by_construction_are_accepted(value in valid_state()) {
        prop_assert_eq!(validate_value(&value), Ok(()), "in {:#}", value);
    }

    #[test]
    fn dangling_edges_added_to_a_valid_workflow_are_exactly_what_is_reported(
        mut value in valid_state(),
        dangling in dangling_edges(),
    ) {
        let ids: Vec<String> = ["blocks", "loops", "parallels"]
            .iter()
            .flat_map(|kind| value[kind].as_object().unwrap().keys().cloned().collect::<Vec<_>>())
            .filter(|id| id != "start")
            .collect();
        for (ghost_is_source, other, ghost) in dangling {
            // A ghost source into `start` would also be "start is a target"; keep that out.
            let other = match (ghost_is_source, ids.len()) {
                (false, n) => if other % (n + 1) == n { "start".to_string() } else { ids[other % (n + 1)].clone() },
                (true, 0) => continue,
                (true, n) => ids[other % n].clone(),
            };
            let (source, target) = if ghost_is_source { (ghost.to_string(), other) } else { (other, ghost.to_string()) };
            value["edges"].as_array_mut().unwrap().push(json!({"source": source, "target": target}));
        }
        let state: WorkflowState = serde_json::from_value(value.clone()).unwrap();
        let reported: BTreeSet<Problem> = validate_value(&value).err().unwrap_or_default().into_iter().collect();
        prop_assert_eq!(reported, dangling_problems(&state), "in {:#}", value);
    }

    #[test]
    fn params_without_references_are_refused_exactly_when_the_schema_refuses_them(params in api_params()) {
        let workflow = json!({
            "blocks": {"start": {"type": "start", "name": "Start"}, "call": {"type": "api", "name": "Call", "params": params}},
            "edges": [{"source": "start", "target": "call"}],
        });
        let schema = &schemas()["api"];
        let schema_accepts = jsonschema::is_valid(schema, &params);
        let problems = validate_value(&workflow).err().unwrap_or_default();
        prop_assert_eq!(problems.is_empty(), schema_accepts, "{:?} for params {}", problems, params);
        for problem in &problems {
            prop_assert_eq!(problem.block_id.as_deref(), Some("call"));
            prop_assert!(problem.field.as_deref().is_some_and(|f| f.starts_with("params")), "{:?}", problem);
        }
    }
}
