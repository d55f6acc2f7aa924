//! A durable work queue in PostgreSQL for distributed workers.
//!
//! Workers claim jobs with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on or
//! take each other's job; they are woken by `LISTEN/NOTIFY` ([`WorkQueue::listen`]) instead of
//! polling quickly; and they hold a job under a lease they extend with heartbeats. A sweeper
//! ([`WorkQueue::release_expired`]) puts the job of a worker that stopped heartbeating back in
//! line, and every claim draws a new token, so the completion of a worker whose lease was lost
//! is refused (fencing). Lease deadlines use the database's clock, never the workers'.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool};
use time::OffsetDateTime;

use super::store::insert_execution;
use super::{PostgresStore, backend, db, millis, to_text};
use crate::{NewExecution, StoreError};

/// The channel every enqueue notifies; the payload is the schema of the queue, so listeners of
/// other schemas sharing the database ignore it.
const CHANNEL: &str = "sandflow_jobs";

/// The channel every job that ends (done or failed) notifies, as a literal for SQL text; the
/// payload is `schema:job id`.
macro_rules! outcome_channel {
    () => {
        "sandflow_job_outcomes"
    };
}

/// How often a claim retries after losing a race for an execution to a concurrent claim.
const CLAIM_RETRIES: usize = 8;

/// The database's clock in stored form (Unix milliseconds), as a SQL expression.
macro_rules! db_now {
    () => {
        "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
    };
}

/// The columns a claimed job is read from.
macro_rules! job_columns {
    () => {
        "id, tenant, execution_id, kind, context_id, input, attempt, token, claimed_at - run_at AS waited_ms"
    };
}

/// Notifies [`outcome_channel!`] of every job id a statement returned as `id`, as a SQL suffix
/// to a `WITH ended AS (... RETURNING id)`.
macro_rules! notify_outcomes {
    () => {
        concat!(" SELECT pg_notify('", outcome_channel!(), "', current_schema() || ':' || id) FROM ended")
    };
}

/// The identity of a job in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a job asks a worker to do with its execution.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// Run the execution (from its start or its last checkpoint).
    Run,
    /// Resume the execution at the pause point `context_id` with `input`.
    Resume {
        /// The pause point to resume at.
        context_id: String,
        /// The input the pause point receives.
        input: Value,
    },
    /// Resume the execution at the timed pause `context_id`, which came due.
    Timer {
        /// The timed pause that came due.
        context_id: String,
    },
}

/// A job a worker holds under a lease.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job.
    pub job_id: JobId,
    /// The tenant of the execution.
    pub tenant: String,
    /// The execution the job works on.
    pub execution_id: String,
    /// What to do.
    pub kind: JobKind,
    /// How many times the job has been claimed, this claim included (from 1).
    pub attempt: u32,
    /// The fencing token of this claim: heartbeats and the completion must present it, and it
    /// stops matching once the lease is lost and the job claimed again.
    pub token: i64,
    /// How long the job waited to be claimed since it could first be (milliseconds, by the
    /// database's clock): the time spent in line.
    pub waited_ms: i64,
}

/// What became of a job, as the one who enqueued it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Waiting to be claimed, or leased to a worker now.
    Pending,
    /// Done: its work is stored.
    Done,
    /// Failed: refused by its worker, or given up after its last attempt; says why.
    Failed(String),
}

/// What one sweep of expired leases did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Jobs whose lease ran out, ready to be claimed again (in id order).
    pub requeued: Vec<JobId>,
    /// Jobs whose lease ran out after their last allowed attempt, now failed, with the tenant
    /// and execution they belong to (in id order): the caller should fail those executions.
    pub given_up: Vec<(JobId, String, String)>,
}

/// The work queue of a [`PostgresStore`], sharing its pool and schema.
#[derive(Debug, Clone)]
pub struct WorkQueue {
    pool: PgPool,
    schema: Option<String>,
}

impl PostgresStore {
    /// The work queue kept in this store's database and schema.
    pub fn queue(&self) -> WorkQueue {
        WorkQueue { pool: self.pool.clone(), schema: self.schema.clone() }
    }
}

