//! The Sandflow HTTP API: `POST /v1/workflows/execute` as the hosted API
//! has it, and the routes around it (SPEC section 4), on an embedded SQLite
//! store, with bearer-token auth and tenancy (SPEC section 5); or, on
//! PostgreSQL, the servers and workers of distributed mode.
//!
//! By role: `api/` answers HTTP (routes, extractors, the error envelope, the
//! OpenAPI document) and `run/` runs executions (one engine pass, the local
//! path, the queued path, the worker) behind one `Dispatch`. `api/` uses
//! `run/`; `run/` never sees HTTP. This file starts either, from its
//! settings (`settings`).

pub mod api;
pub mod auth;
pub mod limits;
pub mod metrics;
pub mod run;
pub mod settings;
pub mod tenant;
pub mod tenant_blocks;

use std::sync::Arc;

use anyhow::Context as _;
use sandflow_runtime::Runtime;
use sandflow_store::{PostgresStore, SqliteStore, Store};
use sandflow_wasm_runner::WasmBlockRunner;

pub use api::error::ApiError;
pub use api::state::AppState;
pub use api::{ServeOptions, metrics_router, router, router_with};
pub use limits::ServerLimits;
pub use metrics::Metrics;
pub use run::sealed::Sealer;
pub use run::worker::{WorkerState, run_worker};
pub use settings::{RunSettings, ServerConfig, TokenKeys, WorkerConfig, WorkerLimits};

use crate::auth::{AuthConfig, SigningSecret, Verifier};
use crate::run::context::RunContext;
use crate::run::dispatch::Dispatch;
use crate::tenant_blocks::TenantBlocks;

/// Name of the SQLite file inside the data directory.
pub const DATABASE_FILE: &str = "sandflow.db";

/// Serves what `--metrics-addr` shows (of a server or a worker), `/metrics`
/// and `/healthz`, until the process ends.
pub async fn serve_metrics(metrics: Metrics, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    axum::serve(listener, metrics_router(metrics)).await.context("serving metrics")
}

/// Opens the store and the signing secret under the data directory and loads
/// the standard blocks: everything `serve` needs before it listens.
pub async fn prepare(config: &ServerConfig) -> anyhow::Result<Arc<AppState>> {
    let data_dir = &config.run.data_dir;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let secret = SigningSecret::load_or_create(data_dir).context("loading the signing secret")?;
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
            let path = data_dir.join(DATABASE_FILE);
            (Arc::new(SqliteStore::open(&path).await.map_err(|e| anyhow::anyhow!("{e}"))?), None)
        }
    };
    let sealer = Sealer::load(&config.run.sealing_key_path(), true)?;
    let run = run_context(store, sealer, &config.run, config.limits.clone()).await?;
    let dispatch = match queue {
        Some(queue) => Dispatch::queued(run, queue),
        None => Dispatch::local(run),
    };
    Ok(Arc::new(AppState::new(verifier, dispatch)))
}

/// Connects to PostgreSQL and loads the standard blocks: everything
/// `sandflow worker` needs. The sealing key must exist already (the servers'
/// `--sealing-key-file`, or `data_dir/sealing-key`): a worker never makes one,
/// since a key of its own could open nothing the servers sealed.
pub async fn prepare_worker(config: &WorkerConfig) -> anyhow::Result<WorkerState> {
    let sealer = Sealer::load(&config.run.sealing_key_path(), false).context(
        "a worker needs the servers' sealing key: pass --sealing-key-file (or SANDFLOW_SEALING_KEY_FILE) \
         naming the file the servers use",
    )?;
    let store = connect_postgres(&config.database_url).await?;
    let queue = store.queue();
    let run = run_context(Arc::new(store), sealer, &config.run, config.limits.to_server_limits()).await?;
    Ok(WorkerState::new(run, queue))
}

async fn connect_postgres(url: &str) -> anyhow::Result<PostgresStore> {
    anyhow::ensure!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "--database-url must be a postgres:// URL, got `{url}`"
    );
    PostgresStore::connect(url).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// The run context over `store`: the standard blocks loaded, the settings of `settings`.
async fn run_context(
    store: Arc<dyn Store>,
    sealer: Sealer,
    settings: &RunSettings,
    limits: ServerLimits,
) -> anyhow::Result<Arc<RunContext>> {
    let runtime = Runtime::new(settings.runtime.clone())?;
    let standard = Arc::new(WasmBlockRunner::with_standard_blocks(runtime).await?);
    let blocks = TenantBlocks::new(store.clone(), standard, limits.compile_timeout, settings.engine.clone());
    Ok(Arc::new(RunContext::new(store, blocks, limits, sealer)))
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
    app.dispatch.start().await?;
    axum::serve(listener, router_with(app, options)).await.context("serving HTTP")
}
