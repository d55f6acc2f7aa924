//! `sandflow`: one binary for the server, the workflow runner and the block tools.

mod admission_args;
mod block_authoring;
mod budget_args;
mod config;
mod run_command;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use sandflow_authoring::project::Language;
use sandflow_runtime::{AllowEntry, HttpPolicy, LoadError, Runtime, RuntimeConfig};
use sandflow_server::auth::{Scope, SigningSecret, issue_token, parse_ttl};
use sandflow_server::{RunSettings, ServerConfig, ServerLimits, TokenKeys, WorkerConfig, WorkerLimits};
use sandflow_stdblocks::STANDARD_BLOCKS;

use crate::config::Settings;

/// Largest component file `blocks inspect` reads.
const MAX_COMPONENT_BYTES: u64 = 64 << 20;

#[derive(Parser)]
#[command(name = "sandflow", version, about = "Workflows of untrusted WebAssembly blocks")]
struct Cli {
    /// Read settings from this TOML file (sections server, worker, auth,
    /// engine, runtime, http; default: $SANDFLOW_CONFIG). The environment
    /// (SANDFLOW_SECTION__KEY) overrides it, flags override both.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where compiled components are cached (default: ~/.cache/sandflow/components).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Let `api` blocks reach this internal destination (an address, a network
    /// like 10.0.0.0/8, a host name or *.domain); public addresses need no entry.
    #[arg(long = "allow-http", value_name = "DESTINATION", global = true)]
    allow_http: Vec<String>,
    #[command(flatten)]
    budgets: budget_args::BudgetArgs,
    /// How `serve` and `worker` write their log lines to stderr: `human` or
    /// `json` (one object a line). `RUST_LOG` chooses which (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The format of the server's and the worker's log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One line of text per event.
    Human,
    /// One JSON object per event.
    Json,
}

