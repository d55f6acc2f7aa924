//! JavaScript evaluation for the standard blocks, with the pure-Rust `boa_engine`.
//!
//! Data never becomes code (SPEC 2): the engine rewrites each workflow reference in
//! JavaScript source to an element of [`REFERENCES`] (`<fetch.data.count> > 10` arrives as
//! `__refs[0] > 10` with `references: [12]`), and this crate binds that array natively with
//! [`JsValue::from_json`], which defines own data properties as `JSON.parse` does. So an input
//! `{"__proto__": {"isAdmin": true}}` stays an object with an own key `__proto__`, and a string
//! such as `"); evil("` stays a string: neither is ever parsed as source.

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::IntegrityLevel;
use boa_engine::object::builtins::{JsArray, JsFunction};
use boa_engine::property::PropertyDescriptor;
use boa_engine::{Context, JsError, JsNativeError, JsResult, JsString, JsValue, JsVariant, Script, Source, js_string};
use event_loop::EventLoop;
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;

mod event_loop;
mod fetch;
mod globals;
pub mod host;
mod positions;
#[cfg(test)]
mod tests;

pub use host::Host;

/// Nested JavaScript calls allowed: recursion 5,000 deep works, runaway recursion ends in a
/// RuntimeLimitError. JavaScript-to-JavaScript calls live on boa's heap frame stack, not the
/// wasm stack; recursion through native callbacks (`[n].map(f)`) re-enters the interpreter on
/// the wasm stack, which the host bounds and reports as a stack overflow. Loops and other
/// runaway code are ended by the host's fuel and deadline.
pub const RECURSION_LIMIT: usize = 6_000;
/// Values allowed on boa's VM stack: room for [`RECURSION_LIMIT`] frames of a few locals each.
pub const STACK_SIZE_LIMIT: usize = 1024 * 1024;

/// The global a reference in JavaScript source becomes an element of: `<start.name>` is
/// rewritten by the engine to `__refs[0]`, and the value travels beside the source as JSON.
pub const REFERENCES: &str = "__refs";

/// One boa context with the runtime limits set; make one per block run and evaluate every expression of the run in it.
pub struct Engine {
    context: Context,
    event_loop: Rc<EventLoop>,
}

/// boa's clock, started at its first reading rather than when the context is built: boa's
/// `StdClock` reads the monotonic clock in `Context::builder().build()`, which in a snapshot
/// happens at build time, in another process, whose clock reading no run may see (and every
/// import traps there anyway).
#[derive(Debug, Default)]
struct RunClock {
    start: std::cell::OnceCell<std::time::Instant>,
}

impl boa_engine::context::Clock for RunClock {
    fn now(&self) -> boa_engine::context::time::JsInstant {
        let elapsed = self.start.get_or_init(std::time::Instant::now).elapsed();
        boa_engine::context::time::JsInstant::new(elapsed.as_secs(), elapsed.subsec_nanos())
    }

    fn system_time_millis(&self) -> i64 {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }
}

thread_local! {
    /// The engine [`prepare`] built before the component's snapshot was taken, taken by the
    /// first [`Engine::new`] of a run.
    static PREPARED: Cell<Option<Engine>> = const { Cell::new(None) };
}

/// Builds, ahead of any run, the engine [`Engine::new`] returns next: a block's init calls it,
/// so the component's snapshot holds a context whose realm and built-ins are already made. A
/// context right after it is built holds nothing of any run, and each run starts from its own
/// copy of the snapshot, so taking it is the same as building a fresh one. A component that
/// was not pre-initialized builds its engines in the run, as before. (A block that needs more
/// than a plain engine, such as `function`, keeps its own prepared engine.)
pub fn prepare() -> Result<(), String> {
    PREPARED.set(Some(Engine::build()?));
    Ok(())
}

impl Engine {
    /// A fresh context with [`RECURSION_LIMIT`] and [`STACK_SIZE_LIMIT`] applied: the one
    /// [`prepare`] built, if there is one left, else a new one.
    pub fn new() -> Result<Self, String> {
        match PREPARED.take() {
            Some(engine) => Ok(engine),
            None => Self::build(),
        }
    }

