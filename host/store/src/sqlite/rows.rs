//! Decoding stored rows back into records: every failure is a backend error, since only a
//! damaged or foreign database can hold values this crate did not write.

use rusqlite::Row;
use serde_json::Value;
use time::OffsetDateTime;

use super::backend;
use crate::{BlockRecord, ExecutionStatus, PauseKind, PausePointRecord, PauseStatus, StoreError};

/// A stored timestamp back as a UTC time.
pub(super) fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(backend)
}

/// A stored JSON value back as a value.
pub(super) fn from_text(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(backend)
}

/// A stored execution status back as the enum.
pub(super) fn parse_status(name: &str) -> Result<ExecutionStatus, StoreError> {
    ExecutionStatus::parse(name).ok_or_else(|| StoreError::Backend(format!("unknown stored execution status {name:?}")))
}

/// A stored count or version number back as `u32`.
pub(super) fn to_u32(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(backend)
}

/// Column `index` of a row, decoding failures reported as backend errors.
pub(super) fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> Result<T, StoreError> {
    row.get(index).map_err(backend)
}

/// A pause point row (context_id, kind, resume_at, status, data) as a record.
pub(super) fn pause_point_record(row: &Row<'_>) -> Result<PausePointRecord, StoreError> {
    let kind: String = get(row, 1)?;
    let resume_at: Option<i64> = get(row, 2)?;
    Ok(PausePointRecord {
        context_id: get(row, 0)?,
        kind: PauseKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown stored pause kind {kind:?}")))?,
        resume_at: resume_at.map(from_millis).transpose()?,
        status: parse_pause_status(&get::<String>(row, 3)?)?,
        data: from_text(&get::<String>(row, 4)?)?,
    })
}

/// A block row (block_type, digest, manifest, created_at) as a record.
pub(super) fn block_record(row: &Row<'_>) -> Result<BlockRecord, StoreError> {
    Ok(BlockRecord {
        block_type: get(row, 0)?,
        digest: get(row, 1)?,
        manifest: from_text(&get::<String>(row, 2)?)?,
        created_at: from_millis(get(row, 3)?)?,
    })
}

/// A stored pause status back as the enum.
pub(super) fn parse_pause_status(name: &str) -> Result<PauseStatus, StoreError> {
    PauseStatus::parse(name).ok_or_else(|| StoreError::Backend(format!("unknown stored pause status {name:?}")))
}
