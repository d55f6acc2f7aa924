//! One configuration for `serve` and `worker`: an optional `sandflow.toml`,
//! then `SANDFLOW_<SECTION>__<KEY>` environment variables, then the flags
//! given on the command line, each overriding the one before. Every default
//! is defined here once (the flags show the same values in `--help`), and
//! every limit is checked against the ceiling the runtime enforces before
//! anything starts.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::ArgMatches;
use clap::parser::ValueSource;
use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use sandflow_engine::{EngineSettings, ExecutionBudgets, MAX_JSON_DEPTH};
use sandflow_runtime::RuntimeConfig;
use sandflow_server::ServerLimits;
use serde::{Deserialize, Serialize};

/// Where `--config` is read from when the flag is not given.
pub const CONFIG_ENV: &str = "SANDFLOW_CONFIG";

/// The effective configuration, section by section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSection,
    pub worker: WorkerSection,
    pub auth: AuthSection,
    pub engine: EngineSection,
    pub runtime: RuntimeSection,
    pub http: HttpSection,
}

/// `serve`: where it listens and keeps its state, and what it admits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub addr: String,
    pub data_dir: PathBuf,
    /// PostgreSQL (distributed mode); absent: the embedded SQLite store.
    pub database_url: Option<String>,
    pub request_timeout: String,
    pub sealing_key_file: Option<PathBuf>,
    pub metrics_addr: Option<String>,
    pub public_metrics: bool,
    pub max_executions: usize,
    pub max_executions_per_tenant: Option<usize>,
    pub max_stored_result_bytes: usize,
}

/// `worker`: how it takes jobs from the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSection {
    pub id: Option<String>,
    pub concurrency: usize,
    pub lease: String,
    pub max_restarts: u32,
}

/// Bearer tokens beyond the server's own HS256 secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub jwt_rs256_public_key: Option<PathBuf>,
    pub jwt_eddsa_public_key: Option<PathBuf>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
}

/// What one execution may produce, and what a workflow may ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    pub max_output_bytes: u64,
    pub max_variable_bytes: u64,
    pub max_log_entries: u64,
    pub max_log_bytes: u64,
    pub max_json_depth: usize,
    /// Most memory one block may ask for in `limits.memoryBytes` (512MiB, 1GiB).
    pub max_block_memory: String,
}

/// The sandbox: block runs at once, guest memory, compiling uploads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSection {
    pub cache_dir: Option<PathBuf>,
    pub max_block_runs: usize,
    pub max_block_runs_per_tenant: Option<usize>,
    /// The ceiling of one run's memory: the size of each pooled memory slot.
    pub max_block_memory: String,
    pub memory_budget: Option<String>,
    pub compile_timeout: String,
    pub compile_concurrency: usize,
    pub compile_memory: String,
}

/// Where `api` blocks may go beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    pub allow: Vec<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./sandflow-data"),
            database_url: None,
            request_timeout: "330s".into(),
            sealing_key_file: None,
            metrics_addr: None,
            public_metrics: false,
            max_executions: 1_024,
            max_executions_per_tenant: None,
            max_stored_result_bytes: ServerLimits::default().max_stored_result_bytes,
        }
    }
}

impl Default for WorkerSection {
    fn default() -> Self {
        Self { id: None, concurrency: 16, lease: "30s".into(), max_restarts: 3 }
    }
}

impl Default for EngineSection {
    fn default() -> Self {
        let budgets = ExecutionBudgets::default();
        Self {
            max_output_bytes: budgets.max_output_bytes,
            max_variable_bytes: budgets.max_variable_bytes,
            max_log_entries: budgets.max_log_entries,
            max_log_bytes: budgets.max_log_bytes,
            max_json_depth: budgets.max_json_depth,
            max_block_memory: size_text(EngineSettings::default().validation.max_memory_bytes),
        }
    }
}

impl Default for RuntimeSection {
    fn default() -> Self {
        Self {
            cache_dir: None,
            max_block_runs: 256,
            max_block_runs_per_tenant: None,
            max_block_memory: size_text(RuntimeConfig::default().max_memory_bytes),
            memory_budget: None,
            compile_timeout: "60s".into(),
            compile_concurrency: 2,
            compile_memory: "2GiB".into(),
        }
    }
}

/// Flag id → the key it sets. A flag counts only when given on the command
/// line: its `--help` default is the same value as this file's.
const FLAG_KEYS: &[(&str, &str)] = &[
    ("addr", "server.addr"),
    ("data_dir", "server.data_dir"),
    ("database_url", "server.database_url"),
    ("request_timeout", "server.request_timeout"),
    ("sealing_key_file", "server.sealing_key_file"),
    ("metrics_addr", "server.metrics_addr"),
    ("public_metrics", "server.public_metrics"),
    ("max_executions", "server.max_executions"),
    ("max_executions_per_tenant", "server.max_executions_per_tenant"),
    ("max_stored_result_bytes", "server.max_stored_result_bytes"),
    ("worker_id", "worker.id"),
    ("concurrency", "worker.concurrency"),
    ("lease", "worker.lease"),
    ("max_restarts", "worker.max_restarts"),
    ("jwt_rs256_public_key", "auth.jwt_rs256_public_key"),
    ("jwt_eddsa_public_key", "auth.jwt_eddsa_public_key"),
    ("jwt_issuer", "auth.jwt_issuer"),
    ("jwt_audience", "auth.jwt_audience"),
    ("max_output_bytes", "engine.max_output_bytes"),
    ("max_variable_bytes", "engine.max_variable_bytes"),
    ("max_log_entries", "engine.max_log_entries"),
    ("max_log_bytes", "engine.max_log_bytes"),
    ("max_json_depth", "engine.max_json_depth"),
    ("cache_dir", "runtime.cache_dir"),
    ("max_block_runs", "runtime.max_block_runs"),
    ("max_block_runs_per_tenant", "runtime.max_block_runs_per_tenant"),
    ("memory_budget", "runtime.memory_budget"),
    ("compile_timeout", "runtime.compile_timeout"),
    ("compile_concurrency", "runtime.compile_concurrency"),
    ("compile_memory", "runtime.compile_memory"),
    ("allow_http", "http.allow"),
];

