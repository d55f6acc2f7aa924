//! `human_in_the_loop`: pauses the branch with a `response` for an approver;
//! the resume input becomes the output, stamped with `submittedAt`.

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome, Value};
use serde::Deserialize;

/// Params of `human_in_the_loop`.
#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Params {
    /// Shown to whoever resumes the pause point.
    #[serde(default)]
    response: Value,
    /// A JSON Schema the resume input must match. The host checks it before it
    /// accepts a resume, so a bad input is refused and the pause point stays open.
    #[serde(default)]
    input_schema: Option<Value>,
}

struct HumanInTheLoop;

impl Block for HumanInTheLoop {
    type Params = Params;
    type Output = Value;
    const NAME: &'static str = "human_in_the_loop";
    const DESCRIPTION: &'static str = "Pauses until a person resumes it; outputs their input plus submittedAt";

    fn run(ctx: &mut Context, params: Params) -> Result<Outcome<Value>, BlockError> {
        let Some(input) = ctx.resume_input() else {
            return Ok(Outcome::Pause {
                response: params.response,
                resume_after_ms: None,
                input_schema: params.input_schema,
            });
        };
        let mut output = match input {
            Value::Object(map) => map,
            other => [("value".to_string(), other)].into_iter().collect(),
        };
        output.insert("submittedAt".into(), Value::String(rfc3339_now()));
        Ok(Outcome::Done(Value::Object(output)))
    }
}

/// UTC now as RFC 3339, from the WASI wall clock.
fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

sandflow_sdk::export_block!(HumanInTheLoop);
