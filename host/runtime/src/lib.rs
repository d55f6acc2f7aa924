//! Runs untrusted `sandflow:block` components under hard limits.
//!
//! One [`Runtime`] owns a wasmtime engine with the pooling allocator and an
//! epoch ticker. [`Runtime::load`] compiles a component once (cached on disk by
//! content hash and engine compatibility hash), checks it against the world and
//! reads its manifest. [`Runtime::run`] instantiates it in a fresh store with
//! fuel, a summed memory limit, table and instance limits, a wall-clock
//! deadline, host-call data limits and output and log caps, and returns a
//! [`BlockRun`] whose failure, if any, is a typed [`BlockRunError`].
//!
//! ```no_run
//! # async fn demo(component: &[u8]) -> Result<(), sandflow_runtime::LoadError> {
//! use sandflow_runtime::{Runtime, RuntimeConfig, RunRequest};
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let block = runtime.load(component).await?;
//! let run = runtime.run(&block, RunRequest { params: serde_json::json!({"x": 1}), ..Default::default() }).await;
//! println!("{:?} in {:?}", run.outcome, run.usage.duration);
//! # Ok(()) }
//! ```

mod admission;
mod bindings;
mod cache;
mod compile;
mod error;
mod host;
mod http;
mod limits;
mod run;

pub use admission::AdmissionLimits;
pub use cache::component_digest;
pub use compile::{ChildSettings, CompileConfig, CompilerCommand, compile_child_main};
pub use error::{BlockRunError, LoadError};
pub use http::{AllowEntry, HttpPolicy};
pub use limits::{RunLimits, RuntimeConfig};
pub use run::{
    BlockInfo, BlockOutcome, BlockRun, CancelFlag, GuestLog, LoadedBlock, LogLevel, Manifest, RunRequest, RunUsage,
    Runtime,
};
