//! Typed failures of loading and running a block.

use std::time::Duration;

/// Why a block run failed. Callers match on this: the engine decides between an
/// error edge and failing the execution, the API reports the variant's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockRunError {
    /// The run used up its fuel budget (deterministic CPU limit).
    #[error("out of fuel: the block used its budget of {limit} fuel units")]
    OutOfFuel { limit: u64 },
    /// The block's linear memories together would exceed the memory limit.
    #[error("memory limit exceeded: the block asked for {requested} bytes, the limit is {limit}")]
    MemoryLimit { limit: u64, requested: u64 },
    /// The run asked for a memory limit above the runtime's ceiling
    /// ([`crate::RuntimeConfig::max_memory_bytes`], the size of a pooled
    /// memory slot): refused before it starts rather than run with less.
    #[error(
        "memory limit above the runtime's ceiling: the run asks for a limit of {requested} bytes, the most this \
         runtime gives one run is {ceiling} bytes"
    )]
    MemoryAboveCeiling { requested: u64, ceiling: u64 },
    /// The block's tables together would exceed the table element limit.
    #[error("table limit exceeded: the block asked for {requested} table elements, the limit is {limit}")]
    TableLimit { limit: u64, requested: u64 },
    /// The run passed its wall-clock deadline.
    #[error("timed out after {}ms", .limit.as_millis())]
    Timeout { limit: Duration },
    /// The run was cancelled from outside.
    #[error("cancelled")]
    Cancelled,
    /// The block recursed past the wasm stack limit.
    #[error("stack overflow")]
    StackOverflow,
    /// The server-wide guest-memory budget (or the tenant's share of it)
    /// cannot hold the run's memory limit, now or within the run's timeout.
    #[error(
        "memory budget exhausted: the run's memory limit of {requested} bytes does not fit the guest-memory \
         budget of {budget} bytes"
    )]
    MemoryBudget { requested: u64, budget: u64 },
    /// The block returned more output than allowed.
    #[error("output too large: over the limit of {limit} bytes")]
    OutputTooLarge { limit: usize },
    /// The block returned text that is not JSON.
    #[error("output is not JSON: {0}")]
    OutputNotJson(String),
    /// The block logged more than allowed.
    #[error("log limit exceeded: more than {limit} bytes of logs")]
    LogLimit { limit: usize },
    /// The block wrote more log entries than allowed.
    #[error("log limit exceeded: more than {limit} log entries")]
    LogEntryLimit { limit: usize },
    /// The block held more handles (resources, streams) than allowed.
    #[error("handle limit exceeded: more than {limit} live handles")]
    HandleLimit { limit: usize },
    /// The block passed more data to one host call than allowed.
    #[error("host call data limit exceeded: {call} was passed over {limit} bytes")]
    HostCallLimit { call: &'static str, limit: usize },
    /// The block reported that its params are unusable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The block reported a failure.
    #[error("{0}")]
    Failed(String),
    /// Any other trap: `unreachable` (a Rust panic), a bad handle, a failed host call.
    #[error("trap: {0}")]
    Trap(String),
}

/// Why a component could not become a runnable block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not a valid component, or the compiler rejected it.
    #[error("not a valid component: {0}")]
    Compile(String),
    /// The compile did not finish (waiting for a compile slot included) within its time limit.
    #[error("the component did not compile within {}s", .limit.as_secs_f64())]
    CompileTimeout { limit: Duration },
    /// The compiler process ran out of its memory limit.
    #[error("compiling the component needs more than the compile memory limit of {limit} bytes")]
    CompileMemory { limit: u64 },
    /// Too many compiles are waiting already.
    #[error("{limit} compiles are waiting already, the most this server queues; retry later")]
    CompileBusy { limit: usize },
    /// The component imports or exports do not match the `sandflow:block/block` world.
    #[error("does not satisfy the sandflow:block/block world: {0}")]
    World(String),
    /// `describe` failed or returned an unusable manifest.
    #[error("bad manifest: {0}")]
    Manifest(String),
    /// The component exports the init function and its init run failed
    /// (trapped, ran out of fuel or memory, or called an import).
    #[error("the component's init (pre-initialization) failed: {0}")]
    Init(String),
    /// The on-disk component cache failed.
    #[error("component cache: {0}")]
    Cache(String),
}

/// A limit a host function or the resource limiter enforced. Travels inside a
/// `wasmtime::Error` from the point of the trap to [`crate::Runtime::run`],
/// where it becomes a [`BlockRunError`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostLimitTrap(pub BlockRunError);

/// Ends the run with `error`, from inside a host call, the resource limiter or
/// the epoch callback.
pub(crate) fn limit_trap(error: BlockRunError) -> wasmtime::Error {
    wasmtime::Error::new(HostLimitTrap(error))
}
