//! What a block run is asked and what it gives back: the public vocabulary
//! of [`crate::Runtime::run`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bindings::sandflow::block::types as wit;
use crate::cancel::CancelFlag;
use crate::capabilities::log::GuestLog;
use crate::error::BlockRunError;
use crate::limits::RunLimits;

/// What a block says about itself (`describe`), with its schemas parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub input_schema: Value,
    pub output_schema: Value,
}

/// Identity of one block run, as the block sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockInfo {
    pub execution_id: String,
    pub workflow_id: String,
    pub block_id: String,
    pub block_name: String,
    pub attempt: u32,
    pub resume_input: Option<Value>,
}

/// Everything one run needs besides the block itself.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub info: BlockInfo,
    /// Whose run this is: runs of one tenant hold at most its share of the
    /// run slots and of the memory budget. `None` takes only server-wide ones.
    pub tenant: Option<String>,
    /// The block's params, references already resolved.
    pub params: Value,
    /// The environment variables granted to this block, by name.
    pub env: HashMap<String, String>,
    /// The execution's workflow variables as the block starts.
    pub variables: BTreeMap<String, Value>,
    /// Limits of this run; the runtime's defaults when `None`. A memory limit
    /// above the runtime's ceiling is refused, never lowered.
    pub limits: Option<RunLimits>,
    pub cancel: Option<CancelFlag>,
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockOutcome {
    Done(Value),
    Route { route: String, output: Value },
    Pause { response: Value, resume_after_ms: Option<u64>, input_schema: Option<Value> },
}

/// Resources one run used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunUsage {
    /// Fuel burnt; 0 when the runtime runs without fuel.
    pub fuel_consumed: u64,
    /// Highest total linear memory of the instance, in bytes.
    pub memory_peak_bytes: u64,
    pub duration: Duration,
}

/// The result of one run: its outcome or typed failure, plus what it left behind.
#[derive(Debug, Clone)]
pub struct BlockRun {
    pub outcome: Result<BlockOutcome, BlockRunError>,
    pub logs: Vec<GuestLog>,
    /// Variable writes of the run; the engine applies them only when it succeeded.
    pub variable_writes: BTreeMap<String, Value>,
    pub usage: RunUsage,
}

impl BlockRun {
    /// A run refused before it started: `error`, and nothing left behind.
    pub(crate) fn refused(error: BlockRunError) -> Self {
        Self { outcome: Err(error), logs: Vec::new(), variable_writes: BTreeMap::new(), usage: RunUsage::default() }
    }
}

/// Reads `run`'s outcome, its JSON checked against `output_limit` bytes.
pub(crate) fn parse_outcome(outcome: wit::Outcome, output_limit: usize) -> Result<BlockOutcome, BlockRunError> {
    let parse = |text: &str| {
        if text.len() > output_limit {
            return Err(BlockRunError::OutputTooLarge { limit: output_limit });
        }
        serde_json::from_str::<Value>(text).map_err(|e| BlockRunError::OutputNotJson(e.to_string()))
    };
    Ok(match outcome {
        wit::Outcome::Done(output) => BlockOutcome::Done(parse(&output)?),
        wit::Outcome::Route(routed) => BlockOutcome::Route { output: parse(&routed.output)?, route: routed.route },
        wit::Outcome::Pause(pause) => BlockOutcome::Pause {
            response: parse(&pause.response)?,
            resume_after_ms: pause.resume_after_ms,
            input_schema: pause.input_schema.as_deref().map(parse).transpose()?,
        },
    })
}
