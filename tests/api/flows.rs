//! Workflow states the tests run.

use serde_json::{Value, json};

/// `start` → `f`, a `function` block named "Compute" running `code` over
/// `input` = the start block's output.
pub fn function(code: &str) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "f": {"type": "function", "name": "Compute", "params": {"code": code, "input": "<start>"}}
        },
        "edges": [{"source": "start", "target": "f"}]
    })
}

/// The schema the approval pause asks its resume input to match.
pub fn approval_schema() -> Value {
    json!({"type": "object", "required": ["approved"], "properties": {"approved": {"type": "boolean"}}})
}

/// `start` → `approve` (human_in_the_loop) → `after`.
pub fn approval() -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "approve": {"type": "human_in_the_loop", "name": "Approve",
                        "params": {"response": {"question": "Ship it?"}, "inputSchema": approval_schema()}},
            "after": {"type": "function", "name": "After",
                      "params": {"code": "return input.approved ? 'shipped' : 'held';", "input": "<approve>"}}
        },
        "edges": [{"source": "start", "target": "approve"}, {"source": "approve", "target": "after"}]
    })
}

/// `start` → `wait` for `duration_ms` → `done`.
pub fn wait(duration_ms: u64) -> Value {
    json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "wait": {"type": "wait", "name": "Wait", "params": {"durationMs": duration_ms}},
            "done": {"type": "function", "name": "Done", "params": {"code": "return input.mode;", "input": "<wait>"}}
        },
        "edges": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "done"}]
    })
}

/// An execute request for an inline state.
pub fn inline(workflow_id: &str, state: Value) -> Value {
    json!({"workflowId": workflow_id, "workflow": state})
}
