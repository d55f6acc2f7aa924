//! Validation (SPEC 2): every problem of a workflow, found at once, before anything runs.
//!
//! Choices where the spec is silent:
//! - Containers may have `error` edges (they fire when a member fails unhandled).
//! - `condition-<id>` / `router-<id>` handles are checked only when the source
//!   is a `condition` / `router` block whose `conditions` / `routes` is a literal
//!   list; any block may route (WIT `outcome::route`), so other sources are not.
//! - The start block may not be inside a container nor the target of an edge
//!   (it would wait forever).
//! - A limit of 0 is rejected like one above the maximum.
//! - `forEachItems` / `distribution` must be an array, an object, or a string
//!   holding a reference; literal collections longer than the iteration or
//!   branch maximum are rejected here rather than at run time.
//! - A variable's value must match its type exactly (`null` matches none);
//!   variable names must stay distinct and referenceable once normalized.
//! - A `whileCondition` may reference `<loop.*>` of its own loop and the loop's
//!   direct members (their latest iteration) besides what is upstream of the loop.
//! - Grants are checked against the variables an execution provides, so a stored
//!   draft (validated without an execution) is refused only when it is executed
//!   with a variable it uses ungranted. Containers have no `env`: a `{{NAME}}` of a
//!   provided variable in `forEachItems`, `distribution` or `whileCondition` is refused.

mod references;
mod schema;
mod schema_bounds;

pub use schema_bounds::{MAX_SCHEMA_DEPTH, MAX_SCHEMA_EXPANSION, MAX_SCHEMA_NODES, SchemaRefused, check_schema_bounds};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::graph::{Problem, Scope, WorkflowGraph};
use crate::model::{BlockDef, Handle, LoopType, ParallelType, VariableType, WorkflowState, normalize_name};
use crate::reference::{BlockIndex, is_env_name, is_segment};

/// Server maxima a workflow is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationSettings {
    /// Most fuel a block may ask for in `limits.fuel`.
    pub max_fuel: u64,
    /// Most memory a block may ask for in `limits.memoryBytes`.
    pub max_memory_bytes: u64,
    /// Longest run a block may ask for in `limits.timeoutMs`.
    pub max_timeout_ms: u64,
    /// Most iterations of one loop.
    pub max_loop_iterations: u64,
    /// Most branches of one parallel.
    pub max_parallel_branches: u64,
    /// Most blocks in one workflow.
    pub max_blocks: usize,
}

impl Default for ValidationSettings {
    /// Fuel 10^10, 1 GiB, 5 minutes, 1,000 iterations, 10,000 branches, 1,000 blocks.
    fn default() -> Self {
        Self {
            max_fuel: 10_000_000_000,
            max_memory_bytes: 1 << 30,
            max_timeout_ms: 300_000,
            max_loop_iterations: 1000,
            max_parallel_branches: 10_000,
            max_blocks: 1000,
        }
    }
}

/// Checks `state` against the known block types (`input_schemas` maps each to
/// the JSON Schema of its params) and the server maxima; every problem, sorted.
/// No environment variable is provided, so no grant is checked: see [`validate_with_env`].
pub fn validate(
    state: &WorkflowState,
    input_schemas: &HashMap<String, Value>,
    settings: &ValidationSettings,
) -> Result<(), Vec<Problem>> {
    validate_with_env(state, input_schemas, settings, &BTreeSet::new())
}

/// [`validate`] for an execution that provides the environment variables
/// `provided_env`: a `{{NAME}}` naming one of them in a block whose `env` does
/// not grant it is a problem naming the block, the field and the variable.
pub fn validate_with_env(
    state: &WorkflowState,
    input_schemas: &HashMap<String, Value>,
    settings: &ValidationSettings,
    provided_env: &BTreeSet<String>,
) -> Result<(), Vec<Problem>> {
    let (graph, mut problems) = WorkflowGraph::build(state);
    let index = BlockIndex::new(state);
    if state.blocks.len() > settings.max_blocks {
        problems.push(Problem::workflow(
            "blocks",
            format!("{} blocks is above the maximum of {}", state.blocks.len(), settings.max_blocks),
        ));
    }
    check_start(state, &graph, &mut problems);
    check_edges(state, &mut problems);
    check_cycles(&graph, &mut problems);
    let mut schemas = schema::SchemaCache::new(input_schemas);
    for (id, block) in &state.blocks {
        if input_schemas.contains_key(&block.block_type) {
            schemas.check_params(id, block, &index, &mut problems);
        } else {
            problems.push(Problem::at(id, "type", format!("unknown block type `{}`", block.block_type)));
        }
        check_limits(id, block, settings, &mut problems);
        check_env(id, block, &mut problems);
        schema::check_param_schemas(id, block, &mut problems);
    }
    check_containers(state, &index, settings, &mut problems);
    check_variables(state, &mut problems);
    references::ReferenceCheck { state, graph: &graph, index: &index, provided_env }.run(&mut problems);

    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    problems.dedup();
    Err(problems)
}

