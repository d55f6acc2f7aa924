//! The engine's [`BlockRunner`] over the wasm runtime: standard blocks from
//! the binary, each loaded (compiled, linked, described) once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use sandflow_engine::{
    BlockCall, BlockError, BlockErrorKind, BlockOutcome, BlockReport, BlockRunner, Cancellation, GuestLog,
};
use sandflow_runtime::{BlockInfo, BlockRunError, LoadError, LoadedBlock, RunLimits, RunRequest, Runtime};
use serde_json::Value;

/// Standard blocks that only compute: none of them calls the host's `fetch`
/// or starts anything elsewhere, so running one again after a crash repeats
/// nothing outside its sandbox. Every other block (`api`, `function`, custom
/// blocks) may act outside.
pub const COMPUTE_ONLY_BLOCKS: &[&str] =
    &["start", "transform", "template", "condition", "router", "response", "variables", "wait", "human_in_the_loop"];

/// Runs workflow blocks as components.
pub struct WasmBlockRunner {
    runtime: Arc<Runtime>,
    blocks: HashMap<String, Arc<LoadedBlock>>,
    /// The types among `blocks` that are standard blocks that only compute
    /// ([`COMPUTE_ONLY_BLOCKS`]); a type replaced by [`Self::add_block`] is not.
    compute_only: Arc<HashSet<String>>,
    /// Whose blocks these runs are: the runtime admits them against this
    /// tenant's share of run slots and guest memory.
    tenant: Option<String>,
}

impl WasmBlockRunner {
    /// Loads every standard block into `runtime`.
    pub async fn with_standard_blocks(runtime: impl Into<Arc<Runtime>>) -> Result<Self, LoadError> {
        let mut runner =
            Self { runtime: runtime.into(), blocks: HashMap::new(), compute_only: Arc::default(), tenant: None };
        for block in sandflow_stdblocks::STANDARD_BLOCKS {
            runner.add_block(block.block_type, block.component).await?;
        }
        runner.compute_only = Arc::new(
            COMPUTE_ONLY_BLOCKS.iter().filter(|t| runner.blocks.contains_key(**t)).map(|t| t.to_string()).collect(),
        );
        Ok(runner)
    }

    /// Adds (or replaces) a block type from its component.
    pub async fn add_block(&mut self, block_type: &str, component: &[u8]) -> Result<(), LoadError> {
        let loaded = self.runtime.load(component).await?;
        self.blocks.insert(block_type.to_string(), loaded);
        if self.compute_only.contains(block_type) {
            Arc::make_mut(&mut self.compute_only).remove(block_type);
        }
        Ok(())
    }

    /// The runtime the blocks run in.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Every block type with its manifest.
    pub fn manifests(&self) -> Vec<(String, sandflow_runtime::Manifest)> {
        self.blocks.iter().map(|(name, block)| (name.clone(), block.manifest().clone())).collect()
    }

    /// Whether `block_type` is one of this runner's blocks.
    pub fn has_block(&self, block_type: &str) -> bool {
        self.blocks.contains_key(block_type)
    }

    /// A runner with this runner's blocks plus `extra` (a tenant's custom
    /// blocks, already loaded); an extra block never replaces an existing type.
    pub fn with_extra_blocks(&self, extra: impl IntoIterator<Item = (String, Arc<LoadedBlock>)>) -> Self {
        let mut blocks = self.blocks.clone();
        for (block_type, block) in extra {
            blocks.entry(block_type).or_insert(block);
        }
        Self {
            runtime: self.runtime.clone(),
            blocks,
            compute_only: self.compute_only.clone(),
            tenant: self.tenant.clone(),
        }
    }

    /// This runner with its runs counted against `tenant`'s share.
    pub fn for_tenant(&self, tenant: &str) -> Self {
        Self {
            runtime: self.runtime.clone(),
            blocks: self.blocks.clone(),
            compute_only: self.compute_only.clone(),
            tenant: Some(tenant.to_string()),
        }
    }

    fn limits(&self, call: &BlockCall) -> RunLimits {
        let mut limits = self.runtime.config().default_limits.clone();
        if let Some(requested) = call.limits {
            if let Some(fuel) = requested.fuel {
                limits.fuel = fuel;
            }
            if let Some(memory) = requested.memory_bytes {
                limits.memory_bytes = memory;
            }
            if let Some(timeout) = requested.timeout_ms {
                limits.timeout = Duration::from_millis(timeout);
            }
        }
        limits
    }
}

impl BlockRunner for WasmBlockRunner {
    fn input_schemas(&self) -> HashMap<String, Value> {
        self.blocks.iter().map(|(name, block)| (name.clone(), block.manifest().input_schema.clone())).collect()
    }

    fn acts_outside(&self, block_type: &str) -> bool {
        !self.compute_only.contains(block_type)
    }

