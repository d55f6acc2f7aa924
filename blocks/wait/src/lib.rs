//! `wait`: waits in the host without burning fuel; a wait longer than the
//! server lets one run block becomes a timed pause point, resumed on time.

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome};
use serde::{Deserialize, Serialize};

/// The `wait` block.
pub struct Wait;

/// The longest wait: 30 days.
pub const MAX_WAIT_MS: u64 = 30 * 24 * 3600 * 1000;

/// Params of the `wait` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// How long to wait, in milliseconds (at most 30 days).
    #[schemars(range(min = 0, max = 2_592_000_000u64))]
    pub duration_ms: u64,
}

/// Output of the `wait` block.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub waited_ms: u64,
    /// `slept` when the host waited inside the run, `paused` when the wait was a timed pause point.
    pub mode: String,
}

impl Block for Wait {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "wait";
    const DESCRIPTION: &'static str = "Waits durationMs; long waits become timed pause points";

    fn run(ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let ms = params.duration_ms;
        if ms > MAX_WAIT_MS {
            return Err(BlockError::invalid_input(format!("durationMs: {ms} is over the maximum of {MAX_WAIT_MS}")));
        }
        if ctx.resume_input().is_some() {
            return Ok(Outcome::Done(Output { waited_ms: ms, mode: "paused".into() }));
        }
        if ctx.sleep_ms(ms) {
            return Ok(Outcome::Done(Output { waited_ms: ms, mode: "slept".into() }));
        }
        ctx.info(&format!("waiting {ms}ms as a timed pause point"));
        Ok(Outcome::Pause {
            response: serde_json::json!({"durationMs": ms}),
            resume_after_ms: Some(ms),
            input_schema: None,
        })
    }
}

sandflow_sdk::export_block!(Wait);
