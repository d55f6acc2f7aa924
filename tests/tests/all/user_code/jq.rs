//! jq builtins people reach for, through the real `transform` component. Expected values are
//! jq's own: from its test suite (`tests/jq.test`) where a case is there, else what jq 1.8 (the
//! `jq` wheel on PyPI) printed for the same program; messages are pinned only where jq 1.7 and
//! 1.8 agree.

use sandflow_runtime::{BlockRun, Runtime};
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

use super::{failure, result, run_block};

async fn jq(runtime: &Runtime, filter: &str, input: Value) -> BlockRun {
    run_block(runtime, "transform", json!({"filter": filter, "input": input})).await
}

/// Runs each filter over its input and checks the result.
async fn assert_results(cases: &[(&str, Value, Value)]) {
    let runtime = runtime_with(|_| {});
    for (filter, input, expected) in cases {
        let run = jq(&runtime, filter, input.clone()).await;
        assert_eq!(result(&run), expected, "{filter} on {input}");
    }
}

#[tokio::test]
async fn tostream_and_fromstream_round_trip() {
    let nested = json!({"a": [1, {"b": 2}]});
    assert_results(&[
        (
            "[tostream]",
            nested.clone(),
            json!([[["a", 0], 1], [["a", 1, "b"], 2], [["a", 1, "b"]], [["a", 1]], [["a"]]]),
        ),
        ("[tostream]", json!(3), json!([[[], 3]])),
        ("[tostream]", json!([]), json!([[[], []]])),
        ("fromstream(tostream)", nested.clone(), nested),
        // The manual's own examples.
        (". as [$dot] | fromstream($dot | tostream) | . == $dot", json!([0, [1, {"a": 1}, {"b": 2}]]), json!(true)),
        ("[1 | truncate_stream([[0], 1], [[1, 0], 2], [[1, 0]], [[1]])]", json!(null), json!([[[0], 2], [[0]]])),
        ("[fromstream(([[0], 1], [[1], 2], [[1]]))]", json!(null), json!([[1, 2]])),
    ])
    .await;
}

#[tokio::test]
async fn index_and_join_build_and_use_lookup_tables() {
    let users = json!([{"id": 1, "n": "a"}, {"id": "x", "n": "b"}]);
    let orders = json!([{"user": 1, "o": "q"}, {"user": 2, "o": "r"}]);
    assert_results(&[
        // jq.test
        (
            "INDEX(range(5) | [., \"foo\\(.)\"]; .[0])",
            json!(null),
            json!({"0": [0, "foo0"], "1": [1, "foo1"], "2": [2, "foo2"], "3": [3, "foo3"], "4": [4, "foo4"]}),
        ),
        (
            "JOIN({\"0\": [0, \"abc\"], \"1\": [1, \"bcd\"], \"2\": [2, \"def\"], \"3\": [3, \"efg\"], \"4\": [4, \"fgh\"]}; .[0] | tostring)",
            json!([[5, "foo"], [3, "bar"], [1, "foobar"]]),
            json!([[[5, "foo"], null], [[3, "bar"], [3, "efg"]], [[1, "foobar"], [1, "bcd"]]]),
        ),
        // Keys become strings.
        ("INDEX(.id)", users.clone(), json!({"1": {"id": 1, "n": "a"}, "x": {"id": "x", "n": "b"}})),
        (
            "(.users | INDEX(.id)) as $idx | [JOIN($idx; .orders[]; .user | tostring)]",
            json!({"users": users.clone(), "orders": orders.clone()}),
            json!([[{"user": 1, "o": "q"}, {"id": 1, "n": "a"}], [{"user": 2, "o": "r"}, null]]),
        ),
        (
            "(.users | INDEX(.id)) as $idx | [JOIN($idx; .orders[]; .user | tostring; add)]",
            json!({"users": users, "orders": orders}),
            json!([{"user": 1, "o": "q", "id": 1, "n": "a"}, {"user": 2, "o": "r"}]),
        ),
    ])
    .await;
}

#[tokio::test]
async fn getpath_of_a_missing_path_is_null() {
    assert_results(&[
        ("getpath([\"a\", \"b\"])", json!({}), json!(null)),
        ("getpath([\"a\", \"b\"])", json!(null), json!(null)),
        ("getpath([\"a\", \"b\"])", json!({"a": {"c": 1}}), json!(null)),
        ("getpath([\"a\", \"b\"])", json!({"a": {"b": [1]}}), json!([1])),
        // jq.test: map(getpath([2]))
        ("map(getpath([2]))", json!([[0], [0, 1], [0, 1, 2]]), json!([null, null, 2])),
        // Indexing through a number is still an error, and catchable.
        ("try getpath([\"a\", \"b\"]) catch \"error\"", json!({"a": 1}), json!("error")),
    ])
    .await;
}

