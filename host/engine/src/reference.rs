//! References inside string params (SPEC 2): parsing, resolving against a run's
//! outputs, and redacting the environment values they may pull in.
//!
//! Choices where the spec is silent:
//! - `<loop.…>`, `<parallel.…>` and `<variable.…>` are keywords: they win over a
//!   block that happens to be named `loop`. A keyword with an unknown field
//!   (`<loop.idx>`) is looked up as a block, so the error names what was written.
//! - A block key matches a block or container ID exactly first, then a block's
//!   normalized name; variables match by exact name first, then normalized.
//! - A path that does not exist inside an output (or goes through a scalar)
//!   resolves to `null`: `null` for a whole-string reference, the text `null`
//!   when embedded in a longer string (everything but strings embeds as compact JSON).
//! - Inside code (JavaScript under [`SCRIPT_KEYS`], a `template` block's `template`, a
//!   `transform` block's jq `filter`), a reference is rewritten to `__refs[i]` (`$__refs[i]`
//!   in jq) and its value passed beside the code in the
//!   `references` param (see [`embed`]); `{{ENV}}` too. Data never becomes source.
//! - `{{NAME}}` resolves only where the block's `env` grants NAME; naming a variable the
//!   execution does not provide, it stays text (Jinja's `{{name}}`, mustache).
//! - Object keys in params are never resolved, only string values.

mod embed;
mod parse;
mod redact;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;

use serde_json::Value;

use crate::model::{VariableDef, WorkflowState, normalize_name};

pub use embed::{REFERENCES_IDENT, REFERENCES_PARAM, Script, Syntax, resolve_script};
pub use parse::{find_references, is_env_name, is_segment};
pub use redact::{MIN_SECRET_CHARS, REDACTED, Redactor, redact, redact_text};

/// Param keys whose string values are JavaScript source, at any depth.
pub const SCRIPT_KEYS: [&str; 3] = ["code", "expression", "whileCondition"];

/// The block type whose top-level `template` param is Jinja source.
pub const TEMPLATE_BLOCK: &str = "template";

/// The block type whose top-level `filter` param is a jq program.
pub const JQ_BLOCK: &str = "transform";

/// Top-level params that are code in a language other than JavaScript, by block type: their
/// references are rewritten for that language, with the values in the block's `references`.
const CODE_PARAMS: [(&str, &str, Syntax); 2] =
    [(TEMPLATE_BLOCK, "template", Syntax::Template), (JQ_BLOCK, "filter", Syntax::Jq)];

/// What a loop or a parallel exposes to the blocks inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerField {
    /// The 0-based iteration or branch number.
    Index,
    /// The item of this iteration or branch.
    CurrentItem,
    /// The whole collection being iterated or distributed.
    Items,
}

impl ContainerField {
    /// Parses `index`, `currentItem` or `items`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "index" => Some(Self::Index),
            "currentItem" => Some(Self::CurrentItem),
            "items" => Some(Self::Items),
            _ => None,
        }
    }

    /// The name as written in a reference.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::CurrentItem => "currentItem",
            Self::Items => "items",
        }
    }
}

/// One parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `<key.path…>`: a block's (or container's) output.
    Block {
        /// A block or container ID, or a block name, as written.
        key: String,
        /// Object keys and array indexes inside the output; empty for a bare `<key>`.
        path: Vec<String>,
    },
    /// `<variable.name.path…>`: a workflow variable's current value.
    Variable {
        /// The variable's `name` (not its ID), as written.
        name: String,
        /// Where inside the value.
        path: Vec<String>,
    },
    /// `<loop.field.path…>`: the innermost enclosing loop.
    Loop {
        /// Which of the loop's values.
        field: ContainerField,
        /// Where inside the value.
        path: Vec<String>,
    },
    /// `<parallel.field.path…>`: the innermost enclosing parallel.
    Parallel {
        /// Which of the parallel's values.
        field: ContainerField,
        /// Where inside the value.
        path: Vec<String>,
    },
    /// `{{NAME}}`: an environment value.
    Env {
        /// The environment variable's name.
        name: String,
    },
}

impl Reference {
    /// A `<word>` with no dot: a reference only when `word` names a block.
    pub fn is_bare(&self) -> bool {
        matches!(self, Reference::Block { path, .. } if path.is_empty())
    }
}

