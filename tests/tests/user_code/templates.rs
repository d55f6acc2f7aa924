//! The `template` component renders as Jinja2 renders (expected texts from Jinja2 3.1).

use sandflow_runtime::BlockOutcome;
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
    // Jinja2's `'%s' % x` is a documented difference (blocks/template/COMPAT.md); `format` is the same.
    assert_eq!(
        render("{{ '%s has %d' | format('Ada', 3) }} {{ 2048 | filesizeformat }}", data).await,
        "Ada has 3 2.0 kB"
    );
}
