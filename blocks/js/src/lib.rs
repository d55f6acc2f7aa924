//! JavaScript evaluation for the standard blocks, with the pure-Rust `boa_engine`.
//!
//! Expressions arrive with workflow references already replaced by JSON literals,
//! e.g. `{"count": 12}.count > 10`, so each one is evaluated as an expression first.

use boa_engine::{Context, JsError, JsValue, Script, Source};
use serde_json::Value;

#[cfg(test)]
mod tests;

/// Loop iterations allowed per function frame: plenty for a condition, small enough that `while(true){}` fails in well under a second.
pub const LOOP_ITERATION_LIMIT: u64 = 100_000;
/// Nested JavaScript calls allowed, so runaway recursion fails before the wasm stack does.
pub const RECURSION_LIMIT: usize = 256;
/// Values allowed on boa's VM stack (boa's own default, stated so it cannot drift).
pub const STACK_SIZE_LIMIT: usize = 10 * 1024;

/// One boa context with the runtime limits set; make one per block run and evaluate every expression of the run in it.
pub struct Engine {
    context: Context,
}

impl Engine {
    /// A fresh context with [`LOOP_ITERATION_LIMIT`], [`RECURSION_LIMIT`] and [`STACK_SIZE_LIMIT`] applied.
    pub fn new() -> Result<Self, String> {
        let mut context = Context::builder().build().map_err(|e| e.to_string())?;
        let limits = context.runtime_limits_mut();
        limits.set_loop_iteration_limit(LOOP_ITERATION_LIMIT);
        limits.set_recursion_limit(RECURSION_LIMIT);
        limits.set_stack_size_limit(STACK_SIZE_LIMIT);
        Ok(Self { context })
    }

    /// Evaluates `expression` and converts its value to JSON (`undefined` becomes null).
    pub fn evaluate(&mut self, expression: &str) -> Result<Value, String> {
        let value = run(expression, &mut self.context)?;
        let json = value.to_json(&mut self.context).map_err(|e| message(e, &mut self.context))?;
        Ok(json.unwrap_or(Value::Null))
    }

    /// Evaluates `expression` and tells whether its value is JavaScript-truthy.
    pub fn is_truthy(&mut self, expression: &str) -> Result<bool, String> {
        Ok(run(expression, &mut self.context)?.to_boolean())
    }
}

/// Evaluates `expression` in a fresh [`Engine`] and converts its value to JSON.
pub fn evaluate(expression: &str) -> Result<Value, String> {
    Engine::new()?.evaluate(expression)
}

/// Evaluates `expression` in a fresh [`Engine`] and tells whether its value is JavaScript-truthy.
pub fn is_truthy(expression: &str) -> Result<bool, String> {
    Engine::new()?.is_truthy(expression)
}

/// The branch a condition or router takes: the first whose expression is truthy, or the first
/// without one (the else / default branch) when it is reached; `Some((id, matched_by_expression))`.
/// All expressions run in one [`Engine`]; an error names the branch id it came from.
pub fn select_branch<'a>(
    branches: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<Option<(&'a str, bool)>, (&'a str, String)> {
    let mut engine = None;
    for (id, expression) in branches {
        // A blank expression is treated as none: editors tend to send "" for the else branch.
        let Some(expression) = expression.filter(|e| !e.trim().is_empty()) else {
            return Ok(Some((id, false)));
        };
        let engine = match &mut engine {
            Some(engine) => engine,
            None => engine.insert(Engine::new().map_err(|e| (id, e))?),
        };
        if engine.is_truthy(expression).map_err(|e| (id, e))? {
            return Ok(Some((id, true)));
        }
    }
    Ok(None)
}

/// Runs `source` as a parenthesised expression when it parses as one, else as a script.
fn run(source: &str, context: &mut Context) -> Result<JsValue, String> {
    // As a script, a leading `{` would open a block, so `{"a": 1}.a` would not parse;
    // the newline before `)` keeps a trailing `// comment` from swallowing it.
    let wrapped = format!("({source}\n)");
    let script = match Script::parse(Source::from_bytes(&wrapped), None, context) {
        Ok(script) => script,
        // Not an expression (e.g. `let x = 1; x > 0`): parse it as written, so errors point at the user's text.
        Err(_) => Script::parse(Source::from_bytes(source), None, context).map_err(|e| message(e, context))?,
    };
    script.evaluate(context).map_err(|e| message(e, context))
}

/// The error as `Kind: message`, e.g. `SyntaxError: ...` or `Error: boom`; other thrown values as JavaScript shows them.
fn message(error: JsError, context: &mut Context) -> String {
    match error.try_native(context) {
        Ok(native) => native.to_string(),
        Err(_) => format!("Uncaught {}", error.to_string().trim()),
    }
}
