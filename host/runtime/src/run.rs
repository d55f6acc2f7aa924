//! The runtime: one engine, cached compiled blocks, and a fresh sandbox per run.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmtime::component::{Component, Linker, ResourceTable, ResourceTableError};
use wasmtime::{
    Enabled, Engine, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline,
    WasmBacktrace,
};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::admission::{Admission, AdmissionLimits};
use crate::bindings::sandflow::block::types as wit;
use crate::bindings::{Block, BlockPre};
use crate::cache::{ComponentCache, component_digest};
use crate::compile::Compiler;
use crate::error::{BlockRunError, HostLimitTrap, LoadError};
use crate::host::{EnvHandle, RunState, SummedLimiter, VariablesHandle};
use crate::http::OutboundHttp;
use crate::limits::{RunLimits, RuntimeConfig};

/// How much of a guest's stderr (panic messages) is kept to explain a trap.
const STDERR_CAPTURE_BYTES: usize = 4096;
/// Per memory and per table: how much of a recycled pool slot is reset in
/// place rather than returned to the kernel.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;
/// Room for the small strings (route names, pause metadata) lifted with an output.
const HOSTCALL_FUEL_SLACK: usize = 64 << 10;
/// Extra time past the epoch deadline before the host gives up on a run that is
/// stuck inside a host call (epochs only interrupt wasm code).
const HOST_CALL_GRACE: Duration = Duration::from_secs(1);

/// What a block says about itself (`describe`), with its schemas parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub input_schema: Value,
    pub output_schema: Value,
}

/// A compiled, linked, described block, ready to instantiate many times.
pub struct LoadedBlock {
    digest: String,
    manifest: Manifest,
    pre: BlockPre<RunState>,
}

impl LoadedBlock {
    /// The SHA-256 of the component bytes.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The block's manifest from `describe`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

impl std::fmt::Debug for LoadedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedBlock").field("digest", &self.digest).field("manifest", &self.manifest).finish()
    }
}

/// Identity of one block run, as the block sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockInfo {
    pub execution_id: String,
    pub workflow_id: String,
    pub block_id: String,
    pub block_name: String,
    pub attempt: u32,
    pub resume_input: Option<Value>,
}

/// A flag that stops a run at the next epoch tick once raised.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl From<Arc<AtomicBool>> for CancelFlag {
    /// Shares a flag the caller already raises (the engine's cancellation).
    fn from(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }
}

impl CancelFlag {
    /// Asks every run holding this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelFlag::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything one run needs besides the block itself.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub info: BlockInfo,
    /// Whose run this is: runs of one tenant hold at most its share of the
    /// run slots and of the memory budget. `None` takes only server-wide ones.
    pub tenant: Option<String>,
    /// The block's params, references already resolved.
    pub params: Value,
    /// The environment variables granted to this block, by name.
    pub env: HashMap<String, String>,
    /// The execution's workflow variables as the block starts.
    pub variables: BTreeMap<String, Value>,
    /// Limits of this run; the runtime's defaults when `None`.
    pub limits: Option<RunLimits>,
    pub cancel: Option<CancelFlag>,
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockOutcome {
    Done(Value),
    Route { route: String, output: Value },
    Pause { response: Value, resume_after_ms: Option<u64>, input_schema: Option<Value> },
}

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One line a block logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestLog {
    pub level: LogLevel,
    pub message: String,
}

/// Resources one run used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunUsage {
    /// Fuel burnt; 0 when the runtime runs without fuel.
    pub fuel_consumed: u64,
    /// Highest total linear memory of the instance, in bytes.
    pub memory_peak_bytes: u64,
    pub duration: Duration,
}

/// The result of one run: its outcome or typed failure, plus what it left behind.
#[derive(Debug, Clone)]
pub struct BlockRun {
    pub outcome: Result<BlockOutcome, BlockRunError>,
    pub logs: Vec<GuestLog>,
    /// Variable writes of the run; the engine applies them only when it succeeded.
    pub variable_writes: BTreeMap<String, Value>,
    pub usage: RunUsage,
}

/// Runs blocks: owns the engine, the compiled-block caches and the epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<RunState>,
    cache: ComponentCache,
    loaded: Mutex<HashMap<String, Arc<LoadedBlock>>>,
    config: RuntimeConfig,
    admission: Admission,
    admission_limits: AdmissionLimits,
    compiler: Compiler,
    outbound: Arc<OutboundHttp>,
}

