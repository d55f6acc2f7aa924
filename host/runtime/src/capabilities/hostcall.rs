//! The data limit of one host call, which every capability applies to what
//! the guest passes in before using it.

use crate::error::{BlockRunError, limit_trap};
use crate::limits::RunLimits;

/// Bytes the guest may pass to one host call ([`RunLimits::hostcall_bytes`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostCallLimit {
    bytes: usize,
}

impl HostCallLimit {
    pub fn of(limits: &RunLimits) -> Self {
        Self { bytes: limits.hostcall_bytes }
    }

    /// Refuses arguments larger than the limit, before they are used.
    pub fn check(self, call: &'static str, size: usize) -> wasmtime::Result<()> {
        if size > self.bytes {
            return Err(limit_trap(BlockRunError::HostCallLimit { call, limit: self.bytes }));
        }
        Ok(())
    }
}