impl Settings {
    /// Defaults, then the file (`--config`, else `$SANDFLOW_CONFIG`), then
    /// the environment, then the flags given in `matches` (the top level
    /// and the subcommand's); checked against the runtime's ceilings.
    pub fn load(file: Option<PathBuf>, matches: &[&ArgMatches]) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file.or_else(|| std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)) {
            anyhow::ensure!(path.is_file(), "the config file {} does not exist", path.display());
            figment = figment.merge(Toml::file_exact(&path));
        }
        // Only SECTION__KEY names: SANDFLOW_SEALING_KEY_FILE and the test
        // switches share the prefix but are not settings.
        figment = figment.merge(Env::prefixed("SANDFLOW_").filter(|key| key.as_str().contains("__")).split("__"));
        for (id, key) in FLAG_KEYS {
            let given = matches
                .iter()
                .find(|m| m.ids().any(|known| known == id) && m.value_source(id) == Some(ValueSource::CommandLine));
            let Some(given) = given else { continue };
            let raw: Vec<String> =
                given.get_raw(id).into_iter().flatten().map(|value| value.to_string_lossy().into_owned()).collect();
            let is_list = *key == "http.allow";
            let is_switch = *key == "server.public_metrics";
            figment = match (is_list, is_switch) {
                (true, _) => figment.merge(Serialized::global(key, raw)),
                (_, true) => figment.merge(Serialized::global(key, true)),
                _ => figment.merge(Serialized::global(key, raw.into_iter().next().unwrap_or_default())),
            };
        }
        let settings: Settings = figment.extract_lossy().map_err(|error| anyhow::anyhow!("configuration: {error}"))?;
        settings.check()?;
        Ok(settings)
    }

    /// Every limit against the ceiling it lives under.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.server.max_executions >= 1, "--max-executions must be at least 1");
        anyhow::ensure!(
            (1..=10_000).contains(&self.runtime.max_block_runs),
            "--max-block-runs must be between 1 and 10000"
        );
        anyhow::ensure!(self.runtime.compile_concurrency >= 1, "--compile-concurrency must be at least 1");
        let block_ceiling = parse_size(&self.runtime.max_block_memory).context("runtime.max_block_memory")?;
        let block_most = parse_size(&self.engine.max_block_memory).context("engine.max_block_memory")?;
        anyhow::ensure!(
            block_most <= block_ceiling,
            "engine.max_block_memory ({}) is above the runtime's ceiling runtime.max_block_memory ({}): \
             a block could be granted memory its sandbox cannot give",
            self.engine.max_block_memory,
            self.runtime.max_block_memory
        );
        if let Some(budget) = &self.runtime.memory_budget {
            let budget_bytes = parse_size(budget).context("runtime.memory_budget")?;
            anyhow::ensure!(
                budget_bytes >= block_most,
                "runtime.memory_budget ({budget}) is below engine.max_block_memory ({}): \
                 a block asking for the most could never start",
                self.engine.max_block_memory
            );
        }
        anyhow::ensure!(
            (1..=MAX_JSON_DEPTH).contains(&self.engine.max_json_depth),
            "engine.max_json_depth ({}) must be between 1 and the engine's ceiling {MAX_JSON_DEPTH}",
            self.engine.max_json_depth
        );
        if let Some(per_tenant) = self.server.max_executions_per_tenant {
            anyhow::ensure!(
                per_tenant <= self.server.max_executions,
                "server.max_executions_per_tenant ({per_tenant}) is above server.max_executions ({})",
                self.server.max_executions
            );
        }
        if let Some(per_tenant) = self.runtime.max_block_runs_per_tenant {
            anyhow::ensure!(
                per_tenant <= self.runtime.max_block_runs,
                "runtime.max_block_runs_per_tenant ({per_tenant}) is above runtime.max_block_runs ({})",
                self.runtime.max_block_runs
            );
        }
        Ok(())
    }

    /// The engine's settings: budgets and the most a block may ask for.
    pub fn engine_settings(&self) -> anyhow::Result<EngineSettings> {
        let mut settings = EngineSettings::default();
        let engine = &self.engine;
        settings.budgets = ExecutionBudgets {
            max_output_bytes: engine.max_output_bytes,
            max_variable_bytes: engine.max_variable_bytes,
            max_log_entries: engine.max_log_entries,
            max_log_bytes: engine.max_log_bytes,
            max_json_depth: engine.max_json_depth,
        };
        settings.validation.max_memory_bytes =
            parse_size(&engine.max_block_memory).context("engine.max_block_memory")?;
        Ok(settings)
    }

    /// The effective configuration as `sandflow.toml` text.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string(self)?)
    }
}

/// `bytes` as the largest whole unit `parse_size` reads back.
fn size_text(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A size in bytes: a number with an optional `KiB`, `MiB`, `GiB` (or `K`, `M`, `G`) suffix.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().with_context(|| format!("`{text}` is not a size such as 512MiB"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => anyhow::bail!("unknown size unit `{other}` (use KiB, MiB or GiB)"),
    };
    number.checked_mul(1 << shift).with_context(|| format!("`{text}` is too large"))
}
