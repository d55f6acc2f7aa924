//! Native tests of rendering and of the error mapping.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use sandflow_sdk::BlockError;
use sandflow_sdk::serde_json::{self, json};

use crate::percent_operator::rewrite;
use crate::{MAX_OUTPUT_BYTES, Params, environment_for_render, prepare, render, render_in};

fn failed(template: &str) -> String {
    match render(template, json!({}), vec![]) {
        Err(BlockError::Failed(message)) => message,
        other => panic!("{template}: expected Failed, got {other:?}"),
    }
}

#[test]
fn renders_data() {
    let data = json!({"user": {"name": "Ada"}, "items": [1, 2, 3]});
    assert_eq!(render("Hello {{ user.name }}!", data.clone(), vec![]).unwrap(), "Hello Ada!");
    assert_eq!(render("{% for i in items %}{{ i * 2 }},{% endfor %}", data.clone(), vec![]).unwrap(), "2,4,6,");
    assert_eq!(render("{{ items | length }} {{ user.name | upper }}", data.clone(), vec![]).unwrap(), "3 ADA");
    // Jinja2's `tojson` is `json.dumps(sort_keys=True)`, with its spaces.
    assert_eq!(render("{{ data.user | tojson }}", data.clone(), vec![]).unwrap(), r#"{"name": "Ada"}"#);
    // A key of `data` is a top-level variable as well as a field of `data`.
    assert_eq!(render("{{ user }}|{{ data.user.name }}", data, vec![]).unwrap(), "{'name': 'Ada'}|Ada");
    // Non-object data is reachable as `data`; undefined values are lenient (render empty).
    assert_eq!(render("{{ data }}-{{ missing }}", json!(7), vec![]).unwrap(), "7-");
}

#[test]
fn params_default_data_and_reject_unknown_fields() {
    let p: Params = serde_json::from_value(json!({"template": "x"})).unwrap();
    assert_eq!(p.data, json!({}));
    let e = serde_json::from_value::<Params>(json!({"template": "x", "dta": {}})).unwrap_err();
    assert!(e.to_string().contains("dta"), "{e}");
}

#[test]
fn a_template_that_does_not_parse_is_invalid_input_with_its_line() {
    match render("line one\n{% for x in items %}\n{{ x }", json!({}), vec![]) {
        Err(BlockError::InvalidInput(m)) => assert!(m.contains("syntax error") && m.contains("line 3"), "{m}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn render_errors_are_failures() {
    let m = failed("{{ 1 | no_such_filter }}");
    assert!(m.contains("unknown filter"), "{m}");
    let m = failed("ok\n{{ 'a' - 1 }}");
    assert!(m.contains("line 2") && m.contains("invalid operation"), "{m}");
}

#[test]
fn percent_after_a_quoted_format_formats_as_python() {
    let data = json!({"n": 3, "x": 2.5, "user": {"name": "Ada"}});
    let text =
        render("{{ '%d items' % n }}|{{ '%05.1f' % x }}|{{ '%s/%s' % (n, x) }}|{{ '%(name)s' % user }}", data, vec![]);
    assert_eq!(text.unwrap(), "3 items|002.5|3/2.5|Ada");
    // A `%` that is not after a string literal stays minijinja's remainder.
    assert_eq!(render("{{ 7 % 3 }} {{ 7.5 % 2 }} {{ -7 % 3 }}", json!({}), vec![]).unwrap(), "1 1.5 2");
}

#[test]
fn percent_formatting_errors_name_pythons_problem_and_line() {
    let m = failed("ok\n{{ '%s and %s' % (1,) }}");
    assert!(m.contains("line 2") && m.contains("TypeError: not enough arguments for format string"), "{m}");
    let m = failed("{{ '%d' % 'three' }}");
    assert!(m.contains("TypeError: %d format: a real number is required, not str"), "{m}");
    let m = failed("{{ '%y' % 1 }}");
    assert!(m.contains("ValueError: unsupported format character 'y' (0x79) at index 1"), "{m}");
}

#[test]
fn a_format_held_in_a_variable_points_at_the_format_filter() {
    let m = failed("{% set fmt = '%d items' %}{{ fmt % 3 }}");
    assert!(m.contains("fmt | format(value)"), "{m}");
    let m = failed("{{ 7 % 'a' }}");
    assert!(!m.contains("format(value)"), "{m}");
}

#[test]
fn percent_widths_and_precisions_wider_than_any_output_are_refused() {
    for template in [
        "{{ '%2000000000s' % 1 }}",
        "{{ '%.2000000000f' % 1 }}",
        "{{ '%.2000000000d' % 1 }}",
        "{{ '%*d' % (2000000000, 1) }}",
        // Each field fits; together they do not.
        "{{ '%1000000s%1000000s' % (1, 2) }}",
    ] {
        let m = failed(template);
        assert!(m.contains(&MAX_OUTPUT_BYTES.to_string()), "{template}: {m}");
    }
}

#[test]
fn percent_d_of_a_large_float_writes_its_exact_integer() {
    let text = render("{{ '%d' % 1e22 }} {{ '%d' % -2.0e19 }} {{ '%.3d' % -0.5 }}", json!({}), vec![]).unwrap();
    assert_eq!(text, "10000000000000000000000 -20000000000000000000 000");
}

#[test]
fn percent_rewrite_turns_only_literal_formats_into_filter_calls() {
    let rewritten = rewrite("{{ 'a%s' % x | upper }} {{ n % 2 }} {% set t = '%s-%s' % (a, b) %}");
    assert_eq!(
        rewritten,
        "{{ ('a%s' | __python_percent( x | upper)) }} {{ n % 2 }} {% set t = ('%s-%s' | __python_percent_tuple( (a, b))) %}"
    );
    // Untouched: no `%` after a literal, raw blocks, comments, a literal that is the right
    // side of `*`, and a template that does not tokenize.
    for source in
        ["{{ n % 2 }}", "{% raw %}{{ '%s' % x }}{% endraw %}{# '%s' % x #}", "{{ 2 * '%s' % x }}", "{{ '%s % x }}"]
    {
        assert!(matches!(rewrite(source), Cow::Borrowed(_)), "{source}");
    }
    // Lines stay where they were, so errors point at the template as written.
    let source = "{{ '%s' %\n  (a,\n b) }}\n{{ '%d' % n }}\n";
    assert_eq!(rewrite(source).lines().count(), source.lines().count());
}

#[test]
fn runaway_loops_stop_on_fuel() {
    let m = failed("{% for i in range(100000000) %}x{% endfor %}");
    assert!(m.contains("too many elements"), "{m}");
    let m = failed("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
    assert!(m.contains("out of fuel"), "{m}");
}

#[test]
fn output_is_bounded() {
    let data = json!({"chunk": "x".repeat(1024)});
    let fits = "{% for i in range(1023) %}{{ chunk }}{% endfor %}";
    assert_eq!(render(fits, data.clone(), vec![]).unwrap().len(), 1023 * 1024);
    let m = match render("{% for i in range(2000) %}{{ chunk }}{% endfor %}", data, vec![]) {
        Err(BlockError::Failed(m)) => m,
        other => panic!("expected Failed, got {other:?}"),
    };
    assert!(m.contains(&MAX_OUTPUT_BYTES.to_string()), "{m}");
}

#[test]
fn padding_wider_than_any_output_is_refused_before_it_is_built() {
    for template in ["{{ 'x' | center(2000000000) }}", "{{ 'a\nb' | indent(2000000000) }}"] {
        let m = failed(template);
        assert!(m.contains(&MAX_OUTPUT_BYTES.to_string()), "{m}");
    }
}

#[test]
fn references_are_variables_never_template_source() {
    // Issue 11 finding 9: a reference's value `{{ 7*7 }} {{ data }}` must render as written.
    let hostile = json!("{{ 7*7 }} {{ data }} {% for x in range(3) %}x{% endfor %}");
    let data = json!({"secret": "s3"});
    let text = render("Got: {{ __refs[0] }}!", data.clone(), vec![hostile.clone()]).unwrap();
    assert_eq!(text, format!("Got: {}!", hostile.as_str().unwrap()));
    // Inside a tag the reference is an expression over the value.
    let text = render("{% if __refs[0].n > 2 %}{{ __refs[0].n * 2 }}{% endif %}", data, vec![json!({"n": 3})]).unwrap();
    assert_eq!(text, "6");
}

#[test]
fn references_win_over_a_data_key_of_the_same_name() {
    let text = render("{{ __refs[0] }}", json!({"__refs": ["from data"]}), vec![json!("from the engine")]).unwrap();
    assert_eq!(text, "from the engine");
}

/// How a template is rendered, each on a thread of its own so nothing is left from another.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// As a component that was not pre-initialized: the run builds the environment itself.
    Unprepared,
    /// As a pre-initialized component: [`prepare`] ran before.
    Prepared,
    /// In an environment of its own, as the block did before it kept one.
    OwnEnvironment,
}

fn on_fresh_thread(
    start: Start,
    template: &str,
    data: &serde_json::Value,
    references: &[serde_json::Value],
) -> Result<String, BlockError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| match start {
                Start::Unprepared => render(template, data.clone(), references.to_vec()),
                Start::Prepared => {
                    prepare();
                    render(template, data.clone(), references.to_vec())
                }
                Start::OwnEnvironment => {
                    render_in(&environment_for_render(), template, data.clone(), references.to_vec())
                }
            })
            .join()
            .unwrap()
    })
}

