//! Distributed mode, the server's side: on PostgreSQL a server runs no
//! blocks. An execute or a resume becomes a job in the work queue, a
//! `sandflow worker` claims and runs it, and the request waits for the job to
//! end (woken by LISTEN/NOTIFY, checking on a timer too) and answers with what
//! the worker stored, so the API stays synchronous (200/202).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandflow_store::{
    ExecutionStatus as StoredStatus, JobId, JobKind, JobOutcome, NewExecution, PauseStatus, StoreError, WorkQueue,
};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::pass::{Answer, fail_execution};
use crate::tenant::Tenant;

/// How often a waiting request checks its job even without a notification
/// (notifications sent while the listener reconnects are lost).
const OUTCOME_POLL: Duration = Duration::from_secs(1);
/// Pause before listening again after the listener's connection failed.
const RELISTEN_DELAY: Duration = Duration::from_secs(1);

/// The work queue and the requests waiting on their jobs.
pub struct Queued {
    app: Arc<RunContext>,
    queue: WorkQueue,
    waiters: Mutex<HashMap<JobId, Arc<Notify>>>,
    /// Execute requests of each tenant this server is answering, counted
    /// from before their job is queued until the answer: the per-tenant
    /// share, so one tenant cannot fill the queue ahead of the others.
    executes_by_tenant: Mutex<HashMap<Tenant, usize>>,
}

impl Queued {
    /// Sends the executions of `app` through `queue`.
    pub fn new(app: Arc<RunContext>, queue: WorkQueue) -> Self {
        Self { app, queue, waiters: Mutex::default(), executes_by_tenant: Mutex::default() }
    }

    /// Execute and resume requests this server waits on, and `tenant`'s
    /// executes (counted from before their job is queued).
    pub fn busy(&self, tenant: &Tenant) -> (usize, usize) {
        let waiting = self.waiters.lock().expect("waiters").len();
        (waiting, self.executes_by_tenant.lock().expect("executes").get(tenant).copied().unwrap_or(0))
    }

    /// Wakes the waiter of each job that ends, for as long as the process runs.
    pub fn spawn_outcome_listener(self: &Arc<Self>) {
        let jobs = self.clone();
        tokio::spawn(async move {
            loop {
                match jobs.queue.watch_outcomes().await {
                    Ok(mut outcomes) => loop {
                        match outcomes.next().await {
                            Ok(job) => {
                                if let Some(waiter) = jobs.waiters.lock().expect("waiters").get(&job) {
                                    waiter.notify_one();
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "the job outcome listener failed; listening again");
                                break;
                            }
                        }
                    },
                    Err(error) => tracing::error!(%error, "listening for job outcomes"),
                }
                tokio::time::sleep(RELISTEN_DELAY).await;
            }
        });
    }

    /// Stores a new execution (queued) together with its run job (one
    /// transaction: never one without the other) and answers with its
    /// result once a worker has run it.
    pub async fn execute(&self, tenant: &Tenant, execution: NewExecution) -> Result<Answer, RunError> {
        let _counted = TenantExecute::count(self, tenant);
        let job = self.queue.create_and_enqueue(&execution).await.map_err(|e| RunError::creating(&execution.id, e))?;
        self.answer_when_done(tenant, &execution.id, job).await
    }

    /// Queues the resume of a pause point and answers with the result once a
    /// worker has run it. What can be refused here is (an unknown or resumed
    /// pause point, an input that does not fit its schema), before anything is
    /// queued; the worker claims the pause point (one winner among concurrent
    /// resumes through any server) and refuses the losers the same way. Nothing
    /// is claimed before the job exists, so a server dying mid-request leaves no
    /// pause point claimed by nobody.
    pub async fn resume(
        &self,
        tenant: &Tenant,
        execution_id: &str,
        context_id: &str,
        input: Value,
    ) -> Result<Answer, RunError> {
        let store = &self.app.store;
        self.app.unfinished_execution(tenant, execution_id).await?;
        let points = store.list_pause_points(tenant.as_str(), execution_id).await?;
        let point = points
            .iter()
            .find(|p| p.context_id == context_id)
            .ok_or_else(|| RunError::UnknownPausePoint(context_id.to_string()))?;
        if point.status != PauseStatus::Paused {
            return Err(RunError::AlreadyResumed(context_id.to_string()));
        }
        if let Some(schema) = point.data.get("inputSchema").filter(|schema| !schema.is_null()) {
            sandflow_engine::check_resume_input(context_id, schema, &input)?;
        }
        let kind = JobKind::Resume { context_id: context_id.to_string(), input };
        let job = self.queue.enqueue(tenant.as_str(), execution_id, kind).await?;
        self.answer_when_done(tenant, execution_id, job).await
    }

