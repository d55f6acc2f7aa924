//! The workflow engine: turns a workflow state into block runs and one
//! `ExecutionResult`, following SPEC section 3. It talks to blocks only
//! through the [`BlockRunner`] trait, so scheduling is tested with fake runners.

pub mod budget;
pub mod execution;
pub mod graph;
pub mod model;
pub mod reference;
pub mod result;
pub mod runner;
mod scheduler;
pub mod subworkflow;
pub mod validate;

pub use budget::{ExecutionBudgets, MAX_JSON_DEPTH};
pub use execution::{
    Checkpoint, CheckpointOutcome, Engine, EngineSettings, ExecuteError, ExecutionEvent, ExecutionObserver,
    ExecutionRequest, ResumeRequest, RunFrom, check_resume_input, check_run_from,
};
pub use graph::Problem;
pub use model::WorkflowState;
pub use result::{ExecutionResult, ExecutionStatus, PauseKind, PausePoint, ResumeStatus};
pub use runner::{BlockCall, BlockOutcome, BlockReport, BlockRunner, Cancellation, GuestLog};
pub use subworkflow::{MAX_CALL_DEPTH, WorkflowSource};