impl WorkQueue {
    /// Adds a job for `execution_id` that can be claimed at once and returns its id; listeners
    /// are notified when the insert commits. The execution must exist in `tenant`
    /// ([`StoreError::NotFound`] otherwise).
    pub async fn enqueue(&self, tenant: &str, execution_id: &str, kind: JobKind) -> Result<JobId, StoreError> {
        self.insert(tenant, execution_id, kind, None).await
    }

    /// Adds a job like [`enqueue`](Self::enqueue) that cannot be claimed before `at` (by the
    /// database's clock), such as the timer of a timed pause. Listeners are notified at once,
    /// not at `at`: a worker that finds nothing to claim should also claim periodically.
    pub async fn enqueue_at(
        &self,
        tenant: &str,
        execution_id: &str,
        kind: JobKind,
        at: OffsetDateTime,
    ) -> Result<JobId, StoreError> {
        self.insert(tenant, execution_id, kind, Some(millis(at))).await
    }

    /// Stores a new execution and its run job in one transaction, so there is never an
    /// execution waiting for a job nobody queued; [`StoreError::Conflict`] when the
    /// execution's ID is taken in its tenant (and nothing is stored).
    pub async fn create_and_enqueue(&self, execution: &NewExecution) -> Result<JobId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        insert_execution(&mut *tx, execution).await?;
        let id = insert_job(&mut tx, &execution.tenant, &execution.id, &JobKind::Run, None).await?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }

    async fn insert(
        &self,
        tenant: &str,
        execution_id: &str,
        kind: JobKind,
        run_at: Option<i64>,
    ) -> Result<JobId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let id = insert_job(&mut tx, tenant, execution_id, &kind, run_at).await?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }
    /// Claims the oldest ready job for `worker_id` under a lease of `lease`, or `None` when no
    /// job is ready. The claim increments the job's attempt and draws a new token. A job whose
    /// execution already has a leased job is skipped, so the jobs of one execution never run
    /// concurrently; concurrent claimers skip each other's rows instead of waiting.
    pub async fn claim(&self, worker_id: &str, lease: Duration) -> Result<Option<ClaimedJob>, StoreError> {
        let lease = lease_millis(lease)?;
        for _ in 0..CLAIM_RETRIES {
            let claimed = sqlx::query(concat!(
                "UPDATE jobs SET state = 'leased', attempt = attempt + 1, token = nextval('job_tokens'), \
                 leased_by = $1, worked_by = $1, lease_until = ",
                db_now!(),
                " + $2, claimed_at = ",
                db_now!(),
                ", updated_at = ",
                db_now!(),
                " WHERE state = 'ready' AND id = (\
                     SELECT j.id FROM jobs j \
                     WHERE j.state = 'ready' AND j.run_at <= ",
                db_now!(),
                " AND NOT EXISTS (SELECT 1 FROM jobs l WHERE l.state = 'leased' \
                         AND l.tenant = j.tenant AND l.execution_id = j.execution_id) \
                     ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING ",
                job_columns!()
            ))
            .bind(worker_id)
            .bind(lease)
            .fetch_optional(&self.pool)
            .await;
            match claimed {
                Ok(row) => return row.map(|row| claimed_job(&row)).transpose(),
                // unique_violation on jobs_one_leased_per_execution: a concurrent claim leased
                // another job of the same execution first; the next try sees it and skips.
                Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23505") => continue,
                Err(e) => return Err(db(e)),
            }
        }
        Ok(None)
    }

    /// Extends the lease of a claimed job to `lease` from now, if `token` is still the job's
    /// token and the job is still leased; `false` means the lease was lost (swept, claimed
    /// again, or the job is gone) and the worker must stop working on it.
    pub async fn heartbeat(&self, job_id: JobId, token: i64, lease: Duration) -> Result<bool, StoreError> {
        let lease = lease_millis(lease)?;
        let done = sqlx::query(concat!(
            "UPDATE jobs SET lease_until = ",
            db_now!(),
            " + $3, updated_at = ",
            db_now!(),
            " WHERE id = $1 AND token = $2 AND state = 'leased'"
        ))
        .bind(job_id.0)
        .bind(token)
        .bind(lease)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a claimed job done and notifies those waiting on it. Refused with
    /// [`StoreError::Conflict`] when `token` is no longer the job's or the job is no longer
    /// leased (the lease was lost: the work may be under way elsewhere),
    /// [`StoreError::NotFound`] when there is no such job.
    pub async fn complete(&self, job_id: JobId, token: i64) -> Result<(), StoreError> {
        self.end(job_id, token, None).await
    }

    /// Marks a claimed job failed because of `error` (its work was refused, such as a resume
    /// input that does not fit) and notifies those waiting on it; fenced like
    /// [`complete`](Self::complete).
    pub async fn fail(&self, job_id: JobId, token: i64, error: &str) -> Result<(), StoreError> {
        self.end(job_id, token, Some(error)).await
    }

    async fn end(&self, job_id: JobId, token: i64, error: Option<&str>) -> Result<(), StoreError> {
        let ended = sqlx::query(concat!(
            "WITH ended AS (UPDATE jobs SET state = CASE WHEN $3::TEXT IS NULL THEN 'done' ELSE 'failed' END, \
                 error = $3, token = NULL, leased_by = NULL, lease_until = NULL, updated_at = ",
            db_now!(),
            " WHERE id = $1 AND token = $2 AND state = 'leased' RETURNING id)",
            notify_outcomes!()
        ))
        .bind(job_id.0)
        .bind(token)
        .bind(error)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        if ended.len() == 1 {
            return Ok(());
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1")
            .bind(job_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match exists {
            None => Err(StoreError::NotFound),
            Some(_) => Err(StoreError::Conflict(format!("job {job_id}: the lease of token {token} was lost"))),
        }
    }

    /// What became of a job so far; [`StoreError::NotFound`] when there is no such job.
    pub async fn outcome(&self, job_id: JobId) -> Result<JobOutcome, StoreError> {
        let row = sqlx::query("SELECT state, error FROM jobs WHERE id = $1")
            .bind(job_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        let state: String = row.try_get("state").map_err(backend)?;
        Ok(match state.as_str() {
            "done" => JobOutcome::Done,
            "failed" => JobOutcome::Failed(
                row.try_get::<Option<String>, _>("error").map_err(backend)?.unwrap_or_else(|| "failed".into()),
            ),
            _ => JobOutcome::Pending,
        })
    }

    /// Sweeps the jobs whose lease ran out: each goes back to ready (its next claim draws a new
    /// token, so the old worker's heartbeats and completion are refused), unless it was already
    /// claimed `max_attempts` times, in which case it is marked failed and reported in
    /// [`SweepReport::given_up`] (its `error` says so, and those waiting on it are notified).
    /// Concurrent sweepers skip each other's rows.
    pub async fn release_expired(&self, max_attempts: u32) -> Result<SweepReport, StoreError> {
        let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let rows = sqlx::query(concat!(
            "WITH expired AS (SELECT id FROM jobs WHERE state = 'leased' AND lease_until < ",
            db_now!(),
            " FOR UPDATE SKIP LOCKED) \
             , swept AS (UPDATE jobs j SET state = CASE WHEN j.attempt >= $1 THEN 'failed' ELSE 'ready' END, \
                 error = CASE WHEN j.attempt >= $1 THEN 'given up: its worker stopped heartbeating on each of its ' \
                     || j.attempt || ' attempts (limit ' || $1 || ')' END, \
                 token = NULL, leased_by = NULL, lease_until = NULL, updated_at = ",
            db_now!(),
            " FROM expired WHERE j.id = expired.id \
             RETURNING j.id, j.tenant, j.execution_id, j.state) \
             , notified AS (SELECT pg_notify('",
            outcome_channel!(),
            "', current_schema() || ':' || id) FROM swept WHERE state = 'failed') \
             SELECT id, tenant, execution_id, state, (SELECT count(*) FROM notified) AS notified FROM swept"
        ))
        .bind(max_attempts)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut report = SweepReport::default();
        for row in rows {
            let id = JobId(row.try_get("id").map_err(backend)?);
            let state: String = row.try_get("state").map_err(backend)?;
            if state == "failed" {
                let tenant = row.try_get("tenant").map_err(backend)?;
                let execution_id = row.try_get("execution_id").map_err(backend)?;
                report.given_up.push((id, tenant, execution_id));
            } else {
                report.requeued.push(id);
            }
        }
        report.requeued.sort();
        report.given_up.sort_by_key(|(id, _, _)| *id);
        Ok(report)
    }

    /// Failed jobs whose execution is still queued or running with no other job ready or
    /// leased: nothing will ever finish it, so the caller should fail it (the sweeper does),
    /// as `(job, tenant, execution id, the job's error)`. This is the backstop for a process
    /// that died between failing a job and failing its execution.
    pub async fn stranded_failures(&self) -> Result<Vec<(JobId, String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.id, j.tenant, j.execution_id, COALESCE(j.error, 'failed') AS error FROM jobs j \
             JOIN executions e ON e.tenant = j.tenant AND e.id = j.execution_id \
             WHERE j.state = 'failed' AND e.status IN ('queued', 'running') \
               AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.tenant = j.tenant \
                   AND o.execution_id = j.execution_id AND o.state IN ('ready', 'leased')) \
             ORDER BY j.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|row| {
                Ok((
                    JobId(row.try_get("id").map_err(backend)?),
                    row.try_get("tenant").map_err(backend)?,
                    row.try_get("execution_id").map_err(backend)?,
                    row.try_get("error").map_err(backend)?,
                ))
            })
            .collect()
    }

    /// Deletes the jobs that ended (done or failed) more than `age` ago by the database's
    /// clock and returns how many; ready and leased jobs are never touched.
    pub async fn purge_ended(&self, age: Duration) -> Result<u64, StoreError> {
        let age = lease_millis(age)?;
        let purged = sqlx::query(concat!(
            "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_at < ",
            db_now!(),
            " - $1"
        ))
        .bind(age)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(purged.rows_affected())
    }

    /// Listens for enqueues in this queue's schema. The listener holds one of the pool's
    /// connections until dropped. Notifications sent while it reconnects after a lost
    /// connection are missed, so a worker should also claim on a timer.
    pub async fn listen(&self) -> Result<JobWakeups, StoreError> {
        let schema = self.current_schema().await?;
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(db)?;
        listener.listen(CHANNEL).await.map_err(db)?;
        Ok(JobWakeups { listener, schema })
    }

    /// Listens for jobs of this queue's schema that end, done or failed (given-up jobs
    /// included). Notifications sent while the listener reconnects are missed, so whoever
    /// waits on a job should also check [`outcome`](Self::outcome) on a timer.
    pub async fn watch_outcomes(&self) -> Result<JobOutcomes, StoreError> {
        let schema = self.current_schema().await?;
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(db)?;
        listener.listen(outcome_channel!()).await.map_err(db)?;
        Ok(JobOutcomes { listener, prefix: format!("{schema}:") })
    }

    async fn current_schema(&self) -> Result<String, StoreError> {
        match &self.schema {
            Some(schema) => Ok(schema.clone()),
            None => sqlx::query_scalar("SELECT current_schema()::TEXT").fetch_one(&self.pool).await.map_err(db),
        }
    }
}

/// Job ids of this queue's schema as their jobs end (see [`WorkQueue::watch_outcomes`]).
pub struct JobOutcomes {
    listener: PgListener,
    prefix: String,
}

impl fmt::Debug for JobOutcomes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobOutcomes").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl JobOutcomes {
    /// Waits until a job of this queue's schema is done or failed and returns its id.
    pub async fn next(&mut self) -> Result<JobId, StoreError> {
        loop {
            let notification = self.listener.recv().await.map_err(db)?;
            if let Some(id) = notification.payload().strip_prefix(&self.prefix).and_then(|id| id.parse().ok()) {
                return Ok(JobId(id));
            }
        }
    }
}

