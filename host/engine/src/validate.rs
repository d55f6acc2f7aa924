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

mod blocks;
mod containers;
mod recent;
mod references;
mod schema;
mod schema_bounds;
mod structure;
mod variables;

pub(crate) use recent::RecentWorkflows;
pub(crate) use schema::CompiledSchemas;

/// What an engine keeps from one validation to the next.
#[derive(Default)]
pub(crate) struct ValidationMemory {
    /// The runner's input schemas, compiled.
    pub compiled: CompiledSchemas,
    /// The workflows executions were admitted with most recently.
    pub recent: RecentWorkflows,
}
pub use schema_bounds::{MAX_SCHEMA_DEPTH, MAX_SCHEMA_EXPANSION, MAX_SCHEMA_NODES, SchemaRefused, check_schema_bounds};

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::graph::{Problem, WorkflowGraph};
use crate::model::WorkflowState;
use crate::reference::{BlockIndex, FoundByText};

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
    validated_graph(state, input_schemas, &CompiledSchemas::default(), settings, provided_env, false).map(|_| ())
}

/// [`validate_with_env`] with input schemas compiled by earlier validations
/// (`compiled`), answering with the workflow's graph, block index and the
/// references of its texts (when `keep_found`; otherwise none), which an
/// execution then runs on rather than building or finding them again.
pub(crate) fn validated_graph(
    state: &WorkflowState,
    input_schemas: &HashMap<String, Value>,
    compiled: &CompiledSchemas,
    settings: &ValidationSettings,
    provided_env: &BTreeSet<String>,
    keep_found: bool,
) -> Result<(WorkflowGraph, BlockIndex, FoundByText), Vec<Problem>> {
    let (graph, mut problems) = WorkflowGraph::build(state);
    let index = BlockIndex::new(state);
    structure::check(state, &graph, settings, &mut problems);
    schema::check(state, input_schemas, compiled, &index, &mut problems);
    blocks::check(state, settings, &mut problems);
    containers::check(state, &index, settings, &mut problems);
    variables::check(state, &mut problems);
    let mut found = FoundByText::new();
    references::ReferenceCheck { state, graph: &graph, index: &index, provided_env, keep_found }
        .run(&mut problems, &mut found);

    if problems.is_empty() {
        return Ok((graph, index, found));
    }
    problems.sort();
    problems.dedup();
    Err(problems)
}
