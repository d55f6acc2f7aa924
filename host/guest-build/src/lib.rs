//! Build-script helper: compiles a cargo workspace of guest crates to
//! `wasm32-wasip2` components, the way wasmtime's `test-programs` artifacts do.
//!
//! Each component that exports the init function (every block built with the
//! SDK does) is then pre-initialized: [`pre_initialize`] writes a snapshot of
//! it, taken after its init ran, beside the build script's output.
//!
//! Used by the build scripts of `sandflow-stdblocks` (the standard blocks) and
//! `sandflow-tests` (the hostile guests), so both share one toolchain check and
//! one guest target directory.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The guest target: components for WASI 0.2.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// One component produced by a guest build.
#[derive(Debug, Clone)]
pub struct GuestArtifact {
    /// The cargo package name, e.g. `sandflow-block-transform`.
    pub package: String,
    /// The `.wasm` component on disk.
    pub path: PathBuf,
}

/// Builds every package of the guest workspace at `workspace_dir` in release mode
/// and returns its components. `watched` lists further directories (the SDK, the
/// WIT package) whose changes must rebuild the guests.
///
/// Panics with a readable message on failure: this only runs inside build scripts.
pub fn build_guest_workspace(workspace_dir: &Path, watched: &[&Path]) -> Vec<GuestArtifact> {
    ensure_guest_target().unwrap_or_else(|message| panic!("{message}"));
    for dir in std::iter::once(&workspace_dir).chain(watched) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let artifacts = build_components(workspace_dir, &guest_target_dir()).unwrap_or_else(|message| panic!("{message}"));
    assert!(!artifacts.is_empty(), "the guest workspace {} produced no components", workspace_dir.display());
    artifacts
}

/// Builds the cargo package or workspace at `dir` in release mode for the guest
/// target, into `target_dir`, and returns its components. The compiler's
/// diagnostics go to this process's stderr; the error says what failed.
/// `sandflow blocks build` uses this for Rust blocks, as the build scripts do.
pub fn build_components(dir: &Path, target_dir: &Path) -> Result<Vec<GuestArtifact>, String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(dir)
        .args(["build", "--release", "--message-format=json-render-diagnostics"])
        .arg(format!("--target={GUEST_TARGET}"))
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Flags and wrappers meant for the host build (clippy, coverage, sanitizers)
    // must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR_OVERRIDE",
    ] {
        command.env_remove(var);
    }
    let output = command.output().map_err(|e| format!("failed to start cargo for the guest build: {e}"))?;
    if !output.status.success() {
        return Err(format!("building {} for {GUEST_TARGET} failed (see the compiler output above)", dir.display()));
    }
    Ok(components_in_build_output(&output.stdout))
}

/// The snapshot of `artifact` after its init export ran (see `sandflow-snapshot`),
/// written to the build script's `OUT_DIR`; `None` when the component exports
/// no init function. Panics with the reason when the init run fails: a block
/// whose init fails is a build error, as a compile error is.
pub fn pre_initialize(artifact: &GuestArtifact) -> Option<PathBuf> {
    let wasm = std::fs::read(&artifact.path)
        .unwrap_or_else(|e| panic!("reading the component {}: {e}", artifact.path.display()));
    if !sandflow_snapshot::declares_init(&wasm) {
        return None;
    }
    let snapshot = sandflow_snapshot::pre_initialize(&wasm, sandflow_snapshot::InitLimits::default())
        .unwrap_or_else(|e| panic!("pre-initializing {}: {e}", artifact.package));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    let path = out_dir.join(format!("{}.snapshot.wasm", artifact.package));
    std::fs::write(&path, snapshot).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    Some(path)
}

/// Picks the `.wasm` files out of cargo's JSON messages.
fn components_in_build_output(stdout: &[u8]) -> Vec<GuestArtifact> {
    let mut artifacts = Vec::new();
    for line in stdout.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        // Only the workspace's own cdylib crates are components; a dependency
        // may declare a cdylib too (boa_engine does) and leave a stray .wasm.
        let local = message["package_id"].as_str().is_some_and(|id| id.starts_with("path+file://"));
        let cdylib = message["target"]["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if !local || !cdylib {
            continue;
        }
        let package = message["target"]["name"].as_str().unwrap_or_default().to_string();
        let Some(files) = message["filenames"].as_array() else {
            continue;
        };
        for file in files.iter().filter_map(|f| f.as_str()) {
            if file.ends_with(".wasm") {
                artifacts.push(GuestArtifact { package: package.clone(), path: file.into() });
            }
        }
    }
    artifacts
}

/// rustup does not install a toolchain file's `targets` for a toolchain that is
/// already installed, so add the guest target when its standard library is
/// missing. The error names the command that would add it.
pub fn ensure_guest_target() -> Result<(), String> {
    if guest_std_present() {
        return Ok(());
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    let mut command = Command::new("rustup");
    command.args(["target", "add", GUEST_TARGET]);
    if let Some(toolchain) = &toolchain {
        command.args(["--toolchain", toolchain]);
    }
    let added = command.status().map(|s| s.success()).unwrap_or(false);
    if !added || !guest_std_present() {
        return Err(format!(
            "the Rust standard library for {GUEST_TARGET} is missing and could not be installed; \
             run `rustup target add {GUEST_TARGET}{}` and build again",
            toolchain.map(|t| format!(" --toolchain {t}")).unwrap_or_default()
        ));
    }
    Ok(())
}

fn guest_std_present() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Path::new(&sysroot).join("lib/rustlib").join(GUEST_TARGET).join("lib").is_dir()
}

/// A directory beside the host's own build output, shared by every guest
/// workspace and every host profile so guests are compiled once, not once per
/// `cargo build` / `cargo test` / `cargo clippy`.
fn guest_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    // Cargo marks the root of its target directory with CACHEDIR.TAG.
    let target_root = out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.clone());
    target_root.join("sandflow-guests")
}
