//! Blocks written in JavaScript/TypeScript and Python: the test guests under
//! `tests/guests-js/` and `tests/guests-py/` and the example blocks under
//! `examples/blocks/`, built the way `sandflow blocks build` builds them.
//!
//! A project is built only when its component (its `dist/`) is missing or
//! older than a source or its language's SDK, so a test run builds each one
//! at most once, and a second run none. The pinned toolchains are installed under the target
//! directory on first use: a fresh clone installs its own, as a new user's
//! machine would.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sandflow_authoring::builder;
use sandflow_authoring::project::{Language, Project, newest_source};
use sandflow_authoring::toolchain::Toolchains;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The toolchains every test shares: `target/sandflow-toolchains`.
pub fn toolchains() -> Toolchains {
    Toolchains::at(repo_root().join("target/sandflow-toolchains"))
}

/// One build at a time in this process: two tests asking for the same guest
/// must not both write its `dist/`.
static BUILDING: Mutex<()> = Mutex::new(());

/// The component of the project at `dir`, built first when needed.
pub fn built(dir: &Path) -> Vec<u8> {
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let project = Project::open(dir).unwrap_or_else(|e| panic!("{e}"));
    // The SDK and the WIT are part of what a guest is built from: editing them rebuilds it.
    let sdk = match project.language {
        Language::Rust => "guest-sdk/src",
        Language::JavaScript | Language::TypeScript => "guest-sdk/js",
        Language::Python => "guest-sdk/python",
    };
    let inputs = [sdk, "wit"].map(|dir| newest_source(&repo_root().join(dir))).into_iter().max().flatten();
    if project.needs_build() || project.built_before(inputs) {
        builder::build(&project, &toolchains()).unwrap_or_else(|e| panic!("{e}"));
    }
    let path = project.component_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A JavaScript/TypeScript test guest (`tests/guests-js/NAME`).
pub fn js(name: &str) -> Vec<u8> {
    built(&repo_root().join("tests/guests-js").join(name))
}

/// A Python test guest (`tests/guests-py/NAME`).
pub fn python(name: &str) -> Vec<u8> {
    built(&repo_root().join("tests/guests-py").join(name))
}

/// An example block (`examples/blocks/NAME`).
pub fn example(name: &str) -> Vec<u8> {
    built(&repo_root().join("examples/blocks").join(name))
}
