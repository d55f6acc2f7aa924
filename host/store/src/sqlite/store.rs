//! [`Store`] operations of [`SqliteStore`], one SQL statement each wherever atomicity matters.

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use super::rows::{
    block_record, from_millis, from_text, get, parse_pause_status, parse_status, pause_point_record, to_u32,
};
use super::{SqliteStore, backend, execution_refusal, execution_status, millis, now_millis, to_text};
use crate::{
    BlockRecord, ClaimResult, ExecutionRecord, ExecutionStatus, NewExecution, PauseKind, PausePointRecord,
    PausePointRow, PauseStatus, Store, StoreError, WorkflowRecord, WorkflowVersionInfo,
};

/// How often a claim retries when it lost to a resume that was then released; beyond that it
/// reports the pause point as taken rather than spin.
const CLAIM_ATTEMPTS: usize = 3;

#[async_trait]
impl Store for SqliteStore {
    async fn create_workflow(&self, tenant: &str, id: &str, name: &str, draft: Value) -> Result<(), StoreError> {
        let now = now_millis();
        let inserted = sqlx::query(
            "INSERT INTO workflows (tenant, id, name, draft, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(id)
        .bind(name)
        .bind(to_text(&draft)?)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("workflow {id} already exists")));
        }
        Ok(())
    }

    async fn get_workflow(&self, tenant: &str, id: &str) -> Result<Option<WorkflowRecord>, StoreError> {
        // One read transaction, so the version list matches the workflow row.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(row) =
            sqlx::query("SELECT name, draft, created_at, updated_at FROM workflows WHERE tenant = ? AND id = ?")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
        else {
            return Ok(None);
        };
        let version_rows = sqlx::query(
            "SELECT version, deployed_at FROM workflow_versions \
             WHERE tenant = ? AND workflow_id = ? ORDER BY version",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let versions = version_rows
            .iter()
            .map(|row| {
                Ok(WorkflowVersionInfo {
                    version: to_u32(get(row, "version")?)?,
                    deployed_at: from_millis(get(row, "deployed_at")?)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(WorkflowRecord {
            id: id.to_owned(),
            name: get(&row, "name")?,
            draft: from_text(&get::<String>(&row, "draft")?)?,
            deployed_version: versions.last().map(|info| info.version),
            versions,
            created_at: from_millis(get(&row, "created_at")?)?,
            updated_at: from_millis(get(&row, "updated_at")?)?,
        }))
    }

    async fn update_draft(&self, tenant: &str, id: &str, draft: Value) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE workflows SET draft = ?, updated_at = ? WHERE tenant = ? AND id = ?")
            .bind(to_text(&draft)?)
            .bind(now_millis())
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn deploy_workflow(&self, tenant: &str, id: &str) -> Result<u32, StoreError> {
        // Reading the highest version and inserting the next one in a single statement is what
        // makes concurrent deploys distinct: the statement holds the write lock throughout.
        let version: Option<i64> = sqlx::query_scalar(
            "INSERT INTO workflow_versions (tenant, workflow_id, version, state, deployed_at) \
             SELECT w.tenant, w.id, \
                    COALESCE((SELECT MAX(v.version) FROM workflow_versions v \
                              WHERE v.tenant = w.tenant AND v.workflow_id = w.id), 0) + 1, \
                    w.draft, ? \
             FROM workflows w WHERE w.tenant = ? AND w.id = ? \
             RETURNING version",
        )
        .bind(now_millis())
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        to_u32(version.ok_or(StoreError::NotFound)?)
    }

    async fn get_workflow_version(&self, tenant: &str, id: &str, version: u32) -> Result<Option<Value>, StoreError> {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM workflow_versions \
             WHERE tenant = ? AND workflow_id = ? AND version = ?",
        )
        .bind(tenant)
        .bind(id)
        .bind(i64::from(version))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        state.as_deref().map(from_text).transpose()
    }

    async fn latest_deployed(&self, tenant: &str, id: &str) -> Result<Option<(u32, Value)>, StoreError> {
        let row = sqlx::query(
            "SELECT version, state FROM workflow_versions \
             WHERE tenant = ? AND workflow_id = ? ORDER BY version DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|row| Ok((to_u32(get(&row, "version")?)?, from_text(&get::<String>(&row, "state")?)?))).transpose()
    }

    async fn delete_workflow(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        // Versions go with it through ON DELETE CASCADE.
        let deleted = sqlx::query("DELETE FROM workflows WHERE tenant = ? AND id = ?")
            .bind(tenant)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn create_execution(&self, execution: NewExecution) -> Result<(), StoreError> {
        let now = now_millis();
        let inserted = sqlx::query(
            "INSERT INTO executions \
             (tenant, id, workflow_id, status, request, result, restarts, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, NULL, 0, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&execution.tenant)
        .bind(&execution.id)
        .bind(&execution.workflow_id)
        .bind(execution.status.as_str())
        .bind(to_text(&execution.request)?)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("execution {} already exists", execution.id)));
        }
        Ok(())
    }

    async fn get_execution(&self, tenant: &str, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT workflow_id, status, request, result, restarts, created_at, updated_at \
             FROM executions WHERE tenant = ? AND id = ?",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
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
        result: Option<Value>,
    ) -> Result<(), StoreError> {
        let result = result.as_ref().map(to_text).transpose()?;
        // The final-status guard is in the WHERE clause, so a finish racing another finish
        // cannot overwrite it.
        let updated = sqlx::query(
            "UPDATE executions SET status = ?, result = COALESCE(?, result), updated_at = ? \
             WHERE tenant = ? AND id = ? AND status NOT IN ('completed', 'failed', 'cancelled')",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(now_millis())
        .bind(tenant)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?
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
        .map_err(backend)?;
        rows.iter().map(|row| Ok((get(row, "tenant")?, get(row, "id")?))).collect()
    }

    async fn record_restart(&self, tenant: &str, id: &str) -> Result<u32, StoreError> {
        let restarts: Option<i64> = sqlx::query_scalar(
            "UPDATE executions SET restarts = restarts + 1 WHERE tenant = ? AND id = ? \
             RETURNING restarts",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        to_u32(restarts.ok_or(StoreError::NotFound)?)
    }

    async fn append_checkpoint(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
        checkpoint: Value,
    ) -> Result<u64, StoreError> {
        // One INSERT that also checks the execution: this runs after every block.
        let seq: Option<i64> = sqlx::query_scalar(
            "INSERT INTO checkpoints (tenant, execution_id, context_id, checkpoint, created_at) \
             SELECT tenant, id, ?, ?, ? FROM executions \
             WHERE tenant = ? AND id = ? AND status NOT IN ('completed', 'failed', 'cancelled') \
             RETURNING seq",
        )
        .bind(context_id)
        .bind(to_text(&checkpoint)?)
        .bind(now_millis())
        .bind(tenant)
        .bind(execution_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match seq {
            Some(seq) => u64::try_from(seq).map_err(backend),
            None => Err(execution_refusal(&self.pool, tenant, execution_id).await),
        }
    }

    async fn list_checkpoints(&self, tenant: &str, execution_id: &str) -> Result<Vec<Value>, StoreError> {
        let texts: Vec<String> =
            sqlx::query_scalar("SELECT checkpoint FROM checkpoints WHERE tenant = ? AND execution_id = ? ORDER BY seq")
                .bind(tenant)
                .bind(execution_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let now = now_millis();
        let mut all_inserted = true;
        for point in &points {
            // The SELECT carries the execution guard; its WHERE clause also keeps SQLite from
            // parsing ON CONFLICT as a join constraint.
            let inserted = sqlx::query(
                "INSERT INTO pause_points (tenant, execution_id, context_id, kind, resume_at, \
                                           status, data, created_at, updated_at) \
                 SELECT tenant, id, ?, ?, ?, 'paused', ?, ?, ? FROM executions \
                 WHERE tenant = ? AND id = ? \
                   AND status NOT IN ('completed', 'failed', 'cancelled') \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&point.context_id)
            .bind(point.kind.as_str())
            .bind(point.resume_at.map(millis))
            .bind(to_text(&point.data)?)
            .bind(now)
            .bind(now)
            .bind(tenant)
            .bind(execution_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            all_inserted &= inserted == 1;
        }
        // A row not inserted is either a kept pause point or a refused execution; only the
        // latter (or an empty list for a missing execution) is an error.
        if !all_inserted || points.is_empty() {
            match execution_status(&mut *tx, tenant, execution_id).await? {
                None => return Err(StoreError::NotFound),
                Some(status) if status.is_final() => {
                    return Err(StoreError::Conflict(format!(
                        "execution {execution_id} is already {}",
                        status.as_str()
                    )));
                }
                Some(_) => {}
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn claim_pause_point(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
    ) -> Result<ClaimResult, StoreError> {
        for _ in 0..CLAIM_ATTEMPTS {
            // The status test and the status change are one statement: of concurrent claims
            // exactly one sees 'paused'.
            let data: Option<String> = sqlx::query_scalar(
                "UPDATE pause_points SET status = 'resuming', updated_at = ? \
                 WHERE tenant = ? AND execution_id = ? AND context_id = ? AND status = 'paused' \
                 RETURNING data",
            )
            .bind(now_millis())
            .bind(tenant)
            .bind(execution_id)
            .bind(context_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
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
             WHERE tenant = ? AND execution_id = ? ORDER BY created_at, context_id",
        )
        .bind(tenant)
        .bind(execution_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(pause_point_record).collect()
    }

    async fn due_timed_pauses(&self, now: OffsetDateTime) -> Result<Vec<(String, String, String)>, StoreError> {
        // A finished execution's leftover pauses are never due: resuming them could only fail.
        let rows = sqlx::query(
            "SELECT p.tenant, p.execution_id, p.context_id FROM pause_points p \
             JOIN executions e ON e.tenant = p.tenant AND e.id = p.execution_id \
             WHERE p.kind = 'time' AND p.status = 'paused' AND p.resume_at <= ? \
               AND e.status NOT IN ('completed', 'failed', 'cancelled') \
             ORDER BY p.resume_at, p.tenant, p.execution_id, p.context_id",
        )
        .bind(millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
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
             VALUES (?, ?, ?, ?, ?, ?) \
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
        .map_err(backend)?;
        Ok(())
    }

    async fn get_block(&self, tenant: &str, block_type: &str) -> Result<Option<BlockRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT block_type, digest, manifest, created_at FROM blocks \
             WHERE tenant = ? AND block_type = ?",
        )
        .bind(tenant)
        .bind(block_type)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(block_record).transpose()
    }

    async fn get_block_component(&self, tenant: &str, block_type: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT component FROM blocks WHERE tenant = ? AND block_type = ?")
            .bind(tenant)
            .bind(block_type)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn list_blocks(&self, tenant: &str) -> Result<Vec<BlockRecord>, StoreError> {
        // The component bytes stay out of listings: they can be megabytes each.
        let rows = sqlx::query(
            "SELECT block_type, digest, manifest, created_at FROM blocks \
             WHERE tenant = ? ORDER BY block_type",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(block_record).collect()
    }
}

impl SqliteStore {
    /// The stored status of a pause point, `None` if missing in this tenant.
    async fn pause_status(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
    ) -> Result<Option<PauseStatus>, StoreError> {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM pause_points \
             WHERE tenant = ? AND execution_id = ? AND context_id = ?",
        )
        .bind(tenant)
        .bind(execution_id)
        .bind(context_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
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
            "UPDATE pause_points SET status = ?, updated_at = ? \
             WHERE tenant = ? AND execution_id = ? AND context_id = ? AND status = ?",
        )
        .bind(to.as_str())
        .bind(now_millis())
        .bind(tenant)
        .bind(execution_id)
        .bind(context_id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend)?
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
