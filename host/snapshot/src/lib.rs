//! Pre-initialized block components: a snapshot taken once, every run starts from it.
//!
//! A block that exports [`INIT_EXPORT`] (the SDK's `export_block!(Block, init = ...)`
//! does) builds in it what every run needs: a JavaScript realm, parsed jq
//! definitions. [`pre_initialize`] instantiates the
//! component once, calls that export, and writes the instance's memories and
//! globals back into the component as its initial state (wasmtime's wizer). The
//! host then instantiates the snapshot fresh for every run, as before: each run
//! gets its own copy-on-write memory, so nothing one run writes reaches another.
//!
//! What a snapshot cannot hold, the init export is not given: every import (WASI,
//! the block capabilities) traps during the init run. So no host handle, clock
//! reading or random seed is ever frozen into a snapshot, and randomness a run
//! draws comes from that run's own WASI context. An init that calls an import
//! fails the snapshot with an error naming it.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wizer::Wizer;

/// The export a block provides to be pre-initialized: `func()`, run once before the snapshot.
pub const INIT_EXPORT: &str = "wizer-initialize";

/// Bounds on the init run: it is the component's own code, so for an uploaded
/// block it is as untrusted as a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitLimits {
    /// Fuel the init run may burn (wasm instructions, roughly).
    pub fuel: u64,
    /// Bytes each linear memory may grow to during the init run.
    pub memory_bytes: usize,
}

impl Default for InitLimits {
    /// Room for building a JavaScript realm or compiling jq's definitions many times over.
    fn default() -> Self {
        Self { fuel: 2_000_000_000, memory_bytes: 256 << 20 }
    }
}

/// Why a component could not be pre-initialized.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a component wasmtime compiles.
    #[error("the component does not compile: {0}")]
    Compile(String),
    /// The init run trapped, ran out of fuel, grew memory past the limit, or called an import.
    #[error("the init run failed: {0}")]
    Init(String),
    /// Wizer refused the component (for example a feature it cannot snapshot).
    #[error("the component cannot be snapshotted: {0}")]
    Unsupported(String),
}

/// Whether the component in `wasm` exports [`INIT_EXPORT`], read from its
/// export section alone, without compiling it.
pub fn declares_init(wasm: &[u8]) -> bool {
    use wasmparser::{Parser, Payload};
    // Nested modules and components have exports of their own: only the outermost count.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Err(_) => return false,
            Ok(Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(Payload::ComponentExportSection(exports))
                if depth == 0
                    && exports.clone().into_iter().flatten().any(|export| export.name.name == INIT_EXPORT) =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// Runs the component's [`INIT_EXPORT`] once under `limits` and returns the
/// component with that state as its initial state. `wasm` must export it (see
/// [`declares_init`]).
///
/// The snapshot still exports [`INIT_EXPORT`] (the host never calls it): wizer
/// 48 cannot remove it from a component built by Rust, whose core module's
/// export the component re-exports through an alias that the rewrite leaves
/// dangling (wasmtime issue #13168; [`pre_initialize_removing_init`] shows it).
pub fn pre_initialize(wasm: &[u8], limits: InitLimits) -> Result<Vec<u8>, SnapshotError> {
    snapshot(wasm, limits, true)
}

/// As [`pre_initialize`], with wizer's default of removing [`INIT_EXPORT`] from
/// the snapshot. For Rust components its output does not validate (wasmtime
/// issue #13168); kept so a test notices when a wizer upgrade fixes that.
pub fn pre_initialize_removing_init(wasm: &[u8], limits: InitLimits) -> Result<Vec<u8>, SnapshotError> {
    snapshot(wasm, limits, false)
}

fn snapshot(wasm: &[u8], limits: InitLimits, keep_init_func: bool) -> Result<Vec<u8>, SnapshotError> {
    let mut config = Config::new();
    config.consume_fuel(true);
    // The instrumented component is compiled once and run once: compile it fast.
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    // Memories grow in place as they are used, with explicit bounds checks, instead of
    // reserving 4 GiB of address space each: uploads are snapshotted in the compiler child,
    // whose address space is capped.
    config.memory_reservation(0).memory_guard_size(0).memory_reservation_for_growth(1 << 20);
    let engine = Engine::new(&config).map_err(|e| SnapshotError::Compile(format!("{e:#}")))?;
    let limiter = StoreLimitsBuilder::new().memory_size(limits.memory_bytes).trap_on_grow_failure(true).build();
    let mut store = Store::new(&engine, limiter);
    store.limiter(|limiter: &mut StoreLimits| limiter);
    store.set_fuel(limits.fuel).expect("fuel is enabled on this engine");
    let mut wizer = Wizer::new();
    wizer.init_func(INIT_EXPORT).keep_init_func(keep_init_func);
    // Wizer itself refuses an init export that is not `func()`, before instantiating.
    let snapshot = wizer.run_component(&mut store, wasm, async |store, component| {
        let mut linker = Linker::new(store.engine());
        linker.define_unknown_imports_as_traps(component)?;
        linker.instantiate_async(store, component).await
    });
    match run_to_completion(snapshot) {
        Ok((bytes, _results)) => Ok(bytes),
        Err(error) => Err(classify(error)),
    }
}

fn classify(error: wasmtime::Error) -> SnapshotError {
    let message = format!("{error:#}");
    if message.contains("initialization function trapped") || error.downcast_ref::<wasmtime::Trap>().is_some() {
        // The cause first (the import called, fuel used up): the wasm backtrace can be long,
        // and an API answer quoting this is cut short.
        SnapshotError::Init(format!("{}; {message}", error.root_cause()))
    } else if message.contains("failed to compile") {
        SnapshotError::Compile(message)
    } else {
        SnapshotError::Unsupported(message)
    }
}

/// Drives a future that never waits on anything outside itself: the init run
/// makes no host calls (every import traps) and no fuel or epoch yields are set,
/// so wasmtime's fiber finishes within the first poll.
fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}
