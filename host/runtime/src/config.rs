//! Settings of the runtime as a whole.

use std::path::PathBuf;
use std::time::Duration;

use crate::capabilities::http::HttpPolicy;
use crate::compile::CompileConfig;
use crate::limits::RunLimits;

/// Settings of a [`crate::Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Compile with fuel metering, so [`RunLimits::fuel`] is enforced and
    /// fuel use is reported. Costs some speed; epochs bound time either way.
    pub fuel: bool,
    /// Where compiled components are cached across processes; `None` keeps
    /// them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Block runs at once; also the size of the instance pool. Further runs wait.
    pub max_concurrent_runs: usize,
    /// Block runs one tenant may hold at once (of `max_concurrent_runs`);
    /// `None`: half of them, so one tenant can never take every slot.
    pub max_runs_per_tenant: Option<usize>,
    /// Largest `memory_bytes` any run may ask for (sizes the pool's memory
    /// slots); a run asking for more, its default limits included, is refused
    /// with [`crate::BlockRunError::MemoryAboveCeiling`].
    pub max_memory_bytes: u64,
    /// The guest-memory budget of the process: the memory limits of the runs
    /// in progress never add up to more. A run waits (at most its timeout)
    /// for its limit to fit, or fails with
    /// [`crate::BlockRunError::MemoryBudget`]. `None`: half of the machine's
    /// memory (`MemTotal` of `/proc/meminfo`).
    pub memory_budget_bytes: Option<u64>,
    /// The part of that budget one tenant's runs may hold; `None`: half of it.
    pub memory_per_tenant_bytes: Option<u64>,
    /// How uploaded (untrusted) components are compiled.
    pub compile: CompileConfig,
    /// Period of the epoch ticker: the granularity of timeouts and cancellation.
    pub epoch_tick: Duration,
    /// Limits for runs that do not bring their own.
    pub default_limits: RunLimits,
    /// Where the outbound HTTP capability may go.
    pub http: HttpPolicy,
    /// Longest wait a block performs inside one run (`timer.sleep`); a longer
    /// one becomes a timed pause point.
    pub max_in_run_wait: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            fuel: true,
            cache_dir: None,
            max_concurrent_runs: 128,
            max_runs_per_tenant: None,
            max_memory_bytes: 1 << 30,
            memory_budget_bytes: None,
            memory_per_tenant_bytes: None,
            compile: CompileConfig::default(),
            epoch_tick: Duration::from_millis(5),
            default_limits: RunLimits::default(),
            http: HttpPolicy::default(),
            max_in_run_wait: Duration::from_secs(5),
        }
    }
}
