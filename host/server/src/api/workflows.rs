//! Workflow routes: create, read, replace the draft, deploy, delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sandflow_engine::WorkflowState;
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{Body, Caller, parse_workflow_state};
use crate::api::schemas;
use crate::api::state::AppState;
use crate::auth::Scope;
use crate::tenant::Tenant;

/// `POST /v1/workflows`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkflow {
    /// 1 to 128 characters of letters, digits, `-`, `_`, `.` or `:`; a UUIDv7 when absent.
    id: Option<String>,
    /// 1 to 256 characters.
    name: String,
    /// Validated, then stored as the draft.
    #[schema(value_type = schemas::WorkflowState)]
    state: Value,
}

/// `PUT /v1/workflows/{id}/draft`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceDraft {
    /// Validated, then stored as the draft.
    #[schema(value_type = schemas::WorkflowState)]
    state: Value,
}

/// Checks an ID given by a caller: it names rows and appears in URLs.
pub fn check_id(what: &str, id: &str) -> ApiResult<()> {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if plain {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} must be 1 to 128 characters of letters, digits, '-', '_', '.' or ':'"
        )))
    }
}

/// Parses and validates a draft against the tenant's blocks (no environment
/// is provided to a draft, so no grant is checked: see `Engine::validate`).
async fn validated_draft(app: &AppState, tenant: &Tenant, state: Value) -> ApiResult<WorkflowState> {
    let parsed = parse_workflow_state(state, app.run.limits.max_blocks_per_workflow)?;
    let engine = app.run.blocks.engine_for(tenant).await;
    engine.validate(&parsed).map_err(|problems| ApiError::invalid_workflow(&problems))?;
    Ok(parsed)
}

async fn view(app: &AppState, tenant: &Tenant, id: &str) -> ApiResult<Value> {
    let record =
        app.run.store.get_workflow(tenant.as_str(), id).await?.ok_or_else(|| ApiError::not_found("workflow", id))?;
    let versions: Vec<Value> = record
        .versions
        .iter()
        .map(|v| json!({"version": v.version, "deployedAt": v.deployed_at.format(&Rfc3339).unwrap_or_default()}))
        .collect();
    Ok(json!({
        "id": record.id,
        "name": record.name,
        "draft": record.draft,
        "deployedVersion": record.deployed_version,
        "versions": versions,
    }))
}

/// `POST /v1/workflows`: the state becomes the draft.
#[utoipa::path(
    post,
    path = "/v1/workflows",
    tag = "workflows",
    operation_id = "createWorkflow",
    request_body = CreateWorkflow,
    responses(
        (status = 201, description = "Created; the state is the draft", body = schemas::WorkflowView),
        (status = 400, description = "Bad input or an invalid workflow (`invalid_workflow` with `details`)", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 409, description = "`workflow_exists`", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
        (status = 415, description = "Not JSON", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:write"])),
)]
pub async fn create(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Body(body): Body<CreateWorkflow>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::WorkflowsWrite)?;
    let tenant = caller.tenant();
    let id = body.id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    check_id("id", &id)?;
    if body.name.trim().is_empty() || body.name.len() > 256 {
        return Err(ApiError::bad_request("name must be 1 to 256 characters"));
    }
    let state = validated_draft(&app, &tenant, body.state).await?;
    let state = serde_json::to_value(state).map_err(ApiError::internal)?;
    app.run.store.create_workflow(tenant.as_str(), &id, &body.name, state).await.map_err(|e| match e {
        sandflow_store::StoreError::Conflict(_) => {
            ApiError::conflict("workflow_exists", format!("workflow `{id}` already exists"))
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(view(&app, &tenant, &id).await?)))
}

/// `GET /v1/workflows/{id}`.
#[utoipa::path(
    get,
    path = "/v1/workflows/{id}",
    tag = "workflows",
    operation_id = "getWorkflow",
    params(("id" = String, Path, description = "Workflow ID")),
    responses(
        (status = 200, description = "The workflow with its draft and versions", body = schemas::WorkflowView),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown workflow (or another tenant's)", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:read"])),
)]
pub async fn get(State(app): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsRead)?;
    Ok(Json(view(&app, &caller.tenant(), &id).await?))
}

/// `PUT /v1/workflows/{id}/draft`.
#[utoipa::path(
    put,
    path = "/v1/workflows/{id}/draft",
    tag = "workflows",
    operation_id = "replaceDraft",
    params(("id" = String, Path, description = "Workflow ID")),
    request_body = ReplaceDraft,
    responses(
        (status = 200, description = "The workflow with its new draft", body = schemas::WorkflowView),
        (status = 400, description = "Bad input or an invalid workflow (`invalid_workflow` with `details`)", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown workflow (or another tenant's)", body = schemas::ErrorBody),
        (status = 413, description = "Body too large", body = schemas::ErrorBody),
        (status = 415, description = "Not JSON", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:write"])),
)]
pub async fn replace_draft(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<ReplaceDraft>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsWrite)?;
    let tenant = caller.tenant();
    // Unknown first, so a bad state for another tenant's ID reveals nothing.
    view(&app, &tenant, &id).await?;
    let state = validated_draft(&app, &tenant, body.state).await?;
    let state = serde_json::to_value(state).map_err(ApiError::internal)?;
    app.run.store.update_draft(tenant.as_str(), &id, state).await.map_err(|e| match e {
        sandflow_store::StoreError::NotFound => ApiError::not_found("workflow", &id),
        other => other.into(),
    })?;
    Ok(Json(view(&app, &tenant, &id).await?))
}

/// `POST /v1/workflows/{id}/deploy`: freezes the draft as a new version.
#[utoipa::path(
    post,
    path = "/v1/workflows/{id}/deploy",
    tag = "workflows",
    operation_id = "deployWorkflow",
    params(("id" = String, Path, description = "Workflow ID")),
    responses(
        (status = 200, description = "The draft is frozen as a new version", body = schemas::Deployed),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown workflow (or another tenant's)", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:write"])),
)]
pub async fn deploy(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsWrite)?;
    let tenant = caller.tenant();
    let version = app.run.store.deploy_workflow(tenant.as_str(), &id).await.map_err(|e| match e {
        sandflow_store::StoreError::NotFound => ApiError::not_found("workflow", &id),
        other => other.into(),
    })?;
    Ok(Json(json!({"id": id, "version": version})))
}

/// `DELETE /v1/workflows/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/workflows/{id}",
    tag = "workflows",
    operation_id = "deleteWorkflow",
    params(("id" = String, Path, description = "Workflow ID")),
    responses(
        (status = 200, description = "Deleted", body = schemas::Deleted),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 404, description = "Unknown workflow (or another tenant's)", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:write"])),
)]
pub async fn delete(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsWrite)?;
    if !app.run.store.delete_workflow(caller.tenant().as_str(), &id).await? {
        return Err(ApiError::not_found("workflow", &id));
    }
    Ok(Json(json!({"success": true, "id": id})))
}
