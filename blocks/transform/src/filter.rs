//! jq evaluation with jaq, and the conversions between `serde_json` values and jaq values.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeSet;
use std::fmt;

use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::parse::Def;
use jaq_core::load::{self, Arena, File, Lexer, Loader, lex, parse};
use jaq_core::native::{Filter, Fun, bome, run, v};
use jaq_core::{Compiler, Ctx, RunPtr, Vars, compile, data};
use jaq_json::{Num, Val};
use sandflow_sdk::Value;
use serde::Deserialize;

use crate::prelude::Prelude;
use crate::value::{self, JqVal, MAX_COLLECTED_LEN};
use crate::{alternatives, natives, prelude};

/// Why a filter produced no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The filter does not parse or compile; the message says where and why.
    Invalid(String),
    /// The filter raised an error while running, or produced a value JSON cannot hold.
    Runtime(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(message) | Self::Runtime(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for FilterError {}

type Data = data::JustLut<JqVal>;

/// The global variables every filter sees, with their values: the block exposes no environment,
/// and `$__refs` holds the values of the workflow references the engine wrote as `$__refs[i]`.
const GLOBAL_VARS: [&str; 3] = ["$ENV", "$__prog_args", "$__refs"];

fn global_values(references: JqVal) -> [JqVal; 3] {
    [JqVal(Val::obj(Default::default())), JqVal(Val::from_iter([])), references]
}

/// jaq natives that the block's definitions of the same name wrap, checking their inputs as jq
/// does (jq refuses negative counts; its time functions take short or unnormalised times).
const RENAMED_NATIVES: [(&str, &str); 4] =
    [("limit", "_limit"), ("skip", "_skip"), ("strftime", "_strftime"), ("strflocaltime", "_strflocaltime")];

/// The native filters: jaq's, less those the block replaces, and the block's own.
fn native_funs() -> impl Iterator<Item = Fun<Data>> {
    let std_funs = jaq_std::funs().filter(|(name, ..)| !natives::REPLACED.contains(name));
    // A native, not a definition: a literal list of every name nests too deep for jaq's compiler.
    let builtins: Filter<RunPtr<Data>> = ("builtins", v(0), |_| bome(Ok(builtin_names())));
    let all = jaq_core::funs().chain(std_funs).chain(natives::funs()).chain([run::<Data>(builtins)]);
    all.map(|(name, args, native)| match RENAMED_NATIVES.iter().find(|(jaq_name, _)| *jaq_name == name) {
        Some((_, renamed)) => (*renamed, args, native),
        None => (name, args, native),
    })
}

/// jq's `builtins`: every definition and native filter as `name/arity`, without internal ones.
fn builtin_names() -> JqVal {
    let defs: Vec<(&str, usize)> =
        with_prelude(true, |full| full.defs().iter().map(|def| (def.name, def.args.len())).collect());
    let mut names: Vec<String> = (defs.into_iter())
        .chain(native_funs().map(|(name, args, _)| (name, args.len())))
        .filter(|(name, _)| !name.starts_with(['_', '!']) && !name.ends_with("_empty"))
        .map(|(name, arity)| format!("{name}/{arity}"))
        .collect();
    names.sort();
    names.dedup();
    names.into_iter().map(JqVal::from).collect()
}

thread_local! {
    /// jaq's core definitions ([`prelude::core`]) and the full prelude ([`prelude::full`]),
    /// parsed by [`prepare`] before the component's snapshot was taken, else by the first
    /// filter that needs them. Nothing of a run is kept in them, and each run starts from its
    /// own copy of the snapshot.
    static PRELUDES: [OnceCell<Prelude>; 2] = const { [OnceCell::new(), OnceCell::new()] };
    /// The native filters for a compilation with the core definitions and with the full
    /// prelude, built by [`prepare`] and taken by the first compilation of each kind (a jaq
    /// native cannot be cloned); a later one builds its own.
    static NATIVES: RefCell<[Option<Vec<Fun<Data>>>; 2]> = const { RefCell::new([None, None]) };
}

/// Builds, ahead of any run, what compiling a filter needs: the block's init calls it, so the
/// component's snapshot holds the parsed definitions and the natives. It calls no import (no
/// clock, randomness or output), and creates no hash map. A component that was not
/// pre-initialized builds them in the run instead.
pub fn prepare() {
    for full in [false, true] {
        with_prelude(full, |_| ());
    }
    NATIVES.with(|natives| *natives.borrow_mut() = [Some(natives_for(false)), Some(natives_for(true))]);
}

/// `f` of the core definitions, or of the full prelude when `full`, parsing them if no one has.
fn with_prelude<T>(full: bool, f: impl FnOnce(&Prelude) -> T) -> T {
    PRELUDES.with(|preludes| {
        let prelude = preludes[usize::from(full)]
            .get_or_init(|| Prelude::new(if full { prelude::full() } else { prelude::core() }));
        f(prelude)
    })
}

/// The natives for a compilation with the core definitions, or with the full prelude when `full`.
fn natives_for(full: bool) -> Vec<Fun<Data>> {
    // The core definitions lack the block's replacements of natives, so those natives must be missing too.
    let replaced = if full { Default::default() } else { prelude::block_sigs() };
    native_funs().filter(|(name, args, _)| !replaced.contains(&(*name, args.len()))).collect()
}

fn take_natives(full: bool) -> Vec<Fun<Data>> {
    let prepared = NATIVES.with(|natives| natives.borrow_mut()[usize::from(full)].take());
    prepared.unwrap_or_else(|| natives_for(full))
}

/// The words and `@format`s of `filter`: every name it can call a definition by.
fn called_names(filter: &str) -> BTreeSet<&str> {
    fn collect<'a>(tokens: &[Token<&'a str>], names: &mut BTreeSet<&'a str>) {
        for Token(text, tok) in tokens {
            match tok {
                Tok::Word | Tok::Fmt => {
                    names.insert(*text);
                }
                Tok::Block(inner) => collect(inner, names),
                Tok::Str(parts) => parts.iter().for_each(|part| {
                    if let StrPart::Term(term) = part {
                        collect(std::slice::from_ref(term), names);
                    }
                }),
                Tok::Var | Tok::Num | Tok::Sym => {}
            }
        }
    }
    let mut names = BTreeSet::new();
    // A filter that does not lex fails to load with the same errors whatever the definitions.
    if let Ok(tokens) = Lexer::new(filter).lex() {
        collect(&tokens, &mut names);
    }
    names
}

