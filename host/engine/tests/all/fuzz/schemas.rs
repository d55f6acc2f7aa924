//! The schema checks (HARDENING.md, finding 2): tenant JSON Schemas dense in
//! references, in-place keywords and definitions. Whatever the bounds accept
//! compiles and checks a value in bounded time and stack; a schema that refers
//! back to itself in place is always refused.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use sandflow_engine::check_resume_input;
use sandflow_engine::validate::{SchemaRefused, check_schema_bounds};
use serde_json::{Map, Value, json};

use super::strategies::{config, json};

/// How long one check may take before it counts as never finishing.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// References that always resolve in a generated schema (its root defines
/// `a`, `b` and `c`), some that may, and some that never do.
const REFERENCES: &[&str] = &["#", "#/$defs/a", "#/$defs/b", "#/$defs/c"];
const MAYBE_REFERENCES: &[&str] =
    &["#/properties/x", "#/allOf/0", "#/anyOf/1", "#/items", "#anchor", "#/$defs/a/properties/x"];
const BROKEN_REFERENCES: &[&str] =
    &["#/$defs/missing", "#/definitions/a", "http://example.com/schema", "other.json#/a"];

/// A `$ref`: in a `clean` schema only ones that resolve.
fn reference(clean: bool) -> BoxedStrategy<Value> {
    let references = if clean {
        prop::sample::select(REFERENCES).boxed()
    } else {
        prop_oneof![
            90 => prop::sample::select(REFERENCES),
            6 => prop::sample::select(MAYBE_REFERENCES),
            4 => prop::sample::select(BROKEN_REFERENCES),
        ]
        .boxed()
    };
    references.prop_map(|r| json!({"$ref": r})).boxed()
}

fn leaf_schema(clean: bool) -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop::sample::select(&["object", "array", "string", "number", "integer", "boolean", "null"][..])
            .prop_map(|t| json!({"type": t})),
        3 => reference(clean),
        1 => (0i64..10).prop_map(|n| json!({"minimum": n})),
        1 => Just(json!({"$anchor": "anchor"})),
    ]
}

/// A keyword and its subschema(s): in place, descending into the value, or definitions.
fn member(inner: BoxedStrategy<Value>) -> impl Strategy<Value = (String, Value)> {
    let list = prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Array);
    let map = prop::collection::vec((prop::sample::select(&["a", "b", "c", "x"][..]), inner.clone()), 1..4)
        .prop_map(|members| Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
    prop_oneof![
        (prop::sample::select(&["allOf", "anyOf", "oneOf", "prefixItems"][..]), list)
            .prop_map(|(k, v)| (k.to_string(), v)),
        (
            prop::sample::select(
                &["not", "if", "then", "else", "items", "additionalProperties", "contains", "propertyNames"][..]
            ),
            inner
        )
            .prop_map(|(k, v)| (k.to_string(), v)),
        (
            prop::sample::select(&["properties", "$defs", "definitions", "dependentSchemas", "patternProperties"][..]),
            map
        )
            .prop_map(|(k, v)| (k.to_string(), v)),
    ]
}

/// A subschema up to a few levels deep, about half of whose subschemas are references.
fn subschema(clean: bool) -> impl Strategy<Value = Value> {
    leaf_schema(clean).prop_recursive(4, 48, 5, move |inner| {
        let inner = inner.boxed();
        (prop::collection::vec(member(inner.clone()), 1..5), prop::option::of(reference(clean))).prop_map(
            |(members, own_reference)| {
                let mut object: Map<String, Value> = members.into_iter().collect();
                if let Some(Value::Object(reference)) = own_reference {
                    object.extend(reference);
                }
                Value::Object(object)
            },
        )
    })
}

/// A schema whose root defines `a`, `b` and `c`; in half of them every reference resolves.
fn schema() -> impl Strategy<Value = Value> {
    any::<bool>()
        .prop_flat_map(|clean| (subschema(clean), subschema(clean), subschema(clean), subschema(clean)))
        .prop_map(|(body, a, b, c)| {
            let mut root = match body {
                Value::Object(object) => object,
                other => Map::from_iter([("allOf".to_string(), json!([other]))]),
            };
            root.insert("$defs".into(), json!({"a": a, "b": b, "c": c}));
            Value::Object(root)
        })
}

/// Runs `check` on a thread of its own and fails if it does not end within
/// [`CHECK_TIMEOUT`] (a runaway check is left behind; the test has failed).
fn finishes<T: Send + 'static>(check: impl FnOnce() -> T + Send + 'static) -> Result<T, TestCaseError> {
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new().stack_size(8 << 20).spawn(move || sender.send(check())).expect("thread");
    receiver.recv_timeout(CHECK_TIMEOUT).map_err(|_| TestCaseError::fail("the check never finished"))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn what_the_bounds_accept_checks_a_value_in_bounded_time(schema in schema(), value in json(4, 24)) {
        let accepted = {
            let schema = schema.clone();
            finishes(move || check_schema_bounds(&schema).is_ok())?
        };
        // The whole path a resume takes: bounds, compile, validate.
        let outcome = finishes(move || check_resume_input("fuzz", &schema, &value).map_err(|e| e.to_string()))?;
        if !accepted {
            let message = outcome.expect_err("a refused schema refuses every input");
            prop_assert!(message.contains("the input schema is refused"), "{}", message);
        }
    }

    #[test]
    fn a_schema_that_refers_back_to_itself_in_place_is_refused(schema in schema(), in_place in 0usize..4) {
        let Value::Object(mut object) = schema.clone() else { return Ok(()) };
        let accepted_before = check_schema_bounds(&schema).is_ok();
        // One in-place step from the root back to the root.
        let back = json!({"$ref": "#"});
        let keyword = ["allOf", "anyOf", "oneOf", "not"][in_place];
        match (keyword, object.get_mut(keyword)) {
            ("not", _) => {
                object.insert("not".into(), json!({"allOf": [back]}));
            }
            (_, Some(Value::Array(list))) => list.push(back),
            _ => {
                object.insert(keyword.into(), json!([back]));
            }
        }
        let refused = check_schema_bounds(&Value::Object(object));
        prop_assert!(refused.is_err());
        // A schema the bounds took is refused for the cycle, not for something else.
        if accepted_before {
            prop_assert!(matches!(refused, Err(SchemaRefused::Cycle { .. })), "{:?}", refused);
        }
    }
}