/// Wake-ups of a worker: one per enqueue in its queue's schema (see [`WorkQueue::listen`]).
pub struct JobWakeups {
    listener: PgListener,
    schema: String,
}

impl fmt::Debug for JobWakeups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobWakeups").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl JobWakeups {
    /// Waits for the next enqueue in this queue's schema (notifications of other schemas are
    /// skipped); after it returns, the worker should claim until the queue is empty.
    pub async fn next(&mut self) -> Result<(), StoreError> {
        loop {
            let notification = self.listener.recv().await.map_err(db)?;
            if notification.payload() == self.schema {
                return Ok(());
            }
        }
    }
}

/// Inserts a job in `tx` and notifies the workers when `tx` commits.
async fn insert_job(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant: &str,
    execution_id: &str,
    kind: &JobKind,
    run_at: Option<i64>,
) -> Result<JobId, StoreError> {
    let (name, context_id, input) = match kind {
        JobKind::Run => ("run", None, None),
        JobKind::Resume { context_id, input } => ("resume", Some(context_id.as_str()), Some(to_text(input)?)),
        JobKind::Timer { context_id } => ("timer", Some(context_id.as_str()), None),
    };
    let id: i64 = sqlx::query_scalar(concat!(
        "INSERT INTO jobs (tenant, execution_id, kind, context_id, input, state, run_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'ready', COALESCE($6, ",
        db_now!(),
        "), ",
        db_now!(),
        ", ",
        db_now!(),
        ") RETURNING id"
    ))
    .bind(tenant)
    .bind(execution_id)
    .bind(name)
    .bind(context_id)
    .bind(input)
    .bind(run_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match &e {
        // foreign_key_violation: the execution is missing in this tenant.
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23503") => StoreError::NotFound,
        _ => db(e),
    })?;
    sqlx::query("SELECT pg_notify($1, current_schema())").bind(CHANNEL).execute(&mut **tx).await.map_err(db)?;
    Ok(JobId(id))
}