    fn build() -> Result<Self, String> {
        let event_loop = Rc::new(EventLoop::default());
        let mut context = Context::builder()
            .job_executor(event_loop.clone())
            .clock(Rc::new(RunClock::default()))
            .build()
            .map_err(|e| e.to_string())?;
        globals::install(&mut context).map_err(|e| e.to_string())?;
        let limits = context.runtime_limits_mut();
        limits.set_recursion_limit(RECURSION_LIMIT);
        limits.set_stack_size_limit(STACK_SIZE_LIMIT);
        Ok(Self { context, event_loop })
    }

    /// [`Engine::new`] plus `fetch` (with `Headers`, `Request`, `Response`), the timers and
    /// `queueMicrotask`, all driven by [`Engine::run_async_body`].
    pub fn with_event_loop() -> Result<Self, String> {
        let mut engine = Self::build()?;
        let context = &mut engine.context;
        let fetcher = fetch::HostFetcher { queue: engine.event_loop.fetches.clone() };
        boa_runtime::fetch::register(fetcher, None, context).map_err(|e| message(e, context))?;
        boa_runtime::interval::register(context).map_err(|e| message(e, context))?;
        boa_runtime::microtask::register(None, context).map_err(|e| message(e, context))?;
        Ok(engine)
    }

    /// Runs `body` as the body of `async function (parameter)` called with `argument` (bound
    /// natively), drives the event loop with `host` until its promise settles, and converts the
    /// value to JSON; a rejection is the error. Positions in errors are the body's own.
    pub fn run_async_body(
        &mut self,
        body: &str,
        parameter: &str,
        argument: &Value,
        host: &dyn Host,
    ) -> Result<Value, String> {
        // On the body's first line, so every line number stays the user's.
        let head = format!("(async function ({parameter}) {{");
        let source = format!("{head}{body}\n}})");
        let context = &mut self.context;
        let located = |error: String| positions::relative_to_body(&error, head.chars().count(), body);
        let function = Script::parse(Source::from_bytes(&source), None, context)
            .and_then(|script| script.evaluate(context))
            .map_err(|e| located(message(e, context)))?;
        let argument = JsValue::from_json(argument, context).map_err(|e| message(e, context))?;
        let function = function.as_callable().ok_or("the body did not compile to a function")?;
        self.event_loop.sync_clock(host);
        let promise =
            function.call(&JsValue::undefined(), &[argument], context).map_err(|e| located(message(e, context)))?;
        let promise = promise.as_promise().ok_or("an async function returned no promise")?;
        let settled = || !matches!(promise.state(), PromiseState::Pending);
        self.event_loop.run(context, host, settled).map_err(|e| located(message(e, context)))?;
        match promise.state() {
            PromiseState::Fulfilled(value) => {
                // JSON.stringify already writes integral doubles as integers.
                Ok(stringified(&value, context).map_err(|e| located(message(e, context)))?.unwrap_or(Value::Null))
            }
            PromiseState::Rejected(reason) => Err(located(message(JsError::from_opaque(reason), context))),
            PromiseState::Pending => Err("the function never settled: it awaits something that cannot happen".into()),
        }
    }

    /// Binds `value` to the global `name`, converted natively (never parsed as source).
    /// The binding is read-only (the value itself stays mutable, as a parsed copy would be)
    /// and may be bound again.
    pub fn bind(&mut self, name: &str, value: &Value) -> Result<(), String> {
        let value = JsValue::from_json(value, &mut self.context).map_err(|e| message(e, &mut self.context))?;
        self.define(name, value)
    }

