//! The state one block run owns, and the capabilities it grants the guest.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::ResourceLimiter;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::sandflow::block::{capabilities, http, timer, types};
use crate::error::{BlockRunError, HostLimitTrap};
use crate::http::OutboundHttp;
use crate::limits::RunLimits;
use crate::run::{CancelFlag, GuestLog, LogLevel};

/// How often a host-side wait looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(5);
/// Time left for the block to return after a host-side wait ends.
const WAIT_MARGIN: Duration = Duration::from_millis(100);

/// The env capability handed to `run`: its table entry is only a token, the
/// grants live in [`RunState`], so one run can never see another run's grants.
pub struct EnvHandle;

/// The variables capability handed to `run`; see [`EnvHandle`].
pub struct VariablesHandle;

/// Everything a single block run owns. Dropped with its `Store` when the run ends.
pub(crate) struct RunState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: SummedLimiter,
    pub limits: RunLimits,
    pub granted_env: HashMap<String, String>,
    pub variables: BTreeMap<String, Value>,
    pub variable_writes: BTreeMap<String, Value>,
    pub variable_write_bytes: usize,
    pub logs: Vec<GuestLog>,
    pub log_bytes: usize,
    /// When the run's wall-clock budget ends.
    pub deadline: Instant,
    pub cancel: Option<CancelFlag>,
    pub outbound: Arc<OutboundHttp>,
    pub http_requests: u32,
    /// Longest wait `timer.sleep` performs in the host.
    pub max_in_run_wait: Duration,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn limit_trap(error: BlockRunError) -> wasmtime::Error {
    wasmtime::Error::new(HostLimitTrap(error))
}

impl RunState {
    /// Refuses arguments larger than the per-call data limit, before they are used.
    fn check_hostcall(&self, call: &'static str, size: usize) -> wasmtime::Result<()> {
        let limit = self.limits.hostcall_bytes;
        if size > limit {
            return Err(limit_trap(BlockRunError::HostCallLimit { call, limit }));
        }
        Ok(())
    }
}

impl types::Host for RunState {}

/// Runs `work` unless the run is cancelled first; the wait burns no fuel.
/// Takes the flag rather than the state: the future must be `Send`.
async fn unless_cancelled<T>(cancel: Option<CancelFlag>, work: impl Future<Output = T>) -> wasmtime::Result<T> {
    let cancelled = async move {
        loop {
            if cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
                return;
            }
            tokio::time::sleep(CANCEL_POLL).await;
        }
    };
    tokio::select! {
        value = work => Ok(value),
        () = cancelled => Err(limit_trap(BlockRunError::Cancelled)),
    }
}

impl http::Host for RunState {
    async fn fetch(&mut self, request: http::Request) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let size = request.url.len()
            + request.method.len()
            + request.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
            + request.body.as_ref().map_or(0, Vec::len);
        self.check_hostcall("http.fetch", size)?;
        let allowed = self.outbound.policy().max_requests_per_run;
        if self.http_requests >= allowed {
            return Ok(Err(http::HttpError::Refused(format!("this run already sent its {allowed} requests"))));
        }
        self.http_requests += 1;
        let outbound = self.outbound.clone();
        let deadline = self.deadline.checked_sub(WAIT_MARGIN).unwrap_or(self.deadline);
        unless_cancelled(self.cancel.clone(), outbound.fetch(request, deadline)).await
    }
}

impl timer::Host for RunState {
    async fn sleep(&mut self, ms: u64) -> wasmtime::Result<bool> {
        let wait = Duration::from_millis(ms);
        let left = self.deadline.saturating_duration_since(Instant::now());
        if wait > self.max_in_run_wait || wait + WAIT_MARGIN > left {
            return Ok(false);
        }
        unless_cancelled(self.cancel.clone(), tokio::time::sleep(wait)).await?;
        Ok(true)
    }
}

