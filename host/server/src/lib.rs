//! The Sandflow HTTP API: `POST /v1/workflows/execute` as the hosted API
//! has it, and the routes around it (SPEC section 4), on an embedded SQLite
//! store, with bearer-token auth and tenancy (SPEC section 5).

pub mod auth;
mod blocks;
mod error;
mod executions;
mod executor;
mod extract;
mod manifest_schemas;
mod openapi;
mod queued;
pub mod sealed;
mod state;
mod worker;
mod workflows;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use sandflow_engine::EngineSettings;
use sandflow_runtime::{Runtime, RuntimeConfig};
use sandflow_store::{PostgresStore, SqliteStore, Store};
use sandflow_wasm_runner::WasmBlockRunner;

pub use error::ApiError;
pub use sealed::Sealer;
pub use state::{AppState, ServerLimits};
pub use worker::{WorkerConfig, run_worker};

use crate::auth::{AuthConfig, SigningSecret, Verifier};

/// Name of the SQLite file inside the data directory.
pub const DATABASE_FILE: &str = "sandflow.db";

/// Settings of `sandflow serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Holds the database, the signing secret and the component cache.
    pub data_dir: PathBuf,
    /// `postgres://...` keeps the state in PostgreSQL instead of SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub runtime: RuntimeConfig,
    pub engine: EngineSettings,
    pub limits: ServerLimits,
    pub token_keys: TokenKeys,
    /// The key stored secrets are sealed with (see [`sealed`]); default
    /// `data_dir/sealing-key`, created on first start. Servers and workers
    /// of one database must share it.
    pub sealing_key_file: Option<PathBuf>,
}

/// What `serve` shows besides the API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Serve `/metrics` on the API's address too, to anyone. Off by default:
    /// the counters are server-wide, not a tenant's, so they belong on
    /// `--metrics-addr`, an address only operators reach.
    pub public_metrics: bool,
}

/// Token verification beyond the server's own HS256 secret.
#[derive(Debug, Clone, Default)]
pub struct TokenKeys {
    /// PEM public key: RS256 tokens signed by its private key are accepted too.
    pub rs256_public_key_pem: Option<Vec<u8>>,
    /// PEM Ed25519 public key: EdDSA tokens are accepted too.
    pub eddsa_public_key_pem: Option<Vec<u8>>,
    /// When set, tokens must carry this `iss`.
    pub issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    pub audience: Option<String>,
}

/// The routes over shared state, without `/metrics` (see [`ServeOptions`]).
pub fn router(app: Arc<AppState>) -> Router {
    router_with(app, ServeOptions::default())
}

