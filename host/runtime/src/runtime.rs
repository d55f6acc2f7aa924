//! The runtime: one engine, cached compiled blocks, and a fresh sandbox per run.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::admission::{Admission, AdmissionLimits};
use crate::bindings::BlockPre;
use crate::bindings::sandflow::block::types as wit;
use crate::block_run::{BlockRun, Manifest, RunRequest, RunUsage, parse_outcome};
use crate::cache::{ComponentCache, component_digest};
use crate::cancel::CancelFlag;
use crate::capabilities::RunGrant;
use crate::capabilities::http::OutboundHttp;
use crate::compile::Compiler;
use crate::config::RuntimeConfig;
use crate::engine::{engine_config, spawn_epoch_ticker};
use crate::error::{BlockRunError, LoadError, limit_trap};
use crate::limits::RunLimits;
use crate::run_state::RunState;
use crate::trap::{classify, explain_trap};

/// How much of a guest's stderr (panic messages) is kept to explain a trap.
const STDERR_CAPTURE_BYTES: usize = 4096;
/// Room for the small strings (route names, pause metadata) lifted with an output.
const HOSTCALL_FUEL_SLACK: usize = 64 << 10;
/// Extra time past the epoch deadline before the host gives up on a run that is
/// stuck inside a host call (epochs only interrupt wasm code).
const HOST_CALL_GRACE: Duration = Duration::from_secs(1);

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
        RunState::add_to_linker(&mut linker).map_err(|e| LoadError::World(format!("{e:#}")))?;
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
        self.finish_load(digest.clone(), digest, component).await
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
        // Reading its export section walks every section header: off the request threads too.
        let (digest, preinitialized) = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || (component_digest(&bytes), sandflow_snapshot::declares_init(&bytes)))
                .await
                .map_err(|e| LoadError::Compile(format!("hashing the component failed: {e}")))?
        };
        // An upload that exports the init function is compiled as its snapshot,
        // which is not what `load` compiles for the same bytes: cached apart.
        let cache_key = match preinitialized {
            true => format!("{digest}-preinitialized"),
            false => digest.clone(),
        };
        if let Some(block) = self.cached_block(&cache_key) {
            return Ok(block);
        }
        let component = match self.cache.lookup(&self.engine, &cache_key) {
            Some(component) => component,
            None => {
                let compiled = self.compiler.precompile(&self.engine, bytes, timeout).await?;
                self.cache.store(&cache_key, &compiled)?;
                // SAFETY: `compiled` is the output of `precompile_component` for
                // an engine of this configuration, from this process or from its
                // own compiler child, never bytes from outside; `deserialize`
                // checks its header and compatibility hash.
                unsafe { Component::deserialize(&self.engine, &compiled) }
                    .map_err(|e| LoadError::Compile(format!("{e:#}")))?
            }
        };
        self.finish_load(cache_key, digest, component).await
    }

    fn cached_block(&self, digest: &str) -> Option<Arc<LoadedBlock>> {
        self.loaded.lock().expect("block cache lock").get(digest).cloned()
    }

    /// Links a compiled component and reads its manifest; kept in memory under `cache_key`.
    async fn finish_load(
        &self,
        cache_key: String,
        digest: String,
        component: Component,
    ) -> Result<Arc<LoadedBlock>, LoadError> {
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| LoadError::World(format!("{e:#}")))?;
        let pre = BlockPre::new(instance_pre).map_err(|e| LoadError::World(format!("{e:#}")))?;
        let manifest = self.describe(&pre).await?;
        let block = Arc::new(LoadedBlock { digest, manifest, pre });
        self.loaded.lock().expect("block cache lock").entry(cache_key).or_insert(block.clone());
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
        let mut store = self.new_store(limits.clone(), HashMap::new(), BTreeMap::new(), deadline, None);
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
        let limits = request.limits.unwrap_or_else(|| self.config.default_limits.clone());
        // Refused, never lowered: a run given less memory than it asked for
        // would fail later, as a memory limit it did not set.
        let ceiling = self.config.max_memory_bytes;
        if limits.memory_bytes > ceiling {
            return BlockRun::refused(BlockRunError::MemoryAboveCeiling { requested: limits.memory_bytes, ceiling });
        }
        // The run's memory limit is held from the budget for the whole run:
        // what it may grow to, not what it uses, so no later growth can overdraw.
        let admitted = self
            .admission
            .admit(request.tenant.as_deref(), limits.memory_bytes, limits.timeout, request.cancel.as_ref())
            .await;
        let _admitted = match admitted {
            Ok(admitted) => admitted,
            Err(refused) => return BlockRun::refused(refused),
        };
        let started = Instant::now();
        let deadline = started + limits.timeout;
        let mut store =
            self.new_store(limits.clone(), request.env, request.variables, deadline, request.cancel.clone());
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
            let (env, vars) = store.data_mut().run_handles()?;
            let instance = block.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, &info, &params, env, vars).await
        })
        .await;

        let outcome = match called {
            Err(_elapsed) => Err(BlockRunError::Timeout { limit: limits.timeout }),
            Ok(Err(trap)) => Err(explain_trap(classify(trap, &limits), &store.data().stderr.head())),
            Ok(Ok(Err(wit::BlockError::InvalidInput(message)))) => Err(BlockRunError::InvalidInput(message)),
            Ok(Ok(Err(wit::BlockError::Failed(message)))) => Err(BlockRunError::Failed(message)),
            Ok(Ok(Ok(outcome))) => parse_outcome(outcome, limits.output_bytes),
        };
        let fuel_consumed =
            if self.config.fuel { limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)) } else { 0 };
        let mut state = store.into_data();
        let (logs, printed_past_limit) = state.finish_log();
        // A last printed line past the log's limit fails a run that had succeeded.
        let outcome = match printed_past_limit {
            Some(limit) if outcome.is_ok() => Err(limit),
            _ => outcome,
        };
        BlockRun {
            outcome,
            logs,
            variable_writes: state.capabilities.variables.into_writes(),
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
        deadline: Instant,
        cancel: Option<CancelFlag>,
    ) -> Store<RunState> {
        let grant = RunGrant {
            limits: &limits,
            env: granted_env,
            variables,
            deadline,
            cancel,
            outbound: self.outbound.clone(),
            max_in_run_wait: self.config.max_in_run_wait,
        };
        let state = RunState::new(grant, STDERR_CAPTURE_BYTES);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        if self.config.fuel {
            store.set_fuel(limits.fuel).expect("fuel is enabled on this engine");
        }
        // wasmtime charges this per host call *and* when lifting `run`'s result,
        // so it must admit the largest output; each capability's `HostCallLimit`
        // and `parse_outcome` then apply the two separate limits exactly.
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
            return Err(limit_trap(BlockRunError::Cancelled));
        }
        if Instant::now() >= deadline {
            return Err(limit_trap(BlockRunError::Timeout { limit: timeout }));
        }
        Ok(UpdateDeadline::Yield(1))
    });
}
