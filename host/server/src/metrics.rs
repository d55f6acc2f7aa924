//! The Prometheus metrics of a server or a worker.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

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
    /// The metrics, registered in a registry of their own.
    pub fn new() -> Self {
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

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
