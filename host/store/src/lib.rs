//! Durable state of the Sandflow server behind one [`Store`] trait.
//!
//! The store keeps workflows (a draft plus frozen versions), executions, the checkpoints an
//! execution appends as its blocks finish, pause points and custom blocks. It knows nothing of
//! the engine: states, requests, results and checkpoints are opaque JSON values.
//!
//! Every row belongs to a tenant and every operation takes the tenant: another tenant's row
//! behaves exactly as a missing one (`None`, [`StoreError::NotFound`], [`ClaimResult::Unknown`]),
//! so the server can map both to the same 404 without revealing that the row exists.
//!
//! [`SqliteStore`] is the embedded implementation (one file, one server process);
//! [`PostgresStore`] keeps the same state in PostgreSQL, which several server processes can
//! share. [`conformance`] holds the behaviour every implementation must show, written once
//! against `&dyn Store`; both backends run all of it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandflow_store::StoreError> {
//! use std::sync::Arc;
//! use sandflow_store::{SqliteStore, Store};
//!
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sandflow.db".as_ref()).await?);
//! store.create_workflow("acme", "wf1", "Hello", serde_json::json!({"blocks": {}})).await?;
//! assert_eq!(store.deploy_workflow("acme", "wf1").await?, 1);
//! # Ok(()) }
//! ```
//!
//! The same with PostgreSQL, the tables in their own schema:
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandflow_store::StoreError> {
//! use std::sync::Arc;
//! use sandflow_store::{PostgresStore, Store};
//!
//! let url = "postgres://sandflow@db.internal/sandflow";
//! let store: Arc<dyn Store> = Arc::new(PostgresStore::connect_in_schema(url, "sandflow").await?);
//! store.create_workflow("acme", "wf1", "Hello", serde_json::json!({"blocks": {}})).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

#[doc(hidden)]
pub mod conformance;
mod model;
mod postgres;
mod sqlite;

pub use model::{
    BlockRecord, ClaimResult, ExecutionRecord, ExecutionStatus, JsonText, NewExecution, PauseKind, PausePointRecord,
    PausePointRow, PauseStatus, StoreError, WorkflowRecord, WorkflowVersionInfo,
};
pub use postgres::{
    ClaimedJob, JobId, JobKind, JobOutcome, JobOutcomes, JobWakeups, PostgresOptions, PostgresStore, SweepReport,
    WorkQueue,
};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

/// The server's durable state; implementations are shared as `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync {
    /// Stores a new workflow whose draft is `draft`; an existing ID in the tenant is a conflict.
    async fn create_workflow(&self, tenant: &str, id: &str, name: &str, draft: Value) -> Result<(), StoreError>;

    /// The workflow with its draft and version list, `None` if missing.
    async fn get_workflow(&self, tenant: &str, id: &str) -> Result<Option<WorkflowRecord>, StoreError>;

    /// Replaces the draft of an existing workflow.
    async fn update_draft(&self, tenant: &str, id: &str, draft: Value) -> Result<(), StoreError>;

    /// Freezes the current draft as the next version (from 1) and returns its number; two
    /// concurrent deploys get distinct numbers.
    async fn deploy_workflow(&self, tenant: &str, id: &str) -> Result<u32, StoreError>;

    /// The state frozen as `version`, `None` if that version or workflow is missing.
    async fn get_workflow_version(&self, tenant: &str, id: &str, version: u32) -> Result<Option<Value>, StoreError>;

    /// The highest deployed version and its state, `None` if never deployed or missing.
    async fn latest_deployed(&self, tenant: &str, id: &str) -> Result<Option<(u32, Value)>, StoreError>;

    /// The highest deployed version without its state, `None` if never deployed or missing:
    /// versions are frozen, so a caller that kept a version's state needs only this. (A
    /// workflow deleted and created again numbers its versions from 1 again; their deploy
    /// times tell them apart.)
    async fn latest_deployed_version(&self, tenant: &str, id: &str) -> Result<Option<WorkflowVersionInfo>, StoreError>;

    /// Deletes a workflow and its versions; `false` if it did not exist.
    async fn delete_workflow(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;

    /// Stores a new execution; an existing ID in the tenant is a conflict.
    async fn create_execution(&self, execution: NewExecution) -> Result<(), StoreError>;

    /// The execution, `None` if missing.
    async fn get_execution(&self, tenant: &str, id: &str) -> Result<Option<ExecutionRecord>, StoreError>;

    /// Sets the status and, when `result` is `Some`, the result (`None` keeps the stored one).
    /// An execution whose stored status is final is never rewritten: that is a conflict.
    async fn update_execution(
        &self,
        tenant: &str,
        id: &str,
        status: ExecutionStatus,
        result: Option<JsonText>,
    ) -> Result<(), StoreError>;

    /// `(tenant, id)` of every queued or running execution of every tenant, for crash recovery.
    async fn unfinished_executions(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Counts one more crash-recovery restart of the execution and returns the new count.
    async fn record_restart(&self, tenant: &str, id: &str) -> Result<u32, StoreError>;

    /// Appends a finished block run's checkpoint and returns its sequence number, which grows
    /// with every append (it is not dense per execution). The execution must exist and not be
    /// final: a late block of a cancelled run is a conflict.
    async fn append_checkpoint(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
        checkpoint: JsonText,
    ) -> Result<u64, StoreError>;

    /// Appends the checkpoints of several finished block runs of one execution, in order, as
    /// [`Store::append_checkpoint`] does each. On an error, the ones before it may be kept.
    async fn append_checkpoints(
        &self,
        tenant: &str,
        execution_id: &str,
        checkpoints: Vec<(String, JsonText)>,
    ) -> Result<(), StoreError> {
        for (context_id, checkpoint) in checkpoints {
            self.append_checkpoint(tenant, execution_id, &context_id, checkpoint).await?;
        }
        Ok(())
    }

    /// Appends the last checkpoints of an engine pass, then sets the status and result, as
    /// [`Store::append_checkpoints`] and [`Store::update_execution`] one after the other would;
    /// a store may commit both at once. On an error, the checkpoints may be kept.
    async fn append_checkpoints_then_update(
        &self,
        tenant: &str,
        id: &str,
        checkpoints: Vec<(String, JsonText)>,
        status: ExecutionStatus,
        result: Option<JsonText>,
    ) -> Result<(), StoreError> {
        if !checkpoints.is_empty() {
            self.append_checkpoints(tenant, id, checkpoints).await?;
        }
        self.update_execution(tenant, id, status, result).await
    }

    /// The execution's checkpoints in append order (empty for a missing execution).
    async fn list_checkpoints(&self, tenant: &str, execution_id: &str) -> Result<Vec<Value>, StoreError>;

    /// Stores pause points as `paused`, all or none; a context ID already stored keeps its
    /// status and data. The execution must exist and not be final.
    async fn put_pause_points(
        &self,
        tenant: &str,
        execution_id: &str,
        points: Vec<PausePointRow>,
    ) -> Result<(), StoreError>;

    /// Atomically moves a pause point from `paused` to `resuming`: of concurrent claims,
    /// exactly one gets [`ClaimResult::Claimed`].
    async fn claim_pause_point(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
    ) -> Result<ClaimResult, StoreError>;

    /// Moves a claimed pause point back to `paused` (its resume input was rejected).
    async fn release_pause_point(&self, tenant: &str, execution_id: &str, context_id: &str) -> Result<(), StoreError>;

    /// Moves a claimed pause point to `resumed` for good.
    async fn complete_pause_point(&self, tenant: &str, execution_id: &str, context_id: &str) -> Result<(), StoreError>;

    /// The execution's pause points ordered by context ID (empty for a missing execution).
    async fn list_pause_points(&self, tenant: &str, execution_id: &str) -> Result<Vec<PausePointRecord>, StoreError>;

    /// `(tenant, execution_id, context_id)` of every open time pause due at `now`, all tenants,
    /// earliest first.
    async fn due_timed_pauses(&self, now: OffsetDateTime) -> Result<Vec<(String, String, String)>, StoreError>;

    /// Registers a custom block; registering an existing type replaces it.
    async fn put_block(
        &self,
        tenant: &str,
        block_type: &str,
        digest: &str,
        component: Vec<u8>,
        manifest: Value,
    ) -> Result<(), StoreError>;

    /// The custom block's record, `None` if missing.
    async fn get_block(&self, tenant: &str, block_type: &str) -> Result<Option<BlockRecord>, StoreError>;

    /// The custom block's component bytes, `None` if missing.
    async fn get_block_component(&self, tenant: &str, block_type: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// The tenant's custom blocks ordered by type.
    async fn list_blocks(&self, tenant: &str) -> Result<Vec<BlockRecord>, StoreError>;
}