impl Runtime {
    /// Builds the engine (pooling allocator, epochs, optional fuel), the linker
    /// with the block capabilities and an empty WASI, and starts the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Self, LoadError> {
        let engine = Engine::new(&engine_config(&config)).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        let link = |e: wasmtime::Error| LoadError::World(format!("{e:#}"));
        // Blocks built by rustc import parts of WASI (stdio, clocks, random);
        // each run gets an empty context: no env, no args, no files, no sockets.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link)?;
        Block::add_to_linker::<_, wasmtime::component::HasSelf<RunState>>(&mut linker, |state| state).map_err(link)?;
        let cache = ComponentCache::open(&engine, config.cache_dir.as_deref())?;
        let outbound = Arc::new(OutboundHttp::new(config.http.clone()).map_err(LoadError::Compile)?);
        spawn_epoch_ticker(engine.weak(), config.epoch_tick);
        let admission_limits = AdmissionLimits::of(&config);
        Ok(Self {
            outbound,
            admission: Admission::new(admission_limits),
            admission_limits,
            compiler: Compiler::new(config.compile.clone(), config.fuel),
            engine,
            linker,
            cache,
            loaded: Mutex::default(),
            config,
        })
    }

    /// The runtime's settings.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The run slots and memory budget in force, defaults resolved.
    pub fn admission_limits(&self) -> AdmissionLimits {
        self.admission_limits
    }

    /// Bytes of the guest-memory budget no run holds now.
    pub fn memory_budget_available(&self) -> u64 {
        self.admission.memory_available()
    }

    /// Compiles (or fetches from cache), links and describes a component.
    /// Loading the same bytes twice returns the same block. Compiles in
    /// place, on the caller's thread, without a time or memory bound: for
    /// the host's own blocks. Uploads go through [`Runtime::load_untrusted`].
    pub async fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedBlock>, LoadError> {
        let digest = component_digest(bytes);
        if let Some(block) = self.cached_block(&digest) {
            return Ok(block);
        }
        let component = self.cache.load(&self.engine, &digest, bytes)?;
        self.finish_load(digest, component).await
    }

    /// As [`Runtime::load`], for bytes from outside: compiled off the async
    /// threads by the bounded compile line ([`crate::CompileConfig`]), in a
    /// memory-capped child process when one is configured, within `timeout`
    /// (waiting for a compile slot included). Only a finished compile is
    /// cached, so bytes that failed or timed out are compiled (and refused)
    /// again if they come back.
    pub async fn load_untrusted(&self, bytes: &[u8], timeout: Duration) -> Result<Arc<LoadedBlock>, LoadError> {
        let bytes: Arc<[u8]> = bytes.into();
        // Hashing megabytes takes a request thread for milliseconds (far more
        // in a debug build): on a blocking thread, so `/healthz` and other
        // requests are answered while uploads arrive.
        let digest = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || component_digest(&bytes))
                .await
                .map_err(|e| LoadError::Compile(format!("hashing the component failed: {e}")))?
        };
        if let Some(block) = self.cached_block(&digest) {
            return Ok(block);
        }
        let component = match self.cache.lookup(&self.engine, &digest) {
            Some(component) => component,
            None => {
                let compiled = self.compiler.precompile(&self.engine, bytes, timeout).await?;
                self.cache.store(&digest, &compiled)?;
                // SAFETY: `compiled` is the output of `precompile_component` for
                // an engine of this configuration, from this process or from its
                // own compiler child, never bytes from outside; `deserialize`
                // checks its header and compatibility hash.
                unsafe { Component::deserialize(&self.engine, &compiled) }
                    .map_err(|e| LoadError::Compile(format!("{e:#}")))?
            }
        };
        self.finish_load(digest, component).await
    }

    fn cached_block(&self, digest: &str) -> Option<Arc<LoadedBlock>> {
        self.loaded.lock().expect("block cache lock").get(digest).cloned()
    }

    /// Links a compiled component and reads its manifest.
    async fn finish_load(&self, digest: String, component: Component) -> Result<Arc<LoadedBlock>, LoadError> {
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| LoadError::World(format!("{e:#}")))?;
        let pre = BlockPre::new(instance_pre).map_err(|e| LoadError::World(format!("{e:#}")))?;
        let manifest = self.describe(&pre).await?;
        let block = Arc::new(LoadedBlock { digest: digest.clone(), manifest, pre });
        self.loaded.lock().expect("block cache lock").entry(digest).or_insert(block.clone());
        Ok(block)
    }

    async fn describe(&self, pre: &BlockPre<RunState>) -> Result<Manifest, LoadError> {
        let limits = self.config.default_limits.clone();
        let _admitted = self
            .admission
            .admit(None, limits.memory_bytes, limits.timeout, None)
            .await
            .map_err(|e| LoadError::Manifest(format!("describe was not admitted: {e}")))?;
        let deadline = Instant::now() + limits.timeout;
        let mut store = self.new_store(limits.clone(), HashMap::new(), BTreeMap::new(), None, deadline, None);
        watch_deadline(&mut store, deadline, limits.timeout, None);
        let described = tokio::time::timeout(limits.timeout + HOST_CALL_GRACE, async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        })
        .await;
        let manifest = match described {
            Ok(Ok(manifest)) => manifest,
            Ok(Err(e)) => return Err(LoadError::Manifest(format!("describe failed: {}", classify(e, &limits)))),
            Err(_) => return Err(LoadError::Manifest("describe timed out".into())),
        };
        let schema = |field: &str, text: &str| {
            serde_json::from_str::<Value>(text).map_err(|e| LoadError::Manifest(format!("{field} is not JSON: {e}")))
        };
        if manifest.name.is_empty() {
            return Err(LoadError::Manifest("name is empty".into()));
        }
        Ok(Manifest {
            input_schema: schema("input-schema", &manifest.input_schema)?,
            output_schema: schema("output-schema", &manifest.output_schema)?,
            name: manifest.name,
            version: manifest.version,
            description: manifest.description,
        })
    }

    /// Runs `block` once in a fresh sandbox and tears the sandbox down.
    pub async fn run(&self, block: &LoadedBlock, request: RunRequest) -> BlockRun {
        let mut limits = request.limits.unwrap_or_else(|| self.config.default_limits.clone());
        limits.memory_bytes = limits.memory_bytes.min(self.config.max_memory_bytes);
        // The run's memory limit is held from the budget for the whole run:
        // what it may grow to, not what it uses, so no later growth can overdraw.
        let admitted = self
            .admission
            .admit(request.tenant.as_deref(), limits.memory_bytes, limits.timeout, request.cancel.as_ref())
            .await;
        let _admitted = match admitted {
            Ok(admitted) => admitted,
            Err(refused) => {
                return BlockRun {
                    outcome: Err(refused),
                    logs: Vec::new(),
                    variable_writes: BTreeMap::new(),
                    usage: RunUsage::default(),
                };
            }
        };
        let started = Instant::now();
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let deadline = started + limits.timeout;
        let mut store = self.new_store(
            limits.clone(),
            request.env,
            request.variables,
            Some(stderr.clone()),
            deadline,
            request.cancel.clone(),
        );
        watch_deadline(&mut store, deadline, limits.timeout, request.cancel);

        let info = wit::BlockInfo {
            execution_id: request.info.execution_id,
            workflow_id: request.info.workflow_id,
            block_id: request.info.block_id,
            block_name: request.info.block_name,
            attempt: request.info.attempt,
            resume_input: request.info.resume_input.map(|v| v.to_string()),
        };
        let params = request.params.to_string();
        let called = tokio::time::timeout(limits.timeout + HOST_CALL_GRACE, async {
            let env = store.data_mut().table.push(EnvHandle)?;
            let vars = store.data_mut().table.push(VariablesHandle)?;
            let instance = block.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, &info, &params, env, vars).await
        })
        .await;

        let outcome = match called {
            Err(_elapsed) => Err(BlockRunError::Timeout { limit: limits.timeout }),
            Ok(Err(trap)) => Err(explain_trap(classify(trap, &limits), &stderr)),
            Ok(Ok(Err(wit::BlockError::InvalidInput(message)))) => Err(BlockRunError::InvalidInput(message)),
            Ok(Ok(Err(wit::BlockError::Failed(message)))) => Err(BlockRunError::Failed(message)),
            Ok(Ok(Ok(outcome))) => parse_outcome(outcome, limits.output_bytes),
        };
        let fuel_consumed =
            if self.config.fuel { limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)) } else { 0 };
        let state = store.into_data();
        BlockRun {
            outcome,
            logs: state.logs,
            variable_writes: state.variable_writes,
            usage: RunUsage {
                fuel_consumed,
                memory_peak_bytes: state.limiter.memory_peak,
                duration: started.elapsed(),
            },
        }
    }

    fn new_store(
        &self,
        limits: RunLimits,
        granted_env: HashMap<String, String>,
        variables: BTreeMap<String, Value>,
        stderr: Option<MemoryOutputPipe>,
        deadline: Instant,
        cancel: Option<CancelFlag>,
    ) -> Store<RunState> {
        let mut wasi = WasiCtx::builder();
        if let Some(stderr) = stderr {
            wasi.stderr(stderr);
        }
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.handles);
        let state = RunState {
            wasi: wasi.build(),
            table,
            limiter: SummedLimiter::new(&limits),
            granted_env,
            variables,
            variable_writes: BTreeMap::new(),
            variable_write_bytes: 0,
            logs: Vec::new(),
            log_bytes: 0,
            limits: limits.clone(),
            deadline,
            cancel,
            outbound: self.outbound.clone(),
            http_requests: 0,
            max_in_run_wait: self.config.max_in_run_wait,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        if self.config.fuel {
            store.set_fuel(limits.fuel).expect("fuel is enabled on this engine");
        }
        // wasmtime charges this per host call *and* when lifting `run`'s result,
        // so it must admit the largest output; `check_hostcall` and
        // `parse_outcome` then apply the two separate limits exactly.
        store.set_hostcall_fuel(limits.hostcall_bytes.max(limits.output_bytes) + HOSTCALL_FUEL_SLACK);
        store.set_max_component_handles(limits.handles);
        store
    }
}

