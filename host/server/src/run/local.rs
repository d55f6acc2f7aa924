//! Embedded mode (SQLite): executions run in this process, one pass at a
//! time per execution under its run lock. Also what happens here without a
//! request: crash recovery at start-up and timed resumes.

use std::sync::Arc;
use std::time::Duration;

use sandflow_engine::{Engine, ExecuteError, ExecutionSpec};
use sandflow_store::{ExecutionStatus as StoredStatus, NewExecution};
use sandflow_wasm_runner::WasmBlockRunner;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::pass::{Ended, Pass, failed_before_running, run_pass};
use crate::run::resume::{Attempt, claim, resume_claimed};
use crate::tenant::Tenant;

/// How often due timed pauses are looked for.
const TIMER_POLL: Duration = Duration::from_millis(200);

/// Runs executions in this process.
pub struct Local {
    app: Arc<RunContext>,
}

impl Local {
    /// Runs the executions of `app` here.
    pub fn new(app: Arc<RunContext>) -> Self {
        Self { app }
    }

    /// Executions running here: all of them, and `tenant`'s.
    pub fn busy(&self, tenant: &Tenant) -> (usize, usize) {
        (self.app.live.running(), self.app.live.running_for(tenant))
    }

    /// Stores a new execution (running) and runs its first pass with the
    /// engine that admitted it.
    pub async fn execute(
        &self,
        tenant: &Tenant,
        engine: Engine<WasmBlockRunner>,
        execution: NewExecution,
        request: &ExecutionSpec,
    ) -> Result<Ended, RunError> {
        let app = &self.app;
        let id = execution.id.clone();
        let run_lock = app.live.lock(tenant, &id).await;
        app.store.create_execution(execution).await.map_err(|error| RunError::creating(&id, error))?;
        // From now on a cancel or an event stream finds the execution.
        app.live.begin(tenant, &id);
        run_pass(app, tenant, &id, request, Pass::First(engine), &run_lock).await
    }

    /// Resumes one pause point: claims it (one winner), runs the pass, and
    /// releases the claim again when the input is refused.
    pub async fn resume(
        &self,
        tenant: &Tenant,
        execution_id: &str,
        context_id: &str,
        input: Value,
    ) -> Result<Ended, RunError> {
        let app = &self.app;
        let run_lock = app.live.lock(tenant, execution_id).await;
        let record = app.unfinished_execution(tenant, execution_id).await?;
        // Opened before the claim: a request that does not open leaves the pause point as it was.
        let request = app
            .sealer
            .open_request(tenant.as_str(), execution_id, record.request)
            .map_err(|error| RunError::Internal(error.to_string()))?;
        claim(app, tenant, execution_id, record.status, context_id, Attempt::First).await?;
        resume_claimed(app, tenant, execution_id, &request, context_id, input, Attempt::First, &run_lock).await
    }

    /// Continues every execution a previous process left running, from its
    /// checkpoints; gives up on one restarted more than `max_restarts` times.
    pub async fn recover(self: &Arc<Self>) -> anyhow::Result<usize> {
        let unfinished = self.app.store.unfinished_executions().await?;
        let count = unfinished.len();
        for (tenant, id) in unfinished {
            let local = self.clone();
            tokio::spawn(async move {
                let tenant = Tenant::from_stored(tenant);
                if let Err(error) = local.recover_one(&tenant, &id).await {
                    tracing::error!(execution_id = %id, error = %format!("{error:#}"), "recovering an execution");
                }
            });
        }
        Ok(count)
    }

    async fn recover_one(&self, tenant: &Tenant, id: &str) -> anyhow::Result<()> {
        let app = &self.app;
        let run_lock = app.live.lock(tenant, id).await;
        let restarts = app.store.record_restart(tenant.as_str(), id).await?;
        let Some(record) = app.store.get_execution(tenant.as_str(), id).await? else { return Ok(()) };
        if restarts > app.limits.max_restarts {
            let message = format!(
                "the execution was restarted {restarts} times and is given up (limit {})",
                app.limits.max_restarts
            );
            let result = failed_before_running(id, message);
            app.store.update_execution(tenant.as_str(), id, StoredStatus::Failed, Some(result)).await?;
            return Ok(());
        }
        // A resume cut off by the crash lost its input with the request that
        // carried it: its pause point opens again for the caller to retry.
        for point in app.store.list_pause_points(tenant.as_str(), id).await? {
            if point.status == sandflow_store::PauseStatus::Resuming {
                app.store.release_pause_point(tenant.as_str(), id, &point.context_id).await?;
            }
        }
        let request = match app.sealer.open_request(tenant.as_str(), id, record.request) {
            Ok(request) => request,
            Err(error) => {
                // It cannot continue (another sealing key?): it ends failed, saying why, not running for ever.
                let result = failed_before_running(id, format!("the execution cannot continue: {error}"));
                app.store.update_execution(tenant.as_str(), id, StoredStatus::Failed, Some(result)).await?;
                return Ok(());
            }
        };
        app.store.update_execution(tenant.as_str(), id, StoredStatus::Running, None).await?;
        if let Err(error) = run_pass(app, tenant, id, &request, Pass::Recover, &run_lock).await {
            tracing::error!(execution_id = id, %error, "a recovered execution could not run");
        }
        Ok(())
    }

    /// Resumes timed pause points when they come due, also those stored
    /// before a restart.
    pub fn spawn_timer(self: &Arc<Self>) {
        let local = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TIMER_POLL).await;
                let due = match local.app.store.due_timed_pauses(OffsetDateTime::now_utc()).await {
                    Ok(due) => due,
                    Err(error) => {
                        tracing::error!(%error, "looking for due timers");
                        continue;
                    }
                };
                for (tenant, execution_id, context_id) in due {
                    let local = local.clone();
                    tokio::spawn(async move {
                        let tenant = Tenant::from_stored(tenant);
                        match local.resume(&tenant, &execution_id, &context_id, json!({})).await {
                            Ok(_) => {}
                            // Someone else resumed it first (another poll, or a caller): nothing to do.
                            Err(RunError::AlreadyResumed(_) | RunError::Engine(ExecuteError::AlreadyResumed(_))) => {}
                            Err(error) => tracing::error!(execution_id, context_id, %error, "a timer's resume"),
                        }
                    });
                }
            }
        });
    }
}
