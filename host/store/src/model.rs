//! The records a [`Store`](crate::Store) keeps and the errors it reports.
//!
//! Everything the engine owns (workflow states, execution requests and results, checkpoints,
//! pause data, block manifests) is an opaque [`serde_json::Value`] here: the store never looks
//! inside, so the engine's model can change without a migration. What the store writes comes
//! as [`JsonText`]: serialized once by its owner, never rebuilt as a `Value` to be written.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

/// A JSON value as text, as the store writes it and a server answers with it: serialized once
/// from whatever its owner holds (an engine result, a checkpoint), not through a [`Value`].
#[derive(Debug, Clone)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// `value` serialized; fails only for what JSON cannot hold (a map with non-string keys).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, StoreError> {
        serde_json::value::to_raw_value(value).map(Self).map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The text as serde's raw value, to be embedded in a response as it is.
    pub fn into_raw(self) -> Box<RawValue> {
        self.0
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        // A `Value`'s keys are strings: it always serializes.
        Self(serde_json::value::to_raw_value(&value).expect("a JSON value serializes"))
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist in this tenant (another tenant's row counts as missing).
    #[error("not found")]
    NotFound,
    /// The operation clashes with the stored state: a duplicate ID, a finished execution, a
    /// pause point in the wrong state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller passed something the store cannot keep (for example a time pause without a
    /// resume time).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database failed, or a stored value could not be read back.
    #[error("storage backend: {0}")]
    Backend(String),
}

/// A stored workflow: its editable draft and the versions deployed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRecord {
    /// The workflow ID, unique within the tenant.
    pub id: String,
    /// The human-readable name.
    pub name: String,
    /// The draft workflow state, as last saved.
    pub draft: Value,
    /// The highest deployed version, `None` before the first deploy.
    pub deployed_version: Option<u32>,
    /// Every deployed version, oldest first.
    pub versions: Vec<WorkflowVersionInfo>,
    /// When the workflow was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the name or draft last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One deployed version of a workflow, without its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowVersionInfo {
    /// The version number, from 1.
    pub version: u32,
    /// When this version was frozen from the draft.
    #[serde(with = "time::serde::rfc3339")]
    pub deployed_at: OffsetDateTime,
}

/// Where an execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// A worker is running its blocks.
    Running,
    /// Stopped at one or more pause points, waiting for a resume.
    Paused,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped by a cancel request.
    Cancelled,
}

impl ExecutionStatus {
    /// Every status, in life order.
    pub const ALL: [ExecutionStatus; 6] =
        [Self::Queued, Self::Running, Self::Paused, Self::Completed, Self::Failed, Self::Cancelled];

    /// Whether the execution is over: a final execution is never rewritten.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The lowercase name, as serialized and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status with this lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// What [`Store::create_execution`](crate::Store::create_execution) stores.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    /// The owning tenant.
    pub tenant: String,
    /// The execution ID, unique within the tenant.
    pub id: String,
    /// The workflow it runs (not necessarily a stored one: inline workflows only name the run).
    pub workflow_id: String,
    /// The execute request, environment variable values included (hence the private file).
    pub request: JsonText,
    /// The initial status, usually queued or running.
    pub status: ExecutionStatus,
}

/// A stored execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    /// The owning tenant.
    pub tenant: String,
    /// The execution ID.
    pub id: String,
    /// The workflow it runs.
    pub workflow_id: String,
    /// Where it is in its life.
    pub status: ExecutionStatus,
    /// The execute request as created.
    pub request: Value,
    /// The latest result written, if any.
    pub result: Option<Value>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its status or result last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How many times crash recovery restarted it.
    pub restarts: u32,
}

/// What a pause point waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseKind {
    /// A person's resume request.
    Human,
    /// A time: the server resumes it at `resume_at`.
    Time,
}

impl PauseKind {
    /// The lowercase name, as serialized and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Time => "time",
        }
    }

    /// The kind with this lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Human, Self::Time].into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Where a pause point is between its pause and its resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseStatus {
    /// Open: the next claim wins it.
    Paused,
    /// Claimed by a resume that is being applied; released back to paused if it is rejected.
    Resuming,
    /// Resumed for good.
    Resumed,
}

impl PauseStatus {
    /// The lowercase name, as serialized and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Resuming => "resuming",
            Self::Resumed => "resumed",
        }
    }

    /// The status with this lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Paused, Self::Resuming, Self::Resumed].into_iter().find(|status| status.as_str() == name)
    }
}

/// A pause point to store when an execution pauses.
#[derive(Debug, Clone, PartialEq)]
pub struct PausePointRow {
    /// Unique within the execution (a block in a loop pauses once per iteration).
    pub context_id: String,
    /// What it waits for.
    pub kind: PauseKind,
    /// When a time pause is due; required for [`PauseKind::Time`].
    pub resume_at: Option<OffsetDateTime>,
    /// The engine's pause point, opaque to the store.
    pub data: Value,
}

/// A stored pause point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PausePointRecord {
    /// Unique within the execution.
    pub context_id: String,
    /// What it waits for.
    pub kind: PauseKind,
    /// When a time pause is due.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resume_at: Option<OffsetDateTime>,
    /// Open, being resumed, or resumed.
    pub status: PauseStatus,
    /// The engine's pause point as first stored.
    pub data: Value,
}

/// The outcome of claiming a pause point for a resume.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimResult {
    /// This caller won the pause point, now `resuming`; here is its data.
    Claimed {
        /// The engine's pause point as stored.
        data: Value,
    },
    /// Someone else is resuming it or has resumed it.
    AlreadyResumed,
    /// No such pause point in this tenant's execution.
    Unknown,
}

/// A stored custom block, without its component bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRecord {
    /// The block type name, unique within the tenant.
    pub block_type: String,
    /// The digest of the component bytes, as given at registration.
    pub digest: String,
    /// The block's manifest.
    pub manifest: Value,
    /// When this component was registered (re-registering resets it).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_completed_failed_cancelled_are_final() {
        let finals: Vec<_> = ExecutionStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [ExecutionStatus::Completed, ExecutionStatus::Failed, ExecutionStatus::Cancelled]);
    }

    #[test]
    fn status_names_round_trip_and_match_serde() {
        for status in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(ExecutionStatus::parse("done"), None);
        for status in [PauseStatus::Paused, PauseStatus::Resuming, PauseStatus::Resumed] {
            assert_eq!(PauseStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for kind in [PauseKind::Human, PauseKind::Time] {
            assert_eq!(PauseKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn records_serialize_timestamps_as_rfc3339() {
        let info = WorkflowVersionInfo { version: 3, deployed_at: OffsetDateTime::from_unix_timestamp(0).unwrap() };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"version": 3, "deployedAt": "1970-01-01T00:00:00Z"})
        );
    }
}
