//! The admission flags `serve` and `worker` share: fair shares of executions
//! and block runs, the guest-memory budget and the compile line for uploads.
//! The flags are read through [`Settings`], where their defaults live.

use std::ffi::OsString;

use anyhow::Context as _;
use sandflow_runtime::{CompilerCommand, RuntimeConfig};
use sandflow_server::ServerLimits;
use sandflow_server::auth::parse_ttl;

use crate::config::{Settings, parse_size};

/// The hidden subcommand the server runs as its compiler child.
pub const COMPILE_CHILD_COMMAND: &str = "compile-component";

#[derive(clap::Args, Debug, Clone)]
pub struct AdmissionArgs {
    /// Executions running at once; a new execute beyond it is 429 `overloaded`.
    #[arg(long, default_value_t = Settings::default().server.max_executions)]
    pub max_executions: usize,
    /// Executions of one tenant running at once (default: half of --max-executions).
    #[arg(long)]
    pub max_executions_per_tenant: Option<usize>,
    /// Block runs at once (also the size of the instance pool); further runs wait.
    #[arg(long, default_value_t = Settings::default().runtime.max_block_runs)]
    pub max_block_runs: usize,
    /// Block runs of one tenant at once (default: half of --max-block-runs).
    #[arg(long)]
    pub max_block_runs_per_tenant: Option<usize>,
    /// Sum of the memory limits of the block runs in progress (512MiB, 8GiB;
    /// default: half of the machine's memory). A run waits for room, at most
    /// its timeout, then fails.
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<String>,
    /// Time to compile and check an uploaded component, waiting in line included (60s, 2m).
    #[arg(long, default_value_t = Settings::default().runtime.compile_timeout)]
    pub compile_timeout: String,
    /// Uploaded components compiled at once, each in its own child process.
    #[arg(long, default_value_t = Settings::default().runtime.compile_concurrency)]
    pub compile_concurrency: usize,
    /// Address-space limit of each compiler child process (512MiB, 2GiB).
    #[arg(long, value_name = "SIZE", default_value_t = Settings::default().runtime.compile_memory)]
    pub compile_memory: String,
}

impl AdmissionArgs {
    /// Applies the admission settings to the runtime's and the server's.
    pub fn apply(settings: &Settings, runtime: &mut RuntimeConfig, limits: &mut ServerLimits) -> anyhow::Result<()> {
        let (server, sandbox) = (&settings.server, &settings.runtime);
        limits.max_running_executions = server.max_executions;
        limits.max_running_executions_per_tenant = server.max_executions_per_tenant;
        limits.compile_timeout =
            parse_ttl(&sandbox.compile_timeout).map_err(|e| anyhow::anyhow!("--compile-timeout: {e}"))?;
        runtime.max_concurrent_runs = sandbox.max_block_runs;
        runtime.max_runs_per_tenant = sandbox.max_block_runs_per_tenant;
        runtime.max_memory_bytes = parse_size(&sandbox.max_block_memory).context("runtime.max_block_memory")?;
        runtime.memory_budget_bytes =
            sandbox.memory_budget.as_deref().map(parse_size).transpose().context("--memory-budget")?;
        runtime.compile.max_concurrent = sandbox.compile_concurrency;
        runtime.compile.memory_bytes = parse_size(&sandbox.compile_memory).context("--compile-memory")?;
        // The compiler child is this very binary, run with the hidden subcommand.
        let program = std::env::current_exe().context("finding this binary for the compiler child")?;
        runtime.compile.child = Some(CompilerCommand {
            program,
            args: vec![OsString::from(COMPILE_CHILD_COMMAND)],
            // The child caps its address space (`--memory-bytes`); mimalloc (main.rs) reserves
            // address space a gigabyte at a time by default, which alone would use up the cap.
            envs: vec![(OsString::from("MIMALLOC_ARENA_RESERVE"), OsString::from("16MiB"))],
        });
        Ok(())
    }
}