impl fmt::Display for Reference {
    /// Writes the reference back as it appears in text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, field, path) = match self {
            Reference::Env { name } => return write!(f, "{{{{{name}}}}}"),
            Reference::Block { key, path } => (key.as_str(), None, path),
            Reference::Variable { name, path } => ("variable", Some(name.as_str()), path),
            Reference::Loop { field, path } => ("loop", Some(field.as_str()), path),
            Reference::Parallel { field, path } => ("parallel", Some(field.as_str()), path),
        };
        write!(f, "<{head}")?;
        for segment in field.into_iter().chain(path.iter().map(String::as_str)) {
            write!(f, ".{segment}")?;
        }
        write!(f, ">")
    }
}

/// A reference found in a text, with its byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte range of the whole `<…>` or `{{…}}` in the text.
    pub span: Range<usize>,
    /// What the span refers to.
    pub reference: Reference,
}

/// What a scope knows about a block key.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockLookup<'a> {
    /// The block (or container) ran; its output.
    Output(Cow<'a, Value>),
    /// The block exists but did not run (skipped, disabled, untaken branch): resolves to `null`.
    NotRun,
    /// No block has this ID or name.
    Unknown,
}

/// Everything a reference may resolve against during one block run.
pub trait ReferenceScope {
    /// The output of the block whose ID or normalized name is `key` (see [`BlockIndex`]).
    fn block(&self, key: &str) -> BlockLookup<'_>;
    /// The value at `path` inside that output (see [`follow_path`]); a scope that
    /// keeps outputs behind a lock overrides it to copy only that value, not the whole output.
    fn block_at(&self, key: &str, path: &[String]) -> BlockLookup<'_> {
        match self.block(key) {
            BlockLookup::Output(output) => BlockLookup::Output(follow_path(output, path)),
            other => other,
        }
    }
    /// The current value of a workflow variable, by name.
    fn variable(&self, name: &str) -> Option<Cow<'_, Value>>;
    /// A field of the innermost enclosing loop; `None` outside any loop.
    fn loop_value(&self, field: ContainerField) -> Option<Cow<'_, Value>>;
    /// A field of the innermost enclosing parallel; `None` outside any parallel.
    fn parallel_value(&self, field: ContainerField) -> Option<Cow<'_, Value>>;
    /// An environment value, if the execution provides it and the block resolving the
    /// reference is granted it.
    fn env(&self, name: &str) -> EnvLookup;
    /// The references in `text` as [`find_references`] finds them, if this scope
    /// kept them from earlier (validation finds every reference of a workflow).
    fn found_in(&self, text: &str) -> Option<&[Found]> {
        let _ = text;
        None
    }
}

/// What a scope answers for `{{NAME}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvLookup {
    /// Provided and granted (the block's `env` lists it): the value.
    Granted(String),
    /// Provided, but the block is not granted it: an error (validation refuses it first).
    NotGranted,
    /// Not provided by the execution: `{{NAME}}` stays text.
    NotProvided,
}

/// A reference that cannot be resolved; the message names the reference, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// A `<key.path>` whose key names no block or container.
    #[error("`{reference}` refers to unknown block `{key}`")]
    UnknownBlock {
        /// The reference as written.
        reference: String,
        /// The key that matched nothing.
        key: String,
    },
    /// A `<variable.name>` naming no declared variable.
    #[error("`{reference}` refers to undeclared variable `{name}`")]
    UnknownVariable {
        /// The reference as written.
        reference: String,
        /// The name that matched nothing.
        name: String,
    },
    /// A `<loop.…>` resolved outside any loop.
    #[error("`{reference}` is only available inside a loop")]
    OutsideLoop {
        /// The reference as written.
        reference: String,
    },
    /// A `<parallel.…>` resolved outside any parallel.
    #[error("`{reference}` is only available inside a parallel")]
    OutsideParallel {
        /// The reference as written.
        reference: String,
    },
    /// A `{{NAME}}` the execution provides, in a block whose `env` does not grant it.
    #[error("`{{{{{name}}}}}`: this block's `env` does not grant `{name}`")]
    EnvNotGranted {
        /// The environment variable's name.
        name: String,
    },
}

/// Resolves every string in `params`: whole-string references keep their JSON
/// type, embedded ones become text, and strings under [`SCRIPT_KEYS`] are
/// JavaScript whose references become `__refs[i]`, with the values in a
/// `references` array beside them in the same object.
pub fn resolve_params(params: &Value, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    resolve_under(params, scope)
}

/// [`resolve_params`] for a block of `block_type`: a [`TEMPLATE_BLOCK`]'s
/// top-level `template` is Jinja source, whose references become template
/// variables (`{{ __refs[i] }}`), and a [`JQ_BLOCK`]'s `filter` is jq, whose
/// references become `$__refs[i]`; the values go in the `references` param.
pub fn resolve_block_params(
    block_type: &str,
    params: &Value,
    scope: &dyn ReferenceScope,
) -> Result<Value, ReferenceError> {
    let Value::Object(map) = params else { return resolve_under(params, scope) };
    resolve_block_param_map(block_type, map, scope)
}

