//! `function`: runs a JavaScript function body with `input` in scope, inside
//! this component (boa), so fuel, memory and deadline limits hold for user code.

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome, Value};
use serde::{Deserialize, Serialize};

/// Bytes of `console.log` output kept per run; the rest is dropped with a marker.
pub const STDOUT_LIMIT: usize = 64 * 1024;

/// Params of the `function` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The body of a JavaScript function; `return` gives the result. The engine writes each
    /// workflow reference in it as `__refs[i]`.
    pub code: String,
    /// The value bound to `input` (references already resolved), handed to JavaScript as data.
    #[serde(default)]
    pub input: Value,
    /// The values `__refs[0]`, `__refs[1]`, … of `code` stand for, bound as data.
    #[serde(default)]
    pub references: Vec<Value>,
}

/// Output of the `function` block.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
pub struct Output {
    /// What the body returned (`undefined` becomes null).
    pub result: Value,
    /// What `console.log` (and `info`, `warn`, `error`) printed, one call per line.
    pub stdout: String,
}

/// The hidden global `input` is bound from, converted natively rather than pasted into source.
const INPUT_GLOBAL: &str = "__input";

/// Runs `code` as a function body over `input`, with `references` bound as `__refs`.
pub fn run_function(code: &str, input: &Value, references: &[Value]) -> Result<Output, String> {
    // The body runs in its own function scope, so its `return` and its
    // declarations cannot reach the harness around it. `input` and the
    // references are bound as values (data never becomes code, SPEC 2).
    let source = format!(
        r#"
const __stdout = [];
let __stdoutBytes = 0;
const __print = (...args) => {{
  if (__stdoutBytes > {STDOUT_LIMIT}) return;
  const line = args.map(a => typeof a === "string" ? a : JSON.stringify(a)).join(" ");
  __stdoutBytes += line.length + 1;
  __stdout.push(__stdoutBytes > {STDOUT_LIMIT} ? "[stdout truncated]" : line);
}};
const console = {{ log: __print, info: __print, warn: __print, error: __print, debug: __print }};
const __result = (function (input) {{
{code}
}})({INPUT_GLOBAL});
JSON.stringify({{ result: __result === undefined ? null : __result, stdout: __stdout.join("\n") }});
"#
    );
    let mut engine = sandflow_js::Engine::new()?;
    engine.bind(INPUT_GLOBAL, input)?;
    engine.bind_references(references)?;
    let text = engine.evaluate(&source)?;
    let text = text.as_str().ok_or("the result cannot be represented as JSON")?;
    serde_json::from_str(text).map_err(|e| format!("the result is not JSON: {e}"))
}

/// The `function` block.
pub struct Function;

impl Block for Function {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "function";
    const DESCRIPTION: &'static str = "Runs a JavaScript function body with `input` in scope; outputs {result, stdout}";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        if params.code.trim().is_empty() {
            return Err(BlockError::invalid_input("code: must not be empty"));
        }
        run_function(&params.code, &params.input, &params.references).map(Outcome::Done).map_err(BlockError::Failed)
    }
}

sandflow_sdk::export_block!(Function);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn returns_the_result_and_captures_console_output() {
        let out = run_function("console.log('n is', input.n); return input.n * 2;", &json!({"n": 21}), &[]).unwrap();
        assert_eq!(out, Output { result: json!(42), stdout: "n is 21".into() });
    }

    #[test]
    fn undefined_result_is_null_and_objects_come_back_as_json() {
        assert_eq!(run_function("let x = 1;", &json!(null), &[]).unwrap().result, json!(null));
        let out =
            run_function("return {sum: input.reduce((a, b) => a + b, 0), n: input.length};", &json!([1, 2, 3]), &[])
                .unwrap();
        assert_eq!(out.result, json!({"sum": 6, "n": 3}));
    }

    #[test]
    fn thrown_errors_and_syntax_errors_are_reported() {
        let error = run_function("throw new Error('boom');", &json!(null), &[]).unwrap_err();
        assert!(error.starts_with("Error: boom"), "{error}");
        assert!(run_function("return (;", &json!(null), &[]).unwrap_err().starts_with("SyntaxError"));
    }

    #[test]
    fn an_infinite_loop_ends_in_an_error() {
        let error = run_function("while (true) {}", &json!(null), &[]).unwrap_err();
        assert!(error.contains("RuntimeLimitError"), "{error}");
    }

    #[test]
    fn console_output_is_bounded() {
        let out =
            run_function("for (let i = 0; i < 700; i++) console.log('x'.repeat(100)); return 1;", &json!(null), &[])
                .unwrap();
        assert!(out.stdout.len() <= STDOUT_LIMIT + 200, "{}", out.stdout.len());
        assert!(out.stdout.ends_with("[stdout truncated]"));
    }

    #[test]
    fn input_is_bound_as_data_not_pasted_as_source() {
        // An object literal's `__proto__` would set the prototype; a parsed value keeps it as a key.
        let input = json!({"user": {"__proto__": {"isAdmin": true}}, "name": "\"}); globalThis.pwned = 1; ({\""});
        let out =
            run_function("return [input.user.isAdmin === true, typeof globalThis.pwned, input.name];", &input, &[])
                .unwrap();
        assert_eq!(out.result, json!([false, "undefined", input["name"]]));
        let out = run_function("input.n = 2; return input;", &json!({"n": 1}), &[]).unwrap();
        assert_eq!(out.result, json!({"n": 2}), "input is an ordinary, mutable value");
    }

    #[test]
    fn references_in_code_are_values() {
        let references = [json!({"__proto__": {"isAdmin": true}}), json!("bob")];
        let out = run_function("return [__refs[0].isAdmin === true, __refs[1] === 'bob'];", &json!(null), &references)
            .unwrap();
        assert_eq!(out.result, json!([false, true]));
    }
}