/// The definitions to compile `filter` with, whose names are `names`: those it can reach.
fn prelude_defs(full: bool, names: &BTreeSet<&str>) -> Vec<Def> {
    #[cfg(test)]
    if crate::tests::WHOLE_PRELUDE.with(std::cell::Cell::get) {
        return with_prelude(full, |prelude| prelude.defs().to_vec());
    }
    with_prelude(full, |prelude| prelude.reachable(names.iter().copied()))
}

/// Loads and compiles `filter` with jaq's core definitions and natives (less those the block
/// replaces), or with the whole prelude and every native when `full`; of the definitions only
/// those `filter` can call, by `names`.
fn compile_filter<'a>(
    arena: &'a Arena,
    filter: &'a str,
    names: &BTreeSet<&str>,
    full: bool,
) -> Result<jaq_core::Filter<Data>, FilterError> {
    let defs: Vec<Def<&'a str>> = prelude_defs(full, names);
    // The default module reader refuses every `import`/`include`, which is what a sandboxed block wants.
    let modules = Loader::new(defs)
        .load(arena, File { code: filter, path: () })
        .map_err(|errors| FilterError::Invalid(load_message(filter, errors)))?;
    // Data imports (`import "x" as $x;`) would leave a global variable unbound at run time, so refuse them here.
    load::import(&modules, |_| Err("data imports are not supported".into()))
        .map_err(|errors| FilterError::Invalid(load_message(filter, errors)))?;
    Compiler::<_, Data>::default()
        .with_funs(take_natives(full))
        .with_global_vars(GLOBAL_VARS)
        .compile(modules)
        .map_err(|errors| FilterError::Invalid(compile_message(filter, errors)))
}

