//! The `ExecutionResult` of SPEC section 4 and its parts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::reference::Redactor;
use crate::runner::GuestLog;

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Paused,
    Cancelled,
}

/// The answer to an execution: outputs by block, logs, pause points, final state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    pub success: bool,
    pub status: ExecutionStatus,
    pub execution_id: String,
    /// Every executed block's ID (containers included, members under their
    /// container) to its output.
    pub output: BTreeMap<String, Value>,
    /// `"<blockName>: <message>"` when the execution failed.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
    pub pause_points: Vec<PausePoint>,
    pub logs: Vec<BlockLog>,
    pub final_state: FinalState,
}

/// One block run in the execution log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlockLog {
    pub block_id: String,
    pub block_name: String,
    pub block_type: String,
    pub execution_order: u64,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub ended_at: String,
    pub duration_ms: u64,
    pub success: bool,
    pub input: Value,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub output: Option<Value>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
    pub error_handled: bool,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub loop_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub parallel_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub iteration_index: Option<u64>,
    pub fuel_consumed: u64,
    pub memory_peak_bytes: u64,
    pub guest_logs: Vec<GuestLog>,
}

/// Why a branch is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PauseKind {
    Human,
    Time,
}

/// Whether a pause point is still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ResumeStatus {
    Paused,
    Resumed,
}

/// The loop iteration or parallel branch a pause happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContainerScope {
    pub container_id: String,
    pub index: u64,
}

/// A paused block, waiting to be resumed by `contextId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PausePoint {
    /// Unique within the execution: the block's path through containers.
    pub context_id: String,
    pub block_id: String,
    pub block_name: String,
    pub pause_kind: PauseKind,
    /// What the block shows the approver.
    pub response: Value,
    pub registered_at: String,
    /// When a timed pause is resumed by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<String>,
    pub resume_status: ResumeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loop_scope: Option<ContainerScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_scope: Option<ContainerScope>,
    /// The JSON Schema a resume input must match, when the block gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub input_schema: Option<Value>,
}

/// What a later run (run from block, resume) starts from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FinalState {
    pub block_states: BTreeMap<String, BlockState>,
    pub executed_blocks: Vec<String>,
    /// Condition or router block ID to the condition or route it selected.
    pub decisions: BTreeMap<String, String>,
    pub variables: BTreeMap<String, Value>,
}

/// The stored state of one top-level block (or container).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlockState {
    pub output: Value,
    pub executed: bool,
    pub execution_time_ms: u64,
}

impl ExecutionResult {
    /// Replaces environment values in every part that carries data (outputs,
    /// errors, logs, pause points, final state); the result's own fields
    /// (status, IDs, timestamps, block names from the definition) are left alone,
    /// so a redacted result is always a well-formed one.
    pub fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_noop() {
            return;
        }
        self.output.values_mut().for_each(|output| redactor.value(output));
        redactor.message(&mut self.error);
        for pause in &mut self.pause_points {
            pause.redact(redactor);
        }
        for log in &mut self.logs {
            redactor.value(&mut log.input);
            if let Some(output) = &mut log.output {
                redactor.value(output);
            }
            redactor.message(&mut log.error);
            for line in &mut log.guest_logs {
                line.message = redactor.text(&line.message);
            }
        }
        for state in self.final_state.block_states.values_mut() {
            redactor.value(&mut state.output);
        }
        // A custom block may name a route after a value it was granted.
        for route in self.final_state.decisions.values_mut() {
            *route = redactor.text(route);
        }
        self.final_state.variables.values_mut().for_each(|value| redactor.value(value));
    }
}

impl PausePoint {
    /// Replaces environment values in what the pause point shows the approver.
    pub fn redact(&mut self, redactor: &Redactor) {
        redactor.value(&mut self.response);
        if let Some(schema) = &mut self.input_schema {
            redactor.value(schema);
        }
    }
}
