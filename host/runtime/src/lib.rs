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
mod block_run;
mod cache;
mod cancel;
mod capabilities;
mod compile;
mod config;
mod engine;
mod error;
mod limiter;
mod limits;
mod run_state;
mod runtime;
mod trap;

pub use admission::AdmissionLimits;
pub use block_run::{BlockInfo, BlockOutcome, BlockRun, Manifest, RunRequest, RunUsage};
pub use cache::component_digest;
pub use cancel::CancelFlag;
pub use capabilities::http::{AllowEntry, HttpPolicy};
pub use capabilities::log::{GuestLog, LogLevel};
pub use compile::{ChildSettings, CompileConfig, CompilerCommand, compile_child_main};
pub use config::RuntimeConfig;
pub use error::{BlockRunError, LoadError};
pub use limits::RunLimits;
pub use runtime::{LoadedBlock, Runtime};
/// Whether a component exports the init function, so an upload of it is pre-initialized.
pub use sandflow_snapshot::{INIT_EXPORT, declares_init};
