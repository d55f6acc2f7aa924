//! `sandflow worker`: claims jobs from the PostgreSQL work queue and runs
//! them. Each job is held under a lease extended by heartbeats; a worker
//! that stops heartbeating (killed, frozen, cut off) loses its jobs to the
//! sweeper every worker runs, and the next claimer continues the execution
//! from its checkpoints, so no finished block runs twice. A job claimed more
//! than `max_restarts + 1` times is given up and its execution failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use sandflow_engine::{ExecutionSpec, PauseKind, ResumeStatus};
use sandflow_store::{
    ClaimedJob, ExecutionStatus as StoredStatus, JobId, JobKind, JobOutcome, PauseStatus, StoreError, WorkQueue,
};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};

use crate::metrics::Metrics;
use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::pass::{Hold, Pass, fail_execution, run_pass};
use crate::run::resume::{Attempt, claim, resume_claimed};
use crate::settings::WorkerConfig;
use crate::tenant::Tenant;

/// How long the row of a job that ended is kept (for inspection and the
/// figures in `tests/load/distributed.sh`) before a sweeper deletes it.
const ENDED_JOB_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How often a sweeper deletes such rows.
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// How often a running job checks whether its execution was cancelled.
const CANCEL_POLL: Duration = Duration::from_secs(1);
/// Pause before trying again after a database error (unreachable, say).
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What a worker needs: the run context and the work queue.
pub struct WorkerState {
    app: Arc<RunContext>,
    queue: WorkQueue,
}

impl WorkerState {
    /// A worker running the executions of `app` that it claims from `queue`.
    pub fn new(app: Arc<RunContext>, queue: WorkQueue) -> Self {
        Self { app, queue }
    }

    /// The worker's metrics, for `--metrics-addr`.
    pub fn metrics(&self) -> Metrics {
        self.app.metrics.clone()
    }
}

/// The lease of a claimed job: the [`Hold`] of a worker's pass, renewed
/// each time it is asked.
struct JobLease {
    queue: WorkQueue,
    job: JobId,
    token: i64,
    lease: Duration,
    lost: AtomicBool,
}

impl Hold for JobLease {
    fn still_held(&self) -> BoxFuture<'_, bool> {
        Box::pin(self.renew())
    }
}

impl JobLease {
    /// Extends the lease; `false` once it was lost (for good).
    async fn renew(&self) -> bool {
        if self.lost.load(Ordering::SeqCst) {
            return false;
        }
        match self.queue.heartbeat(self.job, self.token, self.lease).await {
            Ok(true) => true,
            Ok(false) => {
                self.lost.store(true, Ordering::SeqCst);
                false
            }
            // Unknown: not stored now, and the lease may still be renewed later.
            Err(error) => {
                tracing::warn!(job = %self.job, %error, "a heartbeat failed");
                false
            }
        }
    }
}

/// Claims and runs jobs until `stop` resolves (SIGTERM, say); then claims
/// no more and returns once the jobs it holds are over.
pub async fn run_worker(
    worker: WorkerState,
    config: WorkerConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let WorkerState { app, queue } = worker;
    spawn_sweeper(app.clone(), queue.clone(), config.lease);
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop.await;
        let _ = stopping.send(true);
    });
    // Never cancelled inside a claim: a claim that commits always gets its job run.
    claim_and_run(&app, &queue, &config, &slots, stopped).await?;
    tracing::info!(worker = %config.id, "the worker stops claiming; waiting for its running jobs");
    let all = u32::try_from(config.concurrency.max(1)).unwrap_or(u32::MAX);
    let _drained = slots.acquire_many(all).await?;
    Ok(())
}

