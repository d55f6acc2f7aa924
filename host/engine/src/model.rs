//! The workflow state (SPEC section 2) as it arrives in JSON.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole workflow: blocks, edges, containers and variables. The maps keep
/// the order they were written in, so a stored draft reads back as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "blocks": {
        "start": {"type": "start", "name": "Start"},
        "inc": {"type": "transform", "name": "Inc", "params": {"filter": ".n + 1", "input": {"n": "<start.n>"}}}
    },
    "edges": [{"source": "start", "target": "inc"}]
})))]
pub struct WorkflowState {
    pub blocks: IndexMap<String, BlockDef>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    #[serde(default)]
    pub loops: IndexMap<String, LoopDef>,
    #[serde(default)]
    pub parallels: IndexMap<String, ParallelDef>,
    #[serde(default)]
    pub variables: IndexMap<String, VariableDef>,
}

/// One block of a workflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockDef {
    /// A standard block type or a custom block registered by the tenant.
    #[serde(rename = "type")]
    pub block_type: String,
    pub name: String,
    /// Checked against the block's input schema; strings may hold references
    /// such as `<start.n>` or `{{ENV_NAME}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Map<String, Value>>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<BlockLimits>,
    /// Environment variables granted to the block: its env handle reads only
    /// these, and `{{NAME}}` in its params resolves only for these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
}

impl BlockDef {
    /// Disabled blocks are treated like blocks on an untaken branch.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// Per-block limits a workflow may set (each capped by the server maximum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockLimits {
    pub fuel: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub timeout_ms: Option<u64>,
}

/// An edge; `sourceHandle` picks which outcome of the source fires it:
/// `source` (default), `error`, `condition-<id>` or `router-<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_handle: Option<String>,
}

impl Edge {
    /// The handle, with the default (`source`) filled in.
    pub fn handle(&self) -> Handle {
        Handle::parse(self.source_handle.as_deref().unwrap_or("source"))
    }
}

/// Which outcome of its source block fires an edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Handle {
    /// Fires when the source succeeded.
    Source,
    /// Fires when the source failed.
    Error,
    /// Fires when the source (a condition) selected this condition ID.
    Condition(String),
    /// Fires when the source (a router) selected this route ID.
    Router(String),
    /// Anything else: reported by validation.
    Unknown(String),
}

impl Handle {
    /// Parses `source`, `error`, `condition-<id>` or `router-<id>`.
    pub fn parse(text: &str) -> Self {
        match text {
            "source" => Handle::Source,
            "error" => Handle::Error,
            _ => {
                if let Some(id) = text.strip_prefix("condition-").filter(|id| !id.is_empty()) {
                    Handle::Condition(id.to_string())
                } else if let Some(id) = text.strip_prefix("router-").filter(|id| !id.is_empty()) {
                    Handle::Router(id.to_string())
                } else {
                    Handle::Unknown(text.to_string())
                }
            }
        }
    }
}

/// A loop container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoopDef {
    pub nodes: Vec<String>,
    pub loop_type: LoopType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// An array, an object, or a reference resolving to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each_items: Option<Value>,
    /// A JavaScript expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub while_condition: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum LoopType {
    For,
    ForEach,
    While,
    DoWhile,
}

/// A parallel container: one branch per count or per collection item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParallelDef {
    pub nodes: Vec<String>,
    pub parallel_type: ParallelType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The collection: an array, an object, or a reference resolving to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ParallelType {
    Count,
    Collection,
}

/// A workflow variable with its initial value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariableDef {
    pub name: String,
    #[serde(rename = "type")]
    pub variable_type: VariableType,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    String,
    Number,
    Boolean,
    Object,
    Array,
}

/// Lowercased with spaces removed: how `<Block Name.field>` references match names.
pub fn normalize_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}
