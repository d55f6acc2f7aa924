//! `function`: runs a JavaScript function body with `input` in scope, inside
//! this component (boa), so fuel, memory and deadline limits hold for user code.

use sandflow_js::Host;
use sandflow_js::host::{HttpError, HttpRequest, HttpResponse};
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

/// Console capture, run as its own script before the body so the body's lines stay its own.
const CONSOLE_PRELUDE: &str = r#"
const __stdout = [];
let __stdoutBytes = 0;
const __print = (...args) => {
  if (__stdoutBytes > STDOUT_LIMIT) return;
  const line = args.map(a => typeof a === "string" ? a : JSON.stringify(a)).join(" ");
  __stdoutBytes += line.length + 1;
  __stdout.push(__stdoutBytes > STDOUT_LIMIT ? "[stdout truncated]" : line);
};
globalThis.console = { log: __print, info: __print, warn: __print, error: __print, debug: __print };
"#;

/// Runs `code` as the body of an async function over `input`, with `references` bound as
/// `__refs`; timers wait and `fetch` goes out through `host`.
pub fn run_function(code: &str, input: &Value, references: &[Value], host: &dyn Host) -> Result<Output, String> {
    let mut prepared = match PREPARED.take() {
        Some(prepared) => prepared,
        None => engine_with_console()?,
    };
    let output = run_in(&mut prepared, code, input, references, host);
    // Tearing a context down takes a while, and a run's sandbox is thrown away whole after it:
    // the context is left for the next run on this thread, if there is one, to drop.
    SPENT.set(Some(prepared));
    output
}

fn run_in(
    Prepared { engine, stdout }: &mut Prepared,
    code: &str,
    input: &Value,
    references: &[Value],
    host: &dyn Host,
) -> Result<Output, String> {
    // The prepared context has `__refs` bound to a frozen empty array already, which a frozen
    // empty array of the run would be indistinguishable from.
    if !references.is_empty() {
        engine.bind_references(references)?;
    }
    let result = engine.run_async_body(code, "input", input, host)?;
    let stdout = engine.call_for_text(stdout)?;
    Ok(Output { result, stdout })
}

/// The SDK's capabilities as the JavaScript host: the host process enforces the SSRF policy,
/// caps and allow-list on fetches and waits without burning fuel.
struct SdkHost<'a, 'b> {
    ctx: &'a Context<'b>,
    started: std::time::Instant,
}

impl Host for SdkHost<'_, '_> {
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.ctx.fetch(request)
    }

    fn sleep_ms(&self, ms: u64) -> bool {
        self.ctx.sleep_ms(ms)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The `function` block.
pub struct Function;

impl Block for Function {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "function";
    const DESCRIPTION: &'static str = "Runs a JavaScript function body with `input` in scope; outputs {result, stdout}";

    fn run(ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        if params.code.trim().is_empty() {
            return Err(BlockError::invalid_input("code: must not be empty"));
        }
        let host = SdkHost { ctx, started: std::time::Instant::now() };
        run_function(&params.code, &params.input, &params.references, &host)
            .map(Outcome::Done)
            .map_err(BlockError::Failed)
    }
}

thread_local! {
    /// The context [`prepare`] built before the snapshot was taken, for the run to take.
    static PREPARED: std::cell::Cell<Option<Prepared>> = const { std::cell::Cell::new(None) };
    /// The context of the last run on this thread, dropped when the next run ends.
    static SPENT: std::cell::Cell<Option<Prepared>> = const { std::cell::Cell::new(None) };
}

/// What a run starts from: a context and the reader of its captured console output.
struct Prepared {
    engine: sandflow_js::Engine,
    /// `() => __stdout.join('\n')`, compiled once rather than parsed again after each body.
    stdout: sandflow_js::KeptFunction,
}

/// A fresh context with the event loop and the console capture installed, and no references
/// bound: what every run starts from, and nothing of any run.
fn engine_with_console() -> Result<Prepared, String> {
    let mut engine = sandflow_js::Engine::with_event_loop()?;
    engine.execute(&CONSOLE_PRELUDE.replace("STDOUT_LIMIT", &STDOUT_LIMIT.to_string()))?;
    let stdout = engine.keep_function("() => __stdout.join('\\n')")?;
    engine.bind_references(&[])?;
    Ok(Prepared { engine, stdout })
}

/// Builds the JavaScript context the run will use (realm, built-ins, event loop, console),
/// before the snapshot is taken; a run from a plain component builds its own.
fn prepare() {
    PREPARED.set(Some(engine_with_console().expect("a fresh JavaScript context builds")));
}

sandflow_sdk::export_block!(Function, init = prepare);

#[cfg(test)]
mod tests;
