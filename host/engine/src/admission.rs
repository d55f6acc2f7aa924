//! Admission: every check an execution must pass before anything of it runs
//! (parallelism, the call chain, validation, the resume, the run from a
//! block), in one place for every entry point: a new execution, a resume, a
//! run from a block, a subworkflow's child, and a server refusing early.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::error::ExecuteError;
use crate::graph::WorkflowGraph;
use crate::model::WorkflowState;
use crate::request::{Checkpoint, CheckpointOutcome, ExecutionRequest, ResumeRequest, RunFrom};
use crate::result::{PauseKind, PausePoint, ResumeStatus};
use crate::runner::BlockOutcome;
use crate::settings::EngineSettings;
use crate::validate::validate_with_env;

/// Longest call chain (SPEC 3): a deeper child is refused.
pub const MAX_CALL_DEPTH: usize = 25;

/// An execution that passed admission, with what its checks worked out.
pub(crate) struct Admitted {
    /// At most this many block runs at once.
    pub parallel: usize,
    pub graph: WorkflowGraph,
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

/// Checks `request` before anything of it runs; `schemas` are the params
/// schemas of every block type the execution may run.
pub(crate) fn admit(
    settings: &EngineSettings,
    schemas: &HashMap<String, Value>,
    request: &ExecutionRequest,
) -> Result<Admitted, ExecuteError> {
    let parallel = check_parallelism(settings, request.max_parallel_nodes)?;
    check_call_chain(&request.call_chain, &request.workflow_id)?;
    let provided_env: BTreeSet<String> = request.env.keys().cloned().collect();
    validate_with_env(&request.state, schemas, &settings.validation, &provided_env).map_err(ExecuteError::Invalid)?;
    let mut memo: HashMap<String, Checkpoint> =
        request.checkpoints.iter().map(|c| (c.context_id.clone(), c.clone())).collect();
    let mut resumed = None;
    let mut timer_refused = None;
    if let Some(resume) = &request.resume {
        let checkpoint = memo
            .remove(&resume.context_id)
            .ok_or_else(|| ExecuteError::UnknownPausePoint(resume.context_id.clone()))?;
        // A later checkpoint of the same context replaces the paused one once it is resumed.
        let pause = match checkpoint.pause {
            Some(pause) if pause.resume_status == ResumeStatus::Paused => pause,
            _ => return Err(ExecuteError::AlreadyResumed(resume.context_id.clone())),
        };
        if let Some(schema) = &pause.input_schema
            && let Err(error) = check_resume_input(&resume.context_id, schema, &resume.input)
        {
            // A caller is told and may retry; a timer would retry for ever.
            if pause.pause_kind != PauseKind::Time {
                return Err(error);
            }
            timer_refused = Some((resume.context_id.clone(), error.to_string()));
        }
        resumed = Some((resume.clone(), pause));
    }

    let (graph, _) = WorkflowGraph::build(&request.state);
    let mut variables_from = None;
    if let Some(run_from) = &request.run_from {
        for checkpoint in carried_over(&graph, run_from)? {
            memo.entry(checkpoint.context_id.clone()).or_insert(checkpoint);
        }
        variables_from = Some(run_from.previous.variables.clone());
    }
    let mut variables: BTreeMap<String, Value> = variables_from
        .unwrap_or_else(|| request.state.variables.values().map(|v| (v.name.clone(), v.value.clone())).collect());
    for (name, value) in &request.workflow_variables {
        variables.insert(name.clone(), value.clone());
    }
    Ok(Admitted { parallel, graph, memo, resumed, timer_refused, variables })
}

/// The number of block runs an execution may have at once: `requested`, or
/// the engine's default, refused unless between 1 and the engine's maximum.
pub fn check_parallelism(settings: &EngineSettings, requested: Option<usize>) -> Result<usize, ExecuteError> {
    let parallel = requested.unwrap_or(settings.default_parallel_nodes);
    if parallel == 0 || parallel > settings.max_parallel_nodes {
        return Err(ExecuteError::MaxParallelNodes { got: parallel, max: settings.max_parallel_nodes });
    }
    Ok(parallel)
}

/// Refuses to run `workflow_id` under `call_chain` (the workflows that led to
/// it, outermost first) when it is already in the chain or the chain is too long.
pub fn check_call_chain(call_chain: &[String], workflow_id: &str) -> Result<(), ExecuteError> {
    if call_chain.iter().any(|id| id == workflow_id) {
        return Err(ExecuteError::WorkflowCycle(workflow_id.to_string()));
    }
    if call_chain.len() > MAX_CALL_DEPTH {
        return Err(ExecuteError::CallChainTooDeep(MAX_CALL_DEPTH));
    }
    Ok(())
}

/// Checks that a run from a block can start where it asks to, without running
/// anything: the same refusals `Engine::execute` would give.
pub fn check_run_from(state: &WorkflowState, run_from: &RunFrom) -> Result<(), ExecuteError> {
    let (graph, _) = WorkflowGraph::build(state);
    carried_over(&graph, run_from).map(|_| ())
}

/// The outputs a run from `start_block_id` keeps: every top-level node that is
/// not the start block or downstream of it, as checkpoints without logs.
fn carried_over(graph: &WorkflowGraph, run_from: &RunFrom) -> Result<Vec<Checkpoint>, ExecuteError> {
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

/// Checks a resume input against the schema its pause point declared: the
/// engine does so before a resume runs, and a server may do it earlier.
pub fn check_resume_input(context_id: &str, schema: &Value, input: &Value) -> Result<(), ExecuteError> {
    let invalid = |problems| ExecuteError::ResumeInputInvalid { context_id: context_id.to_string(), problems };
    // Before compiling: a schema that refers back to itself in place would never finish.
    crate::validate::check_schema_bounds(schema)
        .map_err(|refused| invalid(vec![format!("the input schema is refused: {refused}")]))?;
    let validator =
        jsonschema::validator_for(schema).map_err(|e| invalid(vec![format!("the input schema is unusable: {e}")]))?;
    let problems: Vec<String> = validator
        .iter_errors(input)
        .take(20)
        .map(|e| {
            let path = e.instance_path.as_str().to_string();
            if path.is_empty() { e.to_string() } else { format!("{path}: {e}") }
        })
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(invalid(problems)) }
}
