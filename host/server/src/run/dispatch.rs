//! The one seam between the routes and running executions: execute,
//! resume, cancel and events, whether executions run in this process
//! (embedded, SQLite) or on workers through the work queue (distributed,
//! PostgreSQL). Callers never ask which.

use std::sync::Arc;

use sandflow_engine::ExecutionSpec;
use sandflow_store::{ExecutionStatus as StoredStatus, NewExecution, WorkQueue};
use serde_json::{Value, json};

use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::events::{Elsewhere, EventStream, events};
use crate::run::local::Local;
use crate::run::pass::Answer;
use crate::run::queued::Queued;
use crate::tenant::Tenant;

/// Runs executions where this server's mode says.
#[derive(Clone)]
pub struct Dispatch {
    app: Arc<RunContext>,
    mode: Mode,
}

/// Where executions run.
#[derive(Clone)]
enum Mode {
    /// In this process.
    Local(Arc<Local>),
    /// On `sandflow worker` processes, through the work queue.
    Queued(Arc<Queued>),
}

impl Dispatch {
    /// Executions run in this process.
    pub fn local(app: Arc<RunContext>) -> Self {
        Self { mode: Mode::Local(Arc::new(Local::new(app.clone()))), app }
    }

    /// Executions run on workers that take them from `queue`.
    pub fn queued(app: Arc<RunContext>, queue: WorkQueue) -> Self {
        Self { mode: Mode::Queued(Arc::new(Queued::new(app.clone(), queue))), app }
    }

    /// What running executions needs, shared with the routes.
    pub fn context(&self) -> &Arc<RunContext> {
        &self.app
    }

    /// Starts what runs without a request: on the local path, continuing
    /// the executions a previous process left running and the timer of
    /// timed pauses; on the queued path, the listener for ended jobs.
    pub async fn start(&self) -> anyhow::Result<()> {
        match &self.mode {
            Mode::Local(local) => {
                let recovered = local.recover().await?;
                if recovered > 0 {
                    tracing::info!(recovered, "continuing the executions left running by the previous process");
                }
                local.spawn_timer();
            }
            Mode::Queued(queued) => queued.spawn_outcome_listener(),
        }
        Ok(())
    }

    /// Refuses a new execution while this server is at its maximum, or the
    /// tenant at its share.
    fn admit(&self, tenant: &Tenant) -> Result<(), RunError> {
        // Embedded: the executions running here; queued: the executes this server waits on.
        let (busy, of_tenant) = match &self.mode {
            Mode::Local(local) => local.busy(tenant),
            Mode::Queued(queued) => queued.busy(tenant),
        };
        let limits = &self.app.limits;
        if busy >= limits.max_running_executions {
            return Err(RunError::Overloaded { max: limits.max_running_executions });
        }
        let share = limits.executions_per_tenant();
        if of_tenant >= share {
            return Err(RunError::TenantOverloaded { tenant: tenant.as_str().to_string(), share });
        }
        Ok(())
    }

    /// Checks a new execution of `request` as the engine will run it (the
    /// tenant's blocks, the call chain, parallelism, a run from a block) and
    /// against this server's room for it, then stores it (its environment
    /// values sealed) and runs it to completion or pause, on its own task so
    /// that a caller who hangs up does not stop it. Nothing is stored for a
    /// refused execution.
    pub async fn execute(
        &self,
        tenant: Tenant,
        execution_id: String,
        request: ExecutionSpec,
    ) -> Result<Answer, RunError> {
        let app = &self.app;
        let engine = app.blocks.engine_for(&tenant).await;
        engine.check(&request)?;
        // The caller may retry later.
        self.admit(&tenant)?;
        let execution = NewExecution {
            tenant: tenant.as_str().to_string(),
            id: execution_id.clone(),
            workflow_id: request.workflow_id.clone(),
            // Environment values sealed: the store never holds them in the clear.
            request: app.sealer.seal_request(tenant.as_str(), &execution_id, &request),
            // Queued, it waits until a worker takes it.
            status: match &self.mode {
                Mode::Local(_) => StoredStatus::Running,
                Mode::Queued(_) => StoredStatus::Queued,
            },
        };
        let task = match self.mode.clone() {
            Mode::Local(local) => {
                tokio::spawn(async move { local.execute(&tenant, engine, execution, &request).await.map(Answer::of) })
            }
            Mode::Queued(queued) => tokio::spawn(async move { queued.execute(&tenant, execution).await }),
        };
        task.await.map_err(|error| RunError::Internal(error.to_string()))?
    }

    /// Resumes the pause point `context_id` with `input` and runs the
    /// execution on to completion or the next pause, on its own task.
    pub async fn resume(
        &self,
        tenant: Tenant,
        execution_id: String,
        context_id: String,
        input: Value,
    ) -> Result<Answer, RunError> {
        let task =
            match self.mode.clone() {
                Mode::Local(local) => tokio::spawn(async move {
                    local.resume(&tenant, &execution_id, &context_id, input).await.map(Answer::of)
                }),
                Mode::Queued(queued) => {
                    tokio::spawn(async move { queued.resume(&tenant, &execution_id, &context_id, input).await })
                }
            };
        task.await.map_err(|error| RunError::Internal(error.to_string()))?
    }

    /// Cancels an execution: one running here stops its blocks at once and
    /// ends `cancelled`; one running on a worker is marked cancelled, which
    /// its worker notices; a paused one is marked cancelled; a finished one
    /// is refused.
    pub async fn cancel(&self, tenant: &Tenant, execution_id: &str) -> Result<(), RunError> {
        let app = &self.app;
        let signalled = match app.live.live(tenant, execution_id) {
            Some(live) => {
                live.cancel.cancel();
                true
            }
            None => false,
        };
        let _run = app.live.lock(tenant, execution_id).await;
        let record = app
            .store
            .get_execution(tenant.as_str(), execution_id)
            .await?
            .ok_or_else(|| RunError::UnknownExecution(execution_id.to_string()))?;
        match record.status {
            // Stopped by the signal above; the run stored its cancelled result.
            StoredStatus::Cancelled if signalled => {}
            status if status.is_final() => {
                return Err(RunError::Finished {
                    execution_id: execution_id.to_string(),
                    status: status.as_str().to_string(),
                });
            }
            _ => {
                let mut result = record.result.unwrap_or_else(|| json!({"executionId": execution_id, "output": {}}));
                result["status"] = json!("cancelled");
                result["success"] = json!(false);
                result["error"] = json!("cancelled");
                app.store
                    .update_execution(tenant.as_str(), execution_id, StoredStatus::Cancelled, Some(result.into()))
                    .await?;
            }
        }
        Ok(())
    }

    /// The progress events of an execution: those stored so far, then live
    /// ones until it ends or pauses.
    pub async fn events(&self, tenant: Tenant, id: String) -> Result<EventStream, RunError> {
        let elsewhere = match &self.mode {
            Mode::Local(_) => Elsewhere::Nowhere,
            Mode::Queued(_) => Elsewhere::OnWorkers,
        };
        events(&self.app, tenant, id, elsewhere).await
    }
}
