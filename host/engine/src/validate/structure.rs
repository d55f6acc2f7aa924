//! The shape of a workflow: its size, its one start block, its edges'
//! handles, and no cycle outside a loop.

use std::collections::BTreeSet;

use serde_json::Value;

use super::ValidationSettings;
use crate::graph::{Problem, Scope, WorkflowGraph};
use crate::model::{BlockDef, Handle, WorkflowState};

pub(super) fn check(
    state: &WorkflowState,
    graph: &WorkflowGraph,
    settings: &ValidationSettings,
    problems: &mut Vec<Problem>,
) {
    if state.blocks.len() > settings.max_blocks {
        problems.push(Problem::workflow(
            "blocks",
            format!("{} blocks is above the maximum of {}", state.blocks.len(), settings.max_blocks),
        ));
    }
    check_start(state, graph, problems);
    check_edges(state, problems);
    check_cycles(graph, problems);
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
