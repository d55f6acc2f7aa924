//! The blocks a tenant's executions can run: the standard blocks, shared by
//! everyone, and the tenant's own custom blocks, compiled once and kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandflow_runtime::LoadedBlock;
use sandflow_store::Store;
use sandflow_wasm_runner::WasmBlockRunner;

use crate::tenant::Tenant;

/// A custom block's digest and its compiled form.
type CompiledBlock = (String, Arc<LoadedBlock>);

/// The standard blocks and every tenant's custom blocks compiled so far.
pub struct TenantBlocks {
    store: Arc<dyn Store>,
    /// The standard blocks; a tenant's runner adds its custom blocks.
    standard: Arc<WasmBlockRunner>,
    /// Time to compile a stored component (it came from a tenant).
    compile_timeout: Duration,
    /// Custom blocks already compiled, by tenant, type and digest.
    custom: Mutex<HashMap<(Tenant, String), CompiledBlock>>,
}

impl TenantBlocks {
    /// The standard blocks of `standard`, and custom blocks read from `store`.
    pub fn new(store: Arc<dyn Store>, standard: Arc<WasmBlockRunner>, compile_timeout: Duration) -> Self {
        Self { store, standard, compile_timeout, custom: Mutex::default() }
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

    /// The standard blocks plus this tenant's custom blocks, and no one
    /// else's; its runs count against the tenant's share of run slots and memory.
    pub async fn runner_for(&self, tenant: &Tenant) -> Arc<WasmBlockRunner> {
        let records = self.store.list_blocks(tenant.as_str()).await.unwrap_or_default();
        if records.is_empty() {
            return Arc::new(self.standard.for_tenant(tenant.as_str()));
        }
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
                            continue;
                        }
                    }
                }
            };
            extra.push((record.block_type, block));
        }
        Arc::new(self.standard.for_tenant(tenant.as_str()).with_extra_blocks(extra))
    }
}
