//! Native tests of the router block's selection and errors.

use sandflow_sdk::BlockError;
use serde_json::json;

use crate::{Params, select};

fn params(value: serde_json::Value) -> Params {
    serde_json::from_value(value).unwrap()
}

#[test]
fn first_truthy_wins_default_when_reached() {
    let p = params(json!({"routes": [
        {"id": "admins", "expression": "\"bob\" === 'admin'"},
        {"id": "bob", "expression": "\"bob\" === 'bob'"},
        {"id": "default"}
    ]}));
    assert_eq!(select(&p).unwrap(), "bob");
    let p = params(json!({"routes": [{"id": "a", "expression": "[].length"}, {"id": "default", "expression": ""}]}));
    assert_eq!(select(&p).unwrap(), "default");
}

#[test]
fn errors() {
    let p = params(json!({"routes": [{"id": "a", "expression": "0"}]}));
    assert!(matches!(select(&p), Err(BlockError::Failed(m)) if m == "no route matched and there is no default route"));
    let p = params(json!({"routes": [{"id": "a", "expression": "nope.x"}]}));
    assert!(matches!(select(&p), Err(BlockError::Failed(m)) if m.starts_with("route \"a\": ReferenceError: ")));
    assert!(matches!(select(&params(json!({"routes": []}))), Err(BlockError::InvalidInput(_))));
    assert!(serde_json::from_value::<Params>(json!({"routes": [{"id": "a", "when": "1"}]})).is_err());
}

#[test]
fn references_are_bound_as_values() {
    let p = params(json!({"routes": [
        {"id": "admin", "expression": "__refs[0].isAdmin", "references": [{"__proto__": {"isAdmin": true}}]},
        {"id": "eu", "expression": "['de', 'fr'].includes(__refs[0])", "references": ["fr"]},
        {"id": "default"}
    ]}));
    assert_eq!(select(&p).unwrap(), "eu");
}
