//! The `template` component renders as Jinja2 renders (expected texts from Jinja2 3.1).

use sandflow_runtime::{BlockOutcome, BlockRunError};
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

use super::run_block;

async fn render(template: &str, data: Value) -> String {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "template", json!({"template": template, "data": data})).await;
    match run.outcome {
        Ok(BlockOutcome::Done(output)) => output["text"].as_str().expect("text").to_string(),
        other => panic!("{template}: {other:?}"),
    }
}

/// The message of a render that fails.
async fn render_failure(template: &str, data: Value) -> String {
    let runtime = runtime_with(|_| {});
    let run = run_block(&runtime, "template", json!({"template": template, "data": data})).await;
    match run.outcome {
        Err(BlockRunError::Failed(message)) => message,
        other => panic!("{template}: expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn dict_iteration_keeps_the_order_the_keys_were_written_in() {
    let data = json!({"row": {"zulu": 1, "alpha": 2, "mike": 3}});
    assert_eq!(
        render("{% for k, v in row.items() %}{{ k }}={{ v }} {% endfor %}", data.clone()).await,
        "zulu=1 alpha=2 mike=3 "
    );
    assert_eq!(render("{% for k in row %}{{ k }},{% endfor %}", data.clone()).await, "zulu,alpha,mike,");
    assert_eq!(render("{{ row | list }}", data).await, "['zulu', 'alpha', 'mike']");
}

#[tokio::test]
async fn values_print_as_python_prints_them() {
    let data = json!({"items": [1, "a", true, null], "price": 3.0, "user": {"name": "Ada"}});
    assert_eq!(render("{{ items }}", data.clone()).await, "[1, 'a', True, None]");
    assert_eq!(render("{{ price }} {{ user }}", data.clone()).await, "3.0 {'name': 'Ada'}");
    assert_eq!(render("{{ user.name.upper() }} {{ 'a,b'.split(',') }}", data).await, "ADA ['a', 'b']");
}

#[tokio::test]
async fn everyday_filters_and_argument_forms_render_as_jinja2() {
    let data = json!({"title": "The quick brown fox jumps", "n": 2.567, "orders": [{"total": 3}, {"total": 4.5}]});
    assert_eq!(render("{{ title | truncate(12) }}", data.clone()).await, "The...");
    assert_eq!(render("{{ title | wordcount }} {{ n | round(1, 'floor') }}", data.clone()).await, "5 2.5");
    assert_eq!(render("{{ orders | sum(attribute='total') }}", data.clone()).await, "7.5");
    assert_eq!(
        render("{{ 'a-b-c' | replace('-', '+', 1) }} {{ 'x' | int(default=7) }}", data.clone()).await,
        "a+b-c 7"
    );
    assert_eq!(
        render("{{ '%s has %d' | format('Ada', 3) }} {{ 2048 | filesizeformat }}", data).await,
        "Ada has 3 2.0 kB"
    );
}

#[tokio::test]
async fn urlencode_quotes_strings_and_builds_query_strings() {
    let data = json!({"q": "rust & wasm/jinja?", "params": {"q": "a b", "page": 2, "lang": "fr-CA"}, "pairs": [["x", "1 2"], ["y", "é"]]});
    // A string keeps `/`; a dict or a list of pairs becomes `k=v&...` with spaces as `+`.
    assert_eq!(render("{{ q | urlencode }}", data.clone()).await, "rust%20%26%20wasm/jinja%3F");
    assert_eq!(render("{{ 'é/ü?x=1' | urlencode }}", data.clone()).await, "%C3%A9/%C3%BC%3Fx%3D1");
    assert_eq!(render("{{ params | urlencode }}", data.clone()).await, "q=a+b&page=2&lang=fr-CA");
    assert_eq!(render("{{ pairs | urlencode }}", data).await, "x=1+2&y=%C3%A9");
}

#[tokio::test]
async fn center_pads_as_python_str_center() {
    let data = json!({"title": "Report"});
    // An odd margin puts the extra space on the left only when the width is odd.
    assert_eq!(
        render("[{{ title | center(12) }}] [{{ title | center(11) }}] [{{ 'ab' | center(7) }}]", data.clone()).await,
        "[   Report   ] [   Report  ] [   ab  ]"
    );
    assert_eq!(render("{{ title | center | length }}", data).await, "80");
}

#[tokio::test]
async fn striptags_drops_tags_and_comments_and_unescapes_entities() {
    let data = json!({"html": "<p>Hello <b>Ada</b> &amp; <i>friends</i></p>\n<br/>  done"});
    assert_eq!(render("{{ html | striptags }}", data).await, "Hello Ada & friends done");
    assert_eq!(render(r#"{{ '<!-- c --><a href="x">link</a>  text' | striptags }}"#, json!({})).await, "link text");
}

#[tokio::test]
async fn percent_formats_strings_as_python() {
    let data = json!({"n": 3, "price": 4.5, "temp": 3.07159, "code": "AB", "user": {"name": "Ada", "age": 36}});
    assert_eq!(render("{{ '%s items' % n }}", data.clone()).await, "3 items");
    assert_eq!(render("{{ '%d/%d' % (n, 4) }}", data.clone()).await, "3/4");
    assert_eq!(
        render("{{ '%.2f' % price }} {{ '%05.1f' % temp }} {{ '%-5s|' % code }}", data.clone()).await,
        "4.50 003.1 AB   |"
    );
    assert_eq!(render("{{ '%(name)s is %(age)d' % user }} {{ '100%%' % () }}", data.clone()).await, "Ada is 36 100%");
    // Filters bind tighter than `%`; a `%` between numbers stays the remainder.
    assert_eq!(render("{{ '%s!' % code | lower }} {{ n % 2 }}", data.clone()).await, "ab! 1");
    let message = render_failure("{{ '%s and %s' % (n,) }}", data).await;
    assert!(message.contains("TypeError: not enough arguments for format string"), "{message}");
}