/// Stops the run at the first epoch tick past `deadline` or after `cancel` is
/// raised, and yields to tokio at every tick so a spinning guest never holds a
/// worker thread for longer than one tick.
fn watch_deadline(store: &mut Store<RunState>, deadline: Instant, timeout: Duration, cancel: Option<CancelFlag>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
            return Err(wasmtime::Error::new(HostLimitTrap(BlockRunError::Cancelled)));
        }
        if Instant::now() >= deadline {
            return Err(wasmtime::Error::new(HostLimitTrap(BlockRunError::Timeout { limit: timeout })));
        }
        Ok(UpdateDeadline::Yield(1))
    });
}

/// Maps a wasmtime error to the typed failure a caller matches on.
fn classify(error: wasmtime::Error, limits: &RunLimits) -> BlockRunError {
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
fn explain_trap(error: BlockRunError, stderr: &MemoryOutputPipe) -> BlockRunError {
    let BlockRunError::Trap(message) = error else {
        return error;
    };
    let printed = stderr.contents();
    if printed.is_empty() {
        return BlockRunError::Trap(message);
    }
    BlockRunError::Trap(format!("{message}\nguest stderr: {}", String::from_utf8_lossy(&printed).trim_end()))
}

fn parse_outcome(outcome: wit::Outcome, output_limit: usize) -> Result<BlockOutcome, BlockRunError> {
    let parse = |text: &str| {
        if text.len() > output_limit {
            return Err(BlockRunError::OutputTooLarge { limit: output_limit });
        }
        serde_json::from_str::<Value>(text).map_err(|e| BlockRunError::OutputNotJson(e.to_string()))
    };
    Ok(match outcome {
        wit::Outcome::Done(output) => BlockOutcome::Done(parse(&output)?),
        wit::Outcome::Route(routed) => BlockOutcome::Route { output: parse(&routed.output)?, route: routed.route },
        wit::Outcome::Pause(pause) => BlockOutcome::Pause {
            response: parse(&pause.response)?,
            resume_after_ms: pause.resume_after_ms,
            input_schema: pause.input_schema.as_deref().map(parse).transpose()?,
        },
    })
}

/// What decides the compiled code: the compiler child builds its engine from
/// this too, so its output loads into the runtime's engine.
pub(crate) fn compiler_config(fuel: bool) -> wasmtime::Config {
    let mut wasm = wasmtime::Config::new();
    wasm.epoch_interruption(true).consume_fuel(fuel);
    wasm
}

fn engine_config(config: &RuntimeConfig) -> wasmtime::Config {
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

/// Wasm stack a run may use before it ends in [`Trap::StackOverflow`].
const MAX_WASM_STACK_BYTES: usize = 2 << 20;
/// Native stack left for host functions below a run's wasm frames.
const HOST_STACK_BYTES: usize = 2 << 20;

/// Advances the engine's epoch every `tick` until the engine is dropped.
fn spawn_epoch_ticker(engine: EngineWeak, tick: Duration) {
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
