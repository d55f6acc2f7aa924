//! Workflow variables: values of their declared type, names distinct and
//! referenceable once normalized.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::graph::Problem;
use crate::model::{VariableType, WorkflowState, normalize_name};
use crate::reference::is_segment;

pub(super) fn check(state: &WorkflowState, problems: &mut Vec<Problem>) {
    let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
    for (id, variable) in &state.variables {
        let (name, declared) = (&variable.name, variable.variable_type);
        let matches = match declared {
            VariableType::String => variable.value.is_string(),
            VariableType::Number => variable.value.is_number(),
            VariableType::Boolean => variable.value.is_boolean(),
            VariableType::Object => variable.value.is_object(),
            VariableType::Array => variable.value.is_array(),
        };
        if !matches {
            problems.push(Problem::workflow(
                &format!("variables.{id}.value"),
                format!("`{name}` is declared {} but its value is {}", type_name(declared), json_kind(&variable.value)),
            ));
        }
        let normalized = normalize_name(name);
        let field = format!("variables.{id}.name");
        if !is_segment(&normalized) {
            problems.push(Problem::workflow(
                &field,
                format!("`{name}` cannot be referenced as <variable.name>: use letters, digits, `_`, `-`"),
            ));
        } else if let Some(first) = by_name.get(&normalized) {
            problems
                .push(Problem::workflow(&field, format!("variable name `{name}` is also used by variable `{first}`")));
        } else {
            by_name.insert(normalized, id);
        }
    }
}

fn type_name(declared: VariableType) -> &'static str {
    match declared {
        VariableType::String => "a string",
        VariableType::Number => "a number",
        VariableType::Boolean => "a boolean",
        VariableType::Object => "an object",
        VariableType::Array => "an array",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
