//! The wasmtime engine every run shares: pooling allocator, epochs, stacks,
//! and the thread that advances its epoch.

use std::thread;
use std::time::Duration;

use wasmtime::{Enabled, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::compile::compiler_config;
use crate::config::RuntimeConfig;

/// Per memory and per table: how much of a recycled pool slot is reset in
/// place rather than returned to the kernel.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// The engine's configuration for `config`.
pub(crate) fn engine_config(config: &RuntimeConfig) -> wasmtime::Config {
    let slots = config.max_concurrent_runs as u32;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_stacks(slots)
        .max_core_instances_per_component(32)
        .total_core_instances(slots * 32)
        .max_memories_per_component(4)
        .max_memories_per_module(4)
        .total_memories(slots * 4)
        .max_tables_per_component(16)
        .max_tables_per_module(4)
        .total_tables(slots * 16)
        .table_elements(20_000)
        .max_memory_size(config.max_memory_bytes as usize)
        // Reset a recycled slot by rewriting only the pages the last run dirtied
        // (found with PAGEMAP_SCAN on Linux 6.7+) instead of `madvise`, which
        // would fault every page back in and flush TLBs on every run.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);
    let mut wasm = compiler_config(config.fuel);
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        // Interpreters in guests (jq over a 10,000-deep value, JavaScript recursing through
        // `map`) recurse on the wasm stack: 4× wasmtime's 512 KiB default. The host functions keep
        // 2 MiB of their own; a pooled stack is only touched as deep as a run goes.
        .max_wasm_stack(MAX_WASM_STACK_BYTES)
        .async_stack_size(MAX_WASM_STACK_BYTES + HOST_STACK_BYTES);
    wasm
}

/// Wasm stack a run may use before it ends in [`wasmtime::Trap::StackOverflow`].
const MAX_WASM_STACK_BYTES: usize = 2 << 20;
/// Native stack left for host functions below a run's wasm frames.
const HOST_STACK_BYTES: usize = 2 << 20;

/// Advances the engine's epoch every `tick` until the engine is dropped.
pub(crate) fn spawn_epoch_ticker(engine: EngineWeak, tick: Duration) {
    thread::Builder::new()
        .name("sandflow-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(tick);
            }
        })
        .expect("spawning the epoch ticker thread");
}
