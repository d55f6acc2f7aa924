//! Native tests of the jq evaluation and of the block's error mapping.

use std::cell::Cell;
use std::time::{Duration, Instant};

use sandflow_sdk::BlockError;
use sandflow_sdk::serde_json::{self, json};

use crate::{FilterError, Params, filter, run_filter, run_filter_with};

thread_local! {
    /// Set by a test to compile filters with every definition of the prelude, as the block
    /// did before it kept only those a filter can reach.
    pub(crate) static WHOLE_PRELUDE: Cell<bool> = const { Cell::new(false) };
}

fn invalid(filter: &str) -> String {
    match run_filter(filter, json!(null)) {
        Err(FilterError::Invalid(message)) => message,
        other => panic!("{filter}: expected an invalid filter, got {other:?}"),
    }
}

fn runtime(filter: &str, input: serde_json::Value) -> String {
    match run_filter(filter, input) {
        Err(FilterError::Runtime(message)) => message,
        other => panic!("{filter}: expected a runtime error, got {other:?}"),
    }
}

#[test]
fn simple_path() {
    let input = json!({"user": {"name": "Ada", "tags": ["a", "b"]}});
    assert_eq!(run_filter(".user.name", input.clone()), Ok(json!("Ada")));
    assert_eq!(run_filter(".user.tags[1]", input.clone()), Ok(json!("b")));
    assert_eq!(run_filter(".", input.clone()), Ok(input));
    assert_eq!(run_filter(".missing", json!({})), Ok(json!(null)));
}

#[test]
fn map_doubles() {
    let input = json!([{"x": 1}, {"x": 2}, {"x": 3}]);
    assert_eq!(run_filter("map(.x * 2)", input), Ok(json!([2, 4, 6])));
}

