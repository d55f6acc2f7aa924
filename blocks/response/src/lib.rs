//! `response`: shapes the workflow's answer, `{data, status, headers}`, for the caller.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use sandflow_sdk::{Block, BlockError, Context, Outcome, Value};
use serde::{Deserialize, Serialize};

/// The `response` block.
pub struct Response;

/// Params of the `response` block.
#[derive(Debug, Deserialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The response body; null when absent.
    #[serde(default)]
    pub data: Value,
    /// The HTTP status, 100..=599; 200 when absent.
    #[serde(default = "ok_status")]
    pub status: i64,
    /// Response headers, name to value.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
}

fn ok_status() -> i64 {
    200
}

/// Output of the `response` block.
#[derive(Debug, PartialEq, Serialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
pub struct Output {
    pub data: Value,
    pub status: u16,
    /// Empty when the params had none.
    pub headers: BTreeMap<String, String>,
}

/// Checks the params and builds the output.
pub fn respond(params: Params) -> Result<Output, BlockError> {
    let status = u16::try_from(params.status).ok().filter(|s| (100..=599).contains(s)).ok_or_else(|| {
        BlockError::invalid_input(format!("status: {} is not an HTTP status (100..=599)", params.status))
    })?;
    let headers = params.headers.unwrap_or_default();
    for (name, value) in &headers {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(BlockError::invalid_input(format!("headers: `{name}` is not a valid header name")));
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(BlockError::invalid_input(format!("headers: value of `{name}` contains a line break or NUL")));
        }
    }
    Ok(Output { data: params.data, status, headers })
}

impl Block for Response {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "response";
    const DESCRIPTION: &'static str = "Shapes the workflow's response: data, HTTP status and headers";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        respond(params).map(Outcome::Done)
    }
}

sandflow_sdk::export_block!(Response);
