//! One project in, one `sandflow:block` component out, at
//! [`Project::component_path`].
//!
//! - Rust: cargo for `wasm32-wasip2`, then a snapshot after the SDK's init
//!   hook (`sandflow-snapshot`), as the standard blocks are built.
//! - JavaScript/TypeScript: the JS SDK's `build.mjs` bundles the block and its
//!   npm dependencies with esbuild and runs componentize-js, which snapshots
//!   the engine after the bundle's top level ran.
//! - Python: the Python SDK's `build.py` vendors `requirements.txt` (pure
//!   Python only) and runs componentize-py, which snapshots the interpreter
//!   after the block's module was imported.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::AuthoringError;
use crate::project::{Language, Project};
use crate::toolchain::Toolchains;

/// A built component.
#[derive(Debug, Clone)]
pub struct Built {
    pub path: PathBuf,
    pub bytes: u64,
    /// Whether its memory was snapshotted after initialization, so a run
    /// starts from there instead of from `main`.
    pub pre_initialized: bool,
    pub elapsed: Duration,
}

/// Builds `project` into its component.
pub fn build(project: &Project, toolchains: &Toolchains) -> Result<Built, AuthoringError> {
    let started = Instant::now();
    let out = project.component_path();
    let dist = out.parent().expect("the component sits in dist/");
    fs::create_dir_all(dist).map_err(AuthoringError::io(format!("creating {}", dist.display())))?;
    let failed = |message: String| AuthoringError::Build { dir: project.dir.clone(), message };
    let pre_initialized = match project.language {
        Language::Rust => build_rust(project, &out).map_err(failed)?,
        Language::JavaScript | Language::TypeScript => {
            let sdk = toolchains.sdk()?;
            let tools = toolchains.javascript()?;
            let mut node = Command::new("node");
            node.arg(sdk.join("guest-sdk/js/build.mjs")).env("SANDFLOW_JS_TOOLCHAIN", tools);
            run_driver(node, project, &sdk, &out).map_err(failed)?;
            true
        }
        Language::Python => {
            let sdk = toolchains.sdk()?;
            let tools = toolchains.python()?;
            let mut python = Command::new("python3");
            python.arg(sdk.join("guest-sdk/python/build.py")).env("SANDFLOW_PY_TOOLCHAIN", tools);
            run_driver(python, project, &sdk, &out).map_err(failed)?;
            true
        }
    };
    let bytes = fs::metadata(&out).map_err(AuthoringError::io(format!("reading {}", out.display())))?.len();
    Ok(Built { path: out, bytes, pre_initialized, elapsed: started.elapsed() })
}

/// Runs a language's build driver: `DRIVER <project> <out.wasm>`, with the WIT
/// package beside the SDK. The driver's own output (the bundler's and the
/// componentizer's) goes to this process's stderr.
fn run_driver(mut driver: Command, project: &Project, sdk: &Path, out: &Path) -> Result<(), String> {
    let status = driver
        .arg(&project.dir)
        .arg(out)
        .env("SANDFLOW_WIT", sdk.join("wit"))
        .stdout(std::process::Stdio::inherit())
        .status()
        .map_err(|e| format!("starting {:?}: {e}", driver.get_program()))?;
    if !status.success() {
        Err(format!("the {} build failed (its message is above)", project.language))
    } else if !out.is_file() {
        Err(format!("the {} build finished without writing {}", project.language, out.display()))
    } else {
        Ok(())
    }
}

/// cargo, then the snapshot when the block exports an init hook (every block
/// built with `sandflow-sdk` does). Returns whether it was snapshotted.
fn build_rust(project: &Project, out: &Path) -> Result<bool, String> {
    sandflow_guest_build::ensure_guest_target()?;
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| project.dir.join("target"));
    let artifacts = sandflow_guest_build::build_components(&project.dir, &target_dir)?;
    let [artifact] = artifacts.as_slice() else {
        return Err(format!(
            "expected one cdylib component, cargo built {}: {:?}",
            artifacts.len(),
            artifacts.iter().map(|a| &a.package).collect::<Vec<_>>()
        ));
    };
    let wasm = fs::read(&artifact.path).map_err(|e| format!("reading {}: {e}", artifact.path.display()))?;
    let (component, snapshotted) = if sandflow_snapshot::declares_init(&wasm) {
        let snapshot = sandflow_snapshot::pre_initialize(&wasm, sandflow_snapshot::InitLimits::default())
            .map_err(|e| format!("pre-initializing: {e}"))?;
        (snapshot, true)
    } else {
        (wasm, false)
    };
    fs::write(out, component).map_err(|e| format!("writing {}: {e}", out.display()))?;
    Ok(snapshotted)
}
