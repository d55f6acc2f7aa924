//! Params against each block type's input schema, minus what references decide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::schema_bounds::check_schema_bounds;
use crate::graph::Problem;
use crate::model::{BlockDef, WorkflowState};
use crate::reference::BlockIndex;

/// The block type whose `inputSchema` param is a JSON Schema the server compiles at resume.
const HUMAN_IN_THE_LOOP: &str = "human_in_the_loop";

/// Checks every block's params against its type's input schema (a type not
/// in `input_schemas` is unknown), and the input schema a
/// `human_in_the_loop` block declares.
pub(super) fn check(
    state: &WorkflowState,
    input_schemas: &HashMap<String, Value>,
    compiled: &CompiledSchemas,
    index: &BlockIndex,
    problems: &mut Vec<Problem>,
) {
    let mut schemas = SchemaCache { schemas: input_schemas, shared: compiled, compiled: HashMap::new() };
    for (id, block) in &state.blocks {
        if input_schemas.contains_key(&block.block_type) {
            schemas.check_params(id, block, index, problems);
        } else {
            problems.push(Problem::at(id, "type", format!("unknown block type `{}`", block.block_type)));
        }
        check_param_schemas(id, block, problems);
    }
}

/// Refuses a literal `inputSchema` of a `human_in_the_loop` block that is
/// unbounded (see [`check_schema_bounds`]); one given as a reference is
/// checked when the pause is resumed.
fn check_param_schemas(id: &str, block: &BlockDef, problems: &mut Vec<Problem>) {
    if block.block_type != HUMAN_IN_THE_LOOP {
        return;
    }
    let Some(schema) = block.params.as_ref().and_then(|params| params.get("inputSchema")) else { return };
    if matches!(schema, Value::Object(_) | Value::Bool(_))
        && let Err(refused) = check_schema_bounds(schema)
    {
        problems.push(Problem::at(id, "params.inputSchema", format!("the input schema is refused: {refused}")));
    }
}

/// An input schema checked and compiled, or why it cannot be.
type Compiled = Arc<Result<Validator, String>>;

/// Compiled input schemas by block type, kept from one validation to the next
/// (an engine keeps one): compiling is most of what validating a workflow of a
/// few known block types costs. An entry is used only for the very schema it
/// was compiled from, so a runner whose schemas change gets them recompiled.
#[derive(Default)]
pub(crate) struct CompiledSchemas {
    by_type: Mutex<HashMap<String, (Value, Compiled)>>,
}

impl CompiledSchemas {
    /// `schema`, the input schema of `block_type`, checked and compiled.
    fn get(&self, block_type: &str, schema: &Value) -> Compiled {
        if let Some((seen, compiled)) = self.by_type.lock().expect("schemas lock").get(block_type)
            && seen == schema
        {
            return compiled.clone();
        }
        let compiled = Arc::new(compile(schema));
        self.by_type.lock().expect("schemas lock").insert(block_type.to_string(), (schema.clone(), compiled.clone()));
        compiled
    }
}

fn compile(schema: &Value) -> Result<Validator, String> {
    // A custom block stored before its schema was checked at upload is checked here too.
    check_schema_bounds(schema).map_err(|refused| refused.to_string())?;
    jsonschema::validator_for(schema).map_err(|e| e.to_string())
}

/// The compiled input schemas one validation uses, by block type.
struct SchemaCache<'a> {
    schemas: &'a HashMap<String, Value>,
    shared: &'a CompiledSchemas,
    compiled: HashMap<&'a str, Compiled>,
}

impl<'a> SchemaCache<'a> {
    /// Reports every schema error of `block`'s params (absent params are `{}`)
    /// except those a reference may resolve away.
    fn check_params(&mut self, id: &str, block: &'a BlockDef, index: &BlockIndex, problems: &mut Vec<Problem>) {
        let Some(schema) = self.schemas.get(&block.block_type) else { return };
        let shared = self.shared;
        let validator = self.compiled.entry(&block.block_type).or_insert_with(|| shared.get(&block.block_type, schema));
        let validator = match &**validator {
            Ok(validator) => validator,
            Err(message) => {
                problems.push(Problem::at(
                    id,
                    "type",
                    format!("the input schema of block type `{}` is invalid: {message}", block.block_type),
                ));
                return;
            }
        };
        let params = Value::Object(block.params.clone().unwrap_or_default());
        if validator.is_valid(&params) {
            return;
        }
        for error in validator.iter_errors(&params) {
            let pointer = error.instance_path.as_str();
            if decided_by_reference(&params, pointer, &error.kind, index) {
                continue;
            }
            problems.push(Problem::at(id, &pointer_to_field(&params, pointer), error.to_string()));
        }
    }
}

/// Whether an error may vanish once references resolve: it points at (or
/// inside) a string holding a reference, or it is a verdict on a whole value
/// (`anyOf`, `enum`, …) that holds a reference somewhere inside.
fn decided_by_reference(params: &Value, pointer: &str, kind: &ValidationErrorKind, index: &BlockIndex) -> bool {
    let mut current = Some(params);
    for token in tokens(pointer) {
        if let Some(Value::String(text)) = current
            && index.holds_reference(text)
        {
            return true;
        }
        current = current.and_then(|value| child(value, &token));
    }
    let Some(target) = current else { return false };
    match target {
        Value::String(text) => index.holds_reference(text),
        _ => judges_whole_value(kind) && contains_reference(target, index),
    }
}

/// Error kinds whose verdict depends on nested values, not only on the shape here.
fn judges_whole_value(kind: &ValidationErrorKind) -> bool {
    matches!(
        kind,
        ValidationErrorKind::AnyOf { .. }
            | ValidationErrorKind::OneOfNotValid { .. }
            | ValidationErrorKind::OneOfMultipleValid { .. }
            | ValidationErrorKind::Not { .. }
            | ValidationErrorKind::Enum { .. }
            | ValidationErrorKind::Constant { .. }
            | ValidationErrorKind::Contains
            | ValidationErrorKind::UniqueItems
            | ValidationErrorKind::UnevaluatedItems { .. }
            | ValidationErrorKind::UnevaluatedProperties { .. }
    )
}

fn contains_reference(value: &Value, index: &BlockIndex) -> bool {
    match value {
        Value::String(text) => index.holds_reference(text),
        Value::Array(items) => items.iter().any(|item| contains_reference(item, index)),
        Value::Object(map) => map.values().any(|item| contains_reference(item, index)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The unescaped tokens of a JSON pointer (`/a~1b/0` → `a/b`, `0`).
fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer.split('/').skip(1).map(|token| token.replace("~1", "/").replace("~0", "~"))
}

fn child<'v>(value: &'v Value, token: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => items.get(token.parse::<usize>().ok()?),
        _ => None,
    }
}

/// `params.conditions[0].expression` for the pointer `/conditions/0/expression`.
fn pointer_to_field(params: &Value, pointer: &str) -> String {
    let mut field = String::from("params");
    let mut current = Some(params);
    for token in tokens(pointer) {
        match current {
            Some(Value::Array(_)) => field.push_str(&format!("[{token}]")),
            _ => {
                field.push('.');
                field.push_str(&token);
            }
        }
        current = current.and_then(|value| child(value, &token));
    }
    field
}