impl capabilities::Host for RunState {
    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        self.log_bytes = self.log_bytes.saturating_add(message.len());
        if self.log_bytes > self.limits.log_bytes {
            return Err(limit_trap(BlockRunError::LogLimit { limit: self.limits.log_bytes }));
        }
        if self.logs.len() >= self.limits.log_entries {
            return Err(limit_trap(BlockRunError::LogEntryLimit { limit: self.limits.log_entries }));
        }
        let level = match level {
            types::LogLevel::Trace => LogLevel::Trace,
            types::LogLevel::Debug => LogLevel::Debug,
            types::LogLevel::Info => LogLevel::Info,
            types::LogLevel::Warn => LogLevel::Warn,
            types::LogLevel::Error => LogLevel::Error,
        };
        self.logs.push(GuestLog { level, message });
        Ok(())
    }
}

impl capabilities::HostEnv for RunState {
    fn get(&mut self, handle: Resource<EnvHandle>, name: String) -> wasmtime::Result<Option<String>> {
        self.table.get(&handle)?;
        self.check_hostcall("env.get", name.len())?;
        Ok(self.granted_env.get(&name).cloned())
    }

    fn drop(&mut self, handle: Resource<EnvHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl capabilities::HostVariables for RunState {
    fn get(&mut self, handle: Resource<VariablesHandle>, name: String) -> wasmtime::Result<Option<String>> {
        self.table.get(&handle)?;
        self.check_hostcall("variables.get", name.len())?;
        let value = self.variable_writes.get(&name).or_else(|| self.variables.get(&name));
        Ok(value.map(Value::to_string))
    }

    fn set(
        &mut self,
        handle: Resource<VariablesHandle>,
        name: String,
        value: String,
    ) -> wasmtime::Result<Result<(), String>> {
        self.table.get(&handle)?;
        self.check_hostcall("variables.set", name.len() + value.len())?;
        if value.len() > self.limits.variable_bytes {
            return Ok(Err(format!(
                "variable `{name}`: value of {} bytes is over the limit of {} bytes",
                value.len(),
                self.limits.variable_bytes
            )));
        }
        // Counted on every write, overwrites included, so a loop of writes is bounded too.
        self.variable_write_bytes = self.variable_write_bytes.saturating_add(name.len() + value.len());
        if self.variable_write_bytes > self.limits.output_bytes {
            return Ok(Err(format!(
                "variable `{name}`: this run's variable writes exceed {} bytes",
                self.limits.output_bytes
            )));
        }
        match serde_json::from_str::<Value>(&value) {
            Ok(parsed) => {
                self.variable_writes.insert(name, parsed);
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(format!("variable `{name}`: value is not JSON: {e}"))),
        }
    }

    fn drop(&mut self, handle: Resource<VariablesHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// Enforces memory and table limits over the *sum* of a component's memories
/// and tables: wasmtime's own `StoreLimits` counts each memory on its own, so a
/// component with several memories could multiply its allowance.
pub(crate) struct SummedLimiter {
    memory_limit: u64,
    table_limit: u64,
    instances: usize,
    tables: usize,
    memories: usize,
    memory_total: u64,
    table_total: u64,
    /// Highest `memory_total` seen during the run.
    pub memory_peak: u64,
}

impl SummedLimiter {
    pub fn new(limits: &RunLimits) -> Self {
        Self {
            memory_limit: limits.memory_bytes,
            table_limit: limits.table_elements,
            instances: limits.instances,
            tables: limits.tables,
            memories: limits.memories,
            memory_total: 0,
            table_total: 0,
            memory_peak: 0,
        }
    }
}

impl ResourceLimiter for SummedLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let requested = self.memory_total.saturating_sub(current as u64).saturating_add(desired as u64);
        if requested > self.memory_limit {
            // A trap rather than `memory.grow` returning -1: the run ends with a
            // precise, typed error instead of whatever the guest allocator does.
            return Err(limit_trap(BlockRunError::MemoryLimit { limit: self.memory_limit, requested }));
        }
        self.memory_total = requested;
        self.memory_peak = self.memory_peak.max(requested);
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let requested = self.table_total.saturating_sub(current as u64).saturating_add(desired as u64);
        if requested > self.table_limit {
            return Err(limit_trap(BlockRunError::TableLimit { limit: self.table_limit, requested }));
        }
        self.table_total = requested;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}