/// A lease (or an age) as stored milliseconds; refuses a zero or absurdly long one.
fn lease_millis(lease: Duration) -> Result<i64, StoreError> {
    match i64::try_from(lease.as_millis()) {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => Err(StoreError::Invalid(format!("lease {lease:?} must be between 1 ms and 292 million years"))),
    }
}

/// A claimed job from a row of [`job_columns!`].
fn claimed_job(row: &sqlx::postgres::PgRow) -> Result<ClaimedJob, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    let context_id: Option<String> = row.try_get("context_id").map_err(backend)?;
    let input: Option<String> = row.try_get("input").map_err(backend)?;
    let kind = match (kind.as_str(), context_id) {
        ("run", _) => JobKind::Run,
        ("resume", Some(context_id)) => {
            let input = serde_json::from_str(input.as_deref().unwrap_or("null")).map_err(backend)?;
            JobKind::Resume { context_id, input }
        }
        ("timer", Some(context_id)) => JobKind::Timer { context_id },
        (other, _) => return Err(StoreError::Backend(format!("unknown job kind {other:?}"))),
    };
    let attempt: i32 = row.try_get("attempt").map_err(backend)?;
    Ok(ClaimedJob {
        job_id: JobId(row.try_get("id").map_err(backend)?),
        tenant: row.try_get("tenant").map_err(backend)?,
        execution_id: row.try_get("execution_id").map_err(backend)?,
        kind,
        attempt: u32::try_from(attempt).map_err(backend)?,
        token: row
            .try_get::<Option<i64>, _>("token")
            .map_err(backend)?
            .ok_or_else(|| backend("claimed job without a token"))?,
        waited_ms: row.try_get::<Option<i64>, _>("waited_ms").map_err(backend)?.unwrap_or(0).max(0),
    })
}