#[test]
fn prepared_unprepared_and_own_environment_renders_agree() {
    let data = json!({"n": 1, "user": {"name": "Ada"}, "items": [3, 1, 2], "text": "one two three four"});
    let references = [json!({"ref": [1, 2]})];
    let templates = [
        "{{ n }}",
        "Hello {{ user.name }}! {{ items | sort | join(', ') }} {{ items | sum }} {{ data.n }}",
        "{% for i in items %}{{ loop.index }}:{{ i * 2 }}{% if not loop.last %},{% endif %}{% endfor %}",
        "{{ user }} {{ items }} {{ 1e16 }} {{ none }} {{ true }} {{ __refs[0] }} {{ __refs[0].ref | tojson }}",
        "{{ '%05.1f|%s|%r' % (3.14159, user.name, items) }} {{ '%d items' % n }} {{ '%s' | format(n) }}",
        "{{ text | truncate(9) }}|{{ text | wordwrap(9) }}|{{ text | wordcount }}|{{ text | title }}|{{ text.split() }}",
        "{{ 2.5 | round }} {{ 2.567 | round(1, 'floor') }} {{ '42' | int }} {{ 'x' | float(1.5) }} {{ 'ab' | center(6) }}",
        "{{ '<a href=\"x\">&</a>' | e }} {{ 'a b&c' | urlencode }} {{ {'b': 1, 'a': [1]} | tojson }} {{ items | string }}",
        "{% macro m(x) %}[{{ x }}]{% endmacro %}{{ m(n) }}{% set j = joiner('/') %}{% for i in items %}{{ j() }}{{ i }}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
        "{% autoescape true %}{{ '<b>' }} {{ user }}{% endautoescape %}",
        "{{ user.name.upper() }} {{ text.replace('two', '2') }} {{ user.items() | list }} {{ '{:>4}'.format(n) if false else n }}",
        "{% for i in range(100000000) %}{{ i }}{% endfor %}",
        "{{ 'x' * 2000000 }}",
        "{{ n | nosuchfilter }}",
        "{{ n + 'a' }}",
        "{{ 'abc' % n }}",
        "{% if %}",
        "{{ n ",
        "{% for %}{% endfor %}",
        "{% include 'other' %}",
        "{% extends 'base' %}",
        "{{ undefined_thing.attr }}",
        "",
    ];
    for template in templates {
        let unprepared = on_fresh_thread(Start::Unprepared, template, &data, &references);
        assert_eq!(on_fresh_thread(Start::Prepared, template, &data, &references), unprepared, "{template}: prepared");
        assert_eq!(
            on_fresh_thread(Start::OwnEnvironment, template, &data, &references),
            unprepared,
            "{template}: own environment"
        );
    }
}

