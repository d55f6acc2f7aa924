//! What every request shares: the store, the verifier, the block runner,
//! the limits and the metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use sandflow_engine::EngineSettings;
use sandflow_runtime::LoadedBlock;
use sandflow_store::Store;
use sandflow_wasm_runner::WasmBlockRunner;

use crate::auth::Verifier;
use crate::executor::Executions;
use crate::queued::JobQueue;
use crate::sealed::Sealer;

/// A tenant name taken from a verified token (or from the store, for work
/// the server does on its own): the key of every stored row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(String);

impl Tenant {
    /// The tenant of a verified principal.
    pub fn of(principal: &crate::auth::Principal) -> Self {
        Self(principal.tenant.clone())
    }

    /// A tenant read back from the store.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The tenant's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Limits the server enforces on requests and executions.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest custom block component.
    pub max_component_bytes: usize,
    /// Time to compile and check an uploaded component.
    pub compile_timeout: Duration,
    /// Blocks in one workflow.
    pub max_blocks_per_workflow: usize,
    /// Wall-clock time of one engine pass; past it the execution fails.
    pub max_execution_time: Duration,
    /// Size of a stored result; guest log lines are dropped beyond it.
    pub max_stored_log_bytes: usize,
    /// Largest stored result even without its guest log lines; beyond it
    /// the execution fails, naming `maxStoredResultBytes`.
    pub max_stored_result_bytes: usize,
    /// Restarts of one execution after crashes before it is given up.
    pub max_restarts: u32,
    /// Executions running at once in this process (or, in distributed mode,
    /// requests waiting on a worker); a new execute beyond it is 429.
    pub max_running_executions: usize,
    /// Executions of one tenant running at once in this process; a new
    /// execute of that tenant beyond it is 429. `None`: half of
    /// `max_running_executions`, so one tenant never takes them all.
    /// (Distributed mode counts only the server-wide cap.)
    pub max_running_executions_per_tenant: Option<usize>,
    /// In distributed mode, how long an execute or resume waits for a worker
    /// to finish its job before answering 504 `still_running`.
    pub request_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 << 20,
            max_component_bytes: 32 << 20,
            compile_timeout: Duration::from_secs(60),
            max_blocks_per_workflow: 1_000,
            max_execution_time: Duration::from_secs(300),
            max_stored_log_bytes: 8 << 20,
            max_stored_result_bytes: 64 << 20,
            max_restarts: 3,
            max_running_executions: 1_024,
            max_running_executions_per_tenant: None,
            request_timeout: Duration::from_secs(330),
        }
    }
}

impl ServerLimits {
    /// The per-tenant execution cap in force, its default resolved.
    pub fn executions_per_tenant(&self) -> usize {
        self.max_running_executions_per_tenant
            .unwrap_or(self.max_running_executions / 2)
            .clamp(1, self.max_running_executions.max(1))
    }
}

/// The Prometheus metrics of the server.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Finished engine passes by the status they ended in.
    pub executions: IntCounterVec,
    pub block_duration: Histogram,
    pub fuel_consumed: IntCounter,
    pub runs_in_flight: IntGauge,
    /// Distributed mode, on workers: how long jobs waited in line before their claim.
    pub queue_wait: Histogram,
    /// Distributed mode, on workers: jobs ended, by `done`, `failed` (refused) or `lost` (the
    /// lease was lost, or the store failed, so another worker takes it over).
    pub jobs: IntCounterVec,
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        let executions = IntCounterVec::new(
            Opts::new("sandflow_executions_total", "Execution passes finished, by status"),
            &["status"],
        )
        .expect("metric");
        let block_duration = Histogram::with_opts(
            HistogramOpts::new("sandflow_block_duration_seconds", "Duration of block runs")
                .buckets(vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
        )
        .expect("metric");
        let fuel_consumed =
            IntCounter::new("sandflow_fuel_consumed_total", "Fuel consumed by block runs").expect("metric");
        let runs_in_flight =
            IntGauge::new("sandflow_executions_in_flight", "Execution passes running now").expect("metric");
        let queue_wait = Histogram::with_opts(
            HistogramOpts::new("sandflow_queue_wait_seconds", "Time jobs waited in line before a worker claimed them")
                .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 300.0]),
        )
        .expect("metric");
        let jobs = IntCounterVec::new(
            Opts::new("sandflow_jobs_total", "Queue jobs this worker ended, by outcome"),
            &["outcome"],
        )
        .expect("metric");
        registry.register(Box::new(queue_wait.clone())).expect("register");
        registry.register(Box::new(jobs.clone())).expect("register");
        registry.register(Box::new(executions.clone())).expect("register");
        registry.register(Box::new(block_duration.clone())).expect("register");
        registry.register(Box::new(fuel_consumed.clone())).expect("register");
        registry.register(Box::new(runs_in_flight.clone())).expect("register");
        Self { registry, executions, block_duration, fuel_consumed, runs_in_flight, queue_wait, jobs }
    }

    /// Records one finished block run.
    pub fn observe_block(&self, duration_ms: u64, fuel: u64) {
        self.block_duration.observe(duration_ms as f64 / 1000.0);
        self.fuel_consumed.inc_by(fuel);
    }
}

