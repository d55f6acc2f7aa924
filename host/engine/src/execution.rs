//! The engine: admits an execution, runs it with the scheduler, and answers
//! with its `ExecutionResult`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::admission::{admit, provided_env};
use crate::error::ExecuteError;
use crate::graph::Problem;
use crate::model::WorkflowState;
use crate::request::{ExecutionRequest, ExecutionSpec};
use crate::result::ExecutionResult;
use crate::runner::BlockRunner;
use crate::scheduler::ExecutionContext;
use crate::settings::EngineSettings;
use crate::subworkflow::{ChildExecutions, Parent, Subworkflows, block_schemas};
use crate::validate::{ValidationMemory, validated_graph};

/// Runs workflows with a [`BlockRunner`].
pub struct Engine<R> {
    runner: Arc<R>,
    settings: EngineSettings,
    /// What earlier validations worked out (compiled input schemas, recent
    /// valid workflows), shared by the engine's clones (a subworkflow's child runs on a clone).
    memory: Arc<ValidationMemory>,
    /// The params schemas of the runner's block types and the `workflow`
    /// block's: a runner's blocks are fixed, so they are gathered once, and
    /// the recent workflows recognise them by address instead of comparing them.
    schemas: Arc<HashMap<String, Value>>,
}

impl<R> Clone for Engine<R> {
    fn clone(&self) -> Self {
        Self {
            runner: self.runner.clone(),
            settings: self.settings.clone(),
            memory: self.memory.clone(),
            schemas: self.schemas.clone(),
        }
    }
}

impl<R: BlockRunner> Engine<R> {
    pub fn new(runner: Arc<R>, settings: EngineSettings) -> Self {
        let schemas = Arc::new(block_schemas(&*runner));
        Self { runner, settings, memory: Arc::default(), schemas }
    }

    /// The block runner.
    pub fn runner(&self) -> &Arc<R> {
        &self.runner
    }

    /// Validates a workflow against the runner's block catalogue (a draft: no
    /// environment variables provided, so no grant is checked; an execution's
    /// grants are checked by [`Engine::check`] and [`Engine::execute`]).
    pub fn validate(&self, state: &WorkflowState) -> Result<(), Vec<Problem>> {
        validated_graph(state, &self.schemas, &self.memory.compiled, &self.settings.validation, &BTreeSet::new(), false)
            .map(|_| ())
    }

    /// Refuses an execution of `spec` as [`Engine::execute`] would, without
    /// running anything: a server asks before it stores the execution.
    pub fn check(&self, spec: &ExecutionSpec) -> Result<(), ExecuteError> {
        admit(&self.settings, &self.schemas, &self.memory, spec, &[], None).map(|_| ())
    }

    /// Runs (or continues, or resumes) an execution to completion, failure,
    /// cancellation or pause.
    pub async fn execute(&self, request: ExecutionRequest) -> Result<ExecutionResult, ExecuteError> {
        let admitted = admit(
            &self.settings,
            &self.schemas,
            &self.memory,
            &request.spec,
            &request.checkpoints,
            request.resume.as_ref(),
        )?;
        let children: Arc<dyn ChildExecutions> = Arc::new(self.clone());
        let runner = Subworkflows::new(self.runner.clone(), children, Parent::of(&request, admitted.parallel));
        let validated_now = admitted.validated_now;
        let context = ExecutionContext::new(Arc::new(runner), self.settings.clone(), request, admitted);
        let result = context.clone().run().await;
        if validated_now {
            self.remember(context);
        }
        Ok(result)
    }
}

impl<R: BlockRunner> Engine<R> {
    /// Keeps a finished execution's workflow, validated when it was admitted,
    /// among the recent ones. Out of `execute`, whose future every level of a
    /// call chain nests (see `run_block`).
    #[inline(never)]
    fn remember(&self, context: Arc<ExecutionContext<Subworkflows<R>>>) {
        // Nothing of the execution runs any more, so the context is ours again.
        let Ok(context) = Arc::try_unwrap(context) else { return };
        let provided_env = provided_env(&context.request.spec);
        let spec = context.request.spec;
        let validation = self.settings.validation;
        let worked_out = (context.graph, context.blocks, context.found);
        self.memory.recent.remember(spec.state, self.schemas.clone(), validation, provided_env, worked_out);
    }
}

impl<R: BlockRunner> ChildExecutions for Engine<R> {
    fn execute(&self, request: ExecutionRequest) -> BoxFuture<'_, Result<ExecutionResult, ExecuteError>> {
        // Boxed: an execution may contain itself through its children.
        Box::pin(Engine::execute(self, request))
    }
}
