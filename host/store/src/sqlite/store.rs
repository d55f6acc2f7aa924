//! [`Store`] operations of [`SqliteStore`]: writes are closures for the writer thread (one
//! at a time, each in its own savepoint), reads run here on a read connection.

use async_trait::async_trait;
use rusqlite::{Connection, Params, Row};
use serde_json::Value;
use time::OffsetDateTime;

use super::rows::{
    block_record, from_millis, from_text, get, parse_pause_status, parse_status, pause_point_record, to_u32,
};
use super::{SqliteStore, backend, execution_refusal, execution_status, millis, now_millis, to_text};
use crate::{
    BlockRecord, ClaimResult, ExecutionRecord, ExecutionStatus, JsonText, NewExecution, PauseKind, PausePointRecord,
    PausePointRow, PauseStatus, Store, StoreError, WorkflowRecord, WorkflowVersionInfo,
};

/// Runs a cached statement; returns how many rows it changed.
fn execute(connection: &Connection, sql: &str, params: impl Params) -> Result<usize, StoreError> {
    connection.prepare_cached(sql).and_then(|mut statement| statement.execute(params)).map_err(backend)
}

/// The first row of a cached query decoded by `decode`, `None` without rows. Also for writes
/// with `RETURNING`: SQLite makes all of a statement's changes on its first step.
fn query_one<T>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    rows.next().map_err(backend)?.map(decode).transpose()
}

/// Every row of a cached query, each decoded by `decode`.
fn query_all<T>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        decoded.push(decode(row)?);
    }
    Ok(decoded)
}

