//! Admission of block runs: run slots and guest memory, server-wide and per
//! tenant, so no run starts without both and no tenant holds more than its
//! share of either.
//!
//! A run takes, in this order (always the same order, so two runs can never
//! wait on each other): a slot of its tenant's share, a server-wide slot,
//! its memory limit from its tenant's memory share, then from the server-wide
//! memory budget. All of it is given back when the [`Admitted`] guard drops,
//! whatever way the run ended. Slots are waited for as long as it takes
//! (bounded by cancellation); memory is waited for at most the run's own
//! timeout, then the run fails with [`BlockRunError::MemoryBudget`].
//! Semaphores are fair (first come, first served), so a large request is not
//! starved by a stream of small ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::cancel::{CancelFlag, unless_cancelled};
use crate::config::RuntimeConfig;
use crate::error::BlockRunError;

/// Memory is counted in wasm pages: semaphores count in `u32`.
const PAGE: u64 = 64 << 10;
/// How often a waiting run looks at its cancel flag (a plain atomic).
const CANCEL_POLL: Duration = Duration::from_millis(20);
/// Number of tenants remembered at which idle ones are forgotten.
const TENANT_SWEEP_AT: usize = 1024;
/// Budget assumed when the machine's memory cannot be read.
const FALLBACK_BUDGET: u64 = 4 << 30;

/// One tenant's share of the slots and of the memory budget.
struct Share {
    runs: Arc<Semaphore>,
    memory: Arc<Semaphore>,
}

/// The counters every run goes through.
pub(crate) struct Admission {
    runs: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    budget_bytes: u64,
    tenant_runs: usize,
    tenant_memory_pages: usize,
    tenants: Mutex<HashMap<String, Share>>,
}

/// What an admitted run holds; dropping it gives everything back.
pub(crate) struct Admitted {
    _permits: Vec<OwnedSemaphorePermit>,
}

/// The figures admission works with, as configured or defaulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Block runs at once in this process.
    pub runs: usize,
    /// Block runs at once of one tenant.
    pub runs_per_tenant: usize,
    /// Sum of the memory limits of the runs in progress, in bytes.
    pub memory_budget_bytes: u64,
    /// The part of that sum one tenant's runs may hold.
    pub memory_per_tenant_bytes: u64,
}

impl AdmissionLimits {
    /// Resolves the defaults of `config`: half of the slots and half of the
    /// budget per tenant; half of the machine's memory as the budget.
    pub fn of(config: &RuntimeConfig) -> Self {
        let runs = config.max_concurrent_runs.max(1);
        let budget = config.memory_budget_bytes.unwrap_or_else(|| machine_memory().map_or(FALLBACK_BUDGET, |m| m / 2));
        Self {
            runs,
            runs_per_tenant: config.max_runs_per_tenant.unwrap_or(runs / 2).clamp(1, runs),
            memory_budget_bytes: budget,
            memory_per_tenant_bytes: config.memory_per_tenant_bytes.unwrap_or(budget / 2).min(budget),
        }
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

fn pages(bytes: u64) -> usize {
    usize::try_from(bytes.div_ceil(PAGE)).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS)
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            runs: Arc::new(Semaphore::new(limits.runs)),
            memory: Arc::new(Semaphore::new(pages(limits.memory_budget_bytes))),
            budget_bytes: limits.memory_budget_bytes,
            tenant_runs: limits.runs_per_tenant,
            tenant_memory_pages: pages(limits.memory_per_tenant_bytes),
            tenants: Mutex::default(),
        }
    }

    /// The semaphores of `tenant`'s share, created on first use.
    fn share(&self, tenant: &str) -> (Arc<Semaphore>, Arc<Semaphore>) {
        let mut tenants = self.tenants.lock().expect("tenant shares");
        if tenants.len() >= TENANT_SWEEP_AT && !tenants.contains_key(tenant) {
            // A share nobody holds or waits for can be recreated later.
            tenants.retain(|_, share| Arc::strong_count(&share.runs) > 1 || Arc::strong_count(&share.memory) > 1);
        }
        let share = tenants.entry(tenant.to_string()).or_insert_with(|| Share {
            runs: Arc::new(Semaphore::new(self.tenant_runs)),
            memory: Arc::new(Semaphore::new(self.tenant_memory_pages)),
        });
        (share.runs.clone(), share.memory.clone())
    }

    /// Waits for a run slot and for `memory_bytes` of the budget. `None` as
    /// the tenant is the host's own work (reading a manifest): it takes
    /// only the server-wide slot and budget.
    pub async fn admit(
        &self,
        tenant: Option<&str>,
        memory_bytes: u64,
        memory_wait: Duration,
        cancel: Option<&CancelFlag>,
    ) -> Result<Admitted, BlockRunError> {
        let wanted = pages(memory_bytes);
        let share = tenant.map(|tenant| self.share(tenant));
        let memory_share_bytes = self.tenant_memory_pages as u64 * PAGE;
        let refuse = |budget: u64| BlockRunError::MemoryBudget { requested: memory_bytes, budget };
        // A run that could never fit fails now rather than after its wait.
        if wanted as u64 * PAGE > self.budget_bytes {
            return Err(refuse(self.budget_bytes));
        }
        if share.is_some() && wanted > self.tenant_memory_pages {
            return Err(refuse(memory_share_bytes));
        }
        let mut permits = Vec::with_capacity(4);
        let slots = async {
            if let Some((runs, _)) = &share {
                permits.push(runs.clone().acquire_owned().await.expect("never closed"));
            }
            permits.push(self.runs.clone().acquire_owned().await.expect("never closed"));
        };
        unless_cancelled(cancel, CANCEL_POLL, slots).await.map_err(|_| BlockRunError::Cancelled)?;
        let n = u32::try_from(wanted).expect("at most the budget, which fits a u32 count of pages");
        let memory = async {
            if let Some((_, memory)) = &share {
                let held = memory.clone().acquire_many_owned(n).await.expect("never closed");
                permits.push(held);
            }
            let held = self.memory.clone().acquire_many_owned(n).await.expect("never closed");
            permits.push(held);
        };
        match tokio::time::timeout(memory_wait, unless_cancelled(cancel, CANCEL_POLL, memory)).await {
            Ok(waited) => waited.map_err(|_| BlockRunError::Cancelled)?,
            // Name the counter that was short: the tenant's share or the whole budget.
            Err(_) if share.as_ref().is_some_and(|(_, m)| m.available_permits() < wanted) => {
                return Err(refuse(memory_share_bytes));
            }
            Err(_) => return Err(refuse(self.budget_bytes)),
        }
        Ok(Admitted { _permits: permits })
    }

    /// Bytes of the budget not held by any run now.
    pub fn memory_available(&self) -> u64 {
        self.memory.available_permits() as u64 * PAGE
    }
}