    /// Waits for `job` within the request timeout, then answers with the
    /// execution's stored result, the error the worker refused the job with,
    /// or [`RunError::StillRunning`] when the wait ran out (the execution
    /// goes on and `GET /v1/executions/{id}` shows it).
    async fn answer_when_done(&self, tenant: &Tenant, execution_id: &str, job: JobId) -> Result<Answer, RunError> {
        let timeout = self.app.limits.request_timeout;
        match self.wait(job, timeout).await? {
            None => Err(RunError::StillRunning { execution_id: execution_id.to_string(), timeout }),
            Some(JobOutcome::Failed(error)) => match RunError::from_stored(&error) {
                Some(refusal) => Err(refusal),
                None => {
                    // Given up by a sweeper, which fails the execution too; whichever of us
                    // stores it first wins, with the same message.
                    fail_execution(self.app.store.as_ref(), tenant.as_str(), execution_id, error).await;
                    self.stored_answer(tenant, execution_id).await
                }
            },
            Some(JobOutcome::Done | JobOutcome::Pending) => self.stored_answer(tenant, execution_id).await,
        }
    }

    /// Waits until `job` ends or `timeout` passes (`None`).
    async fn wait(&self, job: JobId, timeout: Duration) -> Result<Option<JobOutcome>, StoreError> {
        let notify = Arc::new(Notify::new());
        self.waiters.lock().expect("waiters").insert(job, notify.clone());
        let _registered = Unregister { jobs: self, job };
        let deadline = Instant::now() + timeout;
        loop {
            // Checked after registering, so an outcome that came before is seen here and one
            // that comes after leaves a permit in `notify`.
            match self.queue.outcome(job).await? {
                JobOutcome::Pending => {}
                ended => return Ok(Some(ended)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::select! {
                () = notify.notified() => {}
                () = tokio::time::sleep(OUTCOME_POLL.min(deadline - now)) => {}
            }
        }
    }

    /// The stored result of an execution with its stored status.
    async fn stored_answer(&self, tenant: &Tenant, execution_id: &str) -> Result<Answer, RunError> {
        let record = self
            .app
            .store
            .get_execution(tenant.as_str(), execution_id)
            .await?
            .ok_or_else(|| RunError::UnknownExecution(execution_id.to_string()))?;
        let mut result = record
            .result
            .ok_or_else(|| RunError::Internal(format!("execution {execution_id} ended without a stored result")))?;
        result["status"] = json!(record.status.as_str());
        Ok(Answer { paused: record.status == StoredStatus::Paused, result: result.into() })
    }
}

/// Removes a waiter however its wait ends.
struct Unregister<'a> {
    jobs: &'a Queued,
    job: JobId,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.jobs.waiters.lock().expect("waiters").remove(&self.job);
    }
}

/// Counts one execute request of a tenant for as long as it lives.
struct TenantExecute<'a> {
    jobs: &'a Queued,
    tenant: &'a Tenant,
}

impl<'a> TenantExecute<'a> {
    fn count(jobs: &'a Queued, tenant: &'a Tenant) -> Self {
        *jobs.executes_by_tenant.lock().expect("executes").entry(tenant.clone()).or_default() += 1;
        Self { jobs, tenant }
    }
}

impl Drop for TenantExecute<'_> {
    fn drop(&mut self) {
        let mut executes = self.jobs.executes_by_tenant.lock().expect("executes");
        if let Some(count) = executes.get_mut(self.tenant) {
            *count -= 1;
            if *count == 0 {
                executes.remove(self.tenant);
            }
        }
    }
}