/// Owned copies of borrowed arguments, for a write that runs on the writer thread.
fn owned<const N: usize>(values: [&str; N]) -> [String; N] {
    values.map(str::to_owned)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_workflow(&self, tenant: &str, id: &str, name: &str, draft: Value) -> Result<(), StoreError> {
        let draft = to_text(&draft)?;
        let [tenant, id, name] = owned([tenant, id, name]);
        self.write(move |c| {
            let now = now_millis();
            let inserted = execute(
                c,
                "INSERT INTO workflows (tenant, id, name, draft, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT DO NOTHING",
                (&tenant, &id, &name, &draft, now),
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("workflow {id} already exists")));
            }
            Ok(())
        })
        .await
    }

    async fn get_workflow(&self, tenant: &str, id: &str) -> Result<Option<WorkflowRecord>, StoreError> {
        self.read(|c| {
            // One read transaction, so the version list matches the workflow row.
            let tx = c.unchecked_transaction().map_err(backend)?;
            let Some((name, draft, created_at, updated_at)) = query_one(
                &tx,
                "SELECT name, draft, created_at, updated_at FROM workflows WHERE tenant = ?1 AND id = ?2",
                (tenant, id),
                |row| Ok((get::<String>(row, 0)?, get::<String>(row, 1)?, get::<i64>(row, 2)?, get::<i64>(row, 3)?)),
            )?
            else {
                return Ok(None);
            };
            let versions = query_all(
                &tx,
                "SELECT version, deployed_at FROM workflow_versions \
                 WHERE tenant = ?1 AND workflow_id = ?2 ORDER BY version",
                (tenant, id),
                |row| {
                    Ok(WorkflowVersionInfo { version: to_u32(get(row, 0)?)?, deployed_at: from_millis(get(row, 1)?)? })
                },
            )?;
            tx.finish().map_err(backend)?;
            Ok(Some(WorkflowRecord {
                id: id.to_owned(),
                name,
                draft: from_text(&draft)?,
                deployed_version: versions.last().map(|info| info.version),
                versions,
                created_at: from_millis(created_at)?,
                updated_at: from_millis(updated_at)?,
            }))
        })
    }

    async fn update_draft(&self, tenant: &str, id: &str, draft: Value) -> Result<(), StoreError> {
        let draft = to_text(&draft)?;
        let [tenant, id] = owned([tenant, id]);
        self.write(move |c| {
            let updated = execute(
                c,
                "UPDATE workflows SET draft = ?1, updated_at = ?2 WHERE tenant = ?3 AND id = ?4",
                (&draft, now_millis(), &tenant, &id),
            )?;
            if updated == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn deploy_workflow(&self, tenant: &str, id: &str) -> Result<u32, StoreError> {
        let [tenant, id] = owned([tenant, id]);
        self.write(move |c| {
            // The writer runs one write at a time, so the highest version read here is still
            // the highest when the next one is inserted: concurrent deploys get distinct numbers.
            let version = query_one(
                c,
                "INSERT INTO workflow_versions (tenant, workflow_id, version, state, deployed_at) \
                 SELECT w.tenant, w.id, \
                        COALESCE((SELECT MAX(v.version) FROM workflow_versions v \
                                  WHERE v.tenant = w.tenant AND v.workflow_id = w.id), 0) + 1, \
                        w.draft, ?1 \
                 FROM workflows w WHERE w.tenant = ?2 AND w.id = ?3 \
                 RETURNING version",
                (now_millis(), &tenant, &id),
                |row| get::<i64>(row, 0),
            )?;
            to_u32(version.ok_or(StoreError::NotFound)?)
        })
        .await
    }

    async fn get_workflow_version(&self, tenant: &str, id: &str, version: u32) -> Result<Option<Value>, StoreError> {
        let state = self.read(|c| {
            query_one(
                c,
                "SELECT state FROM workflow_versions WHERE tenant = ?1 AND workflow_id = ?2 AND version = ?3",
                (tenant, id, i64::from(version)),
                |row| get::<String>(row, 0),
            )
        })?;
        state.as_deref().map(from_text).transpose()
    }

    async fn latest_deployed(&self, tenant: &str, id: &str) -> Result<Option<(u32, Value)>, StoreError> {
        self.read(|c| {
            query_one(
                c,
                "SELECT version, state FROM workflow_versions \
                 WHERE tenant = ?1 AND workflow_id = ?2 ORDER BY version DESC LIMIT 1",
                (tenant, id),
                |row| Ok((to_u32(get(row, 0)?)?, from_text(&get::<String>(row, 1)?)?)),
            )
        })
    }

    async fn latest_deployed_version(&self, tenant: &str, id: &str) -> Result<Option<WorkflowVersionInfo>, StoreError> {
        self.read(|c| {
            query_one(
                c,
                "SELECT version, deployed_at FROM workflow_versions \
                 WHERE tenant = ?1 AND workflow_id = ?2 ORDER BY version DESC LIMIT 1",
                (tenant, id),
                |row| {
                    Ok(WorkflowVersionInfo { version: to_u32(get(row, 0)?)?, deployed_at: from_millis(get(row, 1)?)? })
                },
            )
        })
    }

    async fn delete_workflow(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let [tenant, id] = owned([tenant, id]);
        // Versions go with it through ON DELETE CASCADE.
        let deleted = self
            .write(move |c| execute(c, "DELETE FROM workflows WHERE tenant = ?1 AND id = ?2", (&tenant, &id)))
            .await?;
        Ok(deleted > 0)
    }

    async fn create_execution(&self, execution: NewExecution) -> Result<(), StoreError> {
        self.write(move |c| {
            let now = now_millis();
            let inserted = execute(
                c,
                "INSERT INTO executions \
                 (tenant, id, workflow_id, status, request, result, restarts, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, 0, ?6, ?6) ON CONFLICT DO NOTHING",
                (
                    &execution.tenant,
                    &execution.id,
                    &execution.workflow_id,
                    execution.status.as_str(),
                    execution.request.as_str(),
                    now,
                ),
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("execution {} already exists", execution.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_execution(&self, tenant: &str, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        self.read(|c| {
            query_one(
                c,
                "SELECT workflow_id, status, request, result, restarts, created_at, updated_at \
                 FROM executions WHERE tenant = ?1 AND id = ?2",
                (tenant, id),
                |row| {
                    let result: Option<String> = get(row, 3)?;
                    Ok(ExecutionRecord {
                        tenant: tenant.to_owned(),
                        id: id.to_owned(),
                        workflow_id: get(row, 0)?,
                        status: parse_status(&get::<String>(row, 1)?)?,
                        request: from_text(&get::<String>(row, 2)?)?,
                        result: result.as_deref().map(from_text).transpose()?,
                        restarts: to_u32(get(row, 4)?)?,
                        created_at: from_millis(get(row, 5)?)?,
                        updated_at: from_millis(get(row, 6)?)?,
                    })
                },
            )
        })
    }

    async fn update_execution(
        &self,
        tenant: &str,
        id: &str,
        status: ExecutionStatus,
        result: Option<JsonText>,
    ) -> Result<(), StoreError> {
        let [tenant, id] = owned([tenant, id]);
        self.write(move |c| update_row(c, &tenant, &id, status, result.as_ref())).await
    }

    async fn append_checkpoints_then_update(
        &self,
        tenant: &str,
        id: &str,
        checkpoints: Vec<(String, JsonText)>,
        status: ExecutionStatus,
        result: Option<JsonText>,
    ) -> Result<(), StoreError> {
        let [tenant, id] = owned([tenant, id]);
        // One write: the checkpoints are committed with the result, never after it.
        self.write(move |c| {
            insert_checkpoints(c, &tenant, &id, &checkpoints)?;
            update_row(c, &tenant, &id, status, result.as_ref())
        })
        .await
    }

    async fn unfinished_executions(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            query_all(
                c,
                "SELECT tenant, id FROM executions WHERE status IN ('queued', 'running') \
                 ORDER BY created_at, tenant, id",
                (),
                |row| Ok((get(row, 0)?, get(row, 1)?)),
            )
        })
    }

    async fn record_restart(&self, tenant: &str, id: &str) -> Result<u32, StoreError> {
        let [tenant, id] = owned([tenant, id]);
        self.write(move |c| {
            let restarts = query_one(
                c,
                "UPDATE executions SET restarts = restarts + 1 WHERE tenant = ?1 AND id = ?2 RETURNING restarts",
                (&tenant, &id),
                |row| get::<i64>(row, 0),
            )?;
            to_u32(restarts.ok_or(StoreError::NotFound)?)
        })
        .await
    }

    async fn append_checkpoint(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
        checkpoint: JsonText,
    ) -> Result<u64, StoreError> {
        let [tenant, execution_id, context_id] = owned([tenant, execution_id, context_id]);
        self.write(move |c| {
            insert_checkpoint(c, &tenant, &execution_id, &context_id, checkpoint.as_str(), now_millis())
        })
        .await
    }

    async fn append_checkpoints(
        &self,
        tenant: &str,
        execution_id: &str,
        checkpoints: Vec<(String, JsonText)>,
    ) -> Result<(), StoreError> {
        let [tenant, execution_id] = owned([tenant, execution_id]);
        // One write: all of them or (its savepoint rolled back) none.
        self.write(move |c| insert_checkpoints(c, &tenant, &execution_id, &checkpoints)).await
    }

    async fn list_checkpoints(&self, tenant: &str, execution_id: &str) -> Result<Vec<Value>, StoreError> {
        let texts = self.read(|c| {
            query_all(
                c,
                "SELECT checkpoint FROM checkpoints WHERE tenant = ?1 AND execution_id = ?2 ORDER BY seq",
                (tenant, execution_id),
                |row| get::<String>(row, 0),
            )
        })?;
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
        let rows = points
            .iter()
            .map(|point| {
                Ok((point.context_id.clone(), point.kind.as_str(), point.resume_at.map(millis), to_text(&point.data)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let [tenant, execution_id] = owned([tenant, execution_id]);
        // All or none: a refusal fails the write, and its savepoint undoes the rows inserted.
        self.write(move |c| {
            let now = now_millis();
            let mut all_inserted = true;
            for (context_id, kind, resume_at, data) in &rows {
                // The SELECT carries the execution guard; its WHERE clause also keeps SQLite
                // from parsing ON CONFLICT as a join constraint.
                let inserted = execute(
                    c,
                    "INSERT INTO pause_points (tenant, execution_id, context_id, kind, resume_at, \
                                               status, data, created_at, updated_at) \
                     SELECT tenant, id, ?1, ?2, ?3, 'paused', ?4, ?5, ?5 FROM executions \
                     WHERE tenant = ?6 AND id = ?7 \
                       AND status NOT IN ('completed', 'failed', 'cancelled') \
                     ON CONFLICT DO NOTHING",
                    (context_id, kind, resume_at, data, now, &tenant, &execution_id),
                )?;
                all_inserted &= inserted == 1;
            }
            // A row not inserted is either a kept pause point or a refused execution; only the
            // latter (or an empty list for a missing execution) is an error.
            if !all_inserted || rows.is_empty() {
                match execution_status(c, &tenant, &execution_id)? {
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
            Ok(())
        })
        .await
    }

    async fn claim_pause_point(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
    ) -> Result<ClaimResult, StoreError> {
        let [tenant, execution_id, context_id] = owned([tenant, execution_id, context_id]);
        self.write(move |c| {
            // The writer runs one write at a time: of concurrent claims exactly one sees 'paused'.
            let data = query_one(
                c,
                "UPDATE pause_points SET status = 'resuming', updated_at = ?1 \
                 WHERE tenant = ?2 AND execution_id = ?3 AND context_id = ?4 AND status = 'paused' \
                 RETURNING data",
                (now_millis(), &tenant, &execution_id, &context_id),
                |row| get::<String>(row, 0),
            )?;
            if let Some(data) = data {
                return Ok(ClaimResult::Claimed { data: from_text(&data)? });
            }
            Ok(match pause_status(c, &tenant, &execution_id, &context_id)? {
                None => ClaimResult::Unknown,
                Some(_) => ClaimResult::AlreadyResumed,
            })
        })
        .await
    }

    async fn release_pause_point(&self, tenant: &str, execution_id: &str, context_id: &str) -> Result<(), StoreError> {
        self.move_pause(tenant, execution_id, context_id, PauseStatus::Resuming, PauseStatus::Paused).await
    }

    async fn complete_pause_point(&self, tenant: &str, execution_id: &str, context_id: &str) -> Result<(), StoreError> {
        self.move_pause(tenant, execution_id, context_id, PauseStatus::Resuming, PauseStatus::Resumed).await
    }

    async fn list_pause_points(&self, tenant: &str, execution_id: &str) -> Result<Vec<PausePointRecord>, StoreError> {
        self.read(|c| {
            query_all(
                c,
                "SELECT context_id, kind, resume_at, status, data FROM pause_points \
                 WHERE tenant = ?1 AND execution_id = ?2 ORDER BY created_at, context_id",
                (tenant, execution_id),
                pause_point_record,
            )
        })
    }

    async fn due_timed_pauses(&self, now: OffsetDateTime) -> Result<Vec<(String, String, String)>, StoreError> {
        // A finished execution's leftover pauses are never due: resuming them could only fail.
        self.read(|c| {
            query_all(
                c,
                "SELECT p.tenant, p.execution_id, p.context_id FROM pause_points p \
                 JOIN executions e ON e.tenant = p.tenant AND e.id = p.execution_id \
                 WHERE p.kind = 'time' AND p.status = 'paused' AND p.resume_at <= ?1 \
                   AND e.status NOT IN ('completed', 'failed', 'cancelled') \
                 ORDER BY p.resume_at, p.tenant, p.execution_id, p.context_id",
                [millis(now)],
                |row| Ok((get(row, 0)?, get(row, 1)?, get(row, 2)?)),
            )
        })
    }

    async fn put_block(
        &self,
        tenant: &str,
        block_type: &str,
        digest: &str,
        component: Vec<u8>,
        manifest: Value,
    ) -> Result<(), StoreError> {
        let manifest = to_text(&manifest)?;
        let [tenant, block_type, digest] = owned([tenant, block_type, digest]);
        self.write(move |c| {
            execute(
                c,
                "INSERT INTO blocks (tenant, block_type, digest, component, manifest, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (tenant, block_type) DO UPDATE SET digest = excluded.digest, \
                   component = excluded.component, manifest = excluded.manifest, \
                   created_at = excluded.created_at",
                (&tenant, &block_type, &digest, &component, &manifest, now_millis()),
            )
            .map(drop)
        })
        .await
    }

    async fn get_block(&self, tenant: &str, block_type: &str) -> Result<Option<BlockRecord>, StoreError> {
        self.read(|c| {
            query_one(
                c,
                "SELECT block_type, digest, manifest, created_at FROM blocks WHERE tenant = ?1 AND block_type = ?2",
                (tenant, block_type),
                block_record,
            )
        })
    }

    async fn get_block_component(&self, tenant: &str, block_type: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let [tenant, block_type] = owned([tenant, block_type]);
        // Components are megabytes: read off the async threads.
        self.read_blocking(move |c| {
            query_one(
                c,
                "SELECT component FROM blocks WHERE tenant = ?1 AND block_type = ?2",
                (&tenant, &block_type),
                |row| get::<Vec<u8>>(row, 0),
            )
        })
        .await
    }

    async fn list_blocks(&self, tenant: &str) -> Result<Vec<BlockRecord>, StoreError> {
        // The component bytes stay out of listings: they can be megabytes each.
        self.read(|c| {
            query_all(
                c,
                "SELECT block_type, digest, manifest, created_at FROM blocks WHERE tenant = ?1 ORDER BY block_type",
                [tenant],
                block_record,
            )
        })
    }
}

impl SqliteStore {
    /// Moves a pause point from `from` to `to`; missing is NotFound, in another state Conflict.
    async fn move_pause(
        &self,
        tenant: &str,
        execution_id: &str,
        context_id: &str,
        from: PauseStatus,
        to: PauseStatus,
    ) -> Result<(), StoreError> {
        let [tenant, execution_id, context_id] = owned([tenant, execution_id, context_id]);
        self.write(move |c| {
            let moved = execute(
                c,
                "UPDATE pause_points SET status = ?1, updated_at = ?2 \
                 WHERE tenant = ?3 AND execution_id = ?4 AND context_id = ?5 AND status = ?6",
                (to.as_str(), now_millis(), &tenant, &execution_id, &context_id, from.as_str()),
            )?;
            if moved == 1 {
                return Ok(());
            }
            match pause_status(c, &tenant, &execution_id, &context_id)? {
                None => Err(StoreError::NotFound),
                Some(status) => Err(StoreError::Conflict(format!(
                    "pause point {context_id} is {}, not {}",
                    status.as_str(),
                    from.as_str()
                ))),
            }
        })
        .await
    }
}

/// Sets an execution's status and, when given, its result; a final execution is refused.
fn update_row(
    connection: &Connection,
    tenant: &str,
    id: &str,
    status: ExecutionStatus,
    result: Option<&JsonText>,
) -> Result<(), StoreError> {
    // The final-status guard is in the WHERE clause: a finished execution is never rewritten.
    let updated = execute(
        connection,
        "UPDATE executions SET status = ?1, result = COALESCE(?2, result), updated_at = ?3 \
         WHERE tenant = ?4 AND id = ?5 AND status NOT IN ('completed', 'failed', 'cancelled')",
        (status.as_str(), result.map(JsonText::as_str), now_millis(), tenant, id),
    )?;
    if updated == 0 {
        return Err(execution_refusal(connection, tenant, id));
    }
    Ok(())
}

/// Appends checkpoints in order, all with the same time, as [`insert_checkpoint`] does each.
fn insert_checkpoints(
    connection: &Connection,
    tenant: &str,
    execution_id: &str,
    checkpoints: &[(String, JsonText)],
) -> Result<(), StoreError> {
    let now = now_millis();
    for (context_id, checkpoint) in checkpoints {
        insert_checkpoint(connection, tenant, execution_id, context_id, checkpoint.as_str(), now)?;
    }
    Ok(())
}

/// Appends one checkpoint (`checkpoint` in stored form) and returns its sequence number; one
/// INSERT that also checks the execution, since this runs after every block.
fn insert_checkpoint(
    connection: &Connection,
    tenant: &str,
    execution_id: &str,
    context_id: &str,
    checkpoint: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let seq = query_one(
        connection,
        "INSERT INTO checkpoints (tenant, execution_id, context_id, checkpoint, created_at) \
         SELECT tenant, id, ?1, ?2, ?3 FROM executions \
         WHERE tenant = ?4 AND id = ?5 AND status NOT IN ('completed', 'failed', 'cancelled') \
         RETURNING seq",
        (context_id, checkpoint, now, tenant, execution_id),
        |row| get::<i64>(row, 0),
    )?;
    match seq {
        Some(seq) => u64::try_from(seq).map_err(backend),
        None => Err(execution_refusal(connection, tenant, execution_id)),
    }
}

/// The stored status of a pause point, `None` if missing in this tenant.
fn pause_status(
    connection: &Connection,
    tenant: &str,
    execution_id: &str,
    context_id: &str,
) -> Result<Option<PauseStatus>, StoreError> {
    let status = query_one(
        connection,
        "SELECT status FROM pause_points WHERE tenant = ?1 AND execution_id = ?2 AND context_id = ?3",
        (tenant, execution_id, context_id),
        |row| get::<String>(row, 0),
    )?;
    status.map(|name| parse_pause_status(&name)).transpose()
}