    /// Binds `references` as the frozen array [`REFERENCES`], element `i` for `__refs[i]`
    /// (each element stays mutable; each expression of a block gets its own array).
    pub fn bind_references(&mut self, references: &[Value]) -> Result<(), String> {
        let values = references
            .iter()
            .map(|value| JsValue::from_json(value, &mut self.context))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| message(e, &mut self.context))?;
        let array = JsArray::from_iter(values, &mut self.context);
        // Frozen, so code cannot swap what a reference stands for.
        array
            .set_integrity_level(IntegrityLevel::Frozen, &mut self.context)
            .map_err(|e| message(e, &mut self.context))?;
        self.define(REFERENCES, array.into())
    }

    /// Defines a read-only, re-definable global.
    fn define(&mut self, name: &str, value: JsValue) -> Result<(), String> {
        let property = PropertyDescriptor::builder().value(value).writable(false).enumerable(false).configurable(true);
        self.context
            .global_object()
            .define_property_or_throw(JsString::from(name), property, &mut self.context)
            .map_err(|e| message(e, &mut self.context))?;
        Ok(())
    }

    /// Runs `source` for its effects (defining globals), discarding its value: no conversion to
    /// JSON, whose cycle check seeds std's hash keys, so a block's init may call it.
    pub fn execute(&mut self, source: &str) -> Result<(), String> {
        run(source, &mut self.context).map(drop)
    }

    /// Evaluates `source`, which must give a function, and keeps that function for
    /// [`Engine::call_for_text`]: code a block runs in every run is compiled once, in its init,
    /// instead of parsed again in each run. Like [`Engine::execute`], converts nothing to JSON.
    pub fn keep_function(&mut self, source: &str) -> Result<KeptFunction, String> {
        let value = run(source, &mut self.context)?;
        let function = value.as_object().and_then(JsFunction::from_object).ok_or("not a function")?;
        Ok(KeptFunction(function))
    }

    /// Calls a function kept by [`Engine::keep_function`] (of this engine) without arguments;
    /// its value if it is a string, else the empty string.
    pub fn call_for_text(&mut self, function: &KeptFunction) -> Result<String, String> {
        let value = function
            .0
            .call(&JsValue::undefined(), &[], &mut self.context)
            .map_err(|e| message(e, &mut self.context))?;
        Ok(value.as_string().map(|text| text.to_std_string_escaped()).unwrap_or_default())
    }

    /// Evaluates `expression` and converts its value to JSON (`undefined` becomes null).
    pub fn evaluate(&mut self, expression: &str) -> Result<Value, String> {
        let value = run(expression, &mut self.context)?;
        let json = value.to_json(&mut self.context).map_err(|e| message(e, &mut self.context))?;
        Ok(json.map_or(Value::Null, integral_numbers))
    }

    /// Evaluates `expression` and tells whether its value is JavaScript-truthy.
    pub fn is_truthy(&mut self, expression: &str) -> Result<bool, String> {
        Ok(run(expression, &mut self.context)?.to_boolean())
    }
}

/// A function of an [`Engine`], from [`Engine::keep_function`].
pub struct KeptFunction(JsFunction);

/// Evaluates `expression` in a fresh [`Engine`], with `references` bound as [`REFERENCES`],
/// and converts its value to JSON.
pub fn evaluate(expression: &str, references: &[Value]) -> Result<Value, String> {
    let mut engine = Engine::new()?;
    engine.bind_references(references)?;
    engine.evaluate(expression)
}

/// Evaluates `expression` in a fresh [`Engine`], with `references` bound as [`REFERENCES`],
/// and tells whether its value is JavaScript-truthy.
pub fn is_truthy(expression: &str, references: &[Value]) -> Result<bool, String> {
    let mut engine = Engine::new()?;
    engine.bind_references(references)?;
    engine.is_truthy(expression)
}

/// One branch of a condition or router: its id, its expression (none for the else / default
/// branch) and the values its `__refs[i]` stand for.
pub type Branch<'a> = (&'a str, Option<&'a str>, &'a [Value]);

