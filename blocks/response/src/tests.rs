//! Native tests of the params checks.

use sandflow_sdk::BlockError;
use sandflow_sdk::serde_json::{self, Value, json};

use crate::{Params, respond};

fn run(params: Value) -> Result<Value, BlockError> {
    let params: Params =
        serde_json::from_value(params).map_err(|e| BlockError::invalid_input(format!("params: {e}")))?;
    respond(params).map(|o| serde_json::to_value(o).unwrap())
}

fn invalid(params: Value) -> String {
    match run(params.clone()) {
        Err(BlockError::InvalidInput(m)) => m,
        other => panic!("{params}: expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn echoes_data_status_and_headers() {
    let out = run(json!({"data": {"id": 7}, "status": 201, "headers": {"Content-Type": "application/json"}})).unwrap();
    assert_eq!(out, json!({"data": {"id": 7}, "status": 201, "headers": {"Content-Type": "application/json"}}));
}

#[test]
fn defaults() {
    assert_eq!(run(json!({})).unwrap(), json!({"data": null, "status": 200, "headers": {}}));
}

#[test]
fn status_out_of_range_is_invalid_input() {
    for status in [99, 600, -1, 70000] {
        let m = invalid(json!({"status": status}));
        assert!(m.starts_with("status:") && m.contains(&status.to_string()), "{m}");
    }
    assert!(run(json!({"status": 100})).is_ok() && run(json!({"status": 599})).is_ok());
}

#[test]
fn bad_headers_and_unknown_fields_are_invalid_input() {
    assert!(invalid(json!({"headers": {"Bad Name": "x"}})).contains("Bad Name"));
    assert!(invalid(json!({"headers": {"X-A": "a\r\nSet-Cookie: x"}})).contains("X-A"));
    assert!(invalid(json!({"headers": {"X-A": 1}})).starts_with("params:"));
    assert!(invalid(json!({"stauts": 200})).contains("stauts"));
}
