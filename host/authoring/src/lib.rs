//! Writing blocks outside this repository: `sandflow blocks new`, `build` and
//! `test` for Rust, JavaScript/TypeScript and Python.
//!
//! - [`project`]: what a block project is (its language, name, sources) and
//!   the templates `new` writes.
//! - [`toolchain`]: the pinned toolchains each language builds with
//!   (componentize-js and esbuild from npm, componentize-py from PyPI),
//!   installed on first use into a cache, and the SDKs the binary carries.
//! - [`builder`]: one project in, one `sandflow:block` component out.
//! - [`cases`]: the `tests/cases.json` every template carries.
//!
//! Nothing here runs a block: the CLI loads what [`builder::build`] produced
//! into the runtime, as the server does with an upload.

pub mod builder;
pub mod cases;
pub mod project;
pub mod toolchain;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

use std::path::PathBuf;

/// What went wrong while creating or building a block project.
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// A program the language needs is not installed.
    #[error("{program} was not found: {why}")]
    ToolMissing { program: String, why: String },
    /// Installing a pinned toolchain from its registry failed.
    #[error("installing {what} failed: {output}")]
    Install { what: String, output: String },
    /// The directory is not a block project, or its manifest is unusable.
    #[error("{0}")]
    Project(String),
    /// The language's build failed; its own message says where.
    #[error("building {dir} failed: {message}")]
    Build { dir: PathBuf, message: String },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl AuthoringError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
