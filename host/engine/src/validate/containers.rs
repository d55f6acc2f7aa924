//! Loops and parallels: what each type needs, and counts within the maxima.

use serde_json::Value;

use super::ValidationSettings;
use crate::graph::Problem;
use crate::model::{LoopType, ParallelType, WorkflowState};
use crate::reference::BlockIndex;

pub(super) fn check(
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
