//! The state one block run's store owns: an empty WASI, the handle table, the
//! memory limiter and the run's capabilities.

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{EnvHandle, VariablesHandle};
use crate::capabilities::{self, Capabilities, CapabilityHost, RunGrant};
use crate::limiter::SummedLimiter;

/// Everything a single block run owns. Dropped with its `Store` when the run ends.
pub(crate) struct RunState {
    wasi: WasiCtx,
    /// Live resource handles (the capability tokens, WASI streams, pollables).
    table: ResourceTable,
    pub limiter: SummedLimiter,
    pub capabilities: Capabilities,
}

impl RunState {
    /// A run's state under `grant`; `stderr` captures what the guest prints there.
    pub fn new(grant: RunGrant<'_>, stderr: Option<MemoryOutputPipe>) -> Self {
        let mut wasi = WasiCtx::builder();
        if let Some(stderr) = stderr {
            wasi.stderr(stderr);
        }
        let mut table = ResourceTable::new();
        table.set_max_capacity(grant.limits.handles);
        Self {
            wasi: wasi.build(),
            table,
            limiter: SummedLimiter::new(grant.limits),
            capabilities: Capabilities::prepare(grant),
        }
    }

    /// Links what a block may import: WASI and the block capabilities.
    pub fn add_to_linker(linker: &mut Linker<Self>) -> wasmtime::Result<()> {
        // Blocks built by rustc import parts of WASI (stdio, clocks, random);
        // each run gets an empty context: no env, no args, no files, no sockets.
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
        capabilities::add_to_linker(linker)
    }

    /// The env and variables handles `run` is called with.
    pub fn run_handles(&mut self) -> wasmtime::Result<(Resource<EnvHandle>, Resource<VariablesHandle>)> {
        let env = capabilities::env::env_handle(&mut self.table)?;
        let variables = capabilities::variables::variables_handle(&mut self.table)?;
        Ok((env, variables))
    }
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl CapabilityHost for RunState {
    fn capabilities_and_table(&mut self) -> (&mut Capabilities, &mut ResourceTable) {
        (&mut self.capabilities, &mut self.table)
    }
}
