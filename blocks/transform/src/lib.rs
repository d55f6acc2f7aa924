//! `transform`: runs a jq filter over a JSON value, using the pure-Rust jaq interpreter.

mod alternatives;
mod filter;
mod natives;
mod prelude;
#[cfg(test)]
mod tests;
mod value;

use sandflow_sdk::{Block, BlockError, Context, Outcome, Value};
use serde::{Deserialize, Serialize};

pub use filter::{FilterError, run_filter, run_filter_each, run_filter_with};

/// The `transform` block.
pub struct Transform;

/// Params of the `transform` block.
#[derive(Debug, Deserialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The jq program, e.g. `.items | map(.price * 2)`.
    pub filter: String,
    /// The JSON value the filter runs on; null when absent.
    #[serde(default)]
    pub input: Value,
    /// The values `$__refs[0]`, `$__refs[1]`, … of `filter` stand for (the engine writes each
    /// workflow reference in the filter that way), bound as data.
    #[serde(default)]
    pub references: Vec<Value>,
}

/// Output of the `transform` block.
#[derive(Debug, Serialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
pub struct Output {
    /// The filter's only output; the array of its outputs when it yields several; null when it yields none.
    pub result: Value,
}

impl From<FilterError> for BlockError {
    fn from(error: FilterError) -> Self {
        match error {
            FilterError::Invalid(message) => BlockError::InvalidInput(message),
            FilterError::Runtime(message) => BlockError::Failed(message),
        }
    }
}

impl Block for Transform {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "transform";
    const DESCRIPTION: &'static str = "Runs a jq filter over a JSON input and outputs its result";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let result = run_filter_with(&params.filter, params.input, params.references)?;
        Ok(Outcome::Done(Output { result }))
    }
}

/// The block's init: parses jq's definitions and builds the natives once, at build time.
fn prepare() {
    filter::prepare();
}

sandflow_sdk::export_block!(Transform, init = prepare);