async fn claim_and_run(
    app: &Arc<RunContext>,
    queue: &WorkQueue,
    config: &WorkerConfig,
    slots: &Arc<Semaphore>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let enqueued = Arc::new(Notify::new());
    spawn_enqueue_listener(queue.clone(), enqueued.clone());
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        };
        if *stopped.borrow() {
            return Ok(());
        }
        match queue.claim(&config.id, config.lease).await {
            Ok(Some(job)) => {
                let (app, queue, lease) = (app.clone(), queue.clone(), config.lease);
                tokio::spawn(async move {
                    work(&app, queue, job, lease).await;
                    drop(slot);
                });
                continue;
            }
            Ok(None) => drop(slot),
            Err(error) => {
                drop(slot);
                tracing::error!(%error, "claiming a job");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        }
        // Nothing ready: wait for an enqueue, or the poll interval.
        tokio::select! {
            () = enqueued.notified() => {}
            () = tokio::time::sleep(config.claim_poll) => {}
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}

/// Wakes the claim loop at every enqueue (several in a row may wake it
/// once: it then claims until nothing is ready), listening again after a
/// lost connection.
fn spawn_enqueue_listener(queue: WorkQueue, enqueued: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            match queue.listen().await {
                Ok(mut wakeups) => loop {
                    match wakeups.next().await {
                        Ok(()) => enqueued.notify_one(),
                        Err(error) => {
                            tracing::warn!(%error, "the job listener failed; listening again");
                            break;
                        }
                    }
                },
                Err(error) => tracing::error!(%error, "listening for jobs"),
            }
            tokio::time::sleep(RETRY_DELAY).await;
        }
    });
}

/// Hands the jobs of workers that stopped heartbeating to others, fails the
/// executions of jobs given up, and deletes the rows of jobs long over.
fn spawn_sweeper(app: Arc<RunContext>, queue: WorkQueue, lease: Duration) {
    let max_attempts = app.limits.max_restarts.saturating_add(1);
    let every = (lease / 2).max(Duration::from_millis(200));
    tokio::spawn(async move {
        let mut last_purge = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(every).await;
            if last_purge.elapsed() >= PURGE_EVERY {
                last_purge = tokio::time::Instant::now();
                if let Err(error) = queue.purge_ended(ENDED_JOB_RETENTION).await {
                    tracing::error!(%error, "deleting old jobs");
                }
            }
            let report = match queue.release_expired(max_attempts).await {
                Ok(report) => report,
                Err(error) => {
                    tracing::error!(%error, "sweeping expired leases");
                    continue;
                }
            };
            for job in &report.requeued {
                tracing::info!(%job, "a job lost its worker; it is queued again");
            }
            // Executions a dead process left between failing their job and failing them
            // (this sweep's give-ups are failed just below, before the next look).
            match queue.stranded_failures().await {
                Ok(stranded) => {
                    for (job, tenant, execution_id, error) in stranded {
                        let message = RunError::from_stored(&error).map_or(error, |refusal| refusal.to_string());
                        tracing::warn!(execution_id, %job, message, "an execution can go no further");
                        fail_execution(app.store.as_ref(), &tenant, &execution_id, message).await;
                    }
                }
                Err(error) => tracing::error!(%error, "looking for stranded executions"),
            }
            for (job, tenant, execution_id) in report.given_up {
                let message = match queue.outcome(job).await {
                    Ok(JobOutcome::Failed(message)) => message,
                    _ => format!("given up after {max_attempts} attempts"),
                };
                tracing::warn!(execution_id, %job, message, "an execution is given up");
                fail_execution(app.store.as_ref(), &tenant, &execution_id, message).await;
            }
        }
    });
}

