//! `template`: renders a Jinja template over JSON `data` with minijinja, printing and
//! filtering as Jinja2 does (see `COMPAT.md` for what matches and the deliberate differences).

#[cfg(test)]
mod jinja2_compat_tests;
mod jinja2_filters;
mod percent_format;
mod percent_operator;
mod python_repr;
#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::io;

use minijinja::{Environment, ErrorKind};
use sandflow_sdk::{Block, BlockError, Context, Outcome, Value, serde_json};
use serde::{Deserialize, Serialize};

/// Largest rendered text, in bytes.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// minijinja fuel for one render (about one unit per template instruction): enough for loops
/// over tens of thousands of items, and spent (at roughly 300 wasm instructions a unit) well
/// before the host's default wasm fuel of 10^9 or its deadline, so a runaway template gets
/// this block's clear message rather than a trap.
pub const FUEL: u64 = 1_000_000;

/// The `template` block.
pub struct Template;

/// Params of the `template` block.
#[derive(Debug, Deserialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The Jinja template, e.g. `Hello {{ user.name }}!`. The engine writes each workflow
    /// reference in it as the template variable `__refs[i]` (`{{ __refs[i] }}` in text).
    pub template: String,
    /// The values the template sees: the keys of an object are top-level variables,
    /// and the whole value is also `data` (unless the object has its own `data` key).
    #[serde(default = "empty_object")]
    pub data: Value,
    /// The values `__refs[0]`, `__refs[1]`, … of `template` stand for: template variables,
    /// never template source.
    #[serde(default)]
    pub references: Vec<Value>,
}

/// The template variable the engine's rewritten references index into.
pub const REFERENCES: &str = "__refs";

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Output of the `template` block.
#[derive(Debug, Serialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
pub struct Output {
    /// The rendered text.
    pub text: String,
}

thread_local! {
    /// The environment every render uses, built by [`prepare`] before the component's snapshot
    /// was taken, else by the first render. It holds only settings, filters and functions:
    /// the template and its data are given to each render, and nothing of a render is kept.
    static ENVIRONMENT: OnceCell<Environment<'static>> = const { OnceCell::new() };
}

/// Builds, ahead of any render, the environment [`render`] uses.
///
/// Not the block's init hook: `Environment::new` creates an `IndexMap` with std's
/// `RandomState`, which seeds std's per-thread hash keys from WASI randomness. In a snapshot
/// those keys would be frozen, the same in every run and readable from the binary (so
/// colliding keys could be computed ahead), and every import traps during init anyway. So
/// each run builds its environment on its first render; only Rust's start-up is in the snapshot.
pub fn prepare() {
    ENVIRONMENT.with(|environment| {
        environment.get_or_init(environment_for_render);
    });
}

/// Jinja2's filters and printing, with [`FUEL`] for each render.
fn environment_for_render() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    jinja2_filters::add_to_environment(&mut env);
    percent_operator::add_to_environment(&mut env);
    env.set_formatter(print_as_jinja2);
    env
}

/// Renders `template` over `data`: a template that does not parse is
/// [`BlockError::InvalidInput`]; a failure while rendering (unknown filter, bad
/// operation, out of fuel, output over [`MAX_OUTPUT_BYTES`]) is [`BlockError::Failed`].
/// `references` is bound as [`REFERENCES`] (over a `__refs` key of `data`).
pub fn render(template: &str, data: Value, references: Vec<Value>) -> Result<String, BlockError> {
    ENVIRONMENT
        .with(|environment| render_in(environment.get_or_init(environment_for_render), template, data, references))
}

/// [`render`] in `env`.
fn render_in(env: &Environment<'_>, template: &str, data: Value, references: Vec<Value>) -> Result<String, BlockError> {
    let source = percent_operator::rewrite(template);
    let compiled =
        env.template_from_named_str("template", &source).map_err(|e| BlockError::InvalidInput(describe(&e)))?;

    let mut context = serde_json::Map::new();
    context.insert("data".into(), data.clone());
    if let Value::Object(map) = data {
        context.extend(map);
    }
    context.insert(REFERENCES.into(), Value::Array(references));

    let mut out = CappedWriter { buf: Vec::new(), over: false };
    if let Err(e) = compiled.render_captured_to(&context, &mut out) {
        if out.over {
            return Err(BlockError::Failed(format!("template: rendered text exceeds {MAX_OUTPUT_BYTES} bytes")));
        }
        if e.kind() == ErrorKind::OutOfFuel {
            return Err(BlockError::Failed(format!(
                "template: rendering ran out of fuel ({FUEL} units): the template does too much work{}",
                e.line().map(|l| format!(" (line {l})")).unwrap_or_default()
            )));
        }
        return Err(BlockError::Failed(describe(&e)));
    }
    String::from_utf8(out.buf).map_err(|e| BlockError::Failed(format!("template: rendered text is not UTF-8: {e}")))
}

/// Jinja2 prints `str(value)`: `[1, 'a']`, `{'a': 1}`, `True`, `None`, `1e+16`.
fn print_as_jinja2(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if value.is_undefined() || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = python_repr::python_str(value);
    let text = match state.auto_escape() {
        minijinja::AutoEscape::None => text,
        minijinja::AutoEscape::Html => python_repr::markupsafe_escape(&text),
        // Only the HTML escaping is Jinja2's; any other keeps minijinja's own.
        _ => return minijinja::escape_formatter(out, state, value),
    };
    out.write_str(&text).map_err(minijinja::Error::from)
}

/// `template line N: <kind>: <detail>`.
fn describe(e: &minijinja::Error) -> String {
    let place = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
    match e.detail() {
        // `'...' % x` is rewritten only with the format as a quoted literal left of `%`.
        Some(detail) if detail.contains("% operator") && detail.contains("types string and") => format!(
            "template{place}: {}: {detail} (`%` formats a string only when the format is a quoted literal written \
             left of it, as in `'%d items' % n`; for a format held in a variable write `fmt | format(value)`)",
            e.kind()
        ),
        Some(detail) => format!("template{place}: {}: {detail}", e.kind()),
        None => format!("template{place}: {}", e.kind()),
    }
}

/// Collects rendered text and refuses to grow past [`MAX_OUTPUT_BYTES`].
struct CappedWriter {
    buf: Vec<u8>,
    over: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buf.len() + bytes.len() > MAX_OUTPUT_BYTES {
            self.over = true;
            return Err(io::Error::other("rendered text too large"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Block for Template {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "template";
    const DESCRIPTION: &'static str = "Renders a Jinja template over JSON data and outputs the text";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let text = render(&params.template, params.data, params.references)?;
        Ok(Outcome::Done(Output { text }))
    }
}

// No init hook: see `prepare` for why the environment is built in the run.
sandflow_sdk::export_block!(Template);
