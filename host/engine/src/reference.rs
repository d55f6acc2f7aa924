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
//! - Inside JavaScript source, `{{ENV}}` becomes a JSON string literal like any
//!   other reference, so it cannot break out of the expression.
//! - Object keys in params are never resolved, only string values.

mod parse;
mod redact;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;

use serde_json::Value;

use crate::model::{VariableDef, WorkflowState, normalize_name};

pub use parse::{find_references, is_env_name, is_segment};
pub use redact::{MIN_SECRET_CHARS, REDACTED, Redactor, redact, redact_text};

/// Param keys whose string values are JavaScript source, at any depth.
pub const SCRIPT_KEYS: [&str; 3] = ["code", "expression", "whileCondition"];

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
    /// The current value of a workflow variable, by name.
    fn variable(&self, name: &str) -> Option<Cow<'_, Value>>;
    /// A field of the innermost enclosing loop; `None` outside any loop.
    fn loop_value(&self, field: ContainerField) -> Option<Cow<'_, Value>>;
    /// A field of the innermost enclosing parallel; `None` outside any parallel.
    fn parallel_value(&self, field: ContainerField) -> Option<Cow<'_, Value>>;
    /// An environment value; `None` when it is not set.
    fn env(&self, name: &str) -> Option<String>;
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
    /// A `{{NAME}}` whose variable is not set.
    #[error("environment variable `{name}` is not set")]
    UnsetEnv {
        /// The environment variable's name.
        name: String,
    },
}

/// How a resolved value is written into surrounding text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// Strings raw, everything else as compact JSON.
    Text,
    /// Every value as a JSON literal, strings quoted and escaped.
    JavaScript,
}

/// Resolves every string in `params`: whole-string references keep their JSON
/// type, embedded ones become text, and strings under [`SCRIPT_KEYS`] become
/// JavaScript with references as JSON literals.
pub fn resolve_params(params: &Value, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    resolve_under(params, None, scope)
}

fn resolve_under(value: &Value, key: Option<&str>, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    Ok(match value {
        Value::String(text) if key.is_some_and(|k| SCRIPT_KEYS.contains(&k)) => {
            Value::String(resolve_text(text, scope, Embedding::JavaScript)?)
        }
        Value::String(text) => resolve_string(text, scope)?,
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| resolve_under(item, None, scope)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_under(v, Some(k), scope)?)))
                .collect::<Result<_, ReferenceError>>()?,
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    })
}

/// Resolves one string param: exactly one reference keeps the referenced JSON
/// type (`forEachItems: "<fetch.items>"` gives the array); otherwise text.
pub fn resolve_string(text: &str, scope: &dyn ReferenceScope) -> Result<Value, ReferenceError> {
    let found = find_references(text);
    if let [only] = found.as_slice()
        && only.span == (0..text.len())
    {
        return Ok(match lookup(&only.reference, scope)? {
            Some(value) => value.into_owned(),
            None => Value::String(text.to_string()),
        });
    }
    resolve_found(text, &found, scope, Embedding::Text).map(Value::String)
}

/// Resolves the references in `text`, writing each value as `embedding` says
/// (use [`Embedding::JavaScript`] for a `whileCondition` or any expression).
pub fn resolve_text(text: &str, scope: &dyn ReferenceScope, embedding: Embedding) -> Result<String, ReferenceError> {
    resolve_found(text, &find_references(text), scope, embedding)
}

fn resolve_found(
    text: &str,
    found: &[Found],
    scope: &dyn ReferenceScope,
    embedding: Embedding,
) -> Result<String, ReferenceError> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for hit in found {
        out.push_str(&text[copied..hit.span.start]);
        match lookup(&hit.reference, scope)? {
            None => out.push_str(&text[hit.span.clone()]),
            Some(value) => match (embedding, value.as_ref()) {
                (Embedding::Text, Value::String(s)) => out.push_str(s),
                _ => out.push_str(&value.to_string()),
            },
        }
        copied = hit.span.end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// The value of one reference; `None` when it is a bare `<word>` that names no
/// block and so stays literal text.
pub fn lookup<'s>(
    reference: &Reference,
    scope: &'s dyn ReferenceScope,
) -> Result<Option<Cow<'s, Value>>, ReferenceError> {
    let named = || reference.to_string();
    let (value, path) = match reference {
        Reference::Env { name } => {
            let value = scope.env(name).ok_or_else(|| ReferenceError::UnsetEnv { name: name.clone() })?;
            return Ok(Some(Cow::Owned(Value::String(value))));
        }
        Reference::Block { key, path } => match scope.block(key) {
            BlockLookup::Output(value) => (value, path),
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
pub fn variable_id<'a>(variables: &'a BTreeMap<String, VariableDef>, name: &str) -> Option<&'a str> {
    let exact = variables.iter().find(|(_, v)| v.name == name);
    let wanted = normalize_name(name);
    exact.or_else(|| variables.iter().find(|(_, v)| normalize_name(&v.name) == wanted)).map(|(id, _)| id.as_str())
}