/// The branch a condition or router takes: the first whose expression is truthy, or the first
/// without one (the else / default branch) when it is reached; `Some((id, matched_by_expression))`.
/// All expressions run in one [`Engine`], each with its own references bound; an error names
/// the branch id it came from.
pub fn select_branch<'a>(
    branches: impl IntoIterator<Item = Branch<'a>>,
) -> Result<Option<(&'a str, bool)>, (&'a str, String)> {
    let mut engine = None;
    for (id, expression, references) in branches {
        // A blank expression is treated as none: editors tend to send "" for the else branch.
        let Some(expression) = expression.filter(|e| !e.trim().is_empty()) else {
            return Ok(Some((id, false)));
        };
        let engine = match &mut engine {
            Some(engine) => engine,
            None => engine.insert(Engine::new().map_err(|e| (id, e))?),
        };
        engine.bind_references(references).map_err(|e| (id, e))?;
        if engine.is_truthy(expression).map_err(|e| (id, e))? {
            return Ok(Some((id, true)));
        }
    }
    Ok(None)
}

/// The integer `double` stands for, when it is integral and within 2^53 (beyond it a double no
/// longer stands for one integer): what `JSON.stringify` writes without a fraction or exponent.
fn exact_integer(double: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    // In range and integral, so the cast is exact.
    (double.fract() == 0.0 && double.abs() <= EXACT).then_some(double as i64)
}

/// `value` with every integral double that JSON can hold exactly written as an integer, as
/// `JSON.stringify` does: boa hands numbers beyond i32 over as doubles (`1709210096789.0`).
fn integral_numbers(value: Value) -> Value {
    match value {
        Value::Number(number) => match number.as_f64().filter(|_| number.is_f64()).and_then(exact_integer) {
            Some(integer) => Value::from(integer),
            None => Value::Number(number),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, integral_numbers(v))).collect()),
        other => other,
    }
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

/// `value` as `JSON.stringify` writes it, parsed back, which is what a Node caller of the body
/// sees: `toJSON` applies (a `Date` becomes its ISO text, a `URL` its href), a `Map` is `{}`,
/// `undefined` is `None`.
fn stringified(value: &JsValue, context: &mut Context) -> JsResult<Option<Value>> {
    // The primitives whose text JSON.stringify writes (and a parse reads back) as they are.
    match value.variant() {
        JsVariant::Undefined => return Ok(None),
        JsVariant::Null => return Ok(Some(Value::Null)),
        JsVariant::Boolean(boolean) => return Ok(Some(Value::Bool(boolean))),
        JsVariant::Integer32(integer) => return Ok(Some(Value::from(integer))),
        // -0 is written as 0.
        JsVariant::Float64(double) => {
            if let Some(integer) = exact_integer(double) {
                return Ok(Some(Value::from(integer)));
            }
        }
        _ => {}
    }
    let json = context.intrinsics().objects().json();
    let stringify = json.get(js_string!("stringify"), context)?;
    let stringify =
        stringify.as_callable().ok_or_else(|| JsNativeError::typ().with_message("JSON.stringify is not a function"))?;
    let text = stringify.call(&json.clone().into(), std::slice::from_ref(value), context)?;
    let Some(text) = text.as_string() else { return Ok(None) };
    serde_json::from_str(&text.to_std_string_escaped())
        .map(Some)
        .map_err(|e| JsNativeError::typ().with_message(format!("the result is not JSON: {e}")).into())
}

/// The error as `Kind: message`, e.g. `SyntaxError: ...` or `Error: boom`; other thrown values as
/// JavaScript shows them. An error object with a `name` of its own (a `DOMException`'s
/// `InvalidCharacterError`, a user's `class ValidationError extends Error`) is shown by that name,
/// as Node shows it.
fn message(error: JsError, context: &mut Context) -> String {
    let own_name = error
        .as_opaque()
        .and_then(JsValue::as_object)
        .and_then(|object| object.get(js_string!("name"), context).ok())
        .and_then(|name| name.as_string().map(|name| name.to_std_string_escaped()));
    match error.try_native(context) {
        Ok(native) => {
            let text = native.to_string();
            match (own_name, text.split_once(':')) {
                (Some(name), Some((kind, rest))) if !name.is_empty() && name != kind => format!("{name}:{rest}"),
                _ => text,
            }
        }
        // Boa's own limits are engine errors; their backtrace (one line per frame) is noise.
        Err(_) => format!("Uncaught {}", error.to_string().lines().next().unwrap_or_default().trim()),
    }
}
