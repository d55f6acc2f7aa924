//! Block routes: the catalogue, and registering a tenant's custom block.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use sandflow_runtime::LoadError;
use serde_json::{Value, json};

use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::Caller;
use crate::api::schemas;
use crate::api::state::AppState;
use crate::auth::Scope;

/// `GET /v1/blocks`: standard blocks and the caller's custom blocks, with manifests.
#[utoipa::path(
    get,
    path = "/v1/blocks",
    tag = "blocks",
    operation_id = "listBlocks",
    responses(
        (status = 200, description = "Standard blocks, then the tenant's custom blocks", body = schemas::BlockCatalogue),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["workflows:read"])),
)]
pub async fn list(State(app): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Scope::WorkflowsRead)?;
    let mut blocks = Vec::new();
    for block in sandflow_stdblocks_manifests(&app).await {
        blocks.push(block);
    }
    for record in app.run.store.list_blocks(caller.tenant().as_str()).await? {
        blocks.push(
            json!({"type": record.block_type, "kind": "custom", "digest": record.digest, "manifest": record.manifest}),
        );
    }
    Ok(Json(json!({"blocks": blocks})))
}

async fn sandflow_stdblocks_manifests(app: &AppState) -> Vec<Value> {
    let mut blocks: Vec<Value> = app
        .run
        .blocks
        .standard()
        .manifests()
        .into_iter()
        .map(|(block_type, manifest)| json!({"type": block_type, "kind": "standard", "manifest": manifest}))
        .collect();
    blocks.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    blocks
}

/// Whether `name` may name a custom block type.
fn valid_type(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `POST /v1/blocks?type=NAME` with the component as `application/wasm`:
/// compiled and checked against the world under a time budget, then stored
/// by digest for the caller's tenant only.
#[utoipa::path(
    post,
    path = "/v1/blocks",
    tag = "blocks",
    operation_id = "registerBlock",
    params(("type" = String, Query, description = "The new block type: 1 to 64 characters of a-z, 0-9, `_` or `-`, \
                                                  starting with a letter; not a standard block's")),
    request_body(
        description = "The block: a WebAssembly component of the `sandflow:block` world",
        content(("application/wasm")),
    ),
    responses(
        (status = 201, description = "Type-checked, compiled and registered for the caller's tenant", body = schemas::BlockEntry),
        (status = 400, description = "Missing or bad `type`, an empty body, or `invalid_schema`: a manifest schema that refers back to itself in place or is too large", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Missing scope", body = schemas::ErrorBody),
        (status = 409, description = "`block_exists`: a standard block's type", body = schemas::ErrorBody),
        (status = 413, description = "Component too large", body = schemas::ErrorBody),
        (status = 415, description = "Not `application/wasm`", body = schemas::ErrorBody),
        (status = 422, description = "`invalid_component`, `compile_timeout` or `compile_memory_limit`", body = schemas::ErrorBody),
        (status = 429, description = "`overloaded`: too many compiles are waiting already", body = schemas::ErrorBody),
    ),
    security(("bearer" = ["blocks:write"])),
)]
pub async fn register(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::BlocksWrite)?;
    let tenant = caller.tenant();
    let block_type =
        query.get("type").ok_or_else(|| ApiError::bad_request("the `type` query parameter is required"))?;
    if !valid_type(block_type) {
        return Err(ApiError::bad_request(
            "type must be 1 to 64 characters of a-z, 0-9, '_' or '-', starting with a letter",
        ));
    }
    if app.run.blocks.standard().has_block(block_type) || block_type == "workflow" {
        return Err(ApiError::conflict("block_exists", format!("`{block_type}` is a standard block")));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/wasm") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be a component sent as application/wasm",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("the body is empty"));
    }
    // Only the binary format: the compiler would also take WAT text, and its
    // parse errors quote the input back.
    if !body.starts_with(b"\0asm") {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_component",
            "not a WebAssembly binary (it does not start with \\0asm)",
        ));
    }
    // Off the request threads, a bounded number at once, in a memory-capped
    // child process that is killed at the deadline (sandflow_runtime::CompileConfig).
    let block = app
        .run
        .blocks
        .standard()
        .runtime()
        .load_untrusted(&body, app.run.limits.compile_timeout)
        .await
        .map_err(load_error)?;
    crate::api::manifest_schemas::check_manifest_schemas(block.manifest())?;
    let manifest = serde_json::to_value(block.manifest()).map_err(ApiError::internal)?;
    let digest = block.digest().to_string();
    app.run.store.put_block(tenant.as_str(), block_type, &digest, body.to_vec(), manifest.clone()).await?;
    app.run.blocks.cache_custom_block(&tenant, block_type, &digest, block);
    Ok((
        StatusCode::CREATED,
        Json(json!({"type": block_type, "kind": "custom", "digest": digest, "manifest": manifest})),
    ))
}

/// The answer to an upload that did not load.
fn load_error(error: LoadError) -> ApiError {
    let (status, code) = match &error {
        LoadError::CompileTimeout { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "compile_timeout"),
        LoadError::CompileMemory { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "compile_memory_limit"),
        LoadError::CompileBusy { .. } => (StatusCode::TOO_MANY_REQUESTS, "overloaded"),
        LoadError::Cache(_) => return ApiError::internal(error),
        LoadError::Init(_) => (StatusCode::UNPROCESSABLE_ENTITY, "init_failed"),
        LoadError::Compile(_) | LoadError::World(_) | LoadError::Manifest(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_component")
        }
    };
    // Bounded: a compiler message may quote parts of the upload.
    let message: String = error.to_string().chars().take(1000).collect();
    ApiError::new(status, code, message)
}