/// Writes the library's `tracing` events to stderr in `format`, filtered by
/// `RUST_LOG` (default `info`).
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP API server (SQLite store under --data-dir, or PostgreSQL).
    Serve {
        #[arg(long, default_value_t = Settings::default().server.addr)]
        addr: String,
        #[arg(long, default_value_os_t = Settings::default().server.data_dir)]
        data_dir: PathBuf,
        /// Keep the state in PostgreSQL (postgres://...) and run executions on
        /// `sandflow worker` processes sharing it (distributed mode).
        #[arg(long)]
        database_url: Option<String>,
        /// Distributed mode: how long execute and resume wait for a worker
        /// before answering 504 `still_running` (3600s, 30m, 1h).
        #[arg(long, default_value_t = Settings::default().server.request_timeout)]
        request_timeout: String,
        /// Also accept RS256 tokens signed by this PEM public key's private key.
        #[arg(long, value_name = "PEM_FILE")]
        jwt_rs256_public_key: Option<PathBuf>,
        /// Also accept EdDSA (Ed25519) tokens signed by this PEM public key's private key.
        #[arg(long, value_name = "PEM_FILE")]
        jwt_eddsa_public_key: Option<PathBuf>,
        /// Require this `iss` claim in every token.
        #[arg(long)]
        jwt_issuer: Option<String>,
        /// Require this `aud` claim in every token.
        #[arg(long)]
        jwt_audience: Option<String>,
        #[command(flatten)]
        admission: admission_args::AdmissionArgs,
        /// The key stored environment values are sealed with (hex, 32 bytes;
        /// created 0600 if missing). Default: DATA_DIR/sealing-key, or
        /// $SANDFLOW_SEALING_KEY_FILE. Workers of the same database need the same file.
        #[arg(long, value_name = "FILE")]
        sealing_key_file: Option<PathBuf>,
        /// Serve Prometheus `/metrics` (and `/healthz`) on this HOST:PORT.
        #[arg(long)]
        metrics_addr: Option<String>,
        /// Also serve `/metrics` on --addr, to anyone who reaches it (off by
        /// default: the counters are server-wide).
        #[arg(long)]
        public_metrics: bool,
    },
    /// Run executions from the PostgreSQL work queue (distributed mode).
    Worker {
        /// The database the servers use (postgres://...); required here or
        /// as `server.database_url` in the configuration.
        #[arg(long)]
        database_url: Option<String>,
        /// Names this worker in the queue; default `worker-<pid>`.
        #[arg(long)]
        worker_id: Option<String>,
        /// Jobs run at once.
        #[arg(long, default_value_t = Settings::default().worker.concurrency)]
        concurrency: usize,
        /// How long a job stays claimed without a heartbeat before another
        /// worker takes it over (10s, 1m).
        #[arg(long, default_value_t = Settings::default().worker.lease)]
        lease: String,
        /// Times an execution is taken over after its worker stopped before
        /// it is given up and failed.
        #[arg(long, default_value_t = Settings::default().worker.max_restarts)]
        max_restarts: u32,
        /// Serve Prometheus `/metrics` (and `/healthz`) on this HOST:PORT.
        #[arg(long)]
        metrics_addr: Option<String>,
        /// Where compiled components are cached, unless --cache-dir says.
        #[arg(long, default_value_os_t = Settings::default().server.data_dir)]
        data_dir: PathBuf,
        #[command(flatten)]
        admission: admission_args::AdmissionArgs,
        /// The servers' sealing key (their --sealing-key-file, or a copy of
        /// their DATA_DIR/sealing-key). Default: $SANDFLOW_SEALING_KEY_FILE,
        /// else DATA_DIR/sealing-key; it must exist.
        #[arg(long, value_name = "FILE")]
        sealing_key_file: Option<PathBuf>,
    },
    /// Internal: the compiler child of `serve` and `worker` (component on stdin, .cwasm on stdout).
    #[command(name = admission_args::COMPILE_CHILD_COMMAND, hide = true)]
    CompileComponent {
        #[arg(long, action = clap::ArgAction::Set)]
        fuel: bool,
        #[arg(long)]
        memory_bytes: u64,
    },
    /// Print a signed bearer token for the server using --data-dir; nothing else.
    Token {
        #[arg(long, default_value = "./sandflow-data")]
        data_dir: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "workflows:read workflows:write workflows:execute blocks:write")]
        scope: String,
        /// Lifetime: 3600s, 30m, 1h, 2d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// The token's subject (who is calling).
        #[arg(long, default_value = "cli")]
        subject: String,
        /// The `iss` claim, for a server started with --jwt-issuer.
        #[arg(long)]
        issuer: Option<String>,
        /// The `aud` claim, for a server started with --jwt-audience.
        #[arg(long)]
        audience: Option<String>,
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
    /// Print the effective configuration of `serve` and `worker` as TOML:
    /// defaults, --config file, environment and the global flags given.
    Config,
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
    /// Write a new block project at PATH (named after its last component):
    /// source, manifest and tests/cases.json.
    New {
        /// rust, js, ts or python.
        #[arg(long)]
        lang: Language,
        path: PathBuf,
    },
    /// Build a block project into DIR/dist/NAME.wasm (installing its
    /// language's pinned toolchain on first use), check it against the world,
    /// and time a fresh run.
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Run a block in the sandbox the server uses: a .wasm file, or a project
    /// (rebuilt when its sources changed). Without --params, runs the
    /// project's tests/cases.json.
    Test {
        target: PathBuf,
        /// The params of one run (JSON); its output is printed on stdout.
        #[arg(long)]
        params: Option<String>,
        /// An environment variable granted to the block.
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Run this many times (each in a fresh sandbox) and print the first
        /// and the median time.
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`enum mi_option_e` in its mimalloc.h; the Rust
/// bindings name no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the OS after a second rather than mimalloc's 10 ms: under
/// load, returning and faulting the same pages in again cost a quarter of the throughput,
/// and a second still gives memory back soon after a burst (BENCHMARKS.md, issue 16).
fn tune_allocator() {
    // SAFETY: sets one of mimalloc's global options, which it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1_000) }
}

fn main() -> ExitCode {
    tune_allocator();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // Before any thread exists: the child caps its own address space.
    if let Command::CompileComponent { fuel, memory_bytes } = cli.command {
        let code = sandflow_runtime::compile_child_main(sandflow_runtime::ChildSettings { fuel, memory_bytes });
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let executor = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match executor.block_on(dispatch(cli, &matches)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    let subcommand = matches.subcommand().map(|(_, sub)| sub);
    let settings =
        || Settings::load(cli.config.clone(), &[Some(matches), subcommand].into_iter().flatten().collect::<Vec<_>>());
    if matches!(cli.command, Command::Serve { .. } | Command::Worker { .. }) {
        init_logging(cli.log_format);
    }
    match cli.command {
        Command::Serve { .. } => {
            let settings = settings()?;
            let (server, auth) = (&settings.server, &settings.auth);
            let read = |path: &Option<PathBuf>| -> anyhow::Result<Option<Vec<u8>>> {
                path.as_ref().map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display()))).transpose()
            };
            let token_keys = TokenKeys {
                rs256_public_key_pem: read(&auth.jwt_rs256_public_key)?,
                eddsa_public_key_pem: read(&auth.jwt_eddsa_public_key)?,
                issuer: auth.jwt_issuer.clone(),
                audience: auth.jwt_audience.clone(),
            };
            let mut limits = ServerLimits {
                request_timeout: parse_ttl(&server.request_timeout)
                    .map_err(|e| anyhow::anyhow!("--request-timeout: {e}"))?,
                max_stored_result_bytes: server.max_stored_result_bytes,
                ..ServerLimits::default()
            };
            let run = run_settings(&settings, &mut limits)?;
            let addr = &server.addr;
            let config = ServerConfig {
                addr: addr.parse().with_context(|| format!("--addr {addr}: expected HOST:PORT"))?,
                database_url: server.database_url.clone(),
                run,
                limits,
                token_keys,
            };
            let options = sandflow_server::ServeOptions { public_metrics: server.public_metrics };
            serve(config, options, server.metrics_addr.clone()).await
        }
        Command::Worker { .. } => {
            let settings = settings()?;
            let (server, worker) = (&settings.server, &settings.worker);
            let database_url = server
                .database_url
                .clone()
                .context("a worker needs --database-url (or server.database_url in the configuration)")?;
            let lease = parse_ttl(&worker.lease).map_err(|e| anyhow::anyhow!("--lease: {e}"))?;
            anyhow::ensure!(lease >= Duration::from_secs(1), "--lease must be at least 1s");
            let concurrency = worker.concurrency;
            anyhow::ensure!((1..=1024).contains(&concurrency), "--concurrency must be between 1 and 1024");
            // The admission settings fill in server limits too (executions
            // at once); of those a worker keeps only the compile timeout.
            let mut admitted = ServerLimits::default();
            let run = run_settings(&settings, &mut admitted)?;
            let mut config = WorkerConfig::new(database_url, run);
            config.limits = WorkerLimits {
                compile_timeout: admitted.compile_timeout,
                max_restarts: worker.max_restarts,
                max_stored_result_bytes: server.max_stored_result_bytes,
                ..WorkerLimits::default()
            };
            if let Some(id) = &worker.id {
                config.id = id.clone();
            }
            config.concurrency = concurrency;
            config.lease = lease;
            let state = sandflow_server::prepare_worker(&config).await?;
            if let Some(addr) = &server.metrics_addr {
                spawn_metrics(state.metrics(), addr).await?;
            }
            eprintln!("sandflow: worker {} ready ({} at once, lease {}s)", config.id, concurrency, lease.as_secs());
            sandflow_server::run_worker(state, config, termination()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config => {
            print!("{}", settings()?.to_toml()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { data_dir, tenant, scope, ttl, subject, issuer, audience } => {
            let scopes = scope
                .split_whitespace()
                .map(|s| s.parse::<Scope>().map_err(|e| anyhow::anyhow!("--scope: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ttl = parse_ttl(&ttl).map_err(|e| anyhow::anyhow!("--ttl: {e}"))?;
            let secret = SigningSecret::load_or_create(&data_dir)
                .with_context(|| format!("the signing secret in {}", data_dir.display()))?;
            let token = issue_token(&secret, &tenant, &subject, &scopes, ttl, issuer.as_deref(), audience.as_deref())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
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
                engine: cli.budgets.engine_settings(),
            };
            run_command::run_workflow(runtime(cli.cache_dir, &cli.allow_http)?, args).await
        }
        Command::CompileComponent { .. } => unreachable!("handled before the async runtime starts"),
        Command::Blocks { command } => {
            let runtime = runtime(cli.cache_dir, &cli.allow_http)?;
            match command {
                BlocksCommand::List { json } => list_blocks(&runtime, json).await,
                BlocksCommand::Inspect { file } => inspect(&runtime, &file).await,
                BlocksCommand::New { lang, path } => block_authoring::new(lang, &path),
                BlocksCommand::Build { dir } => block_authoring::build(&runtime, &dir).await,
                BlocksCommand::Test { target, params, env, runs } => {
                    block_authoring::test(&runtime, &target, params.as_deref(), &env, runs).await
                }
            }
        }
    }
}

fn runtime(cache_dir: Option<PathBuf>, allow_http: &[String]) -> anyhow::Result<Runtime> {
    Ok(Runtime::new(runtime_config(cache_dir.or_else(default_cache_dir), allow_http)?)?)
}

fn runtime_config(cache_dir: Option<PathBuf>, allow_http: &[String]) -> anyhow::Result<RuntimeConfig> {
    let mut http = HttpPolicy::default();
    for entry in allow_http {
        http.allow.push(entry.parse::<AllowEntry>().map_err(|e| anyhow::anyhow!("--allow-http: {e}"))?);
    }
    Ok(RuntimeConfig { cache_dir, http, ..RuntimeConfig::default() })
}

/// What `serve` and `worker` share: the data directory, the sealing key, the
/// sandbox (its component cache under the data directory unless
/// `runtime.cache_dir` says) and the engine; the admission settings go into
/// `limits` too.
fn run_settings(settings: &Settings, limits: &mut ServerLimits) -> anyhow::Result<RunSettings> {
    let data_dir = settings.server.data_dir.clone();
    let cache_dir = settings.runtime.cache_dir.clone().unwrap_or_else(|| data_dir.join("component-cache"));
    let mut runtime = runtime_config(Some(cache_dir), &settings.http.allow)?;
    admission_args::AdmissionArgs::apply(settings, &mut runtime, limits)?;
    // A block that sets no memory limit gets the default, but never more
    // than the ceiling: the runtime refuses a run above it.
    runtime.default_limits.memory_bytes = runtime.default_limits.memory_bytes.min(runtime.max_memory_bytes);
    Ok(RunSettings {
        data_dir,
        sealing_key_file: settings.server.sealing_key_file.clone().or_else(sealing_key_from_env),
        runtime,
        engine: settings.engine_settings()?,
    })
}

/// `SANDFLOW_SEALING_KEY_FILE`, when set and not empty.
fn sealing_key_from_env() -> Option<PathBuf> {
    std::env::var_os("SANDFLOW_SEALING_KEY_FILE").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Serves `/metrics` and `/healthz` on `addr` in the background.
async fn spawn_metrics(metrics: sandflow_server::Metrics, addr: &str) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("--metrics-addr {addr}: listening"))?;
    eprintln!("sandflow: metrics on http://{}/metrics", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(error) = sandflow_server::serve_metrics(metrics, listener).await {
            eprintln!("sandflow: metrics server: {error}");
        }
    });
    Ok(())
}

/// `sandflow serve`: prepares the state, listens, says how to get a token.
async fn serve(
    config: ServerConfig,
    options: sandflow_server::ServeOptions,
    metrics_addr: Option<String>,
) -> anyhow::Result<ExitCode> {
    let app = sandflow_server::prepare(&config).await?;
    if let Some(addr) = metrics_addr {
        spawn_metrics(app.run.metrics.clone(), &addr).await?;
    }
    let listener =
        tokio::net::TcpListener::bind(config.addr).await.with_context(|| format!("listening on {}", config.addr))?;
    let addr = listener.local_addr()?;
    let data_dir = config.run.data_dir.display();
    eprintln!("sandflow: listening on http://{addr} (data in {data_dir})");
    eprintln!("sandflow: get a token with: sandflow token --data-dir {data_dir} --tenant NAME");
    if config.database_url.is_some() {
        // Not the URL itself: it may hold a password.
        eprintln!("sandflow: distributed mode: executions run on `sandflow worker --database-url <the same URL>`");
    }
    sandflow_server::serve_with(app, listener, options).await?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves at SIGTERM or Ctrl-C.
async fn termination() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
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
            if sandflow_runtime::declares_init(&bytes) {
                println!(
                    "pre-initialized on upload: yes (exports `{}`: it runs once, and every run starts from the snapshot)",
                    sandflow_runtime::INIT_EXPORT
                );
            } else {
                println!("pre-initialized on upload: no (no `{}` export)", sandflow_runtime::INIT_EXPORT);
            }
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
