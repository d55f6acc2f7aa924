//! `tests/cases.json`: the runs `sandflow blocks test DIR` makes when no
//! `--params` is given, each with what it must give back.
//!
//! ```json
//! [
//!   {"name": "greets", "params": {"name": "Ada"}, "output": {"text": "Hello, Ada!"}},
//!   {"name": "refuses an empty name", "params": {"name": ""}, "error": "must not be empty"}
//! ]
//! ```
//!
//! A case expects either `output` (the JSON the block returns, compared
//! exactly) or `error` (text the error message must contain); with neither, it
//! only has to succeed.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::AuthoringError;

/// One run and what it must give back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// `{}` when absent, as `blocks build` runs a block without cases.
    #[serde(default = "empty_object")]
    pub params: Value,
    #[serde(default)]
    pub env: std::collections::HashMap<String, String>,
    /// `Some(Value::Null)` for `"output": null`: a block returning null.
    #[serde(default, deserialize_with = "present")]
    pub output: Option<Value>,
    pub error: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A field that is there, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(field: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(field).map(Some)
}

/// What a case saw: the output, or the error's message.
pub type Seen<'a> = Result<&'a Value, &'a str>;

impl Case {
    /// `None` when `seen` is what the case expects, else why not.
    pub fn check(&self, seen: Seen<'_>) -> Option<String> {
        match (seen, &self.output, &self.error) {
            (Ok(output), Some(expected), _) if output != expected => {
                Some(format!("expected output {expected}, got {output}"))
            }
            (Ok(output), None, Some(expected)) => {
                Some(format!("expected an error containing {expected:?}, got output {output}"))
            }
            (Err(message), _, Some(expected)) if !message.contains(expected.as_str()) => {
                Some(format!("expected an error containing {expected:?}, got: {message}"))
            }
            (Err(message), _, None) => Some(format!("failed: {message}")),
            _ => None,
        }
    }
}

/// The project's cases; none when it has no `tests/cases.json`.
pub fn read_cases(project_dir: &Path) -> Result<Vec<Case>, AuthoringError> {
    let path = project_dir.join("tests/cases.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let cases: Vec<Case> =
        serde_json::from_str(&text).map_err(|e| AuthoringError::Project(format!("{}: {e}", path.display())))?;
    if let Some(both) = cases.iter().find(|case| case.output.is_some() && case.error.is_some()) {
        return Err(AuthoringError::Project(format!(
            "{}: case {:?} expects both an output and an error; give one",
            path.display(),
            both.name
        )));
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn case(text: &str) -> Case {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_expected_null_output_is_checked_not_ignored() {
        let expects_null = case(r#"{"name": "n", "output": null}"#);
        assert_eq!(expects_null.check(Ok(&json!(null))), None);
        assert!(expects_null.check(Ok(&json!(1))).is_some());
        let expects_success = case(r#"{"name": "s"}"#);
        assert_eq!(expects_success.check(Ok(&json!(1))), None);
        assert!(expects_success.check(Err("boom")).is_some());
    }

    #[test]
    fn an_expected_error_must_occur_and_contain_its_text() {
        let expects_error = case(r#"{"name": "e", "error": "empty"}"#);
        assert_eq!(expects_error.check(Err("name: must not be empty")), None);
        assert!(expects_error.check(Err("out of fuel")).is_some());
        assert!(expects_error.check(Ok(&json!({}))).is_some());
    }

    #[test]
    fn params_default_to_an_empty_object() {
        assert_eq!(case(r#"{"name": "p"}"#).params, json!({}));
    }

    #[test]
    fn a_case_expecting_both_output_and_error_is_refused() {
        let dir = std::env::temp_dir().join(format!("sandflow-cases-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(dir.join("tests/cases.json"), r#"[{"name": "both", "output": 1, "error": "x"}]"#).unwrap();
        let refused = read_cases(&dir).unwrap_err().to_string();
        assert!(refused.contains("\"both\" expects both an output and an error"), "{refused}");
    }
}
