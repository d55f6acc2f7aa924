//! Native tests of the condition block's selection and errors.

use sandflow_sdk::BlockError;
use serde_json::json;

use crate::{Params, select};

fn params(value: serde_json::Value) -> Params {
    serde_json::from_value(value).unwrap()
}

#[test]
fn first_truthy_wins_else_when_reached() {
    let p = params(json!({"conditions": [
        {"id": "big", "expression": "{\"count\": 12}.count > 100"},
        {"id": "mid", "expression": "{\"count\": 12}.count > 10"},
        {"id": "else"}
    ]}));
    assert_eq!(select(&p).unwrap(), ("mid".into(), true));
    let p = params(json!({"conditions": [{"id": "big", "expression": "false"}, {"id": "else"}]}));
    assert_eq!(select(&p).unwrap(), ("else".into(), false));
}

#[test]
fn errors() {
    let p = params(json!({"conditions": [{"id": "big", "expression": "false"}]}));
    assert!(
        matches!(select(&p), Err(BlockError::Failed(m)) if m == "no condition matched and there is no else branch")
    );
    let p = params(json!({"conditions": [{"id": "big", "expression": "1 +"}]}));
    assert!(matches!(select(&p), Err(BlockError::Failed(m)) if m.starts_with("condition \"big\": SyntaxError: ")));
    let p = params(json!({"conditions": [{"id": "t", "expression": "(() => { throw new Error('no') })()"}]}));
    assert!(matches!(select(&p), Err(BlockError::Failed(m)) if m.starts_with("condition \"t\": Error: no")));
    assert!(matches!(select(&params(json!({"conditions": []}))), Err(BlockError::InvalidInput(_))));
}

#[test]
fn unknown_fields_are_refused() {
    assert!(serde_json::from_value::<Params>(json!({"conditions": [], "x": 1})).is_err());
    assert!(serde_json::from_value::<Params>(json!({"conditions": [{"id": "a", "expr": "1"}]})).is_err());
}

#[test]
fn references_are_bound_as_values() {
    // Issue 11 finding 8: `<start.user>.isAdmin === true` with a `__proto__` key in the input.
    let p = params(json!({"conditions": [
        {"id": "admin", "expression": "__refs[0].isAdmin === true", "references": [{"__proto__": {"isAdmin": true}}]},
        {"id": "bob", "expression": "__refs[0] === 'bob' && __refs[1].items.length > 2",
         "references": ["bob", {"items": [1, 2, 3]}]},
        {"id": "else"}
    ]}));
    assert_eq!(select(&p).unwrap(), ("bob".into(), true));
    let p =
        params(json!({"conditions": [{"id": "s", "expression": "__refs[0]", "references": ["\"); throw 1; (\""]}]}));
    assert_eq!(select(&p).unwrap(), ("s".into(), true), "a string stays a (truthy) string");
}