/// The routes over shared state, `/metrics` among them when `options` say so.
pub fn router_with(app: Arc<AppState>, options: ServeOptions) -> Router {
    let component_limit = app.limits.max_component_bytes;
    let body_limit = app.limits.max_body_bytes;
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

/// Serves what `--metrics-addr` shows (of a server or a worker), `/metrics`
/// and `/healthz`, until the process ends.
pub async fn serve_metrics(app: Arc<AppState>, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let router = Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .with_state(app);
    axum::serve(listener, router).await.context("serving metrics")
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
    let text = prometheus::TextEncoder::new().encode_to_string(&app.metrics.registry.gather()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Opens the store and the signing secret under the data directory and loads
/// the standard blocks: everything `serve` needs before it listens.
pub async fn prepare(config: &ServerConfig) -> anyhow::Result<Arc<AppState>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let secret = SigningSecret::load_or_create(&config.data_dir).context("loading the signing secret")?;
    let keys = &config.token_keys;
    let mut auth = AuthConfig::new(secret);
    if let Some(pem) = &keys.rs256_public_key_pem {
        auth = auth.with_rs256_public_key_pem(pem.clone());
    }
    if let Some(pem) = &keys.eddsa_public_key_pem {
        auth = auth.with_eddsa_public_key_pem(pem.clone());
    }
    if let Some(issuer) = &keys.issuer {
        auth = auth.with_issuer(issuer.clone());
    }
    if let Some(audience) = &keys.audience {
        auth = auth.with_audience(audience.clone());
    }
    let verifier = Verifier::new(auth).map_err(|e| anyhow::anyhow!("token keys: {e}"))?;
    let (store, queue): (Arc<dyn Store>, _) = match &config.database_url {
        Some(url) => {
            let store = connect_postgres(url).await?;
            let queue = store.queue();
            (Arc::new(store), Some(queue))
        }
        None => {
            let path = config.data_dir.join(DATABASE_FILE);
            (Arc::new(SqliteStore::open(&path).await.map_err(|e| anyhow::anyhow!("{e}"))?), None)
        }
    };
    let key_file = config.sealing_key_file.clone().unwrap_or_else(|| config.data_dir.join(Sealer::FILE_NAME));
    let sealer = Sealer::load(&key_file, true)?;
    let app = state(store, verifier, config).await?.with_sealer(sealer);
    Ok(Arc::new(match queue {
        Some(queue) => app.with_jobs(Arc::new(queued::JobQueue::new(queue))),
        None => app,
    }))
}

/// Connects to PostgreSQL and loads the standard blocks: everything
/// `sandflow worker` needs. `addr` and `token_keys` are not used: a worker
/// answers no requests. The sealing key must exist already (the servers'
/// `--sealing-key-file`, or `data_dir/sealing-key`): a worker never makes one,
/// since a key of its own could open nothing the servers sealed.
pub async fn prepare_worker(config: &ServerConfig) -> anyhow::Result<Arc<AppState>> {
    let url = config.database_url.as_deref().ok_or_else(|| anyhow::anyhow!("a worker needs --database-url"))?;
    let key_file = config.sealing_key_file.clone().unwrap_or_else(|| config.data_dir.join(Sealer::FILE_NAME));
    let sealer = Sealer::load(&key_file, false).context(
        "a worker needs the servers' sealing key: pass --sealing-key-file (or SANDFLOW_SEALING_KEY_FILE) \
         naming the file the servers use",
    )?;
    let store = connect_postgres(url).await?;
    let jobs = Arc::new(queued::JobQueue::new(store.queue()));
    // Never asked to verify a token; a random key rather than none keeps the type simple.
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
    let verifier = Verifier::new(AuthConfig::new(key.to_vec())).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Arc::new(state(Arc::new(store), verifier, config).await?.with_jobs(jobs).with_sealer(sealer)))
}

async fn connect_postgres(url: &str) -> anyhow::Result<PostgresStore> {
    anyhow::ensure!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "--database-url must be a postgres:// URL, got `{url}`"
    );
    PostgresStore::connect(url).await.map_err(|e| anyhow::anyhow!("{e}"))
}

async fn state(store: Arc<dyn Store>, verifier: Verifier, config: &ServerConfig) -> anyhow::Result<AppState> {
    let runtime = Runtime::new(config.runtime.clone())?;
    let runner = Arc::new(WasmBlockRunner::with_standard_blocks(runtime).await?);
    Ok(AppState::new(store, verifier, runner, config.engine.clone(), config.limits.clone()))
}

/// Serves the API on `listener` until the process ends. On SQLite it first
/// continues the executions a previous process left running, then starts
/// the timer of timed pauses; in distributed mode workers do both, and the
/// server listens for the jobs it waits on.
pub async fn serve(app: Arc<AppState>, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    serve_with(app, listener, ServeOptions::default()).await
}

/// As [`serve`], with `options`.
pub async fn serve_with(
    app: Arc<AppState>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
) -> anyhow::Result<()> {
    if let Some(jobs) = &app.jobs {
        jobs.spawn_outcome_listener();
        return axum::serve(listener, router_with(app, options)).await.context("serving HTTP");
    }
    let recovered = executor::recover(&app).await?;
    if recovered > 0 {
        eprintln!("sandflow: continuing {recovered} execution(s) left running by the previous process");
    }
    executor::spawn_timer(app.clone());
    axum::serve(listener, router_with(app, options)).await.context("serving HTTP")
}
