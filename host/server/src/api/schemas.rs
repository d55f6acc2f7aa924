//! The schemas of the OpenAPI document. The engine's serialized types
//! (the execution result and the workflow state) derive their own schemas
//! (its `openapi` feature) and are re-exported here under their names; the
//! types below describe only the answers the handlers build as
//! `serde_json::Value` (workflow views, the block catalogue, the error
//! envelope), mirroring SPEC section 4. Never built, only described.
#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

pub use sandflow_engine::GuestLog;
/// One problem in `details`: the engine's `Problem`, as the API answers with it.
pub use sandflow_engine::Problem as ErrorDetail;
pub use sandflow_engine::model::{
    BlockDef, BlockLimits, Edge, LoopDef, LoopType, ParallelDef, ParallelType, VariableDef, VariableType, WorkflowState,
};
pub use sandflow_engine::result::{
    BlockLog, BlockState, ContainerScope, ExecutionResult, ExecutionStatus, FinalState, PauseKind, PausePoint,
    ResumeStatus,
};

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