/// Runs one claimed job under its lease and ends it: done, or failed with
/// the error its work was refused with. A lease lost meanwhile ends nothing:
/// the job is someone else's.
async fn work(app: &Arc<RunContext>, queue: WorkQueue, job: ClaimedJob, lease: Duration) {
    app.metrics.queue_wait.observe(job.waited_ms as f64 / 1000.0);
    let tenant = Tenant::from_stored(job.tenant.clone());
    let held =
        Arc::new(JobLease { queue: queue.clone(), job: job.job_id, token: job.token, lease, lost: false.into() });
    let heartbeat = spawn_heartbeat(app.clone(), held.clone(), tenant.clone(), job.execution_id.clone());
    let refusal = match run_job(app, &queue, &tenant, &job, held.as_ref()).await {
        Ok(()) => None,
        Err(JobError::Refused(error)) => Some(error),
        Err(JobError::Lost(error)) => {
            // Left leased: the sweeper hands it on once the lease runs out.
            heartbeat.abort();
            app.metrics.jobs.with_label_values(&["lost"]).inc();
            tracing::warn!(job = %job.job_id, execution_id = %job.execution_id, %error, "a job is left to run again");
            return;
        }
    };
    heartbeat.abort();
    let ended = match &refusal {
        None => queue.complete(job.job_id, job.token).await,
        Some(error) => queue.fail(job.job_id, job.token, &error.to_stored()).await,
    };
    let outcome = match (&ended, &refusal) {
        (Err(error), _) => {
            tracing::error!(job = %job.job_id, execution_id = %job.execution_id, %error, "ending a job");
            "lost"
        }
        (Ok(()), None) => "done",
        (Ok(()), Some(_)) => "failed",
    };
    app.metrics.jobs.with_label_values(&[outcome]).inc();
}

/// Keeps the lease while the job runs and passes on a cancel made through
/// any server; on a lost lease, stops the run.
fn spawn_heartbeat(
    app: Arc<RunContext>,
    held: Arc<JobLease>,
    tenant: Tenant,
    execution_id: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let beat_every = held.lease / 3;
        let mut since_beat = Duration::ZERO;
        loop {
            tokio::time::sleep(CANCEL_POLL.min(beat_every)).await;
            since_beat += CANCEL_POLL.min(beat_every);
            let stop = |why: &str| {
                if let Some(live) = app.live.live(&tenant, &execution_id) {
                    tracing::info!(execution_id, why, "stopping an execution");
                    live.cancel.cancel();
                }
            };
            if since_beat >= beat_every {
                since_beat = Duration::ZERO;
                if !held.renew().await && held.lost.load(Ordering::SeqCst) {
                    stop("its lease was lost");
                    return;
                }
            }
            if let Ok(Some(record)) = app.store.get_execution(tenant.as_str(), &execution_id).await
                && record.status == StoredStatus::Cancelled
            {
                stop("it was cancelled");
            }
        }
    })
}

/// Why a job did not complete.
enum JobError {
    /// Its work was refused (a resume input that does not fit, say): the job
    /// fails with this error, for the waiting request to answer with.
    Refused(RunError),
    /// The store failed, or the lease was lost: the job is left to run again.
    Lost(RunError),
}

impl From<StoreError> for JobError {
    fn from(error: StoreError) -> Self {
        Self::Lost(RunError::Store(error))
    }
}

impl From<RunError> for JobError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Store(_) | RunError::HoldLost(_) => Self::Lost(error),
            refusal => Self::Refused(refusal),
        }
    }
}

