//! What running an execution needs, in a server (either mode) and in a
//! worker alike: the store, the blocks, the engine's settings, the limits,
//! the metrics, the sealing key and the executions running here.

use std::sync::Arc;

use sandflow_store::{ExecutionRecord, Store};

use crate::limits::ServerLimits;
use crate::metrics::Metrics;
use crate::run::error::RunError;
use crate::run::live::LiveExecutions;
use crate::run::sealed::Sealer;
use crate::tenant::Tenant;
use crate::tenant_blocks::TenantBlocks;

/// The shared state of everything under `run/`.
pub struct RunContext {
    pub store: Arc<dyn Store>,
    /// The standard blocks and the tenants' custom blocks, and each tenant's engine.
    pub blocks: TenantBlocks,
    pub limits: ServerLimits,
    pub metrics: Metrics,
    /// Seals the environment values (and their executions' checkpoints) the store keeps.
    pub sealer: Sealer,
    /// The executions running in this process.
    pub live: LiveExecutions,
}

impl RunContext {
    /// The context over a store, the blocks and the settings, with fresh metrics.
    pub fn new(store: Arc<dyn Store>, blocks: TenantBlocks, limits: ServerLimits, sealer: Sealer) -> Self {
        Self { store, blocks, limits, metrics: Metrics::new(), sealer, live: LiveExecutions::default() }
    }

    /// The stored execution a resume is for, refused when it is unknown or already final.
    pub async fn unfinished_execution(&self, tenant: &Tenant, execution_id: &str) -> Result<ExecutionRecord, RunError> {
        let record = self
            .store
            .get_execution(tenant.as_str(), execution_id)
            .await?
            .ok_or_else(|| RunError::UnknownExecution(execution_id.to_string()))?;
        if record.status.is_final() {
            return Err(RunError::Finished {
                execution_id: execution_id.to_string(),
                status: record.status.as_str().to_string(),
            });
        }
        Ok(record)
    }
}