fn check_start(state: &WorkflowState, graph: &WorkflowGraph, problems: &mut Vec<Problem>) {
    let starts: Vec<&String> = state.blocks.iter().filter(|(_, b)| b.block_type == "start").map(|(id, _)| id).collect();
    match starts.len() {
        0 => problems.push(Problem::workflow("blocks", "the workflow needs one start block (type `start`)")),
        1 => {}
        n => problems.extend(
            starts
                .iter()
                .map(|id| Problem::at(id, "type", format!("one of {n} start blocks; a workflow has exactly one"))),
        ),
    }
    for id in starts {
        if let Some(container) = graph.container_of.get(id) {
            problems.push(Problem::block(id, format!("the start block cannot be inside a container (`{container}`)")));
        }
        if state.edges.iter().any(|edge| &edge.target == id) {
            problems.push(Problem::block(id, "the start block cannot be the target of an edge"));
        }
    }
}

fn check_edges(state: &WorkflowState, problems: &mut Vec<Problem>) {
    for (index, edge) in state.edges.iter().enumerate() {
        let field = format!("edges[{index}].sourceHandle");
        let (wanted, list, kind) = match edge.handle() {
            Handle::Source | Handle::Error => continue,
            Handle::Unknown(handle) => {
                problems.push(Problem::workflow(
                    &field,
                    format!("unknown handle `{handle}`; use source, error, condition-<id> or router-<id>"),
                ));
                continue;
            }
            Handle::Condition(id) => (id, "conditions", "condition"),
            Handle::Router(id) => (id, "routes", "router"),
        };
        let Some(source) = state.blocks.get(&edge.source).filter(|b| b.block_type == kind) else { continue };
        let Some(ids) = branch_ids(source, list) else { continue };
        if !ids.contains(&wanted) {
            problems.push(Problem::workflow(
                &field,
                format!("`{}` has no {kind} `{wanted}` in its params.{list}", edge.source),
            ));
        }
    }
}

