//! Schema-only types for the OpenAPI document: the answers the handlers
//! build as `serde_json::Value` (the execution result, workflow views, the
//! block catalogue, the error envelope), mirroring SPEC section 4 and the
//! engine's `ExecutionResult` field for field; a test in `openapi.rs` keeps
//! them in step with the engine's serialized types. Never built, only described.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;

/// The error envelope of every answer that is not an execution result.
#[derive(ToSchema)]
#[schema(example = json!({"success": false, "error": "workflow `w1` not found", "code": "not_found"}))]
pub struct ErrorBody {
    /// Always `false`.
    #[schema(example = false)]
    pub success: bool,
    /// What went wrong, for people.
    pub error: String,
    /// What went wrong, for programs: `bad_request`, `invalid_workflow`, `unauthorized`,
    /// `forbidden`, `not_found`, `workflow_exists`, `not_deployed`, `workflow_cycle`,
    /// `execution_exists`, `already_resumed`, `execution_finished`, `block_exists`,
    /// `payload_too_large`, `unsupported_media_type`, `invalid_component`, `compile_timeout`, ...
    #[schema(example = "not_found")]
    pub code: String,
    /// One entry per problem, e.g. every problem of an invalid workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

/// One problem in `details`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// Where an execution stands.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Paused,
    Cancelled,
}

/// The answer to an execution (HTTP 200 when `completed`, `failed` or
/// `cancelled`, 202 when `paused`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    pub success: bool,
    pub status: ExecutionStatus,
    pub execution_id: String,
    /// Every executed block's ID (containers included, members under their
    /// container) to its output.
    #[schema(value_type = Object)]
    pub output: BTreeMap<String, Value>,
    /// `"<blockName>: <message>"` when the execution failed.
    #[schema(required = true)]
    pub error: Option<String>,
    pub pause_points: Vec<PausePoint>,
    pub logs: Vec<BlockLog>,
    pub final_state: FinalState,
}

/// One block run in the execution log.
#[derive(ToSchema)]
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
    #[schema(required = true)]
    pub output: Option<Value>,
    #[schema(required = true)]
    pub error: Option<String>,
    pub error_handled: bool,
    #[schema(required = true)]
    pub loop_id: Option<String>,
    #[schema(required = true)]
    pub parallel_id: Option<String>,
    #[schema(required = true)]
    pub iteration_index: Option<u64>,
    pub fuel_consumed: u64,
    pub memory_peak_bytes: u64,
    pub guest_logs: Vec<GuestLog>,
}

/// One line a block logged.
#[derive(ToSchema)]
pub struct GuestLog {
    pub level: String,
    pub message: String,
}

/// Why a branch is paused.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PauseKind {
    Human,
    Time,
}

/// Whether a pause point is still waiting.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResumeStatus {
    Paused,
    Resumed,
}

/// The loop iteration or parallel branch a pause happened in.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerScope {
    pub container_id: String,
    pub index: u64,
}

/// A paused block, resumed by `contextId`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PausePoint {
    /// Unique within the execution.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Value>,
}

/// What a later run (run from block, resume) starts from.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FinalState {
    pub block_states: BTreeMap<String, BlockState>,
    pub executed_blocks: Vec<String>,
    /// Condition or router block ID to the condition or route it selected.
    pub decisions: BTreeMap<String, String>,
    #[schema(value_type = Object)]
    pub variables: BTreeMap<String, Value>,
}

/// The stored state of one top-level block or container.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockState {
    pub output: Value,
    pub executed: bool,
    pub execution_time_ms: u64,
}

/// A workflow (SPEC section 2): blocks, edges, containers and variables.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "blocks": {
        "start": {"type": "start", "name": "Start"},
        "inc": {"type": "transform", "name": "Inc", "params": {"filter": ".n + 1", "input": {"n": "<start.n>"}}}
    },
    "edges": [{"source": "start", "target": "inc"}]
}))]
pub struct WorkflowState {
    pub blocks: BTreeMap<String, BlockDef>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    #[serde(default)]
    pub loops: BTreeMap<String, LoopDef>,
    #[serde(default)]
    pub parallels: BTreeMap<String, ParallelDef>,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDef>,
}

/// One block of a workflow.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockDef {
    /// A standard block type or a custom block registered by the tenant.
    #[serde(rename = "type")]
    pub block_type: String,
    pub name: String,
    /// Checked against the block's input schema; strings may hold references
    /// such as `<start.n>` or `{{ENV_NAME}}`.
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    /// Default true.
    pub enabled: Option<bool>,
    pub parent_id: Option<String>,
    pub limits: Option<BlockLimits>,
    /// Environment variables granted to the block: its env handle reads only
    /// these, and `{{NAME}}` in its params resolves only for these.
    pub env: Option<Vec<String>>,
}

/// Per-block limits, each capped by the server maximum.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockLimits {
    pub fuel: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub timeout_ms: Option<u64>,
}

/// An edge; `sourceHandle` is `source` (default), `error`,
/// `condition-<id>` or `router-<id>`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub source_handle: Option<String>,
}

/// A loop container.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoopDef {
    pub nodes: Vec<String>,
    pub loop_type: LoopType,
    pub iterations: Option<u64>,
    /// An array, an object, or a reference resolving to one.
    pub for_each_items: Option<Value>,
    /// A JavaScript expression.
    pub while_condition: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LoopType {
    For,
    ForEach,
    While,
    DoWhile,
}

/// A parallel container: one branch per count or per collection item.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParallelDef {
    pub nodes: Vec<String>,
    pub parallel_type: ParallelType,
    pub count: Option<u64>,
    /// The collection: an array, an object, or a reference resolving to one.
    pub distribution: Option<Value>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ParallelType {
    Count,
    Collection,
}

/// A workflow variable with its initial value.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableDef {
    pub name: String,
    #[serde(rename = "type")]
    pub variable_type: VariableType,
    pub value: Value,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    String,
    Number,
    Boolean,
    Object,
    Array,
}

/// A workflow with its draft and deployed versions.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView {
    pub id: String,
    pub name: String,
    pub draft: WorkflowState,
    /// The latest deployed version, null before the first deploy.
    pub deployed_version: Option<u64>,
    pub versions: Vec<WorkflowVersion>,
}

/// One deployed version.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowVersion {
    pub version: u64,
    /// RFC 3339.
    pub deployed_at: String,
}

/// The answer to a deploy.
#[derive(ToSchema)]
pub struct Deployed {
    pub id: String,
    /// The new version.
    pub version: u64,
}

/// The answer to a delete.
#[derive(ToSchema)]
pub struct Deleted {
    pub success: bool,
    pub id: String,
}

/// The answer to a cancel.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cancelled {
    pub success: bool,
    pub execution_id: String,
    /// Always `cancelled`.
    #[schema(example = "cancelled")]
    pub status: String,
}

/// The block catalogue.
#[derive(ToSchema)]
pub struct BlockCatalogue {
    pub blocks: Vec<BlockEntry>,
}

/// Whether a block ships with the server or was registered by the tenant.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Standard,
    Custom,
}

/// A block type with its manifest.
#[derive(ToSchema)]
pub struct BlockEntry {
    #[serde(rename = "type")]
    pub block_type: String,
    pub kind: BlockKind,
    /// SHA-256 of a custom block's component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub manifest: Manifest,
}

/// What a block says about itself (`describe`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    /// JSON Schema of the block's params.
    #[schema(value_type = Object)]
    pub input_schema: Value,
    /// JSON Schema of the block's output.
    #[schema(value_type = Object)]
    pub output_schema: Value,
}

/// The answer of `/healthz`.
#[derive(ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}
