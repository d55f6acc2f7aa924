//! [`Store`] operations of [`PostgresStore`]: one statement each wherever a row lock or a
//! conditional update makes it atomic, a short transaction where a lock must be held across two.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use super::rows::{
    block_record, from_millis, from_text, get, parse_pause_status, parse_status, pause_point_record, to_u32,
};
use super::{
    PostgresStore, backend, db, execution_refusal, execution_status, final_conflict, millis, now_millis, to_text,
};
use crate::{
    BlockRecord, ClaimResult, ExecutionRecord, ExecutionStatus, JsonText, NewExecution, PauseKind, PausePointRecord,
    PausePointRow, PauseStatus, Store, StoreError, WorkflowRecord, WorkflowVersionInfo,
};

/// How often a claim retries when it lost to a resume that was then released; beyond that it
/// reports the pause point as taken rather than spin.
const CLAIM_ATTEMPTS: usize = 3;

#[async_trait]
impl Store for PostgresStore {
    async fn create_workflow(&self, tenant: &str, id: &str, name: &str, draft: Value) -> Result<(), StoreError> {
        let now = now_millis();
        let inserted = sqlx::query(
            "INSERT INTO workflows (tenant, id, name, draft, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(id)
        .bind(name)
        .bind(to_text(&draft)?)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("workflow {id} already exists")));
        }
        Ok(())
    }

    async fn get_workflow(&self, tenant: &str, id: &str) -> Result<Option<WorkflowRecord>, StoreError> {
        // One statement, hence one snapshot: the version list matches the workflow row.
        let rows = sqlx::query(
            "SELECT w.name, w.draft, w.created_at, w.updated_at, v.version, v.deployed_at \
             FROM workflows w LEFT JOIN workflow_versions v \
               ON v.tenant = w.tenant AND v.workflow_id = w.id \
             WHERE w.tenant = $1 AND w.id = $2 ORDER BY v.version",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let Some(first) = rows.first() else { return Ok(None) };
        let mut versions = Vec::new();
        for row in &rows {
            let (Some(version), Some(deployed_at)) =
                (get::<Option<i32>>(row, "version")?, get::<Option<i64>>(row, "deployed_at")?)
            else {
                continue;
            };
            versions.push(WorkflowVersionInfo { version: to_u32(version)?, deployed_at: from_millis(deployed_at)? });
        }
        Ok(Some(WorkflowRecord {
            id: id.to_owned(),
            name: get(first, "name")?,
            draft: from_text(&get::<String>(first, "draft")?)?,
            deployed_version: versions.last().map(|info| info.version),
            versions,
            created_at: from_millis(get(first, "created_at")?)?,
            updated_at: from_millis(get(first, "updated_at")?)?,
        }))
    }

    async fn update_draft(&self, tenant: &str, id: &str, draft: Value) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE workflows SET draft = $1, updated_at = $2 WHERE tenant = $3 AND id = $4")
            .bind(to_text(&draft)?)
            .bind(now_millis())
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn deploy_workflow(&self, tenant: &str, id: &str) -> Result<u32, StoreError> {
        // The workflow row lock serializes deploys: the next one reads the highest version only
        // once this one has committed (READ COMMITTED gives each statement a fresh snapshot).
        // Dropping the transaction on an early return rolls it back.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let draft: Option<String> =
            sqlx::query_scalar("SELECT draft FROM workflows WHERE tenant = $1 AND id = $2 FOR UPDATE")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let draft = draft.ok_or(StoreError::NotFound)?;
        let version: i32 = sqlx::query_scalar(
            "INSERT INTO workflow_versions (tenant, workflow_id, version, state, deployed_at) \
             SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4 FROM workflow_versions \
             WHERE tenant = $1 AND workflow_id = $2 \
             RETURNING version",
        )
        .bind(tenant)
        .bind(id)
        .bind(draft)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        to_u32(version)
    }

    async fn get_workflow_version(&self, tenant: &str, id: &str, version: u32) -> Result<Option<Value>, StoreError> {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM workflow_versions \
             WHERE tenant = $1 AND workflow_id = $2 AND version = $3",
        )
        .bind(tenant)
        .bind(id)
        // BIGINT, so versions above i32::MAX are simply missing rather than an overflow.
        .bind(i64::from(version))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        state.as_deref().map(from_text).transpose()
    }

    async fn latest_deployed(&self, tenant: &str, id: &str) -> Result<Option<(u32, Value)>, StoreError> {
        let row = sqlx::query(
            "SELECT version, state FROM workflow_versions \
             WHERE tenant = $1 AND workflow_id = $2 ORDER BY version DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|row| Ok((to_u32(get(&row, "version")?)?, from_text(&get::<String>(&row, "state")?)?))).transpose()
    }

    async fn latest_deployed_version(&self, tenant: &str, id: &str) -> Result<Option<WorkflowVersionInfo>, StoreError> {
        let row = sqlx::query(
            "SELECT version, deployed_at FROM workflow_versions \
             WHERE tenant = $1 AND workflow_id = $2 ORDER BY version DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|row| {
            Ok(WorkflowVersionInfo {
                version: to_u32(get(&row, "version")?)?,
                deployed_at: from_millis(get(&row, "deployed_at")?)?,
            })
        })
        .transpose()
    }

    async fn delete_workflow(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        // Versions go with it through ON DELETE CASCADE.
        let deleted = sqlx::query("DELETE FROM workflows WHERE tenant = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn create_execution(&self, execution: NewExecution) -> Result<(), StoreError> {
        insert_execution(&self.pool, &execution).await
    }

    async fn get_execution(&self, tenant: &str, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT workflow_id, status, request, result, restarts, created_at, updated_at \
             FROM executions WHERE tenant = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let result: Option<String> = get(&row, "result")?;
        Ok(Some(ExecutionRecord {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            workflow_id: get(&row, "workflow_id")?,
            status: parse_status(&get::<String>(&row, "status")?)?,
            request: from_text(&get::<String>(&row, "request")?)?,
            result: result.as_deref().map(from_text).transpose()?,
            created_at: from_millis(get(&row, "created_at")?)?,
            updated_at: from_millis(get(&row, "updated_at")?)?,
            restarts: to_u32(get(&row, "restarts")?)?,
        }))
    }

    async fn update_execution(
        &self,
        tenant: &str,
        id: &str,
        status: ExecutionStatus,
        result: Option<JsonText>,
    ) -> Result<(), StoreError> {
        let result = result.as_ref().map(JsonText::as_str);
        // The final-status guard is in the WHERE clause: an update that waited for a concurrent
        // finish re-checks it on the finished row, so a finish cannot be overwritten.
        let updated = sqlx::query(
            "UPDATE executions SET status = $1, result = COALESCE($2, result), updated_at = $3 \
             WHERE tenant = $4 AND id = $5 AND status NOT IN ('completed', 'failed', 'cancelled')",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(now_millis())
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 {
            return Err(execution_refusal(&self.pool, tenant, id).await);
        }
        Ok(())
    }

    async fn unfinished_executions(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant, id FROM executions WHERE status IN ('queued', 'running') \
             ORDER BY created_at, tenant, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|row| Ok((get(row, "tenant")?, get(row, "id")?))).collect()
    }

    async fn record_restart(&self, tenant: &str, id: &str) -> Result<u32, StoreError> {
        let restarts: Option<i32> = sqlx::query_scalar(
            "UPDATE executions SET restarts = restarts + 1 WHERE tenant = $1 AND id = $2 \
             RETURNING restarts",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        to_u32(restarts.ok_or(StoreError::NotFound)?)
    }

    async fn append_checkpoint(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
        checkpoint: JsonText,
    ) -> Result<u64, StoreError> {
        // One INSERT that also checks the execution: this runs after every block. FOR SHARE
        // makes a concurrent finish either wait for this append or be seen by it, so no
        // checkpoint lands after a cancel has returned.
        let seq: Option<i64> = sqlx::query_scalar(
            "INSERT INTO checkpoints (tenant, execution_id, context_id, checkpoint, created_at) \
             SELECT tenant, id, $1, $2, $3 FROM executions \
             WHERE tenant = $4 AND id = $5 AND status NOT IN ('completed', 'failed', 'cancelled') \
             FOR SHARE \
             RETURNING seq",
        )
        .bind(context_id)
        .bind(checkpoint.as_str())
        .bind(now_millis())
        .bind(tenant)
        .bind(execution_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match seq {
            Some(seq) => u64::try_from(seq).map_err(backend),
            None => Err(execution_refusal(&self.pool, tenant, execution_id).await),
        }
    }

    async fn list_checkpoints(&self, tenant: &str, execution_id: &str) -> Result<Vec<Value>, StoreError> {
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT checkpoint FROM checkpoints WHERE tenant = $1 AND execution_id = $2 ORDER BY seq",
        )
        .bind(tenant)
        .bind(execution_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        texts.iter().map(|text| from_text(text)).collect()
    }

    async fn put_pause_points(
        &self,
        tenant: &str,
        execution_id: &str,
        points: Vec<PausePointRow>,
    ) -> Result<(), StoreError> {
        if let Some(point) = points.iter().find(|p| p.kind == PauseKind::Time && p.resume_at.is_none()) {
            return Err(StoreError::Invalid(format!("time pause {} has no resume time", point.context_id)));
        }
        let mut context_ids = Vec::with_capacity(points.len());
        let mut kinds = Vec::with_capacity(points.len());
        let mut resume_ats = Vec::with_capacity(points.len());
        let mut data = Vec::with_capacity(points.len());
        for point in &points {
            context_ids.push(point.context_id.as_str());
            kinds.push(point.kind.as_str());
            resume_ats.push(point.resume_at.map(millis));
            data.push(to_text(&point.data)?);
        }
        // The execution row stays share-locked until commit, so it cannot finish in between.
        let mut tx = self.pool.begin().await.map_err(db)?;
        match execution_status(&mut *tx, tenant, execution_id, true).await? {
            None => return Err(StoreError::NotFound),
            Some(status) if status.is_final() => return Err(final_conflict(execution_id, status)),
            Some(_) => {}
        }
        if !points.is_empty() {
            // All points in one statement; an existing context ID (or a repeat within the
            // batch) keeps the row first stored.
            let now = now_millis();
            sqlx::query(
                "INSERT INTO pause_points (tenant, execution_id, context_id, kind, resume_at, \
                                           status, data, created_at, updated_at) \
                 SELECT $1, $2, p.context_id, p.kind, p.resume_at, 'paused', p.data, $3, $3 \
                 FROM UNNEST($4::text[], $5::text[], $6::int8[], $7::text[]) \
                      WITH ORDINALITY AS p (context_id, kind, resume_at, data, n) \
                 ORDER BY p.n \
                 ON CONFLICT DO NOTHING",
            )
            .bind(tenant)
            .bind(execution_id)
            .bind(now)
            .bind(&context_ids)
            .bind(&kinds)
            .bind(&resume_ats)
            .bind(&data)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn claim_pause_point(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
    ) -> Result<ClaimResult, StoreError> {
        for _ in 0..CLAIM_ATTEMPTS {
            // Concurrent claims queue on the row lock; each re-checks `status = 'paused'` on
            // the row the previous one committed, so exactly one matches.
            let data: Option<String> = sqlx::query_scalar(
                "UPDATE pause_points SET status = 'resuming', updated_at = $1 \
                 WHERE tenant = $2 AND execution_id = $3 AND context_id = $4 AND status = 'paused' \
                 RETURNING data",
            )
            .bind(now_millis())
            .bind(tenant)
            .bind(execution_id)
            .bind(context_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
            if let Some(data) = data {
                return Ok(ClaimResult::Claimed { data: from_text(&data)? });
            }
            match self.pause_status(tenant, execution_id, context_id).await? {
                None => return Ok(ClaimResult::Unknown),
                // Claimed and released again between our two statements: try once more.
                Some(PauseStatus::Paused) => continue,
                Some(PauseStatus::Resuming | PauseStatus::Resumed) => {
                    return Ok(ClaimResult::AlreadyResumed);
                }
            }
        }
        Ok(ClaimResult::AlreadyResumed)
    }

    async fn release_pause_point(&self, tenant: &str, execution_id: &str, context_id: &str) -> Result<(), StoreError> {
        self.move_pause(tenant, execution_id, context_id, PauseStatus::Resuming, PauseStatus::Paused).await
    }

    async fn complete_pause_point(&self, tenant: &str, execution_id: &str, context_id: &str) -> Result<(), StoreError> {
        self.move_pause(tenant, execution_id, context_id, PauseStatus::Resuming, PauseStatus::Resumed).await
    }

    async fn list_pause_points(&self, tenant: &str, execution_id: &str) -> Result<Vec<PausePointRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT context_id, kind, resume_at, status, data FROM pause_points \
             WHERE tenant = $1 AND execution_id = $2 ORDER BY created_at, context_id",
        )
        .bind(tenant)
        .bind(execution_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(pause_point_record).collect()
    }

    async fn due_timed_pauses(&self, now: OffsetDateTime) -> Result<Vec<(String, String, String)>, StoreError> {
        // A finished execution's leftover pauses are never due: resuming them could only fail.
        let rows = sqlx::query(
            "SELECT p.tenant, p.execution_id, p.context_id FROM pause_points p \
             JOIN executions e ON e.tenant = p.tenant AND e.id = p.execution_id \
             WHERE p.kind = 'time' AND p.status = 'paused' AND p.resume_at <= $1 \
               AND e.status NOT IN ('completed', 'failed', 'cancelled') \
             ORDER BY p.resume_at, p.tenant, p.execution_id, p.context_id",
        )
        .bind(millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|row| Ok((get(row, "tenant")?, get(row, "execution_id")?, get(row, "context_id")?))).collect()
    }

    async fn put_block(
        &self,
        tenant: &str,
        block_type: &str,
        digest: &str,
        component: Vec<u8>,
        manifest: Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO blocks (tenant, block_type, digest, component, manifest, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant, block_type) DO UPDATE SET digest = excluded.digest, \
               component = excluded.component, manifest = excluded.manifest, \
               created_at = excluded.created_at",
        )
        .bind(tenant)
        .bind(block_type)
        .bind(digest)
        .bind(component)
        .bind(to_text(&manifest)?)
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn get_block(&self, tenant: &str, block_type: &str) -> Result<Option<BlockRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT block_type, digest, manifest, created_at FROM blocks \
             WHERE tenant = $1 AND block_type = $2",
        )
        .bind(tenant)
        .bind(block_type)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(block_record).transpose()
    }

    async fn get_block_component(&self, tenant: &str, block_type: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT component FROM blocks WHERE tenant = $1 AND block_type = $2")
            .bind(tenant)
            .bind(block_type)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn list_blocks(&self, tenant: &str) -> Result<Vec<BlockRecord>, StoreError> {
        // The component bytes stay out of listings: they can be megabytes each.
        let rows = sqlx::query(
            "SELECT block_type, digest, manifest, created_at FROM blocks \
             WHERE tenant = $1 ORDER BY block_type",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(block_record).collect()
    }
}

impl PostgresStore {
    /// The stored status of a pause point, `None` if missing in this tenant.
    async fn pause_status(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
    ) -> Result<Option<PauseStatus>, StoreError> {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM pause_points \
             WHERE tenant = $1 AND execution_id = $2 AND context_id = $3",
        )
        .bind(tenant)
        .bind(execution_id)
        .bind(context_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        status.map(|name| parse_pause_status(&name)).transpose()
    }

    /// Moves a pause point from `from` to `to`; missing is NotFound, in another state Conflict.
    async fn move_pause(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
        from: PauseStatus,
        to: PauseStatus,
    ) -> Result<(), StoreError> {
        let moved = sqlx::query(
            "UPDATE pause_points SET status = $1, updated_at = $2 \
             WHERE tenant = $3 AND execution_id = $4 AND context_id = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(now_millis())
        .bind(tenant)
        .bind(execution_id)
        .bind(context_id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if moved == 1 {
            return Ok(());
        }
        match self.pause_status(tenant, execution_id, context_id).await? {
            None => Err(StoreError::NotFound),
            Some(status) => Err(StoreError::Conflict(format!(
                "pause point {context_id} is {}, not {}",
                status.as_str(),
                from.as_str()
            ))),
        }
    }
}

/// Inserts a new execution; [`StoreError::Conflict`] when its ID is taken in its tenant.
pub(super) async fn insert_execution<'e, E>(executor: E, execution: &NewExecution) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let inserted = sqlx::query(
        "INSERT INTO executions \
         (tenant, id, workflow_id, status, request, result, restarts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, 0, $6, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&execution.tenant)
    .bind(&execution.id)
    .bind(&execution.workflow_id)
    .bind(execution.status.as_str())
    .bind(execution.request.as_str())
    .bind(now_millis())
    .execute(executor)
    .await
    .map_err(db)?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("execution {} already exists", execution.id)));
    }
    Ok(())
}