async fn run_job(
    app: &RunContext,
    queue: &WorkQueue,
    tenant: &Tenant,
    job: &ClaimedJob,
    held: &JobLease,
) -> Result<(), JobError> {
    let store = &app.store;
    let id = job.execution_id.as_str();
    let Some(record) = store.get_execution(tenant.as_str(), id).await? else { return Ok(()) };
    let retried = job.attempt > 1;
    // The pause point a resume or timer job is for, and its state now.
    let point = match &job.kind {
        JobKind::Resume { context_id, .. } | JobKind::Timer { context_id } => Some(context_id.as_str()),
        JobKind::Run => None,
    };
    let point_status = match point {
        Some(context_id) => store
            .list_pause_points(tenant.as_str(), id)
            .await?
            .into_iter()
            .find(|p| p.context_id == context_id)
            .map(|p| p.status),
        None => None,
    };
    // An earlier attempt stored its pass and died before completing the job: its result
    // stands; finish what it left undone (the pause point, the timers).
    let pass_stored = retried
        && !matches!(record.status, StoredStatus::Running | StoredStatus::Queued)
        && (point.is_none() || matches!(point_status, Some(PauseStatus::Resuming | PauseStatus::Resumed)));
    if pass_stored {
        if let Some(context_id) = point {
            match store.complete_pause_point(tenant.as_str(), id, context_id).await {
                Ok(()) | Err(StoreError::Conflict(_) | StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
        }
        if record.status == StoredStatus::Paused {
            queue_stored_timers(app, queue, tenant, id).await?;
        }
        return Ok(());
    }
    // Cancelled while queued: nothing to do, except telling a caller who waits for a resume.
    if record.status.is_final() {
        return match &job.kind {
            JobKind::Resume { .. } => Err(JobError::Refused(RunError::Finished {
                execution_id: id.to_string(),
                status: record.status.as_str().to_string(),
            })),
            _ => Ok(()),
        };
    }
    if retried {
        store.record_restart(tenant.as_str(), id).await?;
    }
    let request: ExecutionSpec = app
        .sealer
        .open_request(tenant.as_str(), id, record.request)
        .map_err(|e| JobError::Lost(RunError::Store(StoreError::Backend(format!("stored request of {id}: {e}")))))?;
    let attempt = Attempt::Job { retried, point: point_status };
    let ended = match &job.kind {
        JobKind::Run => {
            store.update_execution(tenant.as_str(), id, StoredStatus::Running, None).await?;
            let pass = if retried { Pass::Recover } else { Pass::First(app.blocks.engine_for(tenant).await) };
            match run_pass(app, tenant, id, &request, pass, held).await {
                Ok(ended) => ended,
                Err(lost @ RunError::HoldLost(_)) => return Err(JobError::Lost(lost)),
                Err(error) => {
                    // It cannot run (a run from a block that cannot start, checkpoints that no
                    // longer fit): it ends failed rather than running forever.
                    fail_execution(store.as_ref(), tenant.as_str(), id, error.to_string()).await;
                    return Err(JobError::Refused(error));
                }
            }
        }
        JobKind::Resume { context_id, input } => {
            claim(app, tenant, id, record.status, context_id, attempt).await?;
            resume_claimed(app, tenant, id, &request, context_id, input.clone(), attempt, held).await?
        }
        JobKind::Timer { context_id } => {
            match claim(app, tenant, id, record.status, context_id, attempt).await.map_err(JobError::from) {
                Ok(()) => {}
                // Resumed otherwise already (a duplicate timer job), or gone.
                Err(JobError::Refused(_)) => return Ok(()),
                Err(error) => return Err(error),
            }
            resume_claimed(app, tenant, id, &request, context_id, json!({}), attempt, held).await?
        }
    };
    // Its timed pauses, as stored, become timer jobs. A pause that already had one gets
    // another; the later finds the pause point resumed and does nothing.
    let timed =
        |p: &sandflow_engine::PausePoint| p.pause_kind == PauseKind::Time && p.resume_status == ResumeStatus::Paused;
    if ended.result.pause_points.iter().any(timed) {
        queue_stored_timers(app, queue, tenant, id).await?;
    }
    Ok(())
}

/// Queues a timer job, due at its resume time, for each open timed pause
/// stored for the execution: after a pass, or for a pass whose worker died
/// before doing so.
async fn queue_stored_timers(app: &RunContext, queue: &WorkQueue, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
    for point in app.store.list_pause_points(tenant.as_str(), id).await? {
        if point.kind == sandflow_store::PauseKind::Time && point.status == PauseStatus::Paused {
            let at = point.resume_at.unwrap_or_else(OffsetDateTime::now_utc);
            queue.enqueue_at(tenant.as_str(), id, JobKind::Timer { context_id: point.context_id }, at).await?;
        }
    }
    Ok(())
}
