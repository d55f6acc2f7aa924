//! Strategies shared by the fuzz targets: bounded JSON, text that is dense in
//! reference syntax, and the per-target case count.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value};

/// The config of a target that runs `ci_cases` cases under plain `cargo test`;
/// `PROPTEST_CASES` overrides the count (a longer local run).
pub fn config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(ci_cases);
    Config { cases, ..Config::default() }
}

/// Fragments that make a random text likely to hold (almost) references.
const REFERENCE_BITS: &[&str] = &[
    "<",
    ">",
    ".",
    " ",
    "{{",
    "}}",
    "{",
    "}",
    "<start",
    "<start.",
    "<Start.input>",
    "<a.b>",
    "<a.items.0>",
    "<loop.",
    "<loop.index>",
    "<loop.currentItem>",
    "<loop.idx>",
    "<parallel.items>",
    "<variable.",
    "<variable.counter>",
    "{{TOKEN}}",
    "{{ name }}",
    "{{9x}}",
    "<Fetch Data.x>",
    "< a>",
    "<a >",
    "a < b > c",
    "\\",
    "\"",
    "\u{0}",
    "é",
    "日本",
    "\u{10FFFF}",
    "\u{FEFF}",
    "\r\n",
];

/// Any text: arbitrary Unicode scalar values mixed with reference syntax.
pub fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        2 => prop::sample::select(REFERENCE_BITS).prop_map(str::to_string),
        1 => "[a-zA-Z0-9_ -]{1,6}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

/// An object key: mostly reference-path segments, sometimes anything.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-zA-Z0-9_-]{0,5}",
        1 => text(),
    ]
}

/// A finite JSON number: small and large integers and arbitrary doubles.
pub fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (-1000i64..1000).prop_map(Number::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", Number::from_f64),
    ]
}

/// A scalar JSON value.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ]
}

/// Builds arrays and objects (up to `width` members) over `inner`.
pub fn compound(inner: impl Strategy<Value = Value> + Clone, width: usize) -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(inner.clone(), 0..width).prop_map(Value::Array),
        prop::collection::vec((key(), inner), 0..width)
            .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
    ]
}

/// Any JSON value, at most `depth` levels deep and about `size` nodes.
pub fn json(depth: u32, size: u32) -> impl Strategy<Value = Value> {
    leaf().prop_recursive(depth, size, 6, |inner| compound(inner, 6))
}

/// Every string value in `value`, depth-first.
pub fn strings(value: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) => out.push(text.as_str()),
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    out
}
