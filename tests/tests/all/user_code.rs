//! Ordinary user code through the real standard-block components (issue 12): JavaScript as
//! Node runs it, jq as jq runs it (jq's own suite), Jinja as Jinja2 renders it.

mod javascript;
mod jq;
mod jq_suite;
mod templates;

use sandflow_runtime::{BlockOutcome, BlockRun, BlockRunError, RunRequest, Runtime};
use sandflow_stdblocks::standard_block;
use serde_json::Value;

/// Runs the standard block `block_type` once with `params` and the runtime's default limits.
pub async fn run_block(runtime: &Runtime, block_type: &str, params: Value) -> BlockRun {
    run_block_with(runtime, block_type, RunRequest { params, ..Default::default() }).await
}

/// Runs the standard block `block_type` once as `request` says.
pub async fn run_block_with(runtime: &Runtime, block_type: &str, request: RunRequest) -> BlockRun {
    let block = standard_block(block_type).unwrap_or_else(|| panic!("no standard block `{block_type}`"));
    let loaded = runtime.load(block.component).await.expect("standard block loads");
    runtime.run(&loaded, request).await
}

/// The block's `result` output (the function's value, the filter's output),
/// or a panic naming what happened instead.
#[track_caller]
pub fn result(run: &BlockRun) -> &Value {
    match &run.outcome {
        Ok(BlockOutcome::Done(output)) => &output["result"],
        other => panic!("expected a result, got {other:?}"),
    }
}

/// The message the block failed with: an error the user's code raised, never
/// a trap of the guest.
#[track_caller]
pub fn failure(run: &BlockRun) -> &str {
    match &run.outcome {
        Err(BlockRunError::Failed(message)) => message,
        other => panic!("expected the block to fail, got {other:?}"),
    }
}