/// The `id`s of a condition's `conditions` or a router's `routes`; `None` when
/// the list is a reference, which cannot be checked before it resolves.
fn branch_ids(block: &BlockDef, list: &str) -> Option<BTreeSet<String>> {
    let items = match block.params.as_ref().and_then(|p| p.get(list)) {
        None => return Some(BTreeSet::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return None,
    };
    Some(
        items
            .iter()
            .filter_map(|item| match item.get("id")? {
                Value::String(id) => Some(id.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
    )
}

fn check_cycles(graph: &WorkflowGraph, problems: &mut Vec<Problem>) {
    for (scope_id, scope) in &graph.scopes {
        let Err(left) = scope.topological_order() else { continue };
        let on_cycle = cycle_core(scope, left).into_iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        match scope_id {
            None => problems.push(Problem::workflow(
                "edges",
                format!("a cycle through {on_cycle}; only a loop may run blocks again"),
            )),
            Some(container) => problems.push(Problem::at(
                container,
                "nodes",
                format!("a cycle through {on_cycle}; an iteration must be acyclic (the loop itself repeats it)"),
            )),
        }
    }
}

/// The nodes a topological sort left over, minus those merely downstream of a
/// cycle: repeatedly drop nodes with no edge back into the rest.
fn cycle_core(scope: &Scope, left: Vec<String>) -> BTreeSet<String> {
    let mut core: BTreeSet<String> = left.into_iter().collect();
    loop {
        let leaves: Vec<String> = core
            .iter()
            .filter(|n| !scope.outgoing.get(*n).into_iter().flatten().any(|e| core.contains(&e.target)))
            .cloned()
            .collect();
        if leaves.is_empty() {
            return core;
        }
        leaves.iter().for_each(|n| {
            core.remove(n);
        });
    }
}

fn check_limits(id: &str, block: &BlockDef, settings: &ValidationSettings, problems: &mut Vec<Problem>) {
    let Some(limits) = &block.limits else { return };
    let checks = [
        ("limits.fuel", limits.fuel, settings.max_fuel),
        ("limits.memoryBytes", limits.memory_bytes, settings.max_memory_bytes),
        ("limits.timeoutMs", limits.timeout_ms, settings.max_timeout_ms),
    ];
    for (field, value, max) in checks {
        match value {
            Some(0) => problems.push(Problem::at(id, field, "must be at least 1")),
            Some(value) if value > max => {
                problems.push(Problem::at(id, field, format!("{value} is above the server maximum of {max}")));
            }
            _ => {}
        }
    }
}

fn check_env(id: &str, block: &BlockDef, problems: &mut Vec<Problem>) {
    for (index, name) in block.env.iter().flatten().enumerate() {
        if !is_env_name(name) {
            problems.push(Problem::at(
                id,
                &format!("env[{index}]"),
                format!("`{name}` is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"),
            ));
        }
    }
}

fn check_containers(
    state: &WorkflowState,
    index: &BlockIndex,
    settings: &ValidationSettings,
    problems: &mut Vec<Problem>,
) {
    let max_iterations = settings.max_loop_iterations;
    for (id, def) in &state.loops {
        match def.loop_type {
            LoopType::For => match def.iterations {
                None => problems.push(Problem::at(id, "iterations", "a `for` loop needs `iterations`")),
                Some(n) if n > max_iterations => problems.push(Problem::at(
                    id,
                    "iterations",
                    format!("{n} iterations is above the maximum of {max_iterations}"),
                )),
                Some(_) => {}
            },
            LoopType::ForEach => match &def.for_each_items {
                None => problems.push(Problem::at(id, "forEachItems", "a `forEach` loop needs `forEachItems`")),
                Some(items) => check_collection(id, "forEachItems", items, max_iterations, index, problems),
            },
            LoopType::While | LoopType::DoWhile => {
                if def.while_condition.as_deref().is_none_or(|c| c.trim().is_empty()) {
                    problems.push(Problem::at(
                        id,
                        "whileCondition",
                        "a `while` or `doWhile` loop needs `whileCondition`",
                    ));
                }
            }
        }
    }
    let max_branches = settings.max_parallel_branches;
    for (id, def) in &state.parallels {
        match def.parallel_type {
            ParallelType::Count => match def.count {
                None => problems.push(Problem::at(id, "count", "a `count` parallel needs `count`")),
                Some(n) if n > max_branches => problems.push(Problem::at(
                    id,
                    "count",
                    format!("{n} branches is above the maximum of {max_branches}"),
                )),
                Some(_) => {}
            },
            ParallelType::Collection => match &def.distribution {
                None => problems.push(Problem::at(id, "distribution", "a `collection` parallel needs `distribution`")),
                Some(items) => check_collection(id, "distribution", items, max_branches, index, problems),
            },
        }
    }
}

fn check_collection(id: &str, field: &str, items: &Value, max: u64, index: &BlockIndex, problems: &mut Vec<Problem>) {
    let parsed;
    // Sim accepts the collection as JSON text too (`"[1, 2, 3]"`).
    let items = match items {
        Value::String(text) if index.holds_reference(text) => return,
        Value::String(text) => match serde_json::from_str::<Value>(text.trim()) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(_) => items,
        },
        other => other,
    };
    let len = match items {
        Value::Array(items) => items.len(),
        Value::Object(items) => items.len(),
        _ => {
            problems.push(Problem::at(
                id,
                field,
                "must be an array, an object, JSON text of one, or a reference to one such as <block.items>",
            ));
            return;
        }
    };
    if len as u64 > max {
        problems.push(Problem::at(id, field, format!("{len} items is above the maximum of {max}")));
    }
}

fn check_variables(state: &WorkflowState, problems: &mut Vec<Problem>) {
    let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
    for (id, variable) in &state.variables {
        let (name, declared) = (&variable.name, variable.variable_type);
        let matches = match declared {
            VariableType::String => variable.value.is_string(),
            VariableType::Number => variable.value.is_number(),
            VariableType::Boolean => variable.value.is_boolean(),
            VariableType::Object => variable.value.is_object(),
            VariableType::Array => variable.value.is_array(),
        };
        if !matches {
            problems.push(Problem::workflow(
                &format!("variables.{id}.value"),
                format!("`{name}` is declared {} but its value is {}", type_name(declared), json_kind(&variable.value)),
            ));
        }
        let normalized = normalize_name(name);
        let field = format!("variables.{id}.name");
        if !is_segment(&normalized) {
            problems.push(Problem::workflow(
                &field,
                format!("`{name}` cannot be referenced as <variable.name>: use letters, digits, `_`, `-`"),
            ));
        } else if let Some(first) = by_name.get(&normalized) {
            problems
                .push(Problem::workflow(&field, format!("variable name `{name}` is also used by variable `{first}`")));
        } else {
            by_name.insert(normalized, id);
        }
    }
}

fn type_name(declared: VariableType) -> &'static str {
    match declared {
        VariableType::String => "a string",
        VariableType::Number => "a number",
        VariableType::Boolean => "a boolean",
        VariableType::Object => "an object",
        VariableType::Array => "an array",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
