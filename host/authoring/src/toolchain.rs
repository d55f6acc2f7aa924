//! The toolchains blocks are built with: pinned, installed from their
//! registries on first use into a cache directory, and reused after.
//!
//! Each install goes into a fresh directory that is renamed into place only
//! when complete, so an interrupted install is never mistaken for a finished
//! one, and two builds installing at once both end with a working copy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};
use std::{env, fs};

use sha2::{Digest, Sha256};

use crate::AuthoringError;
use crate::embedded::SDK_FILES;

/// The npm packages JavaScript and TypeScript blocks are built with: esbuild
/// bundles the block and its npm dependencies into one module, componentize-js
/// turns it into a component (StarlingMonkey, pre-initialized with wizer).
pub const JS_PACKAGES: &[&str] = &["@bytecodealliance/componentize-js@0.23.0", "esbuild@0.28.2"];
/// The PyPI package Python blocks are built with (CPython, pre-initialized).
pub const PYTHON_PACKAGES: &[&str] = &["componentize-py==0.25.1"];

/// The cache of toolchains and materialized SDKs.
#[derive(Debug, Clone)]
pub struct Toolchains {
    root: PathBuf,
}

impl Toolchains {
    /// The cache at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$SANDFLOW_TOOLCHAINS`, else `$XDG_CACHE_HOME/sandflow/toolchains`,
    /// else `~/.cache/sandflow/toolchains`.
    pub fn from_env() -> Self {
        if let Some(dir) = env::var_os("SANDFLOW_TOOLCHAINS") {
            return Self::at(dir);
        }
        let cache = env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .unwrap_or_else(env::temp_dir);
        Self::at(cache.join("sandflow/toolchains"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SDKs and WIT package this binary carries, written out once per
    /// content: `<dir>/guest-sdk/` (Rust), `guest-sdk/js/`, `guest-sdk/python/`, `wit/`.
    pub fn sdk(&self) -> Result<PathBuf, AuthoringError> {
        let mut digest = Sha256::new();
        for (path, contents) in SDK_FILES {
            digest.update(path.as_bytes());
            digest.update((contents.len() as u64).to_le_bytes());
            digest.update(contents);
        }
        let name = format!("sdk-{}", &hex::encode(digest.finalize())[..16]);
        self.install(&name, "the block SDKs", |staging| {
            for (path, contents) in SDK_FILES {
                let target = staging.join(path);
                fs::create_dir_all(target.parent().expect("SDK files sit in directories"))
                    .map_err(AuthoringError::io(format!("creating {}", target.display())))?;
                fs::write(&target, contents).map_err(AuthoringError::io(format!("writing {}", target.display())))?;
            }
            Ok(())
        })
    }

    /// A directory whose `node_modules` holds [`JS_PACKAGES`].
    pub fn javascript(&self) -> Result<PathBuf, AuthoringError> {
        require(
            "node",
            &["--version"],
            "JavaScript and TypeScript blocks are built with Node.js 18 or later (https://nodejs.org)",
        )?;
        require(
            "npm",
            &["--version"],
            "JavaScript and TypeScript blocks install their build tools with npm, which comes with Node.js",
        )?;
        self.install(&pinned_name("js", JS_PACKAGES), "the JavaScript toolchain", |staging| {
            let mut npm = Command::new("npm");
            npm.arg("install")
                .arg("--prefix")
                .arg(staging)
                .args(["--no-audit", "--no-fund", "--no-save", "--loglevel=error"])
                .args(JS_PACKAGES);
            run_install(npm, "the JavaScript toolchain (npm install)")
        })
    }

    /// A `pip install --target` directory holding [`PYTHON_PACKAGES`].
    pub fn python(&self) -> Result<PathBuf, AuthoringError> {
        require("python3", &["--version"], "Python blocks are built with Python 3.10 or later (https://python.org)")?;
        require(
            "python3",
            &["-m", "pip", "--version"],
            "Python blocks install their build tools with pip (`python3 -m ensurepip`)",
        )?;
        self.install(&pinned_name("python", PYTHON_PACKAGES), "the Python toolchain", |staging| {
            let mut pip = Command::new("python3");
            pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--target"])
                .arg(staging)
                .args(PYTHON_PACKAGES);
            run_install(pip, "the Python toolchain (pip install)")
        })
    }

    /// `root/name`, created by `fill` in a staging directory the first time.
    fn install(
        &self,
        name: &str,
        what: &str,
        fill: impl FnOnce(&Path) -> Result<(), AuthoringError>,
    ) -> Result<PathBuf, AuthoringError> {
        let done = self.root.join(name);
        if done.is_dir() {
            return Ok(done);
        }
        fs::create_dir_all(&self.root).map_err(AuthoringError::io(format!("creating {}", self.root.display())))?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
        let staging = self.root.join(format!(".{name}.{}.{nanos}", std::process::id()));
        fs::create_dir_all(&staging).map_err(AuthoringError::io(format!("creating {}", staging.display())))?;
        if env::var_os("SANDFLOW_QUIET_INSTALL").is_none() {
            eprintln!("installing {what} into {} (once)", done.display());
        }
        let filled = fill(&staging);
        let placed = filled.and_then(|()| match fs::rename(&staging, &done) {
            Ok(()) => Ok(()),
            // Another build finished the same install first: use its copy.
            Err(_) if done.is_dir() => Ok(()),
            Err(e) => Err(AuthoringError::io(format!("moving the install into {}", done.display()))(e)),
        });
        if staging.exists() {
            let _ = fs::remove_dir_all(&staging);
        }
        placed.map(|()| done)
    }
}

/// A directory name that changes when a pinned version does.
fn pinned_name(language: &str, packages: &[&str]) -> String {
    let digest = Sha256::digest(packages.join("\n").as_bytes());
    format!("{language}-{}", &hex::encode(digest)[..12])
}

fn require(program: &str, args: &[&str], why: &str) -> Result<(), AuthoringError> {
    let found = Command::new(program).args(args).output().is_ok_and(|output| output.status.success());
    if found {
        Ok(())
    } else {
        Err(AuthoringError::ToolMissing { program: format!("`{program} {}`", args.join(" ")), why: why.into() })
    }
}

fn run_install(mut command: Command, what: &str) -> Result<(), AuthoringError> {
    let output = command.output().map_err(AuthoringError::io(format!("starting {what}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    Err(AuthoringError::Install { what: what.into(), output: text.trim().to_string() })
}
