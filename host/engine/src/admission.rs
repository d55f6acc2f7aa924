//! Admission: every check an execution must pass before anything of it runs
//! (parallelism, the call chain, validation, the resume, the run from a
//! block), in one place for every entry point: a new execution, a resume, a
//! run from a block, a subworkflow's child, and a server refusing early.

mod resume;
mod run_from;

pub use resume::check_resume_input;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use self::resume::resumed_pause;
use self::run_from::carried_over;
use crate::error::ExecuteError;
use crate::graph::WorkflowGraph;
use crate::reference::{BlockIndex, FoundByText};
use crate::request::{Checkpoint, ExecutionSpec, ResumeRequest};
use crate::result::PausePoint;
use crate::settings::EngineSettings;
use crate::validate::{ValidationMemory, validated_graph};

/// Longest call chain (SPEC 3): a deeper child is refused.
pub const MAX_CALL_DEPTH: usize = 25;

/// An execution that passed admission, with what its checks worked out.
pub(crate) struct Admitted {
    /// At most this many block runs at once.
    pub parallel: usize,
    pub graph: Arc<WorkflowGraph>,
    /// Resolves reference keys (IDs, normalized names) to block IDs.
    pub blocks: Arc<BlockIndex>,
    /// The references of the workflow's texts, as validation found them.
    pub found: Arc<FoundByText>,
    /// The workflow was validated now rather than found among the recent
    /// ones: the execution hands it over to be remembered when it ends.
    pub validated_now: bool,
    /// Finished runs to replay instead of running, by context ID: the
    /// request's checkpoints (less the pause point being resumed) and the
    /// outputs a run from a block carries over.
    pub memo: HashMap<String, Checkpoint>,
    /// The pause point this execution resumes, with its input.
    pub resumed: Option<(ResumeRequest, PausePoint)>,
    /// A timed pause point resumed with input its schema refuses: its context
    /// ID and why, so the block fails instead of being resumed.
    pub timer_refused: Option<(String, String)>,
    /// The workflow variables as the execution starts.
    pub variables: BTreeMap<String, Value>,
}

/// Checks an execution of `spec` before anything of it runs, continuing from
/// `checkpoints` and resuming `resume`; `schemas` are the params schemas of
/// every block type the execution may run; `memory` is what earlier
/// validations worked out (compiled schemas, recent valid workflows).
pub(crate) fn admit(
    settings: &EngineSettings,
    schemas: &HashMap<String, Value>,
    memory: &ValidationMemory,
    spec: &ExecutionSpec,
    checkpoints: &[Checkpoint],
    resume: Option<&ResumeRequest>,
) -> Result<Admitted, ExecuteError> {
    let parallel = check_parallelism(settings, spec.max_parallel_nodes)?;
    check_call_chain(&spec.call_chain, &spec.workflow_id)?;
    let provided_env = provided_env(spec);
    let found = memory.recent.find(&spec.state, schemas, &settings.validation, &provided_env);
    let validated_now = found.is_none();
    let (graph, blocks, found) = match found {
        Some(found) => found,
        None => {
            let (graph, blocks, found) =
                validated_graph(&spec.state, schemas, &memory.compiled, &settings.validation, &provided_env, true)
                    .map_err(ExecuteError::Invalid)?;
            (Arc::new(graph), Arc::new(blocks), Arc::new(found))
        }
    };
    let mut memo: HashMap<String, Checkpoint> = checkpoints.iter().map(|c| (c.context_id.clone(), c.clone())).collect();
    let (resumed, timer_refused) = match resume {
        None => (None, None),
        Some(resume) => {
            let (pause, timer_refused) = resumed_pause(&mut memo, resume)?;
            (Some((resume.clone(), pause)), timer_refused)
        }
    };

    let mut variables_from = None;
    if let Some(run_from) = &spec.run_from {
        for checkpoint in carried_over(&graph, run_from)? {
            memo.entry(checkpoint.context_id.clone()).or_insert(checkpoint);
        }
        variables_from = Some(run_from.previous.variables.clone());
    }
    let mut variables: BTreeMap<String, Value> = variables_from
        .unwrap_or_else(|| spec.state.variables.values().map(|v| (v.name.clone(), v.value.clone())).collect());
    for (name, value) in &spec.workflow_variables {
        variables.insert(name.clone(), value.clone());
    }
    Ok(Admitted { parallel, graph, blocks, found, validated_now, memo, resumed, timer_refused, variables })
}

/// The environment variables an execution of `spec` provides, by name: what
/// validation checks grants against.
pub(crate) fn provided_env(spec: &ExecutionSpec) -> BTreeSet<String> {
    spec.env.keys().cloned().collect()
}

/// The number of block runs an execution may have at once: `requested`, or
/// the engine's default, refused unless between 1 and the engine's maximum.
pub(crate) fn check_parallelism(settings: &EngineSettings, requested: Option<usize>) -> Result<usize, ExecuteError> {
    let parallel = requested.unwrap_or(settings.default_parallel_nodes);
    if parallel == 0 || parallel > settings.max_parallel_nodes {
        return Err(ExecuteError::MaxParallelNodes { got: parallel, max: settings.max_parallel_nodes });
    }
    Ok(parallel)
}

/// Refuses to run `workflow_id` under `call_chain` (the workflows that led to
/// it, outermost first) when it is already in the chain or the chain is too long.
pub(crate) fn check_call_chain(call_chain: &[String], workflow_id: &str) -> Result<(), ExecuteError> {
    if call_chain.iter().any(|id| id == workflow_id) {
        return Err(ExecuteError::WorkflowCycle(workflow_id.to_string()));
    }
    if call_chain.len() > MAX_CALL_DEPTH {
        return Err(ExecuteError::CallChainTooDeep(MAX_CALL_DEPTH));
    }
    Ok(())
}
