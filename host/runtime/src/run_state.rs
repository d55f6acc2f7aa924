//! The state one block run's store owns: an empty WASI, the handle table, the
//! memory limiter and the run's capabilities.

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{EnvHandle, VariablesHandle};
use crate::capabilities::log::printed::PrintedLines;
use crate::capabilities::log::{GuestLog, LogLevel};
use crate::capabilities::{self, Capabilities, CapabilityHost, RunGrant};
use crate::error::BlockRunError;
use crate::limiter::SummedLimiter;

/// Everything a single block run owns. Dropped with its `Store` when the run ends.
pub(crate) struct RunState {
    wasi: WasiCtx,
    /// Live resource handles (the capability tokens, WASI streams, pollables).
    table: ResourceTable,
    pub limiter: SummedLimiter,
    pub capabilities: Capabilities,
    /// What the block prints, as lines of its log.
    stdout: PrintedLines,
    pub stderr: PrintedLines,
}

impl RunState {
    /// A run's state under `grant`. Besides joining the log, the first
    /// `stderr_head` bytes of stderr are kept (a panic message explains a trap).
    pub fn new(grant: RunGrant<'_>, stderr_head: usize) -> Self {
        let limits = grant.limits;
        let capabilities = Capabilities::prepare(grant);
        let stdout = PrintedLines::new(capabilities.log.clone(), LogLevel::Info, 0);
        let stderr = PrintedLines::new(capabilities.log.clone(), LogLevel::Warn, stderr_head);
        // No env, no args, no preopened directory, no sockets or name lookups:
        // a block reaches the outside only through its capabilities.
        let mut wasi = WasiCtx::builder();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.handles);
        Self { wasi: wasi.build(), table, limiter: SummedLimiter::new(limits), capabilities, stdout, stderr }
    }

    /// The run's log, a last unterminated printed line included, and the log
    /// limit that line broke, if it did.
    pub fn finish_log(&mut self) -> (Vec<GuestLog>, Option<BlockRunError>) {
        let stdout = self.stdout.finish();
        let stderr = self.stderr.finish();
        let broken = stdout.and(stderr).err();
        (self.capabilities.log.clone().into_entries(), broken)
    }

    /// Links what a block may import: WASI and the block capabilities.
    pub fn add_to_linker(linker: &mut Linker<Self>) -> wasmtime::Result<()> {
        // Blocks import parts of WASI: Rust ones stdio, clocks and random;
        // componentize-js and componentize-py ones also filesystem and sockets.
        // Each run gets an empty context (see `new`): no env, no args, no
        // preopened directory, sockets and name lookups denied.
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
