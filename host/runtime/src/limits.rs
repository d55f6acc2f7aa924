//! Limits of one block run.

use std::time::Duration;

/// Per-run limits. Every size and count a guest controls is bounded here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLimits {
    /// Fuel units (≈ wasm instructions) per run; only enforced when the runtime
    /// was built with [`crate::RuntimeConfig::fuel`].
    pub fuel: u64,
    /// Bytes of linear memory, summed over every memory of the component.
    pub memory_bytes: u64,
    /// Wall-clock deadline of the run.
    pub timeout: Duration,
    /// Elements over every table of the component.
    pub table_elements: u64,
    /// Core instances, tables and memories per component instance.
    pub instances: usize,
    pub tables: usize,
    pub memories: usize,
    /// Live resource handles (capabilities, WASI streams, pollables).
    pub handles: usize,
    /// Bytes the guest may pass to one host call.
    pub hostcall_bytes: usize,
    /// Bytes of JSON the run may return; also bounds the sum of its variable writes.
    pub output_bytes: usize,
    /// Bytes of log messages per run.
    pub log_bytes: usize,
    /// Log entries per run: an empty message still costs the host an entry.
    pub log_entries: usize,
    /// Bytes per workflow variable value written.
    pub variable_bytes: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            fuel: 1_000_000_000,
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            table_elements: 10_000,
            instances: 32,
            tables: 16,
            memories: 4,
            handles: 1_000,
            hostcall_bytes: 1 << 20,
            output_bytes: 1 << 20,
            log_bytes: 64 << 10,
            log_entries: 1_000,
            variable_bytes: 256 << 10,
        }
    }
}
