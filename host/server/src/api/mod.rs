//! The HTTP API: routes, extractors, the error envelope and the OpenAPI
//! document. Handlers check the request, then hand executions to the run
//! layer's [`Dispatch`](crate::run::dispatch::Dispatch), whatever the mode.

mod blocks;
mod deployed;
pub mod error;
pub mod executions;
pub mod extract;
mod manifest_schemas;
pub mod openapi;
pub mod schemas;
pub mod state;
pub mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};

use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::metrics::Metrics;

/// What `serve` shows besides the API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Serve `/metrics` on the API's address too, to anyone. Off by default:
    /// the counters are server-wide, not a tenant's, so they belong on
    /// `--metrics-addr`, an address only operators reach.
    pub public_metrics: bool,
}

/// The routes over shared state, without `/metrics` (see [`ServeOptions`]).
pub fn router(app: Arc<AppState>) -> Router {
    router_with(app, ServeOptions::default())
}

/// The routes over shared state, `/metrics` among them when `options` say so.
pub fn router_with(app: Arc<AppState>, options: ServeOptions) -> Router {
    let component_limit = app.run.limits.max_component_bytes;
    let body_limit = app.run.limits.max_body_bytes;
    Router::new()
        .route("/v1/workflows", post(workflows::create))
        .route("/v1/workflows/execute", post(executions::execute))
        .route("/v1/workflows/{id}", get(workflows::get).delete(workflows::delete))
        .route("/v1/workflows/{id}/draft", put(workflows::replace_draft))
        .route("/v1/workflows/{id}/deploy", post(workflows::deploy))
        .route("/v1/executions/{id}", get(executions::get))
        .route("/v1/executions/{id}/events", get(executions::events))
        .route("/v1/executions/{id}/resume", post(executions::resume))
        .route("/v1/executions/{id}/cancel", post(executions::cancel))
        .route("/v1/blocks", get(blocks::list).post(blocks::register).layer(DefaultBodyLimit::max(component_limit)))
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/metrics", if options.public_metrics { get(metrics) } else { get(metrics_not_here) })
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        .layer(axum::middleware::map_response(envelope_plain_errors))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

/// What `--metrics-addr` shows (of a server or a worker): `/metrics` and `/healthz`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/metrics", get(move || async move { metrics_text(&metrics) }))
}

/// Puts the error answers axum's own extractors give (a body over the limit,
/// a path that is not UTF-8) into the API's error envelope.
async fn envelope_plain_errors(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let mut message: String = String::from_utf8_lossy(&text).chars().take(300).collect();
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("error").to_string();
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "error",
    };
    let mut enveloped = ApiError::new(status, code, message).into_response();
    // Keep what the original answer said besides its body (e.g. `allow` on a 405).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            enveloped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    enveloped
}

/// `/metrics` on the API address when it is not public there.
async fn metrics_not_here() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "metrics are served on the server's --metrics-addr (or here with --public-metrics)",
    )
}

async fn metrics(State(app): State<Arc<AppState>>) -> impl IntoResponse {
    metrics_text(&app.run.metrics)
}

/// The metrics in the Prometheus text format.
fn metrics_text(metrics: &Metrics) -> impl IntoResponse + use<> {
    let text = prometheus::TextEncoder::new().encode_to_string(&metrics.registry.gather()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