/// Runs the jq program `filter` on `input`: one output is returned as is, several as an array, none as null.
pub fn run_filter(filter: &str, input: Value) -> Result<Value, FilterError> {
    run_filter_with(filter, input, Vec::new())
}

/// [`run_filter`] with `references` bound as the array `$__refs`: the engine writes each workflow
/// reference in a filter as `$__refs[i]` and sends its value beside it, so data never becomes
/// jq source.
pub fn run_filter_with(filter: &str, input: Value, references: Vec<Value>) -> Result<Value, FilterError> {
    let mut outputs = Vec::new();
    run_each(filter, input, references, |output| outputs.push(output))?;
    Ok(match outputs.len() {
        0 => Value::Null,
        1 => outputs.pop().unwrap_or_default(),
        _ => Value::Array(outputs),
    })
}

/// Runs the jq program `filter` on `input`, handing each output to `emit` as it comes;
/// outputs before an error have been emitted when the error is returned.
pub fn run_filter_each(filter: &str, input: Value, emit: impl FnMut(Value)) -> Result<(), FilterError> {
    run_each(filter, input, Vec::new(), emit)
}

fn run_each(
    filter: &str,
    input: Value,
    references: Vec<Value>,
    mut emit: impl FnMut(Value),
) -> Result<(), FilterError> {
    // Only the definitions the filter can call are compiled, the rest of jq's standard
    // library (over a hundred definitions) is left out. Most filters need only the core: try
    // that first, and the full library only when the filter names something outside it.
    let filter = &*alternatives::desugar(filter);
    let names = called_names(filter);
    let core_arena = Arena::default();
    let full_arena = Arena::default();
    let compiled = match compile_filter(&core_arena, filter, &names, false) {
        Ok(compiled) => compiled,
        Err(_) => compile_filter(&full_arena, filter, &names, true)?,
    };

    let input = JqVal(Val::deserialize(input).map_err(|e| FilterError::Runtime(format!("input: {e}")))?);
    let references = JqVal(
        Val::deserialize(Value::Array(references)).map_err(|e| FilterError::Runtime(format!("references: {e}")))?,
    );
    let ctx = Ctx::<Data>::new(&compiled.lut, Vars::new(global_values(references)));
    value::clear_collection_cut();
    let cut = || {
        let message = format!("filter built an array longer than the block's limit of {MAX_COLLECTED_LEN} elements");
        Err(FilterError::Runtime(message))
    };
    for output in compiled.id.run((ctx, input)) {
        if value::collection_was_cut() {
            return cut();
        }
        match output {
            Ok(value) => emit(to_json(value.0)?),
            // Not `jaq_core::unwrap_valr`: it would exit the whole process on `halt`.
            Err(exn) => match exn.get_err() {
                Ok(error) => return Err(FilterError::Runtime(error_message(error.into_val().0))),
                // jq's `halt` ends the program without further outputs; a non-zero code means failure.
                Err(exn) => match exn.get_halt() {
                    Ok(0) => break,
                    Ok(code) => return Err(FilterError::Runtime(format!("filter halted with exit code {code}"))),
                    Err(_) => return Err(FilterError::Runtime("filter used break outside its label".into())),
                },
            },
        }
    }
    if value::collection_was_cut() {
        return cut();
    }
    Ok(())
}

/// Renders the value of a jq error the way jq does: strings raw, anything else as JSON.
fn error_message(value: Val) -> String {
    match value {
        Val::TStr(text) => String::from_utf8_lossy(&text).into_owned(),
        other => format!("{other} (not a string)"),
    }
}

