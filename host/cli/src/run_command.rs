//! `sandflow run`: one workflow, in process, with live progress on stderr.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use sandflow_engine::reference::Redactor;
use sandflow_engine::{
    Checkpoint, CheckpointOutcome, Engine, EngineSettings, ExecuteError, ExecutionEvent, ExecutionObserver,
    ExecutionRequest, ExecutionResult, ExecutionSpec, ExecutionStatus, PauseKind, PausePoint, ResumeRequest,
    ResumeStatus, WorkflowSource, WorkflowState,
};
use sandflow_runtime::Runtime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use sandflow_wasm_runner::WasmBlockRunner;

/// Largest workflow file `run` reads.
const MAX_WORKFLOW_BYTES: u64 = 16 << 20;

/// Arguments of `sandflow run`.
pub struct RunArgs<'a> {
    pub workflow: &'a Path,
    pub input: Option<&'a str>,
    pub env: &'a [String],
    pub max_parallel: Option<usize>,
    /// Where the execution's checkpoints are kept, so a paused run can be resumed.
    pub checkpoints: Option<&'a Path>,
    /// Resume this pause point (needs `checkpoints` from the paused run).
    pub resume: Option<&'a str>,
    pub resume_input: Option<&'a str>,
    /// The engine's settings, budgets included.
    pub engine: EngineSettings,
}

/// What `--checkpoints` keeps between a paused run and its resume.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedExecution {
    execution_id: String,
    checkpoints: Vec<Checkpoint>,
}

pub async fn run_workflow(runtime: Runtime, args: RunArgs<'_>) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(args.workflow).with_context(|| format!("reading {}", args.workflow.display()))?.len();
    anyhow::ensure!(size <= MAX_WORKFLOW_BYTES, "{} is over {MAX_WORKFLOW_BYTES} bytes", args.workflow.display());
    let text =
        std::fs::read_to_string(args.workflow).with_context(|| format!("reading {}", args.workflow.display()))?;
    let state: WorkflowState =
        serde_json::from_str(&text).with_context(|| format!("{} is not a workflow state", args.workflow.display()))?;
    let input = match args.input {
        Some(text) => serde_json::from_str(text).context("--input is not JSON")?,
        None => serde_json::json!({}),
    };
    let mut env = HashMap::new();
    for pair in args.env {
        let (name, value) = pair.split_once('=').with_context(|| format!("--env {pair}: expected NAME=VALUE"))?;
        env.insert(name.to_string(), value.to_string());
    }

    let saved = match (args.resume, args.checkpoints) {
        (None, _) => None,
        (Some(_), None) => anyhow::bail!("--resume needs --checkpoints FILE from the paused run"),
        (Some(_), Some(file)) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            Some(
                serde_json::from_str::<SavedExecution>(&text)
                    .with_context(|| format!("{} holds no checkpoints", file.display()))?,
            )
        }
    };
    let resume = match args.resume {
        Some(context_id) => Some(ResumeRequest {
            context_id: context_id.to_string(),
            input: serde_json::from_str(args.resume_input.unwrap_or("{}")).context("--resume-input is not JSON")?,
        }),
        None => None,
    };
    let runner = Arc::new(WasmBlockRunner::with_standard_blocks(runtime).await?);
    let engine = Engine::new(runner, args.engine.clone());
    let secrets: Vec<String> = env.values().cloned().collect();
    let progress = Arc::new(Progress::new(&secrets));
    let (execution_id, checkpoints) = match saved {
        Some(saved) => (saved.execution_id, saved.checkpoints),
        None => (new_execution_id(), Vec::new()),
    };
    let template = ExecutionRequest {
        execution_id: execution_id.clone(),
        spec: ExecutionSpec {
            workflow_id: args.workflow.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            state: Arc::new(state),
            input,
            env,
            max_parallel_nodes: args.max_parallel,
            ..Default::default()
        },
        observer: Some(progress.clone()),
        workflows: Some(Arc::new(WorkflowDirectory {
            dir: args.workflow.parent().map(Path::to_path_buf).unwrap_or_default(),
        })),
        ..Default::default()
    };
    let cancel = template.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    let mut checkpoints = checkpoints;
    let mut resume = resume;
    let result = loop {
        let request = ExecutionRequest { checkpoints: checkpoints.clone(), resume: resume.take(), ..template.clone() };
        let result = engine.execute(request).await;
        checkpoints.extend(progress.finished.lock().expect("progress lock").drain(..));
        // A run in the terminal waits out its own timers, as the server would;
        // a pause that needs a person ends the run.
        if let Ok(paused) = &result
            && let Some((context_id, wait)) = next_timer(paused)
            && !template.cancel.is_cancelled()
        {
            progress.line(format!("waiting  {context_id} for {}ms", wait.as_millis()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = template.cancel.cancelled() => {}
            }
            resume = Some(ResumeRequest { context_id, input: serde_json::json!({}) });
            continue;
        }
        break result;
    };
    progress.finish();
    if let Some(file) = args.checkpoints {
        let saved = SavedExecution { execution_id, checkpoints };
        std::fs::write(file, serde_json::to_vec(&saved)?).with_context(|| format!("writing {}", file.display()))?;
    }
    match result {
        Ok(result) => {
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(match result.status {
                ExecutionStatus::Failed | ExecutionStatus::Cancelled => ExitCode::FAILURE,
                _ => ExitCode::SUCCESS,
            })
        }
        Err(ExecuteError::Invalid(problems)) => {
            eprintln!("invalid workflow:");
            for problem in &problems {
                let place = [problem.block_id.as_deref(), problem.field.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(".");
                eprintln!("  {place}: {}", problem.message);
            }
            Ok(ExitCode::from(2))
        }
        Err(other) => Err(other.into()),
    }
}

/// `workflow` blocks of `sandflow run` find workflow `ID` in `ID.json` beside
/// the workflow being run.
struct WorkflowDirectory {
    dir: std::path::PathBuf,
}

impl WorkflowSource for WorkflowDirectory {
    fn workflow(&self, workflow_id: &str) -> Option<WorkflowState> {
        // An ID is a file name, never a path.
        let plain = !workflow_id.is_empty()
            && workflow_id.len() <= 128
            && workflow_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return None;
        }
        let path = self.dir.join(format!("{workflow_id}.json"));
        if std::fs::metadata(&path).ok()?.len() > MAX_WORKFLOW_BYTES {
            return None;
        }
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }
}

