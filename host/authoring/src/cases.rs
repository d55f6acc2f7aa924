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
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub env: std::collections::HashMap<String, String>,
    pub output: Option<Value>,
    pub error: Option<String>,
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
    serde_json::from_str(&text).map_err(|e| AuthoringError::Project(format!("{}: {e}", path.display())))
}
