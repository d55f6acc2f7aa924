//! The blocks a tenant's executions can run: the standard blocks, shared by
//! everyone, and the tenant's own custom blocks, compiled once and kept; and
//! each tenant's engine over them, kept while its block list stays the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandflow_engine::{Engine, EngineSettings};
use sandflow_runtime::LoadedBlock;
use sandflow_store::{BlockRecord, Store};
use sandflow_wasm_runner::WasmBlockRunner;

use crate::tenant::Tenant;

/// A custom block's digest and its compiled form.
type CompiledBlock = (String, Arc<LoadedBlock>);

/// Most tenants whose engine is kept; past it they are all dropped and rebuilt on use.
const MAX_KEPT_ENGINES: usize = 1_024;

/// A tenant's engine and the custom blocks (type, digest) it was built with.
struct TenantEngine {
    blocks: Vec<(String, String)>,
    engine: Engine<WasmBlockRunner>,
}

/// The standard blocks and every tenant's custom blocks compiled so far.
pub struct TenantBlocks {
    store: Arc<dyn Store>,
    /// The standard blocks; a tenant's runner adds its custom blocks.
    standard: Arc<WasmBlockRunner>,
    /// Time to compile a stored component (it came from a tenant).
    compile_timeout: Duration,
    /// Custom blocks already compiled, by tenant, type and digest.
    custom: Mutex<HashMap<(Tenant, String), CompiledBlock>>,
    settings: EngineSettings,
    /// Each tenant's engine: what its validations worked out (compiled input schemas, the
    /// workflows it validated lately) serves every later execution with the same blocks.
    engines: Mutex<HashMap<Tenant, TenantEngine>>,
}

impl TenantBlocks {
    /// The standard blocks of `standard`, and custom blocks read from `store`, run by
    /// engines with `settings`.
    pub fn new(
        store: Arc<dyn Store>,
        standard: Arc<WasmBlockRunner>,
        compile_timeout: Duration,
        settings: EngineSettings,
    ) -> Self {
        Self { store, standard, compile_timeout, custom: Mutex::default(), settings, engines: Mutex::default() }
    }

    /// The runner of the standard blocks alone.
    pub fn standard(&self) -> &Arc<WasmBlockRunner> {
        &self.standard
    }

    /// Remembers a compiled custom block of a tenant.
    pub fn cache_custom_block(&self, tenant: &Tenant, block_type: &str, digest: &str, block: Arc<LoadedBlock>) {
        self.custom
            .lock()
            .expect("custom blocks")
            .insert((tenant.clone(), block_type.to_string()), (digest.to_string(), block));
    }

    /// The engine of this tenant's executions: over the standard blocks plus
    /// this tenant's custom blocks, and no one else's; its runs count against
    /// the tenant's share of run slots and memory. The tenant's block list is
    /// read each time (another server may have changed it); the engine is
    /// built again only when the list changed.
    pub async fn engine_for(&self, tenant: &Tenant) -> Engine<WasmBlockRunner> {
        let records = self.store.list_blocks(tenant.as_str()).await.unwrap_or_default();
        let blocks: Vec<(String, String)> = records.iter().map(|r| (r.block_type.clone(), r.digest.clone())).collect();
        if let Some(kept) = self.engines.lock().expect("engines").get(tenant).filter(|kept| kept.blocks == blocks) {
            return kept.engine.clone();
        }
        let (runner, complete) = self.runner_with(tenant, records).await;
        let engine = Engine::new(runner, self.settings.clone());
        // A block that did not load is tried again next time rather than left out for good.
        if complete {
            let mut engines = self.engines.lock().expect("engines");
            if engines.len() >= MAX_KEPT_ENGINES {
                engines.clear();
            }
            engines.insert(tenant.clone(), TenantEngine { blocks, engine: engine.clone() });
        }
        engine
    }

    /// The standard blocks plus the custom blocks of `records`; false with it
    /// if one of those did not load and is left out.
    async fn runner_with(&self, tenant: &Tenant, records: Vec<BlockRecord>) -> (Arc<WasmBlockRunner>, bool) {
        if records.is_empty() {
            return (Arc::new(self.standard.for_tenant(tenant.as_str())), true);
        }
        let mut complete = true;
        let mut extra = Vec::new();
        for record in records {
            let cached = self
                .custom
                .lock()
                .expect("custom blocks")
                .get(&(tenant.clone(), record.block_type.clone()))
                .filter(|(digest, _)| *digest == record.digest)
                .map(|(_, block)| block.clone());
            let block = match cached {
                Some(block) => block,
                None => {
                    let Ok(Some(bytes)) = self.store.get_block_component(tenant.as_str(), &record.block_type).await
                    else {
                        complete = false;
                        continue;
                    };
                    // Stored bytes came from a tenant: the same bounded compile as an upload.
                    match self.standard.runtime().load_untrusted(&bytes, self.compile_timeout).await {
                        Ok(block) => {
                            self.cache_custom_block(tenant, &record.block_type, &record.digest, block.clone());
                            block
                        }
                        Err(error) => {
                            tracing::warn!(block_type = %record.block_type, %error, "a custom block does not load");
                            complete = false;
                            continue;
                        }
                    }
                }
            };
            extra.push((record.block_type, block));
        }
        (Arc::new(self.standard.for_tenant(tenant.as_str()).with_extra_blocks(extra)), complete)
    }
}
