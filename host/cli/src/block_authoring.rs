//! `sandflow blocks new | build | test`: writing a block in Rust,
//! JavaScript/TypeScript or Python, building it into a component, and running
//! it in the same sandbox the server runs uploads in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sandflow_authoring::builder;
use sandflow_authoring::cases::read_cases;
use sandflow_authoring::project::{Language, Project, TemplateValues, new_project};
use sandflow_authoring::toolchain::Toolchains;
use sandflow_runtime::{BlockInfo, BlockOutcome, BlockRun, LoadedBlock, RunRequest, Runtime};
use serde_json::Value;

/// `blocks new`: writes the project and says what to do next.
pub fn new(lang: Language, path: &Path) -> anyhow::Result<ExitCode> {
    let toolchains = Toolchains::from_env();
    let values = match lang {
        Language::Rust => TemplateValues { rust_sdk_dir: Some(toolchains.sdk()?.join("guest-sdk")) },
        _ => TemplateValues::default(),
    };
    let project = new_project(path, lang, &values)?;
    println!("created the {lang} block `{}` in {}", project.name, path.display());
    println!("next: sandflow blocks build {0} && sandflow blocks test {0}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `blocks build`: builds, checks the component against the world, prints its
/// manifest and size, and times a fresh run (the first case's params, else `{}`).
pub async fn build(runtime: &Runtime, dir: &Path) -> anyhow::Result<ExitCode> {
    let project = Project::open(dir)?;
    eprintln!("building the {} block `{}`", project.language, project.name);
    let built = builder::build(&project, &Toolchains::from_env())?;
    println!(
        "component: {} ({}, {:.1} s to build, pre-initialized: {})",
        built.path.display(),
        human_bytes(built.bytes),
        built.elapsed.as_secs_f64(),
        if built.pre_initialized { "yes" } else { "no" }
    );
    let (block, load_time) = load(runtime, &built.path).await?;
    println!("satisfies sandflow:block/block@0.1.0: yes (loaded in {} ms)", load_time.as_millis());
    println!("{}", serde_json::to_string_pretty(block.manifest())?);
    let params = read_cases(&project.dir)?
        .into_iter()
        .next()
        .map(|case| case.params)
        .unwrap_or_else(|| Value::Object(Default::default()));
    let timing = time_runs(runtime, &block, &params, &HashMap::new(), 5).await;
    println!(
        "one fresh run: {} first, {} median of the next {} ({})",
        micros(timing.first),
        micros(timing.median),
        timing.repeats,
        outcome_summary(&timing.last)
    );
    Ok(ExitCode::SUCCESS)
}

/// `blocks test`: one run with `params` (or `runs` of them, timed), or every
/// case of the project's `tests/cases.json`.
pub async fn test(
    runtime: &Runtime,
    target: &Path,
    params: Option<&str>,
    env: &[String],
    runs: usize,
) -> anyhow::Result<ExitCode> {
    let (component, project) = component_for(target)?;
    let (block, _) = load(runtime, &component).await?;
    let env = parse_env(env)?;
    if let Some(params) = params {
        let params: Value = serde_json::from_str(params).context("--params is not JSON")?;
        let timing = time_runs(runtime, &block, &params, &env, runs.saturating_sub(1)).await;
        print_logs(&timing.last);
        if runs > 1 {
            eprintln!("{} runs: first {}, median of the rest {}", runs, micros(timing.first), micros(timing.median));
        }
        return Ok(print_outcome(&timing.last));
    }
    let Some(project) = project else {
        anyhow::bail!("give --params JSON to run a .wasm file (a project directory runs its tests/cases.json)");
    };
    let cases = read_cases(&project.dir)?;
    anyhow::ensure!(!cases.is_empty(), "{} has no tests/cases.json: give --params JSON", project.dir.display());
    let mut failed = 0;
    for case in &cases {
        let mut case_env = env.clone();
        case_env.extend(case.env.clone());
        let run = runtime.run(&block, request(&block, case.params.clone(), case_env)).await;
        let message;
        let seen = match &run.outcome {
            Ok(outcome) => Ok(outcome_output(outcome)),
            Err(error) => {
                message = error.to_string();
                Err(message.as_str())
            }
        };
        match case.check(seen) {
            None => println!("ok      {}", case.name),
            Some(why) => {
                failed += 1;
                println!("FAILED  {}: {why}", case.name);
                print_logs(&run);
            }
        }
    }
    println!("{} passed, {failed} failed", cases.len() - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A `.wasm` file as it is; a project's component, built first when missing
/// or older than a source.
fn component_for(target: &Path) -> anyhow::Result<(PathBuf, Option<Project>)> {
    if target.is_file() {
        return Ok((target.to_path_buf(), None));
    }
    let project = Project::open(target)?;
    if project.needs_build() {
        eprintln!("building {} (its sources changed since the last build)", project.dir.display());
        builder::build(&project, &Toolchains::from_env())?;
    }
    Ok((project.component_path(), Some(project)))
}

async fn load(runtime: &Runtime, path: &Path) -> anyhow::Result<(Arc<LoadedBlock>, Duration)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let started = Instant::now();
    let block = runtime
        .load(&bytes)
        .await
        .with_context(|| format!("{} does not satisfy sandflow:block/block@0.1.0", path.display()))?;
    Ok((block, started.elapsed()))
}

fn request(block: &LoadedBlock, params: Value, env: HashMap<String, String>) -> RunRequest {
    let name = block.manifest().name.clone();
    RunRequest {
        info: BlockInfo {
            execution_id: "local-test".into(),
            workflow_id: "local-test".into(),
            block_id: name.clone(),
            block_name: name,
            attempt: 1,
            resume_input: None,
        },
        params,
        env,
        ..RunRequest::default()
    }
}

struct Timing {
    first: Duration,
    median: Duration,
    repeats: usize,
    last: BlockRun,
}

/// Runs once, then `repeats` more times: each run is a fresh sandbox.
async fn time_runs(
    runtime: &Runtime,
    block: &LoadedBlock,
    params: &Value,
    env: &HashMap<String, String>,
    repeats: usize,
) -> Timing {
    let started = Instant::now();
    let mut last = runtime.run(block, request(block, params.clone(), env.clone())).await;
    let first = started.elapsed();
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let started = Instant::now();
        last = runtime.run(block, request(block, params.clone(), env.clone())).await;
        times.push(started.elapsed());
    }
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or(first);
    Timing { first, median, repeats, last }
}

fn outcome_output(outcome: &BlockOutcome) -> &Value {
    match outcome {
        BlockOutcome::Done(output) | BlockOutcome::Route { output, .. } => output,
        BlockOutcome::Pause { response, .. } => response,
    }
}

fn outcome_summary(run: &BlockRun) -> String {
    match &run.outcome {
        Ok(BlockOutcome::Done(_)) => "done".into(),
        Ok(BlockOutcome::Route { route, .. }) => format!("route {route}"),
        Ok(BlockOutcome::Pause { .. }) => "pause".into(),
        Err(error) => format!("error: {error}"),
    }
}

/// The outcome as JSON on stdout; a failure on stderr with exit code 1.
fn print_outcome(run: &BlockRun) -> ExitCode {
    let usage = format!(
        "fuel {}, memory peak {}, {} in the sandbox",
        run.usage.fuel_consumed,
        human_bytes(run.usage.memory_peak_bytes),
        micros(run.usage.duration)
    );
    match &run.outcome {
        Ok(outcome) => {
            let shown = match outcome {
                BlockOutcome::Done(output) => output.clone(),
                BlockOutcome::Route { route, output } => serde_json::json!({"route": route, "output": output}),
                BlockOutcome::Pause { response, resume_after_ms, input_schema } => serde_json::json!({
                    "pause": {"response": response, "resumeAfterMs": resume_after_ms, "inputSchema": input_schema}
                }),
            };
            println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
            eprintln!("{usage}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}\n{usage}");
            ExitCode::FAILURE
        }
    }
}

fn print_logs(run: &BlockRun) {
    for log in &run.logs {
        eprintln!("[{:?}] {}", log.level, log.message);
    }
}

fn parse_env(pairs: &[String]) -> anyhow::Result<HashMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = pair.split_once('=').with_context(|| format!("--env {pair}: expected NAME=VALUE"))?;
            Ok((name.to_string(), value.to_string()))
        })
        .collect()
}

fn micros(duration: Duration) -> String {
    if duration < Duration::from_millis(10) {
        format!("{} µs", duration.as_micros())
    } else {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    }
}

fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}
