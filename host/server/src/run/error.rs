//! Why running an execution was refused or failed, in the run layer's own
//! words; `api/error.rs` alone turns these into HTTP answers.

use std::time::Duration;

use sandflow_engine::ExecuteError;
use sandflow_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A refused or failed execute, resume or cancel.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No such execution in the tenant (or another tenant's).
    #[error("execution `{0}` not found")]
    UnknownExecution(String),
    /// No such pause point in the execution.
    #[error("pause point `{0}` not found")]
    UnknownPausePoint(String),
    /// Another resume won the pause point.
    #[error("pause point `{0}` was already resumed")]
    AlreadyResumed(String),
    /// The execution is over; `status` says how.
    #[error("execution `{execution_id}` is already {status}")]
    Finished { execution_id: String, status: String },
    /// An execute named an execution ID the tenant already has.
    #[error("execution `{0}` already exists")]
    ExecutionExists(String),
    /// This process runs (or, distributed, waits on) its maximum of executions.
    #[error("{max} executions are running, the most this server takes; retry later")]
    Overloaded { max: usize },
    /// The tenant runs its share of executions on this process.
    #[error(
        "tenant `{tenant}` runs {share} executions, the most one tenant may run at once on this server; retry later"
    )]
    TenantOverloaded { tenant: String, share: usize },
    /// Distributed mode: no worker finished the job within the request
    /// timeout; the execution goes on.
    #[error(
        "execution `{execution_id}` did not finish within the request timeout of {}s; it goes on: \
         follow it with GET /v1/executions/{execution_id}",
        timeout.as_secs()
    )]
    StillRunning { execution_id: String, timeout: Duration },
    /// The engine refused the pass (an invalid workflow, a resume input that
    /// does not fit, ...) or failed.
    #[error(transparent)]
    Engine(#[from] ExecuteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What keeps the execution this process's (a worker's lease) was lost
    /// before the pass could store anything: another process continues it.
    #[error("the hold on execution `{0}` was lost, so the result was not stored")]
    HoldLost(String),
    /// This process failed (a task that panicked, a request that does not open).
    #[error("{0}")]
    Internal(String),
    /// A refusal a worker of an earlier version stored as the HTTP answer it
    /// meant (status, code, message, details): passed on as it is.
    #[error("{message}")]
    Relayed { status: u16, code: String, message: String, details: Option<Value> },
}

impl RunError {
    /// Why a new execution could not be stored: its ID is taken, or the store failed.
    pub fn creating(execution_id: &str, error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => Self::ExecutionExists(execution_id.to_string()),
            other => Self::Store(other),
        }
    }

    /// The error as text for the work queue, for the server that waits on
    /// the job to answer with.
    pub fn to_stored(&self) -> String {
        let stored = match self {
            Self::UnknownExecution(id) => Stored::UnknownExecution { execution_id: id.clone() },
            Self::UnknownPausePoint(id) => Stored::UnknownPausePoint { context_id: id.clone() },
            Self::AlreadyResumed(id) => Stored::AlreadyResumed { context_id: id.clone() },
            Self::Finished { execution_id, status } => {
                Stored::Finished { execution_id: execution_id.clone(), status: status.clone() }
            }
            Self::Engine(error) => Stored::Engine { error: error.clone() },
            Self::Relayed { status, code, message, details } => {
                // Written as the earlier version did, so that version reads it too.
                return serde_json::json!({"status": status, "code": code, "error": message, "details": details})
                    .to_string();
            }
            other => Stored::Internal { message: other.to_string() },
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// An error [`to_stored`](Self::to_stored) wrote, or one an earlier
    /// version wrote (an HTTP error envelope with its status); `None` for
    /// other text (a sweeper's reason for giving a job up).
    pub fn from_stored(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        if value.get("kind").is_some() {
            return Some(match serde_json::from_value::<Stored>(value).ok()? {
                Stored::UnknownExecution { execution_id } => Self::UnknownExecution(execution_id),
                Stored::UnknownPausePoint { context_id } => Self::UnknownPausePoint(context_id),
                Stored::AlreadyResumed { context_id } => Self::AlreadyResumed(context_id),
                Stored::Finished { execution_id, status } => Self::Finished { execution_id, status },
                Stored::Engine { error } => Self::Engine(error),
                Stored::Internal { message } => Self::Internal(message),
            });
        }
        Some(Self::Relayed {
            status: u16::try_from(value.get("status")?.as_u64()?).ok()?,
            code: value.get("code")?.as_str()?.to_string(),
            message: value.get("error")?.as_str()?.to_string(),
            details: value.get("details").filter(|d| !d.is_null()).cloned(),
        })
    }
}

/// A refusal as the work queue keeps it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    UnknownExecution { execution_id: String },
    UnknownPausePoint { context_id: String },
    AlreadyResumed { context_id: String },
    Finished { execution_id: String, status: String },
    Engine { error: ExecuteError },
    Internal { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_refusal_reads_back_as_itself() {
        let refusals = [
            RunError::AlreadyResumed("wait".into()),
            RunError::UnknownPausePoint("wait".into()),
            RunError::Finished { execution_id: "e".into(), status: "cancelled".into() },
            RunError::Engine(ExecuteError::ResumeInputInvalid { context_id: "c".into(), problems: vec!["p".into()] }),
            RunError::Engine(ExecuteError::Invalid(vec![sandflow_engine::Problem {
                block_id: Some("b".into()),
                field: None,
                message: "m".into(),
            }])),
        ];
        for refusal in refusals {
            let back = RunError::from_stored(&refusal.to_stored()).expect("reads back");
            assert_eq!(format!("{back:?}"), format!("{refusal:?}"));
        }
    }

    #[test]
    fn a_refusal_stored_by_the_earlier_version_is_relayed() {
        let old =
            r#"{"status":409,"code":"already_resumed","error":"pause point `w` was already resumed","details":null}"#;
        match RunError::from_stored(old) {
            Some(RunError::Relayed { status: 409, code, message, details: None }) => {
                assert_eq!(code, "already_resumed");
                assert_eq!(message, "pause point `w` was already resumed");
            }
            other => panic!("{other:?}"),
        }
        assert!(RunError::from_stored("given up after 4 attempts").is_none());
    }
}
