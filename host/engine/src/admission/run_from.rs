//! Admitting a run from a block: where it starts, and what it keeps of the
//! earlier execution.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ExecuteError;
use crate::graph::WorkflowGraph;
use crate::request::{Checkpoint, CheckpointOutcome, RunFrom};
use crate::runner::BlockOutcome;

/// The outputs a run from `start_block_id` keeps: every top-level node that is
/// not the start block or downstream of it, as checkpoints without logs.
pub(super) fn carried_over(graph: &WorkflowGraph, run_from: &RunFrom) -> Result<Vec<Checkpoint>, ExecuteError> {
    let start = run_from.start_block_id.as_str();
    let top = graph.scope(&None);
    if !top.nodes.contains(start) {
        return Err(if graph.container_of.contains_key(start) {
            ExecuteError::RunFrom(format!("`{start}` is inside a loop or parallel; run from its container instead"))
        } else {
            ExecuteError::RunFrom(format!("no block `{start}` in this workflow"))
        });
    }
    let mut downstream = BTreeSet::from([start.to_string()]);
    let mut queue = vec![start.to_string()];
    while let Some(node) = queue.pop() {
        for edge in top.outgoing.get(&node).into_iter().flatten() {
            if downstream.insert(edge.target.clone()) {
                queue.push(edge.target.clone());
            }
        }
    }
    let previous = &run_from.previous.block_states;
    let missing: Vec<String> = top.ancestors(start).into_iter().filter(|id| !previous.contains_key(id)).collect();
    if !missing.is_empty() {
        return Err(ExecuteError::RunFrom(format!(
            "upstream block(s) {} never ran in execution being re-run",
            missing.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let decisions = &run_from.previous.decisions;
    Ok(top
        .nodes
        .iter()
        .filter(|id| !downstream.contains(*id))
        .filter_map(|id| {
            let output = previous.get(id)?.output.clone();
            let outcome = match decisions.get(id) {
                Some(route) => BlockOutcome::Route { route: route.clone(), output },
                None => BlockOutcome::Done { output },
            };
            Some(Checkpoint {
                context_id: id.clone(),
                block_id: id.clone(),
                outcome: CheckpointOutcome::Succeeded { outcome },
                variable_writes: BTreeMap::new(),
                log: None,
                pause: None,
            })
        })
        .collect())
}
