//! The limits the server and its workers enforce on requests and executions.

use std::time::Duration;

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
