//! From a wasmtime error to the typed failure a caller matches on.

use wasmtime::component::ResourceTableError;
use wasmtime::{Trap, WasmBacktrace};

use crate::error::{BlockRunError, HostLimitTrap};
use crate::limits::RunLimits;

/// Maps a wasmtime error to the typed failure a caller matches on.
pub(crate) fn classify(error: wasmtime::Error, limits: &RunLimits) -> BlockRunError {
    if let Some(HostLimitTrap(limit)) = error.downcast_ref::<HostLimitTrap>() {
        return limit.clone();
    }
    if let Some(ResourceTableError::Full) = error.downcast_ref::<ResourceTableError>() {
        return BlockRunError::HandleLimit { limit: limits.handles };
    }
    // wasmtime's own guard on data copied out of the guest has no public type;
    // its message is stable API text. From inside a host call the error carries
    // a wasm backtrace; while lifting `run`'s result the guest has returned.
    if error.chain().any(|cause| cause.to_string().contains("fuel allocated for hostcalls has been exhausted")) {
        return if error.downcast_ref::<WasmBacktrace>().is_some() {
            BlockRunError::HostCallLimit { call: "host call", limit: limits.hostcall_bytes }
        } else {
            BlockRunError::OutputTooLarge { limit: limits.output_bytes }
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => BlockRunError::OutOfFuel { limit: limits.fuel },
        Some(Trap::StackOverflow) => BlockRunError::StackOverflow,
        Some(Trap::Interrupt) => BlockRunError::Timeout { limit: limits.timeout },
        // The cause alone ("wasm trap: ..."); the wasm backtrace is for debugging, not for users.
        Some(trap) => BlockRunError::Trap(format!("wasm trap: {trap}")),
        None => BlockRunError::Trap(error.root_cause().to_string()),
    }
}

/// Adds what the guest printed to stderr (a Rust panic message) to a plain trap.
pub(crate) fn explain_trap(error: BlockRunError, printed: &[u8]) -> BlockRunError {
    let BlockRunError::Trap(message) = error else {
        return error;
    };
    if printed.is_empty() {
        return BlockRunError::Trap(message);
    }
    BlockRunError::Trap(format!("{message}\nguest stderr: {}", String::from_utf8_lossy(printed).trim_end()))
}
