//! What the in-process server tests share: a fresh embedded server state in
//! a data directory of its own, and a token for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sandflow_engine::EngineSettings;
use sandflow_runtime::RuntimeConfig;
use sandflow_server::auth::{Scope, SigningSecret, issue_token};
use sandflow_server::{AppState, RunSettings, ServerConfig, ServerLimits, TokenKeys};

/// An embedded (SQLite) server state with `limits`, whose `api` blocks may
/// call 127.0.0.1, a token of tenant `acme` with every scope, and the data
/// directory (removed when dropped).
pub async fn embedded_server(
    limits: ServerLimits,
    token_keys: TokenKeys,
) -> (Arc<AppState>, String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/sandflow-component-cache");
    let mut runtime = RuntimeConfig { cache_dir: Some(cache), ..RuntimeConfig::default() };
    // `api` blocks may call a server of the test.
    runtime.http.allow.push("127.0.0.1".parse().unwrap());
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: None,
        run: RunSettings {
            data_dir: data.path().to_path_buf(),
            sealing_key_file: None,
            runtime,
            engine: EngineSettings::default(),
        },
        limits,
        token_keys: token_keys.clone(),
    };
    let app = sandflow_server::prepare(&config).await.unwrap();
    let secret = SigningSecret::load_or_create(data.path()).unwrap();
    let token = issue_token(
        &secret,
        "acme",
        "test",
        &Scope::ALL,
        Duration::from_secs(600),
        token_keys.issuer.as_deref(),
        token_keys.audience.as_deref(),
    )
    .unwrap();
    (app, token, data)
}
