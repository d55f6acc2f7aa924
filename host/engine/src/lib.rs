//! The workflow engine: turns a workflow state into block runs and one
//! `ExecutionResult`, following SPEC section 3. It talks to blocks only
//! through the [`BlockRunner`] trait, so scheduling is tested with fake runners.
//!
//! Modules from the bottom up: the vocabulary of a block run (`block_error`,
//! `runner`) and of an execution (`request`, `result`, `error`, `settings`);
//! `admission`, every check before anything runs; `subworkflow`, the `workflow`
//! block as a decorator of the runner; the `scheduler`; and `execution`, the
//! [`Engine`] that ties them together.

pub mod admission;
pub mod block_error;
pub mod budget;
pub mod error;
pub mod execution;
pub mod graph;
pub mod model;
pub mod reference;
pub mod request;
pub mod result;
pub mod runner;
mod scheduler;
pub mod settings;
pub mod subworkflow;
pub mod validate;

pub use admission::{MAX_CALL_DEPTH, check_resume_input};
pub use block_error::{BlockError, BlockErrorKind};
pub use budget::{ExecutionBudgets, MAX_JSON_DEPTH};
pub use error::ExecuteError;
pub use execution::Engine;
pub use graph::Problem;
pub use model::WorkflowState;
pub use request::{
    Checkpoint, CheckpointOutcome, ExecutionEvent, ExecutionObserver, ExecutionRequest, ExecutionSpec, ResumeRequest,
    RunFrom, WorkflowSource,
};
pub use result::{ExecutionResult, ExecutionStatus, PauseKind, PausePoint, ResumeStatus};
pub use runner::{BlockCall, BlockOutcome, BlockReport, BlockRunner, Cancellation, GuestLog};
pub use settings::EngineSettings;