#[tokio::test]
async fn a_huge_string_repeat_is_a_catchable_jq_error_not_a_trap() {
    let runtime = runtime_with(|_| {});
    // jq.test: try (. * 1000000000) catch .
    let run = jq(&runtime, "try (. * 1000000000) catch .", json!("abc")).await;
    assert_eq!(result(&run), &json!("Repeat string result too long"));
    let run = jq(&runtime, ". * 1000000000", json!("abc")).await;
    assert!(failure(&run).contains("Repeat string result too long"), "{:?}", run.outcome);
    // The guest is fine afterwards.
    assert_eq!(result(&jq(&runtime, ". * 3", json!("ab")).await), &json!("ababab"));
}

#[tokio::test]
async fn the_environment_is_empty() {
    assert_results(&[
        ("[$ENV, env]", json!(null), json!([{}, {}])),
        ("[$ENV.HOME, env.PATH, ($ENV | length)]", json!(null), json!([null, null, 0])),
    ])
    .await;
}

#[tokio::test]
async fn division_by_zero_is_an_error() {
    let runtime = runtime_with(|_| {});
    // jq.test: try (1/0) catch . and try (0/0) catch .
    let run = jq(&runtime, "try (1/0) catch .", json!(0)).await;
    assert_eq!(result(&run), &json!("number (1) and number (0) cannot be divided because the divisor is zero"));
    let run = jq(&runtime, "try (0/0) catch .", json!(0)).await;
    assert_eq!(result(&run), &json!("number (0) and number (0) cannot be divided because the divisor is zero"));
    let run = jq(&runtime, "[.[] | (1 / .)?]", json!([0, 2])).await;
    assert_eq!(result(&run), &json!([0.5]));
    let run = jq(&runtime, "1/0", json!(null)).await;
    assert!(failure(&run).contains("divisor is zero"), "{:?}", run.outcome);
}

#[tokio::test]
async fn csv_and_tsv_format_rows() {
    let runtime = runtime_with(|_| {});
    let cases = [
        // jq.test: ([1,.]|@csv,@tsv)
        ("[1, .] | @csv, @tsv", json!("!()<>&'\"\t"), json!(["1,\"!()<>&'\"\"\t\"", "1\t!()<>&'\"\\t"])),
        (
            "[.[] | @csv, @tsv]",
            json!([[1, "a,b", null, true, "q\"x"], ["a\tb", "c\\d", "e\nf", "r\rs"]]),
            json!([
                "1,\"a,b\",,true,\"q\"\"x\"",
                "1\ta,b\t\ttrue\tq\"x",
                "\"a\tb\",\"c\\d\",\"e\nf\",\"r\rs\"",
                "a\\tb\tc\\\\d\te\\nf\tr\\rs"
            ]),
        ),
        ("@csv \"row: \\(.)\"", json!([1, "a"]), json!("row: 1,\"a\"")),
    ];
    for (filter, input, expected) in cases {
        assert_eq!(result(&jq(&runtime, filter, input.clone()).await), &expected, "{filter} on {input}");
    }
    // Only arrays of scalars make rows; anything else is a catchable error.
    let run = jq(&runtime, "[.[] | try @csv catch .]", json!([{}, [[1]]])).await;
    let messages = result(&run).as_array().unwrap_or_else(|| panic!("{:?}", run.outcome)).clone();
    assert!(messages[0].as_str().is_some_and(|m| m.starts_with("object ({}) cannot be csv-formatted")), "{messages:?}");
    assert_eq!(messages[1], "array ([1]) is not valid in a csv row", "{messages:?}");
    let run = jq(&runtime, "@tsv", json!({"a": 1})).await;
    assert!(failure(&run).contains("cannot be tsv-formatted"), "{:?}", run.outcome);
}

#[tokio::test]
async fn limit_refuses_a_negative_count() {
    let runtime = runtime_with(|_| {});
    // jq.test: try limit(-1; error) catch .
    let run = jq(&runtime, "try limit(-1; error) catch .", json!(null)).await;
    assert_eq!(result(&run), &json!("limit doesn't support negative count"));
    let run = jq(&runtime, "[limit(-1; 1, 2)]", json!(null)).await;
    assert!(failure(&run).contains("limit doesn't support negative count"), "{:?}", run.outcome);
    assert_results(&[("[[limit(0; 1, 2)], [limit(2; range(10))]]", json!(null), json!([[], [0, 1]]))]).await;
}
