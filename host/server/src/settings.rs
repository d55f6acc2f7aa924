//! What `sandflow serve` and `sandflow worker` start with: [`RunSettings`],
//! the part both need to run executions (where the state and the sealing key
//! are, the sandbox, the engine), inside each one's own settings,
//! [`ServerConfig`] and [`WorkerConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sandflow_engine::EngineSettings;
use sandflow_runtime::RuntimeConfig;

use crate::limits::ServerLimits;
use crate::run::sealed::Sealer;

/// What running executions needs, in a server and in a worker alike.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Where the state is kept: the default place of the sealing key, and
    /// in an embedded server the database and the signing secret.
    pub data_dir: PathBuf,
    /// The key stored secrets are sealed with (see [`crate::run::sealed`]);
    /// default `data_dir/sealing-key`. Servers and workers of one database
    /// must share it.
    pub sealing_key_file: Option<PathBuf>,
    pub runtime: RuntimeConfig,
    pub engine: EngineSettings,
}

impl RunSettings {
    /// The sealing key's file: `sealing_key_file`, else `data_dir/sealing-key`.
    pub fn sealing_key_path(&self) -> PathBuf {
        self.sealing_key_file.clone().unwrap_or_else(|| self.data_dir.join(Sealer::FILE_NAME))
    }
}

/// Settings of `sandflow serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// `postgres://...` keeps the state in PostgreSQL (distributed mode)
    /// instead of SQLite in `run.data_dir`.
    pub database_url: Option<String>,
    pub run: RunSettings,
    pub limits: ServerLimits,
    pub token_keys: TokenKeys,
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

/// Settings of `sandflow worker`: no address, no token keys, no admission
/// of requests, since a worker answers none.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The database the servers use (`postgres://...`).
    pub database_url: String,
    pub run: RunSettings,
    pub limits: WorkerLimits,
    /// Names the worker in the queue (`jobs.leased_by`) and in its log.
    pub id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim holds without a heartbeat; heartbeats come thrice per lease.
    pub lease: Duration,
    /// How often to look for work without a notification: timed pauses that
    /// came due, and enqueues whose notification was lost.
    pub claim_poll: Duration,
}

impl WorkerConfig {
    /// A worker of the servers on `database_url`, named `worker-<pid>`, the
    /// rest at its defaults.
    pub fn new(database_url: String, run: RunSettings) -> Self {
        Self {
            database_url,
            run,
            limits: WorkerLimits::default(),
            id: format!("worker-{}", std::process::id()),
            concurrency: 16,
            lease: Duration::from_secs(30),
            claim_poll: Duration::from_secs(1),
        }
    }
}

/// The limits a worker enforces: those of running an execution. The rest of
/// [`ServerLimits`] is about requests, which only servers answer.
#[derive(Debug, Clone)]
pub struct WorkerLimits {
    /// Time to compile and check a tenant's custom block.
    pub compile_timeout: Duration,
    /// Wall-clock time of one engine pass; past it the execution fails.
    pub max_execution_time: Duration,
    /// Size of a stored result; guest log lines are dropped beyond it.
    pub max_stored_log_bytes: usize,
    /// Largest stored result even without its guest log lines.
    pub max_stored_result_bytes: usize,
    /// Times an execution is taken over after its worker stopped before it is given up.
    pub max_restarts: u32,
}

impl Default for WorkerLimits {
    /// The server's defaults, so a worker and a server left at theirs agree.
    fn default() -> Self {
        let server = ServerLimits::default();
        Self {
            compile_timeout: server.compile_timeout,
            max_execution_time: server.max_execution_time,
            max_stored_log_bytes: server.max_stored_log_bytes,
            max_stored_result_bytes: server.max_stored_result_bytes,
            max_restarts: server.max_restarts,
        }
    }
}

impl WorkerLimits {
    /// These limits as the run context holds them; the limits of requests,
    /// which nothing in a worker reads, stay at their defaults.
    pub(crate) fn to_server_limits(&self) -> ServerLimits {
        ServerLimits {
            compile_timeout: self.compile_timeout,
            max_execution_time: self.max_execution_time,
            max_stored_log_bytes: self.max_stored_log_bytes,
            max_stored_result_bytes: self.max_stored_result_bytes,
            max_restarts: self.max_restarts,
            ..ServerLimits::default()
        }
    }
}
