//! Distributed mode, the server's side: on PostgreSQL a server runs no
//! blocks. An execute or a resume becomes a job in the work queue, a
//! `sandflow worker` claims and runs it, and the request waits for the job to
//! end (woken by LISTEN/NOTIFY, checking on a timer too) and answers with what
//! the worker stored, so the API stays synchronous (200/202).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use sandflow_store::{
    ExecutionStatus as StoredStatus, JobId, JobKind, JobOutcome, NewExecution, PauseStatus, StoreError, WorkQueue,
};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::{ApiError, ApiResult};
use crate::executions::creation_error;
use crate::state::{AppState, Tenant};

/// How often a waiting request checks its job even without a notification
/// (notifications sent while the listener reconnects are lost).
const OUTCOME_POLL: Duration = Duration::from_secs(1);
/// Pause before listening again after the listener's connection failed.
const RELISTEN_DELAY: Duration = Duration::from_secs(1);

/// The work queue and the requests waiting on their jobs.
pub struct JobQueue {
    pub queue: WorkQueue,
    waiters: Mutex<HashMap<JobId, Arc<Notify>>>,
    /// Execute requests of each tenant this server is answering, counted
    /// from before their job is queued until the answer: the per-tenant
    /// share, so one tenant cannot fill the queue ahead of the others.
    executes_by_tenant: Mutex<HashMap<Tenant, usize>>,
}

impl JobQueue {
    pub fn new(queue: WorkQueue) -> Self {
        Self { queue, waiters: Mutex::default(), executes_by_tenant: Mutex::default() }
    }

    /// Requests waiting on a job now.
    pub fn waiting(&self) -> usize {
        self.waiters.lock().expect("waiters").len()
    }

    /// Execute requests of `tenant` this server is answering now.
    pub fn executes_of(&self, tenant: &Tenant) -> usize {
        self.executes_by_tenant.lock().expect("executes").get(tenant).copied().unwrap_or(0)
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
                                eprintln!("sandflow: job outcome listener: {error}; listening again");
                                break;
                            }
                        }
                    },
                    Err(error) => eprintln!("sandflow: listening for job outcomes: {error}"),
                }
                tokio::time::sleep(RELISTEN_DELAY).await;
            }
        });
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
}

/// Removes a waiter however its wait ends.
struct Unregister<'a> {
    jobs: &'a JobQueue,
    job: JobId,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.jobs.waiters.lock().expect("waiters").remove(&self.job);
    }
}

/// Counts one execute request of a tenant for as long as it lives.
struct TenantExecute<'a> {
    jobs: &'a JobQueue,
    tenant: &'a Tenant,
}

impl<'a> TenantExecute<'a> {
    fn count(jobs: &'a JobQueue, tenant: &'a Tenant) -> Self {
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

/// Stores a new execution together with its run job (one transaction: never
/// one without the other) and answers with its result once a worker has run it.
pub async fn execute(
    app: &Arc<AppState>,
    jobs: &JobQueue,
    tenant: &Tenant,
    execution: NewExecution,
) -> ApiResult<(StatusCode, Value)> {
    let _counted = TenantExecute::count(jobs, tenant);
    let job = jobs.queue.create_and_enqueue(&execution).await.map_err(|e| creation_error(&execution.id, e))?;
    answer_when_done(app, jobs, tenant, &execution.id, job).await
}

/// Queues the resume of a pause point and answers with the result once a
/// worker has run it. What can be refused here is (an unknown or resumed
/// pause point, an input that does not fit its schema), before anything is
/// queued; the worker claims the pause point (one winner among concurrent
/// resumes through any server) and refuses the losers the same way. Nothing
/// is claimed before the job exists, so a server dying mid-request leaves no
/// pause point claimed by nobody.
pub async fn resume(
    app: &Arc<AppState>,
    jobs: &JobQueue,
    tenant: &Tenant,
    execution_id: &str,
    context_id: &str,
    input: Value,
) -> ApiResult<(StatusCode, Value)> {
    let store = &app.store;
    let record = store
        .get_execution(tenant.as_str(), execution_id)
        .await?
        .ok_or_else(|| ApiError::not_found("execution", execution_id))?;
    if record.status.is_final() {
        return Err(ApiError::execution_finished(execution_id, record.status.as_str()));
    }
    let points = store.list_pause_points(tenant.as_str(), execution_id).await?;
    let point = points
        .iter()
        .find(|p| p.context_id == context_id)
        .ok_or_else(|| ApiError::not_found("pause point", context_id))?;
    if point.status != PauseStatus::Paused {
        return Err(ApiError::already_resumed(context_id));
    }
    if let Some(schema) = point.data.get("inputSchema").filter(|schema| !schema.is_null()) {
        sandflow_engine::check_resume_input(context_id, schema, &input)?;
    }
    let kind = JobKind::Resume { context_id: context_id.to_string(), input };
    let job = jobs.queue.enqueue(tenant.as_str(), execution_id, kind).await?;
    answer_when_done(app, jobs, tenant, execution_id, job).await
}

/// Waits for `job` within the request timeout, then answers with the
/// execution's stored result (200, or 202 when paused), the error the worker
/// refused the job with, or 504 `still_running` when the wait ran out (the
/// execution goes on and `GET /v1/executions/{id}` shows it).
async fn answer_when_done(
    app: &Arc<AppState>,
    jobs: &JobQueue,
    tenant: &Tenant,
    execution_id: &str,
    job: JobId,
) -> ApiResult<(StatusCode, Value)> {
    let timeout = app.limits.request_timeout;
    match jobs.wait(job, timeout).await? {
        None => Err(ApiError {
            details: Some(Box::new(json!({"executionId": execution_id}))),
            ..ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "still_running",
                format!(
                    "execution `{execution_id}` did not finish within the request timeout of {}s; it goes on: \
                     follow it with GET /v1/executions/{execution_id}",
                    timeout.as_secs()
                ),
            )
        }),
        Some(JobOutcome::Failed(error)) => match ApiError::from_stored(&error) {
            Some(refusal) => Err(refusal),
            None => {
                // Given up by a sweeper, which fails the execution too; whichever of us
                // stores it first wins, with the same message.
                fail_execution(app, tenant.as_str(), execution_id, error).await;
                stored_answer(app, tenant, execution_id).await
            }
        },
        Some(JobOutcome::Done | JobOutcome::Pending) => stored_answer(app, tenant, execution_id).await,
    }
}

/// Fails an execution that cannot go on (its job was given up after its
/// last attempt, or its pass could not run), saying why with `error`;
/// nothing happens if it is already final.
pub async fn fail_execution(app: &AppState, tenant: &str, execution_id: &str, error: String) {
    let result = crate::executor::failed_before_running(execution_id, error);
    match app.store.update_execution(tenant, execution_id, StoredStatus::Failed, Some(result)).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(error) => eprintln!("sandflow: failing execution {execution_id}: {error}"),
    }
}

/// The stored result of an execution with its stored status: 202 when
/// paused, 200 otherwise.
async fn stored_answer(app: &AppState, tenant: &Tenant, execution_id: &str) -> ApiResult<(StatusCode, Value)> {
    let record = app
        .store
        .get_execution(tenant.as_str(), execution_id)
        .await?
        .ok_or_else(|| ApiError::not_found("execution", execution_id))?;
    let mut body = record
        .result
        .ok_or_else(|| ApiError::internal(format!("execution {execution_id} ended without a stored result")))?;
    body["status"] = json!(record.status.as_str());
    let status = if record.status == StoredStatus::Paused { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, body))
}