    async fn run(&self, call: BlockCall) -> BlockReport {
        let Some(block) = self.blocks.get(&call.block_type) else {
            let message = format!("unknown block type `{}`", call.block_type);
            return BlockReport::outcome(Err(BlockError::new(BlockErrorKind::Other, message)));
        };
        let request = RunRequest {
            limits: Some(self.limits(&call)),
            tenant: self.tenant.clone(),
            info: BlockInfo {
                execution_id: call.info.execution_id,
                workflow_id: call.info.workflow_id,
                block_id: call.info.block_id,
                block_name: call.info.block_name,
                attempt: call.info.attempt,
                resume_input: call.info.resume_input,
            },
            params: call.params,
            env: call.env,
            variables: call.variables,
            cancel: Some(call.cancel.flag().into()),
        };
        let run = self.runtime.run(block, request).await;
        BlockReport {
            outcome: match run.outcome {
                Ok(sandflow_runtime::BlockOutcome::Done(output)) => Ok(BlockOutcome::Done { output }),
                Ok(sandflow_runtime::BlockOutcome::Route { route, output }) => {
                    Ok(BlockOutcome::Route { route, output })
                }
                Ok(sandflow_runtime::BlockOutcome::Pause { response, resume_after_ms, input_schema }) => {
                    Ok(BlockOutcome::Pause { response, resume_after_ms, input_schema })
                }
                Err(error) => Err(block_error(&error)),
            },
            logs: run
                .logs
                .into_iter()
                .map(|log| GuestLog {
                    level: serde_json::to_value(log.level)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    message: log.message,
                })
                .collect(),
            variable_writes: run.variable_writes,
            fuel_consumed: run.usage.fuel_consumed,
            memory_peak_bytes: run.usage.memory_peak_bytes,
        }
    }

    /// Runs the expression in a fresh `condition` sandbox, so loop conditions
    /// get the same limits as any block.
    async fn evaluate(&self, expression: &str, references: &[Value], cancel: Cancellation) -> Result<Value, String> {
        let call = BlockCall {
            block_type: "condition".into(),
            info: Default::default(),
            params: serde_json::json!({"conditions": [
                {"id": "true", "expression": expression, "references": references},
                {"id": "false"}
            ]}),
            env: HashMap::new(),
            variables: Default::default(),
            limits: None,
            cancel,
        };
        match self.run(call).await.outcome.map_err(|error| error.message)? {
            BlockOutcome::Route { route, .. } => Ok(Value::Bool(route == "true")),
            other => Err(format!("the condition block answered {other:?}")),
        }
    }
}

/// The engine's words for a runtime failure; the message is the runtime's own.
pub fn block_error(error: &BlockRunError) -> BlockError {
    let kind = match error {
        BlockRunError::Timeout { .. } => BlockErrorKind::Timeout,
        BlockRunError::OutOfFuel { .. } => BlockErrorKind::OutOfFuel,
        BlockRunError::MemoryLimit { .. } | BlockRunError::MemoryAboveCeiling { .. } => BlockErrorKind::MemoryLimit,
        BlockRunError::StackOverflow => BlockErrorKind::StackOverflow,
        BlockRunError::TableLimit { .. }
        | BlockRunError::OutputTooLarge { .. }
        | BlockRunError::LogLimit { .. }
        | BlockRunError::LogEntryLimit { .. }
        | BlockRunError::HandleLimit { .. }
        | BlockRunError::HostCallLimit { .. } => BlockErrorKind::Limit,
        BlockRunError::MemoryBudget { .. } => BlockErrorKind::Capacity,
        BlockRunError::Cancelled => BlockErrorKind::Cancelled,
        BlockRunError::Trap(_) => BlockErrorKind::Trap,
        BlockRunError::Failed(_) => BlockErrorKind::Reported,
        BlockRunError::InvalidInput(_) => BlockErrorKind::InvalidInput,
        BlockRunError::OutputNotJson(_) => BlockErrorKind::InvalidOutput,
    };
    BlockError::new(kind, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_failure_keeps_its_message_and_gets_its_kind() {
        use BlockErrorKind as Kind;
        let cases = [
            (BlockRunError::OutOfFuel { limit: 5 }, Kind::OutOfFuel),
            (BlockRunError::MemoryLimit { limit: 1, requested: 2 }, Kind::MemoryLimit),
            (BlockRunError::MemoryAboveCeiling { requested: 2, ceiling: 1 }, Kind::MemoryLimit),
            (BlockRunError::TableLimit { limit: 1, requested: 2 }, Kind::Limit),
            (BlockRunError::Timeout { limit: Duration::from_millis(200) }, Kind::Timeout),
            (BlockRunError::Cancelled, Kind::Cancelled),
            (BlockRunError::StackOverflow, Kind::StackOverflow),
            (BlockRunError::MemoryBudget { requested: 2, budget: 1 }, Kind::Capacity),
            (BlockRunError::OutputTooLarge { limit: 1 }, Kind::Limit),
            (BlockRunError::OutputNotJson("x".into()), Kind::InvalidOutput),
            (BlockRunError::LogLimit { limit: 1 }, Kind::Limit),
            (BlockRunError::LogEntryLimit { limit: 1 }, Kind::Limit),
            (BlockRunError::HandleLimit { limit: 1 }, Kind::Limit),
            (BlockRunError::HostCallLimit { call: "http", limit: 1 }, Kind::Limit),
            (BlockRunError::InvalidInput("bad".into()), Kind::InvalidInput),
            (BlockRunError::Failed("nope".into()), Kind::Reported),
            (BlockRunError::Trap("unreachable".into()), Kind::Trap),
        ];
        for (error, kind) in cases {
            assert_eq!(block_error(&error), BlockError::new(kind, error.to_string()), "{error:?}");
        }
    }

    #[test]
    fn the_compute_only_blocks_are_standard_blocks_and_the_ones_that_fetch_are_not_among_them() {
        for block_type in COMPUTE_ONLY_BLOCKS {
            assert!(sandflow_stdblocks::standard_block(block_type).is_some(), "{block_type} is not a standard block");
        }
        for fetches in ["api", "function"] {
            assert!(!COMPUTE_ONLY_BLOCKS.contains(&fetches), "{fetches} can fetch");
        }
    }
}
