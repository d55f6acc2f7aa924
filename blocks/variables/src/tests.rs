//! Native tests of the params checks (the writes themselves need the host; see tests/).

use sandflow_sdk::BlockError;
use sandflow_sdk::serde_json::{self, Value, json};

use crate::{Params, check};

fn params(value: Value) -> Result<Params, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[test]
fn accepts_any_json_values() {
    let p = params(json!({"assignments": [
        {"name": "count", "value": 3},
        {"name": "user", "value": {"id": 1, "tags": ["a"]}},
        {"name": "nothing", "value": null}
    ]}))
    .unwrap();
    assert_eq!(p.assignments.len(), 3);
    assert_eq!(check(&p.assignments), Ok(()));
    assert_eq!(check(&params(json!({"assignments": []})).unwrap().assignments), Ok(()));
}

#[test]
fn empty_name_is_invalid_input_naming_the_assignment() {
    let p = params(json!({"assignments": [{"name": "ok", "value": 1}, {"name": " ", "value": 2}]})).unwrap();
    assert_eq!(
        check(&p.assignments),
        Err(BlockError::InvalidInput("assignments[1].name: must not be empty or blank".into()))
    );
}

#[test]
fn malformed_params_are_rejected() {
    assert!(params(json!({})).unwrap_err().contains("assignments"));
    assert!(params(json!({"assignments": [{"name": "a"}]})).unwrap_err().contains("value"));
    assert!(params(json!({"assignments": [{"name": "a", "value": 1, "scope": "x"}]})).unwrap_err().contains("scope"));
}
