//! Why an execution could not start.

use serde::{Deserialize, Serialize};

use crate::graph::Problem;
use crate::reference::Redactor;

/// Why an execution could not start. Serializable, so a worker can hand a
/// refusal to the server that waits on its job.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ExecuteError {
    #[error("invalid workflow: {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("maxParallelNodes must be between 1 and {max}, got {got}")]
    MaxParallelNodes { got: usize, max: usize },
    #[error("no pause point `{0}` in this execution")]
    UnknownPausePoint(String),
    #[error("pause point `{0}` was already resumed")]
    AlreadyResumed(String),
    /// The resume input does not match the pause point's input schema; the
    /// pause point stays open.
    #[error("resume input for `{context_id}` does not match its input schema: {}", .problems.join("; "))]
    ResumeInputInvalid { context_id: String, problems: Vec<String> },
    #[error("run from block: {0}")]
    RunFrom(String),
    #[error("workflow `{0}` is already in the call chain")]
    WorkflowCycle(String),
    #[error("the call chain is deeper than {0} workflows")]
    CallChainTooDeep(usize),
    /// The engine itself failed (a bug, never the workflow's fault); the
    /// execution ends failed with this message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ExecuteError {
    /// The same error with environment values replaced in what it quotes
    /// (a schema's `enum` or `const` may hold a granted value).
    pub fn redacted(self, redactor: &Redactor) -> Self {
        match self {
            Self::ResumeInputInvalid { context_id, problems } => Self::ResumeInputInvalid {
                context_id,
                problems: problems.iter().map(|problem| redactor.text(problem)).collect(),
            },
            Self::RunFrom(message) => Self::RunFrom(redactor.text(&message)),
            Self::Internal(message) => Self::Internal(redactor.text(&message)),
            other => other,
        }
    }
}
