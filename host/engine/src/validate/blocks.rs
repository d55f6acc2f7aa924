//! What each block asks for itself: its limits within the server maxima, its
//! `env` grants well named.

use super::ValidationSettings;
use crate::graph::Problem;
use crate::model::{BlockDef, WorkflowState};
use crate::reference::is_env_name;

pub(super) fn check(state: &WorkflowState, settings: &ValidationSettings, problems: &mut Vec<Problem>) {
    for (id, block) in &state.blocks {
        check_limits(id, block, settings, problems);
        check_env(id, block, problems);
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