/// [`resolve_block_params`] of an object of params, read where it is (a
/// block's definition) rather than copied into a `Value` first.
pub(crate) fn resolve_block_param_map(
    block_type: &str,
    map: &serde_json::Map<String, Value>,
    scope: &dyn ReferenceScope,
) -> Result<Value, ReferenceError> {
    let code = CODE_PARAMS.iter().find(|(ty, key, _)| *ty == block_type && map.get(*key).is_some_and(Value::is_string));
    let Some(&(_, code_key, syntax)) = code else { return resolve_map(map, scope) };
    let mut references = Vec::new();
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let resolved = match value {
            Value::String(text) if key == code_key => {
                Value::String(embed::rewrite(text, scope, syntax, &mut references)?)
            }
            other => resolve_under(other, scope)?,
        };
        out.insert(key.clone(), resolved);
    }
    if !references.is_empty() {
        out.insert(REFERENCES_PARAM.into(), Value::Array(references));
    }
    Ok(Value::Object(out))
}

fn resolve_under(value: &Value, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    Ok(match value {
        Value::String(text) => resolve_string(text, scope)?,
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| resolve_under(item, scope)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => resolve_map(map, scope)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    })
}

fn resolve_map(map: &serde_json::Map<String, Value>, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    // Every script of one object shares one `references` array, so the
    // block finds the values beside the code that indexes them.
    let mut references = Vec::new();
    let mut out = serde_json::Map::with_capacity(map.len());
    for (key, value) in map {
        let resolved = match value {
            Value::String(text) if SCRIPT_KEYS.contains(&key.as_str()) => {
                Value::String(embed::rewrite(text, scope, Syntax::JavaScript, &mut references)?)
            }
            other => resolve_under(other, scope)?,
        };
        out.insert(key.clone(), resolved);
    }
    if !references.is_empty() {
        out.insert(REFERENCES_PARAM.into(), Value::Array(references));
    }
    Ok(Value::Object(out))
}

/// The references in `text`: those the scope kept from validation, else parsed now.
fn references_in<'a>(text: &str, scope: &'a dyn ReferenceScope) -> std::borrow::Cow<'a, [Found]> {
    match scope.found_in(text) {
        Some(found) => std::borrow::Cow::Borrowed(found),
        None => std::borrow::Cow::Owned(find_references(text)),
    }
}

/// Resolves one string param: exactly one reference keeps the referenced JSON
/// type (`forEachItems: "<fetch.items>"` gives the array); otherwise text.
pub fn resolve_string(text: &str, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    let found = references_in(text, scope);
    let found = &found[..];
    if let [only] = found
        && only.span == (0..text.len())
    {
        return Ok(match lookup(&only.reference, scope)? {
            Some(value) => value.into_owned(),
            None => Value::String(text.to_string()),
        });
    }
    resolve_found(text, found, scope).map(Value::String)
}

/// Resolves the references in `text` as text: strings raw, everything else as
/// compact JSON. Never for code: use [`resolve_script`] there.
pub fn resolve_text(text: &str, scope: &dyn ReferenceScope) -> Result<String, ReferenceError> {
    match scope.found_in(text) {
        Some(found) => resolve_found(text, found, scope),
        None => resolve_found(text, &find_references(text), scope),
    }
}

/// The references of every text in a workflow that holds one, by text: found
/// once by validation, read by every execution of the workflow.
pub(crate) type FoundByText = HashMap<String, Vec<Found>>;