/// A custom block's digest and its compiled form.
type CompiledBlock = (String, Arc<LoadedBlock>);

/// The state shared by every route.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    /// The standard blocks; a tenant's runner adds its custom blocks.
    pub runner: Arc<WasmBlockRunner>,
    pub engine_settings: EngineSettings,
    pub limits: ServerLimits,
    pub executions: Executions,
    /// Distributed mode (PostgreSQL): the work queue executions go through.
    pub jobs: Option<Arc<JobQueue>>,
    pub metrics: Metrics,
    /// Seals the environment values (and their executions' checkpoints) the store keeps.
    pub sealer: Sealer,
    /// Custom blocks already compiled, by tenant, type and digest.
    custom: Mutex<HashMap<(Tenant, String), CompiledBlock>>,
}

impl AppState {
    /// Shared state over a store, a verifier and a runner with the standard blocks.
    pub fn new(
        store: Arc<dyn Store>,
        verifier: Verifier,
        runner: Arc<WasmBlockRunner>,
        engine_settings: EngineSettings,
        limits: ServerLimits,
    ) -> Self {
        Self {
            store,
            verifier,
            runner,
            engine_settings,
            limits,
            executions: Executions::default(),
            jobs: None,
            metrics: Metrics::new(),
            // Replaced by the configured key in `prepare`; see `with_sealer`.
            sealer: Sealer::ephemeral(),
            custom: Mutex::default(),
        }
    }

    /// Sends executions through the work queue `jobs` (distributed mode).
    pub fn with_jobs(mut self, jobs: Arc<JobQueue>) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// Seals stored secrets with `sealer` (the data dir's or the configured
    /// key) instead of the random key of [`AppState::new`], which dies with
    /// the process.
    pub fn with_sealer(mut self, sealer: Sealer) -> Self {
        self.sealer = sealer;
        self
    }

    /// Remembers a compiled custom block of a tenant.
    pub fn cache_custom_block(&self, tenant: &Tenant, block_type: &str, digest: &str, block: Arc<LoadedBlock>) {
        self.custom
            .lock()
            .expect("custom blocks")
            .insert((tenant.clone(), block_type.to_string()), (digest.to_string(), block));
    }

    /// The standard blocks plus this tenant's custom blocks, and no one
    /// else's; its runs count against the tenant's share of run slots and memory.
    pub async fn tenant_runner(&self, tenant: &Tenant) -> Arc<WasmBlockRunner> {
        let records = self.store.list_blocks(tenant.as_str()).await.unwrap_or_default();
        if records.is_empty() {
            return Arc::new(self.runner.for_tenant(tenant.as_str()));
        }
        let mut extra = Vec::new();
        for record in records {
            let cached = self
                .custom
                .lock()
                .expect("custom blocks")
                .get(&(tenant.clone(), record.block_type.clone()))
                .filter(|(digest, _)| *digest == record.digest)
                .map(|(_, block)| block.clone());
            let block = match cached {
                Some(block) => block,
                None => {
                    let Ok(Some(bytes)) = self.store.get_block_component(tenant.as_str(), &record.block_type).await
                    else {
                        continue;
                    };
                    // Stored bytes came from a tenant: the same bounded compile as an upload.
                    match self.runner.runtime().load_untrusted(&bytes, self.limits.compile_timeout).await {
                        Ok(block) => {
                            self.cache_custom_block(tenant, &record.block_type, &record.digest, block.clone());
                            block
                        }
                        Err(error) => {
                            eprintln!("sandflow: custom block `{}`: {error}", record.block_type);
                            continue;
                        }
                    }
                }
            };
            extra.push((record.block_type, block));
        }
        Arc::new(self.runner.for_tenant(tenant.as_str()).with_extra_blocks(extra))
    }
}
