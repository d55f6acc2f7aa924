//! `sandflow`: one binary for the server, the workflow runner and the block tools.

mod run_command;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sandflow_runtime::{AllowEntry, BlockOutcome, HttpPolicy, LoadError, RunRequest, Runtime, RuntimeConfig};
use sandflow_stdblocks::STANDARD_BLOCKS;
use serde_json::json;

/// Largest component file `blocks inspect` reads.
const MAX_COMPONENT_BYTES: u64 = 64 << 20;

#[derive(Parser)]
#[command(name = "sandflow", version, about = "Workflows of untrusted WebAssembly blocks")]
struct Cli {
    /// Where compiled components are cached (default: ~/.cache/sandflow/components).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Let `api` blocks reach this internal destination (an address, a network
    /// like 10.0.0.0/8, a host name or *.domain); public addresses need no entry.
    #[arg(long = "allow-http", value_name = "DESTINATION", global = true)]
    allow_http: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server. Until the HTTP API lands it loads every standard
    /// block and runs a demo workflow in process.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        #[arg(long, default_value = "./sandflow-data")]
        data_dir: PathBuf,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Run a workflow in process; progress on stderr, the ExecutionResult JSON on stdout.
    Run {
        /// The workflow state (JSON, SPEC section 2).
        workflow: PathBuf,
        /// The start block's output (JSON).
        #[arg(long)]
        input: Option<String>,
        /// An environment variable for `{{NAME}}` references and granted env handles.
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// At most this many block runs at once (1..=64, default 4).
        #[arg(long)]
        max_parallel: Option<usize>,
        /// Keep the execution's checkpoints in this file (to resume a pause later).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Resume this pause point (its contextId) of the run saved in --checkpoints.
        #[arg(long, requires = "checkpoints")]
        resume: Option<String>,
        /// The resume input (JSON).
        #[arg(long, requires = "resume")]
        resume_input: Option<String>,
    },
    /// The block catalogue.
    Blocks {
        #[command(subcommand)]
        command: BlocksCommand,
    },
}

#[derive(Subcommand)]
enum BlocksCommand {
    /// List the standard blocks with their manifests.
    List {
        /// Print the manifests as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a component against the sandflow:block world and print its manifest.
    Inspect { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let executor = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match executor.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { addr, data_dir, database_url } => {
            let cache = cli.cache_dir.unwrap_or_else(|| data_dir.join("component-cache"));
            serve_demo(&addr, &cache, database_url.as_deref()).await
        }
        Command::Run { workflow, input, env, max_parallel, checkpoints, resume, resume_input } => {
            let args = run_command::RunArgs {
                workflow: &workflow,
                input: input.as_deref(),
                env: &env,
                max_parallel,
                checkpoints: checkpoints.as_deref(),
                resume: resume.as_deref(),
                resume_input: resume_input.as_deref(),
            };
            run_command::run_workflow(runtime(cli.cache_dir, &cli.allow_http)?, args).await
        }
        Command::Blocks { command } => {
            let runtime = runtime(cli.cache_dir, &cli.allow_http)?;
            match command {
                BlocksCommand::List { json } => list_blocks(&runtime, json).await,
                BlocksCommand::Inspect { file } => inspect(&runtime, &file).await,
            }
        }
    }
}

fn runtime(cache_dir: Option<PathBuf>, allow_http: &[String]) -> anyhow::Result<Runtime> {
    let cache_dir = cache_dir.or_else(default_cache_dir);
    let mut http = HttpPolicy::default();
    for entry in allow_http {
        http.allow.push(entry.parse::<AllowEntry>().map_err(|e| anyhow::anyhow!("--allow-http: {e}"))?);
    }
    Ok(Runtime::new(RuntimeConfig { cache_dir, http, ..RuntimeConfig::default() })?)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("sandflow").join("components"))
}

async fn list_blocks(runtime: &Runtime, as_json: bool) -> anyhow::Result<ExitCode> {
    let mut manifests = Vec::new();
    for block in STANDARD_BLOCKS {
        let loaded =
            runtime.load(block.component).await.with_context(|| format!("standard block `{}`", block.block_type))?;
        manifests.push(loaded.manifest().clone());
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&manifests)?);
    } else {
        for manifest in &manifests {
            println!("{:<20} {:<8} {}", manifest.name, manifest.version, manifest.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn inspect(runtime: &Runtime, file: &Path) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len();
    anyhow::ensure!(
        size <= MAX_COMPONENT_BYTES,
        "{} is {size} bytes, over the {MAX_COMPONENT_BYTES}-byte limit",
        file.display()
    );
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    println!(
        "component: {} ({} bytes, sha256 {})",
        file.display(),
        bytes.len(),
        sandflow_runtime::component_digest(&bytes)
    );
    match runtime.load(&bytes).await {
        Ok(block) => {
            println!("satisfies sandflow:block/block@0.1.0: yes");
            println!("{}", serde_json::to_string_pretty(block.manifest())?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ (LoadError::Compile(_) | LoadError::World(_) | LoadError::Manifest(_))) => {
            println!("satisfies sandflow:block/block@0.1.0: no");
            println!("reason: {error}");
            Ok(ExitCode::FAILURE)
        }
        Err(error) => Err(error.into()),
    }
}

/// Stand-in for the server until the HTTP API lands: proves the embedded
/// blocks load and run on this machine.
async fn serve_demo(addr: &str, cache_dir: &Path, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(database_url.is_none(), "--database-url needs the PostgreSQL store, which is not built yet");
    let runtime = Runtime::new(RuntimeConfig { cache_dir: Some(cache_dir.to_path_buf()), ..RuntimeConfig::default() })?;
    eprintln!("sandflow: the HTTP API ({addr}) is not built yet; running the standard blocks in process instead");
    let mut output = json!({"orders": [{"id": 1, "total": 30}, {"id": 2, "total": 120}]});
    for (block_type, params) in [
        ("start", output.clone()),
        ("transform", json!({"filter": "[.orders[] | select(.total > 100) | .id]", "input": output.clone()})),
    ] {
        let Some(block) = sandflow_stdblocks::standard_block(block_type) else { continue };
        let loaded = runtime.load(block.component).await?;
        let run = runtime.run(&loaded, RunRequest { params, ..Default::default() }).await;
        match run.outcome {
            Ok(BlockOutcome::Done(value)) => {
                eprintln!(
                    "  {block_type}: ok in {:?}, {} fuel, {} KiB peak memory",
                    run.usage.duration,
                    run.usage.fuel_consumed,
                    run.usage.memory_peak_bytes / 1024
                );
                output = value;
            }
            other => anyhow::bail!("{block_type}: {other:?}"),
        }
    }
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(ExitCode::SUCCESS)
}