fn resolve_found(text: &str, found: &[Found], scope: &dyn ReferenceScope) -> Result<String, ReferenceError> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for hit in found {
        out.push_str(&text[copied..hit.span.start]);
        match lookup(&hit.reference, scope)? {
            None => out.push_str(&text[hit.span.clone()]),
            Some(value) => match value.as_ref() {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            },
        }
        copied = hit.span.end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// The value of one reference; `None` when it stays literal text: a bare
/// `<word>` that names no block, or a `{{NAME}}` the execution does not provide.
pub fn lookup<'s>(
    reference: &Reference,
    scope: &'s dyn ReferenceScope,
) -> Result<Option<Cow<'s, Value>>, ReferenceError> {
    let named = || reference.to_string();
    let (value, path) = match reference {
        Reference::Env { name } => {
            return match scope.env(name) {
                EnvLookup::Granted(value) => Ok(Some(Cow::Owned(Value::String(value)))),
                EnvLookup::NotProvided => Ok(None),
                EnvLookup::NotGranted => Err(ReferenceError::EnvNotGranted { name: name.clone() }),
            };
        }
        Reference::Block { key, path } => match scope.block_at(key, path) {
            BlockLookup::Output(value) => return Ok(Some(value)),
            BlockLookup::NotRun => return Ok(Some(Cow::Owned(Value::Null))),
            BlockLookup::Unknown if path.is_empty() => return Ok(None),
            BlockLookup::Unknown => {
                return Err(ReferenceError::UnknownBlock { reference: named(), key: key.clone() });
            }
        },
        Reference::Variable { name, path } => {
            let value = scope
                .variable(name)
                .ok_or_else(|| ReferenceError::UnknownVariable { reference: named(), name: name.clone() })?;
            (value, path)
        }
        Reference::Loop { field, path } => {
            (scope.loop_value(*field).ok_or_else(|| ReferenceError::OutsideLoop { reference: named() })?, path)
        }
        Reference::Parallel { field, path } => {
            (scope.parallel_value(*field).ok_or_else(|| ReferenceError::OutsideParallel { reference: named() })?, path)
        }
    };
    Ok(Some(follow_path(value, path)))
}

/// The value at `path` inside `value` (`items.0` indexes arrays); `null` when absent.
pub fn follow_path<'a>(value: Cow<'a, Value>, path: &[String]) -> Cow<'a, Value> {
    static NULL: Value = Value::Null;
    fn walk<'v>(mut value: &'v Value, path: &[String]) -> Option<&'v Value> {
        for segment in path {
            value = match value {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }
    match value {
        Cow::Borrowed(v) => Cow::Borrowed(walk(v, path).unwrap_or(&NULL)),
        Cow::Owned(v) if path.is_empty() => Cow::Owned(v),
        Cow::Owned(v) => Cow::Owned(walk(&v, path).cloned().unwrap_or(Value::Null)),
    }
}

/// How a block key (`start`, `Fetch Data`) matched the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch<'a> {
    /// Exactly one block or container: its ID.
    Found(&'a str),
    /// Several blocks share this normalized name.
    Ambiguous(Vec<&'a str>),
    /// Nothing matches.
    Unknown,
}

/// Maps reference keys to block and container IDs: an exact ID first, then a
/// block's normalized name (lowercased, spaces removed).
#[derive(Debug, Clone, Default)]
pub struct BlockIndex {
    ids: BTreeSet<String>,
    names: HashMap<String, Vec<String>>,
}

impl BlockIndex {
    /// The index of every block and container of a workflow.
    pub fn new(state: &WorkflowState) -> Self {
        let ids = state.blocks.keys().chain(state.loops.keys()).chain(state.parallels.keys()).cloned().collect();
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for (id, block) in &state.blocks {
            names.entry(normalize_name(&block.name)).or_default().push(id.clone());
        }
        Self { ids, names }
    }

    /// The ID `key` refers to.
    pub fn resolve(&self, key: &str) -> KeyMatch<'_> {
        if let Some(id) = self.ids.get(key) {
            return KeyMatch::Found(id);
        }
        match self.names.get(&normalize_name(key)).map(Vec::as_slice) {
            Some([id]) => KeyMatch::Found(id),
            Some(ids) if !ids.is_empty() => KeyMatch::Ambiguous(ids.iter().map(String::as_str).collect()),
            _ => KeyMatch::Unknown,
        }
    }

    /// Whether `text` holds anything that resolution would replace: an env or
    /// keyword reference, a dotted block reference, or a bare `<word>` naming a block.
    pub fn holds_reference(&self, text: &str) -> bool {
        find_references(text).iter().any(|found| !found.reference.is_bare() || self.is_known(&found.reference))
    }

    fn is_known(&self, reference: &Reference) -> bool {
        matches!(reference, Reference::Block { key, .. } if self.resolve(key) != KeyMatch::Unknown)
    }
}

/// The ID of the variable `<variable.name>` refers to: exact name first, then
/// normalized name (validation rejects names that collide once normalized).
pub fn variable_id<'a>(variables: &'a indexmap::IndexMap<String, VariableDef>, name: &str) -> Option<&'a str> {
    let exact = variables.iter().find(|(_, v)| v.name == name);
    let wanted = normalize_name(name);
    exact.or_else(|| variables.iter().find(|(_, v)| normalize_name(&v.name) == wanted)).map(|(id, _)| id.as_str())
}
