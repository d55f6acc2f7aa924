//! The memory and table limits of one run, summed over the component.

use wasmtime::ResourceLimiter;

use crate::error::{BlockRunError, limit_trap};
use crate::limits::RunLimits;

/// Enforces memory and table limits over the *sum* of a component's memories
/// and tables: wasmtime's own `StoreLimits` counts each memory on its own, so a
/// component with several memories could multiply its allowance.
pub(crate) struct SummedLimiter {
    memory_limit: u64,
    table_limit: u64,
    instances: usize,
    tables: usize,
    memories: usize,
    memory_total: u64,
    table_total: u64,
    /// Highest `memory_total` seen during the run.
    pub memory_peak: u64,
}

impl SummedLimiter {
    pub fn new(limits: &RunLimits) -> Self {
        Self {
            memory_limit: limits.memory_bytes,
            table_limit: limits.table_elements,
            instances: limits.instances,
            tables: limits.tables,
            memories: limits.memories,
            memory_total: 0,
            table_total: 0,
            memory_peak: 0,
        }
    }
}

impl ResourceLimiter for SummedLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let requested = self.memory_total.saturating_sub(current as u64).saturating_add(desired as u64);
        if requested > self.memory_limit {
            // A trap rather than `memory.grow` returning -1: the run ends with a
            // precise, typed error instead of whatever the guest allocator does.
            return Err(limit_trap(BlockRunError::MemoryLimit { limit: self.memory_limit, requested }));
        }
        self.memory_total = requested;
        self.memory_peak = self.memory_peak.max(requested);
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let requested = self.table_total.saturating_sub(current as u64).saturating_add(desired as u64);
        if requested > self.table_limit {
            return Err(limit_trap(BlockRunError::TableLimit { limit: self.table_limit, requested }));
        }
        self.table_total = requested;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}
