//! Why a block run failed, in the engine's own words: the runner says what
//! kind of failure it was, so the engine (and later its retries) can tell a
//! timeout from a trap without reading the message.

use serde::{Deserialize, Serialize};

/// What kind of failure ended a block run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BlockErrorKind {
    /// The run passed its wall-clock deadline.
    Timeout,
    /// The run used up its fuel (the deterministic CPU limit).
    OutOfFuel,
    /// The run asked for more memory than its limit.
    MemoryLimit,
    /// The block recursed past the stack limit.
    StackOverflow,
    /// Another per-run limit: tables, handles, output size, logs, host-call data,
    /// a value nested too deep, a timed pause too long.
    Limit,
    /// The server had no room for the run (its guest-memory budget, or the
    /// tenant's share of it): the block itself did nothing wrong.
    Capacity,
    /// The block trapped: a panic, a bad handle, a failed host call.
    Trap,
    /// The run was stopped from outside.
    Cancelled,
    /// The block ran and reported a failure of its own.
    Reported,
    /// The block's params (or resume input) are unusable: refused by the block,
    /// by a reference that did not resolve, or by a pause point's input schema.
    InvalidInput,
    /// The block answered something that is not a usable outcome (not JSON).
    InvalidOutput,
    /// The execution's budgets are spent; the execution fails with this block.
    Budget,
    /// The child execution of a `workflow` block was refused or did not complete.
    Workflow,
    /// Anything else, such as a block type the runner does not know.
    #[default]
    Other,
}

/// A failed block run: its kind, and the message users see (unchanged from
/// the runtime's, so the API's error strings do not depend on the kind).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BlockError {
    /// What kind of failure it was, for the engine to act on.
    pub kind: BlockErrorKind,
    /// What users see: the block log's `error`, the error edge's output, the execution's error.
    pub message: String,
}

impl BlockError {
    /// A failure of `kind` with the message users see.
    pub fn new(kind: BlockErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// A failure the block reported itself.
    pub fn reported(message: impl Into<String>) -> Self {
        Self::new(BlockErrorKind::Reported, message)
    }
}