#[test]
fn standard_library() {
    let input = json!({"b": 2, "a": 1});
    assert_eq!(run_filter("keys", input.clone()), Ok(json!(["a", "b"])));
    assert_eq!(run_filter("length", input.clone()), Ok(json!(2)));
    assert_eq!(
        run_filter("to_entries", input.clone()),
        Ok(json!([{"key": "b", "value": 2}, {"key": "a", "value": 1}])),
        "in the order the keys were written, as jq gives them"
    );
    assert_eq!(run_filter("[.[] | select(. > 1)]", input), Ok(json!([2])));
    assert_eq!(run_filter(r#""id-\(.)" | ascii_upcase"#, json!(7)), Ok(json!("ID-7")));
    assert_eq!(run_filter(r#"test("^a.c$")"#, json!("abc")), Ok(json!(true)));
    assert_eq!(run_filter("tojson", json!({"a": [1]})), Ok(json!(r#"{"a":[1]}"#)));
}

#[test]
fn several_outputs_become_an_array() {
    assert_eq!(run_filter(".[]", json!([1, "two", null])), Ok(json!([1, "two", null])));
    assert_eq!(run_filter(".a, .b", json!({"a": 1, "b": 2})), Ok(json!([1, 2])));
}

#[test]
fn no_output_is_null() {
    assert_eq!(run_filter("empty", json!(1)), Ok(json!(null)));
    assert_eq!(run_filter(".[] | select(. > 10)", json!([1, 2])), Ok(json!(null)));
    assert_eq!(run_filter("halt", json!(1)), Ok(json!(null)));
}

#[test]
fn numbers_follow_jq() {
    assert_eq!(run_filter(". / 2", json!(3)), Ok(json!(1.5)));
    assert_eq!(run_filter("nan", json!(null)), Ok(json!(null)));
    assert_eq!(run_filter("infinite", json!(null)), Ok(json!(f64::MAX)));
    assert_eq!(run_filter(". + 1", json!(9_007_199_254_740_993_u64)), Ok(json!(9_007_199_254_740_994_u64)));
    assert_eq!(run_filter(".", json!(u64::MAX)), Ok(json!(u64::MAX)));
    assert_eq!(run_filter(".", json!(-0.25)), Ok(json!(-0.25)));
}

#[test]
fn parse_errors_are_invalid() {
    let message = invalid(".a | map(");
    assert_eq!(message, r#"filter does not parse: unclosed "(" at position 9"#);
    let message = invalid(".[] |");
    assert!(message.contains("filter does not parse") && message.contains("end of filter"), "{message}");
    let message = invalid("1 2");
    assert!(message.ends_with(r#"unexpected "2" at position 3"#), "{message}");
    let message = invalid(r#""\q""#);
    assert!(message.contains("escape"), "{message}");
}

#[test]
fn compile_errors_are_invalid() {
    let message = invalid("nosuchfilter(1)");
    assert!(message.contains("filter does not compile") && message.contains("nosuchfilter/1"), "{message}");
    assert!(invalid("$nope").contains("undefined variable"));
    // Imports would reach outside the sandbox (or leave variables unbound), so they are refused.
    let message = invalid(r#"import "m" as m; m::f"#);
    assert_eq!(message, r#"filter does not load: cannot import "m": module loading not supported"#);
    assert!(invalid(r#"import "d" as $d; $d"#).contains("data imports are not supported"));
}

#[test]
fn runtime_errors_fail() {
    assert_eq!(runtime(r#"error("x")"#, json!(null)), "x");
    assert_eq!(runtime("error", json!({"code": 1})), r#"{"code":1} (not a string)"#);
    let message = runtime(".a", json!(1));
    assert!(message.contains("Cannot index number"), "{message}");
    assert!(runtime("halt_error(3)", json!("bye")).contains("exit code 3"));
    // Values jaq has but JSON lacks are refused rather than silently changed.
    assert!(runtime("{(1): 2}", json!(null)).contains("Object keys must be strings"));
}

#[test]
fn caught_errors_do_not_fail() {
    assert_eq!(run_filter(r#"try error("x") catch ."#, json!(null)), Ok(json!("x")));
    assert_eq!(run_filter(".a?", json!(1)), Ok(json!(null)));
}

#[test]
fn filter_errors_map_to_block_errors() {
    assert!(matches!(BlockError::from(FilterError::Invalid("p".into())), BlockError::InvalidInput(m) if m == "p"));
    assert!(matches!(BlockError::from(FilterError::Runtime("r".into())), BlockError::Failed(m) if m == "r"));
}

#[test]
fn params_default_input_and_deny_unknown_fields() {
    let params: Params = serde_json::from_value(json!({"filter": "."})).unwrap();
    assert_eq!(params.input, json!(null));
    assert!(serde_json::from_value::<Params>(json!({"filter": ".", "extra": 1})).is_err());
    assert!(serde_json::from_value::<Params>(json!({"input": 1})).is_err());
}

// Expected values below come from jq 1.8 (the `jq` wheel on PyPI), run on this machine.

#[test]
fn environment_is_empty() {
    assert_eq!(run_filter("env, $ENV", json!(null)), Ok(json!([{}, {}])));
}

#[test]
fn division_by_zero_is_a_catchable_error() {
    let expected = "number (1) and number (0) cannot be divided because the divisor is zero";
    assert_eq!(run_filter("try (1/0) catch .", json!(null)), Ok(json!(expected)));
    assert_eq!(run_filter("(1/0)?", json!(null)), Ok(json!(null)));
}

#[test]
fn string_repeat_is_bounded() {
    // jq's own limit, with jq's message (from jq 1.8).
    assert_eq!(runtime(". * 1000000000", json!("abc")), "Repeat string result too long");
    // Under jq's limit, over the block's.
    let message = runtime(". * 100000000", json!("abc"));
    assert!(message.contains("Repeat string result too long") && message.contains("limit"), "{message}");
    assert_eq!(run_filter("[.[] * \"ab\"]", json!([-1, 0, 1.5, 3])), Ok(json!([null, "", "ab", "ababab"])));
}

#[test]
fn assignment_pads_with_nulls() {
    assert_eq!(run_filter(".[2][3] = 1", json!([4])), Ok(json!([4, null, [null, null, null, 1]])));
    assert_eq!(run_filter("setpath([\"foo\", 1]; 20)", json!({})), Ok(json!({"foo": [null, 20]})));
}

#[test]
fn join_csv_tsv_and_friends() {
    assert_eq!(run_filter("join(\",\")", json!(["a", null, 1])), Ok(json!("a,,1")));
    assert_eq!(run_filter("@csv", json!([1, "a\"b", null])), Ok(json!("1,\"a\"\"b\",")));
    assert_eq!(run_filter("@tsv", json!(["a\tb", 2])), Ok(json!("a\\tb\t2")));
    assert_eq!(run_filter("[range(5;8)|IN(range(7))]", json!(null)), Ok(json!([true, true, false])));
    assert_eq!(run_filter("trimstr(\"x\")", json!("xax")), Ok(json!("a")));
    assert_eq!(run_filter("abs", json!(-5)), Ok(json!(5)));
}

// Expected values from jq 1.8 (the PyPI `jq` package 1.13).
#[test]
fn destructuring_alternatives_rebind_on_error_in_pattern_or_body() {
    let body_error = r#"[[3]] | .[] as [$a] ?// [$b] | if $a != null then error("err: \($a)") else {$a,$b} end"#;
    assert_eq!(run_filter(body_error, json!(null)), Ok(json!({"a": null, "b": 3})));
    assert_eq!(run_filter("def f: . as [$a] ?// $a | $a; [.[] | f]", json!([[1], 2])), Ok(json!([1, 2])));
    let in_if = "[.[] | if true then . as [$a] ?// {$b} | [$a, $b] else 0 end]";
    assert_eq!(run_filter(in_if, json!([[1], {"b": 2}])), Ok(json!([[1, null], [null, 2]])));
    assert_eq!(run_filter("1, (. as [$a] ?// {$b} | $b, [$a]), 3", json!({"b": 5})), Ok(json!([1, 5, [null], 3])));
    assert_eq!(runtime(". as [$a] ?// [$b] | $a", json!({})), "Cannot index object with number (0)");
}

#[test]
fn block_definitions_replace_jaq_ones_for_their_callers_too() {
    assert_eq!(run_filter("try limit(-1; 1) catch .", json!(null)), Ok(json!("limit doesn't support negative count")));
    assert_eq!(run_filter("[limit(0; 1, 2)], [skip(0; 1, 2)]", json!(null)), Ok(json!([[], [1, 2]])));
    assert_eq!(run_filter("path(limit(1; .a, .b))", json!({})), Ok(json!(["a"])));
    assert_eq!(run_filter("[nth(5, 7; range(9; 0; -1))]", json!(null)), Ok(json!([4, 2])));
    assert_eq!(run_filter("with_entries(.value += 1)", json!({"a": 1})), Ok(json!({"a": 2})));
}

// Expected values from jq 1.8 (the PyPI `jq` package 1.13).
#[test]
fn time_functions_normalise_broken_down_times_as_timegm_does() {
    let cases = [
        (json!([]), json!(-2209075200i64)),
        (json!([2024]), json!(1703980800)),
        (json!([2024, 8, 21.7, 1.5]), json!(1726880400)),
        (json!([2024, -1, 1]), json!(1701388800)),
        (json!([2024, 13, 1]), json!(1738368000)),
        (json!([2024, 0, 1, -1.5]), json!(1704063600)),
        (json!([1900, 1, 29]), json!(-2203891200i64)),
    ];
    for (input, seconds) in cases {
        assert_eq!(run_filter("mktime", input.clone()), Ok(seconds), "{input}");
    }
    assert_eq!(run_filter(r#"strftime("%F %T %j")"#, json!([2024, 0, 1, -1.5])), Ok(json!("2023-12-31 23:00:00 365")));
    assert_eq!(runtime("mktime", json!([2024, 1, 2, 3, 4, 5, "x"])), "mktime requires parsed datetime inputs");
    assert_eq!(runtime("mktime", json!("x")), "mktime requires array inputs");
    assert_eq!(runtime("strftime(1)", json!("x")), "strftime/1 requires parsed datetime inputs");
    assert_eq!(runtime("strftime(1)", json!([2024])), "strftime/1 requires a string format");
}

#[test]
fn references_are_the_variable_refs_bound_as_data() {
    use crate::run_filter_with;
    let hostile = json!("\") | $ENV | (\"");
    let references = vec![json!(2), hostile.clone(), json!({"a": [1]})];
    let filter =
        "[.[] | select(. > $__refs[0])] | {big: ., who: $__refs[1], label: \"for \\($__refs[1]) \\($__refs[2])\"}";
    assert_eq!(
        run_filter_with(filter, json!([1, 2, 3]), references),
        Ok(json!({"big": [3], "who": hostile, "label": "for \") | $ENV | (\" {\"a\":[1]}"}))
    );
    assert_eq!(run_filter("$__refs", json!(null)), Ok(json!([])), "no references: an empty array");
}

#[test]
fn huge_arrays_fail_with_the_limit_named() {
    // The cut array's later outputs are wrong, and `try` cannot hide the cut.
    for filter in ["[range(1e9)] | length", "try [limit(1e9; repeat(1))] catch 0"] {
        let message = runtime(filter, json!(null));
        assert!(message.contains("array longer than the block's limit of 1048576 elements"), "{filter}: {message}");
    }
    assert_eq!(run_filter("[range(1048576)] | length", json!(null)), Ok(json!(1048576)));
    assert_eq!(run_filter("[limit(3; repeat(1))]", json!(null)), Ok(json!([1, 1, 1])));
}

// Expected values from jq 1.8 (the PyPI `jq` package 1.13).
#[test]
fn fractional_and_nan_bounds_as_jq_reads_them() {
    let slices = "[.[nan:2], .[1:nan], .[nan:nan], .[nan], .[1.5:3.5], (.[1.1] = 9), .[-1.5:], .[:-1.5]]";
    let expected =
        json!([[0, 1], [1, 2, 3, 4], [0, 1, 2, 3, 4], null, [1, 2, 3], [0, 9, 2, 3, 4], [3, 4], [0, 1, 2, 3]]);
    assert_eq!(run_filter(slices, json!([0, 1, 2, 3, 4])), Ok(expected));
    assert_eq!(run_filter(".[1.5:3.5]", json!("abcdef")), Ok(json!("bcd")));
}

// Expected values from jq 1.8 (the PyPI `jq` package 1.13).
#[test]
fn deletions_address_the_original_arrays() {
    let filter = "[del(.[0:2], .[-1]), del(.[3], .[0:2]), del(.[-10]), del(.[1.5])]";
    assert_eq!(run_filter(filter, json!([1, 2, 3, 4])), Ok(json!([[3], [3], [1, 2, 3, 4], [1, 3, 4]])));
    assert_eq!(run_filter("del(.a[-1], .b)", json!({"a": [1, 2], "b": 3, "c": 4})), Ok(json!({"a": [1], "c": 4})));
    assert_eq!(run_filter("[nan % 0, 1 % nan] | map(isnan)", json!(null)), Ok(json!([true, true])));
}

/// Values 10,000 levels deep need more stack than a test thread has, natively.
fn on_deep_stack<T: Send>(run: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new().stack_size(256 << 20).spawn_scoped(scope, run).unwrap().join().unwrap()
    })
}

// Expected values from jq 1.8 (the PyPI `jq` package 1.13).
#[test]
fn deep_values_print_parse_and_merge_within_jq_depth_limits() {
    on_deep_stack(|| {
        let arrays = "reduce range(10001) as $_ ([];[.]) | tojson | .[9995:10030]";
        assert_eq!(run_filter(arrays, json!(null)), Ok(json!("[[[[[[<skipped: too deep>]]]]]]]]]]")));
        let objects = "reduce range(10001) as $_ ({};{a:.}) | tojson | (length, .[49990:50040])";
        assert_eq!(
            run_filter(objects, json!(null)),
            Ok(json!([60025, "{\"a\":{\"a\":{\"a\":<skipped: too deep>}}}}}}}}}}}}}}}}"]))
        );
        let shallower = "reduce range(10000) as $_ ({};{a:.}) | tojson | length";
        assert_eq!(run_filter(shallower, json!(null)), Ok(json!(60002)));
        let parse = "reduce range(10000) as $_ ([];[.]) | tojson | try fromjson catch startswith(\"Exceeds depth limit for parsing\")";
        assert_eq!(run_filter(parse, json!(null)), Ok(json!(true)));
        let merge = "try (reduce range(10001) as $_ ({}; {a: .}) as $x | $x * $x) catch .";
        assert_eq!(run_filter(merge, json!(null)), Ok(json!("Object merge too deep")));
    });
}

/// How a filter is compiled, each on a thread of its own so nothing is left from another.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// As a component that was not pre-initialized: the run parses the definitions itself.
    Unprepared,
    /// As a pre-initialized component: [`filter::prepare`] ran before.
    Prepared,
    /// With the whole prelude rather than the definitions the filter can reach.
    WholePrelude,
}

fn on_fresh_thread<T: Send>(start: Start, run: impl FnOnce() -> T + Send) -> T {
    on_deep_stack(|| {
        match start {
            Start::Unprepared => {}
            Start::Prepared => filter::prepare(),
            Start::WholePrelude => WHOLE_PRELUDE.with(|whole| whole.set(true)),
        }
        run()
    })
}

#[test]
fn prepared_unprepared_and_whole_prelude_runs_agree() {
    let input = json!({"n": 1, "items": [3, 1, 2], "s": "Hello, World", "t": 1700000000});
    let filters = [
        ".n + 1",
        ".items | map(. * 2)",
        ".items | sort | map(. * 10)",
        "[.items[] | select(. > 1)] | add",
        "[limit(2; .items[])], first(.items[]), [range(3)]",
        ".s | ascii_downcase, ascii_upcase, test(\"world\"; \"i\"), [splits(\", \")]",
        ".s | @base64 \"b64: \\(.)\", @json, @text, @html \"<\\(.)>\"",
        ".t | todate, (gmtime | mktime), strftime(\"%Y\")",
        "to_entries | map(.key) | join(\",\")",
        "([paths] | length), (walk(if type == \"number\" then . + 1 else . end) | .items)",
        "[paths(type == \"number\")], getpath([\"items\", 0]), [tostream | select(length == 2)] | tojson",
        "def f(g): def h: g; [h, h]; f(.n), (reduce .items[] as $x (0; . + $x))",
        "def map(f): \"mine\"; map(.)",
        "$ENV, ($__refs | length), label $out | 1, break $out, 2",
        "builtins | length > 100, (builtins | map(select(startswith(\"map\"))) | sort)",
        "input_line_number? // \"none\", (try error(\"boom\") catch .), (.nope | not), $__loc__",
        ".items as [$a, $b] | {$a, b: $b} | has(\"a\"), ([.[]?] | length)",
        "getpath([\"a\"]) //= 3 | .a, (.items |= map(. - 1) | .items), (.n += 1 | .n)",
        "[.items[] as $x ?// [$x] | $x]",
        "(.items | indices(1)), (.s | ltrimstr(\"Hello\") | rtrimstr(\"World\")), (.items | min_by(.), unique)",
        "@sh \"echo \\(.s)\", (.items | @csv), ([.s] | @tsv), (.s | @uri)",
        "tojson | fromjson | .n, ([1, [2]] | flatten), ({} | .a.b.c = 1)",
        "limit(-1; 1)",
        "error(\"boom\")",
        "error({a: 1})",
        "halt_error",
        ".n | halt",
        "[.[] | tostring] | .[0] + 1",
        ".a |",
        "map(",
        "\"\\(1;2)\"",
        "nonexistent(1; 2)",
        "map(.; .)",
        "$undefined | @nosuchformat",
        "@nosuchformat \"x\\(.)\"",
        "import \"a\" as a; .",
        "include \"x\"; .",
        "import \"data\" as $d; $d",
        "break $nolabel",
        "1 as $x | 2 as $y | [$x, $y, $__refs[0]]",
        "",
        "   ",
        "[range(1e6)] | length",
    ];
    for filter in filters {
        let run = |start| on_fresh_thread(start, || run_filter_with(filter, input.clone(), vec![json!({"ref": true})]));
        let unprepared = run(Start::Unprepared);
        assert_eq!(run(Start::Prepared), unprepared, "{filter}: prepared");
        assert_eq!(run(Start::WholePrelude), unprepared, "{filter}: whole prelude");
    }
}

#[test]
fn a_run_after_the_prepared_natives_were_taken_builds_its_own() {
    on_fresh_thread(Start::Prepared, || {
        for _ in 0..3 {
            // `ascii` is outside jaq's core: each run compiles with the core and then the full prelude.
            assert_eq!(run_filter(".n + 1", json!({"n": 1})), Ok(json!(2)));
            assert_eq!(run_filter("65 | ascii", json!(null)), Ok(json!("A")));
            assert!(matches!(run_filter("nonexistent", json!(null)), Err(FilterError::Invalid(_))));
        }
    });
}

/// One run's compile and evaluation of each filter, on a fresh thread as on a fresh sandbox:
/// `cargo test --release -p sandflow-block-transform -- --ignored bench --nocapture`.
#[test]
#[ignore = "a benchmark"]
fn bench_compile_and_run() {
    const RUNS: u32 = 200;
    let time = |start: Start, filter: &'static str| {
        let total: Duration = (0..RUNS)
            .map(|_| {
                on_fresh_thread(start, || {
                    let began = Instant::now();
                    let result = run_filter(filter, json!({"n": 1, "s": "a"}));
                    let took = began.elapsed();
                    assert!(result.is_ok(), "{filter}: {result:?}");
                    took
                })
            })
            .sum();
        total / RUNS
    };
    for filter in [".n + 1", "map_values(. // 0) | to_entries", ".s | ascii_downcase"] {
        for start in [Start::Unprepared, Start::Prepared, Start::WholePrelude] {
            println!("{filter:>34} {start:>12?}: {:>9.1?} per run", time(start, filter));
        }
    }
}

/// One run of `.n + 1`, for instruction counts of a prepared and an unprepared run:
/// `valgrind --tool=callgrind --toggle-collect='*run_filter_with*' <test binary> --ignored --exact tests::bench_one_run_prepared`.
#[test]
#[ignore = "a benchmark"]
fn bench_one_run_prepared() {
    filter::prepare();
    assert_eq!(run_filter_with(".n + 1", json!({"n": 1}), vec![]), Ok(json!(2)));
}

#[test]
#[ignore = "a benchmark"]
fn bench_one_run_unprepared() {
    assert_eq!(run_filter_with(".n + 1", json!({"n": 1}), vec![]), Ok(json!(2)));
}