/// Converts a jaq value into JSON, following jq for the numbers JSON has no literal for.
fn to_json(value: Val) -> Result<Value, FilterError> {
    Ok(match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(b),
        Val::Num(n) => num_to_json(&n),
        Val::TStr(text) => Value::String(String::from_utf8_lossy(&text).into_owned()),
        Val::BStr(_) => {
            return Err(FilterError::Runtime("filter output contains a byte string, which JSON cannot hold".into()));
        }
        Val::Arr(items) => Value::Array(items.iter().cloned().map(to_json).collect::<Result<_, _>>()?),
        Val::Obj(entries) => {
            let mut object = serde_json::Map::with_capacity(entries.len());
            for (key, value) in entries.iter() {
                let Val::TStr(key) = key else {
                    let message = format!("filter output has an object key that is not a string: {key}");
                    return Err(FilterError::Runtime(message));
                };
                object.insert(String::from_utf8_lossy(key).into_owned(), to_json(value.clone())?);
            }
            Value::Object(object)
        }
    })
}

fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::from(*i),
        Num::Float(f) => float_to_json(*f),
        // Big integers and decimal literals go through their text, so serde_json picks the closest number it has.
        Num::BigInt(_) | Num::Dec(_) => {
            let text = n.to_string();
            serde_json::from_str(&text).unwrap_or_else(|_| float_to_json(text.parse().unwrap_or(f64::NAN)))
        }
    }
}

/// Like jq: NaN becomes null and infinities the largest finite doubles.
fn float_to_json(f: f64) -> Value {
    let finite = if f.is_infinite() { f64::MAX.copysign(f) } else { f };
    serde_json::Number::from_f64(finite).map_or(Value::Null, Value::Number)
}

fn load_message(code: &str, errors: load::Errors<&str, ()>) -> String {
    // Refused imports are not syntax errors, so they get their own wording.
    let what = if errors.iter().all(|(_, error)| matches!(error, load::Error::Io(_))) { "load" } else { "parse" };
    let mut problems = Vec::new();
    for (_file, error) in errors {
        match error {
            load::Error::Io(imports) => {
                problems.extend(imports.into_iter().map(|(path, why)| format!("cannot import {path:?}: {why}")));
            }
            load::Error::Lex(lexes) => problems.extend(lexes.into_iter().map(|(expect, at)| match expect {
                // The delimiter is a slice of the filter, so point at where the unclosed one opened.
                lex::Expect::Delim(open) => format!("unclosed {open:?}{}", position(code, open)),
                other => format!("expected {}{}", other.as_str(), position(code, at)),
            })),
            load::Error::Parse(parses) => problems.extend(parses.into_iter().map(|(expect, at)| {
                let found = if at.is_empty() { "end of filter".to_string() } else { format!("{:?}", excerpt(at)) };
                let at_position = position(code, at);
                match expect {
                    // jaq says "expected nothing" when a complete filter is followed by more tokens.
                    parse::Expect::Nothing => format!("unexpected {found}{at_position}"),
                    other => format!("expected {}, found {found}{at_position}", parse_expect(&other)),
                }
            })),
        }
    }
    format!("filter does not {what}: {}", problems.join("; "))
}

fn parse_expect(expect: &parse::Expect<&str>) -> String {
    match expect {
        parse::Expect::Just(token) => format!("{token:?}"),
        other => other.as_str().to_string(),
    }
}

fn compile_message(code: &str, errors: compile::Errors<&str, ()>) -> String {
    let problems: Vec<String> = (errors.into_iter().flat_map(|(_file, undefined)| undefined))
        .map(|(name, kind)| {
            let arity = match kind {
                compile::Undefined::Filter(arity) => format!("/{arity}"),
                _ => String::new(),
            };
            format!("undefined {} {name}{arity}{}", kind.as_str(), position(code, name))
        })
        .collect();
    format!("filter does not compile: {}", problems.join("; "))
}

/// The start of `text`, because a found token can be a whole bracketed block.
fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 24;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// " at position N" (1-based, in characters) when `part` is a slice of `code`, else nothing.
fn position(code: &str, part: &str) -> String {
    // jaq reports problems as slices of the filter text, so the address difference is the offset.
    let offset = (part.as_ptr() as usize).wrapping_sub(code.as_ptr() as usize);
    match code.get(..offset) {
        Some(before) => format!(" at position {}", before.chars().count() + 1),
        None => String::new(),
    }
}
