//! `GET /openapi.json`: the OpenAPI document of the API.

use axum::Json;
use serde_json::{Value, json};

/// The OpenAPI document.
pub async fn document() -> Json<Value> {
    Json(json!({"openapi": "3.1.0", "info": {"title": "Sandflow", "version": env!("CARGO_PKG_VERSION")}, "paths": {}}))
}