/// One render of each template, on a fresh thread as on a fresh sandbox:
/// `cargo test --release -p sandflow-block-template -- --ignored bench --nocapture`.
#[test]
#[ignore = "a benchmark"]
fn bench_render() {
    const RUNS: u32 = 200;
    let data = json!({"n": 1, "items": [1, 2, 3]});
    let time = |start: Start, template: &'static str| {
        let total: Duration = (0..RUNS)
            .map(|_| {
                std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            if let Start::Prepared = start {
                                prepare();
                            }
                            let began = Instant::now();
                            let result = match start {
                                Start::OwnEnvironment => {
                                    render_in(&environment_for_render(), template, data.clone(), vec![])
                                }
                                _ => render(template, data.clone(), vec![]),
                            };
                            let took = began.elapsed();
                            assert!(result.is_ok(), "{template}: {result:?}");
                            took
                        })
                        .join()
                        .unwrap()
                })
            })
            .sum();
        total / RUNS
    };
    for template in ["{{ n }}", "{% for i in items %}{{ i | string | upper }}{% endfor %}"] {
        for start in [Start::Unprepared, Start::Prepared, Start::OwnEnvironment] {
            println!("{template:>56} {start:>14?}: {:>9.1?} per run", time(start, template));
        }
    }
}

/// One render of `{{ n }}`, for instruction counts of a prepared and an unprepared run:
/// `valgrind --tool=callgrind --toggle-collect='*render*' <test binary> --ignored --exact tests::bench_one_render_prepared`.
#[test]
#[ignore = "a benchmark"]
fn bench_one_render_prepared() {
    prepare();
    assert_eq!(render("{{ n }}", json!({"n": 1}), vec![]).unwrap(), "1");
}

#[test]
#[ignore = "a benchmark"]
fn bench_one_render_unprepared() {
    assert_eq!(render("{{ n }}", json!({"n": 1}), vec![]).unwrap(), "1");
}
