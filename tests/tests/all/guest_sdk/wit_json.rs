//! Property-based fuzzing (issue 11) of JSON across the WIT boundary: the host
//! writes params as JSON text, the guest SDK parses them, and the `echo` guest
//! writes them back as its output, which the runtime parses. Every value, with
//! strings from all of Unicode and escapes, extreme numbers and nesting up to
//! 60 levels, must come back equal.
//!
//! Each case instantiates the real component, so the count is small (64);
//! `PROPTEST_CASES=N` raises it for a longer local run.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::Config;
use sandflow_runtime::{BlockOutcome, LoadedBlock, RunRequest, Runtime};
use sandflow_tests::{guests, runtime_with};
use serde_json::{Map, Number, Value};

/// Deepest nesting sent: a few levels under the depth the engine allows (64).
const MAX_DEPTH: usize = 60;

fn config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(ci_cases);
    Config { cases, ..Config::default() }
}

/// One runtime with the echo guest loaded, shared by every case.
fn echo() -> &'static (tokio::runtime::Runtime, Runtime, Arc<LoadedBlock>) {
    static ECHO: OnceLock<(tokio::runtime::Runtime, Runtime, Arc<LoadedBlock>)> = OnceLock::new();
    ECHO.get_or_init(|| {
        let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let runtime = tokio.block_on(async { runtime_with(|_| {}) });
        let echo = tokio.block_on(runtime.load(guests::ECHO)).expect("echo guest loads");
        (tokio, runtime, echo)
    })
}

/// Characters JSON must escape, or that encoders get wrong.
const AWKWARD: &[char] = &[
    '"',
    '\\',
    '/',
    '\u{0}',
    '\u{8}',
    '\u{c}',
    '\n',
    '\r',
    '\t',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
];

fn text() -> impl Strategy<Value = String> {
    let c = prop_oneof![2 => any::<char>(), 1 => prop::sample::select(AWKWARD)];
    prop::collection::vec(c, 0..24).prop_map(|chars| chars.into_iter().collect())
}

fn number() -> impl Strategy<Value = Number> {
    let extremes = [u64::MAX as f64, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324, -5e-324, 0.1, 1e21, 1e-7, -0.0];
    prop_oneof![
        prop::sample::select(vec![
            Number::from(u64::MAX),
            Number::from(i64::MIN),
            Number::from(i64::MAX),
            Number::from(0u64)
        ]),
        prop::sample::select(extremes.to_vec()).prop_filter_map("finite", Number::from_f64),
        any::<u64>().prop_map(Number::from),
        any::<i64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", Number::from_f64),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `value` wrapped in `depth` levels of arrays or objects (chosen by `shape`'s bits).
fn nest(mut value: Value, depth: usize, shape: u64, key: &str) -> Value {
    for level in 0..depth {
        value = if shape >> (level % 64) & 1 == 0 {
            Value::Array(vec![value])
        } else {
            Value::Object(Map::from_iter([(key.to_string(), value)]))
        };
    }
    value
}

fn params() -> impl Strategy<Value = Value> {
    (json(), 0..=MAX_DEPTH - 6, any::<u64>(), text())
        .prop_map(|(value, depth, shape, key)| nest(value, depth, shape, &key))
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_json_value_crosses_the_wit_boundary_and_comes_back_equal(params in params()) {
        let (tokio, runtime, echo) = echo();
        let run = tokio.block_on(runtime.run(echo, RunRequest { params: params.clone(), ..Default::default() }));
        prop_assert_eq!(run.outcome, Ok(BlockOutcome::Done(params)));
    }
}
