//! What is stored with an execution so that any process can run it, or run
//! it again after a crash.

use std::collections::{BTreeMap, HashMap};

use sandflow_engine::WorkflowState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything needed to run (or re-run after a crash) one execution; stored
/// with it, its environment values sealed (by `Sealer::seal_request`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRequest {
    pub workflow_id: String,
    pub state: WorkflowState,
    pub input: Value,
    pub env: HashMap<String, String>,
    pub workflow_variables: BTreeMap<String, Value>,
    pub max_parallel_nodes: Option<usize>,
    pub call_chain: Vec<String>,
    pub parent_execution_id: Option<String>,
    pub run_from: Option<StoredRunFrom>,
}

/// A run from a block, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRunFrom {
    pub start_block_id: String,
    pub previous: sandflow_engine::result::FinalState,
}