/// The timed pause point due first, when every open pause point is timed.
fn next_timer(result: &ExecutionResult) -> Option<(String, Duration)> {
    if result.status != ExecutionStatus::Paused {
        return None;
    }
    let open: Vec<&PausePoint> =
        result.pause_points.iter().filter(|p| p.resume_status == ResumeStatus::Paused).collect();
    if open.is_empty() || open.iter().any(|p| p.pause_kind != PauseKind::Time) {
        return None;
    }
    let now = OffsetDateTime::now_utc();
    open.iter()
        .map(|p| {
            let due = p.resume_at.as_deref().and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok()).unwrap_or(now);
            (p.context_id.clone(), Duration::try_from(due - now).unwrap_or(Duration::ZERO))
        })
        .min_by_key(|(_, wait)| *wait)
}

fn new_execution_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A spinner naming the block being run on a terminal; plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    secrets: Redactor,
    /// Every finished block run, for `--checkpoints`.
    finished: Mutex<Vec<Checkpoint>>,
}

impl Progress {
    fn new(secrets: &[String]) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {pos} blocks done · {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Self { bar, secrets: Redactor::new(secrets), finished: Mutex::default() }
    }

    fn line(&self, text: String) {
        let text = self.secrets.text(&text);
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ExecutionObserver for Progress {
    fn event(&self, event: ExecutionEvent) {
        match event {
            ExecutionEvent::BlockStarted { context_id, block_type, .. } => match &self.bar {
                Some(bar) => bar.set_message(format!("running {context_id} ({block_type})")),
                None => eprintln!("started  {context_id} ({block_type})"),
            },
            ExecutionEvent::BlockFinished(checkpoint) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                let took = checkpoint.log.as_ref().map_or(0, |log| log.duration_ms);
                let id = &checkpoint.context_id;
                self.line(match (&checkpoint.outcome, &checkpoint.pause) {
                    (_, Some(_)) => format!("paused   {id} after {took}ms"),
                    (CheckpointOutcome::Succeeded { .. }, None) => format!("finished {id} in {took}ms"),
                    (CheckpointOutcome::Failed { message, .. }, None) => {
                        format!("failed   {id} in {took}ms: {message}")
                    }
                });
                self.finished.lock().expect("progress lock").push(*checkpoint);
            }
        }
    }
}
