//! Each global against what Node 20 gives (run with TZ=UTC), the expected values taken from `node -e`.

use serde_json::{Value, json};

fn evaluate(expression: &str) -> Value {
    crate::evaluate(expression, &[]).unwrap_or_else(|error| panic!("{expression}: {error}"))
}

#[test]
fn atob_decodes_forgiving_base64() {
    assert_eq!(evaluate(r#"atob("aGVsbG8=")"#), json!("hello"));
}
