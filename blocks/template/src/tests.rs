//! Native tests of rendering and of the error mapping.

use sandflow_sdk::BlockError;
use sandflow_sdk::serde_json::{self, json};

use crate::{MAX_OUTPUT_BYTES, Params, render};

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
fn python_percent_formatting_fails_pointing_at_the_format_filter() {
    let m = failed("{{ '%d items' % 3 }}");
    assert!(m.contains("| format(value)"), "{m}");
    let m = failed("{{ 7 % 'a' }}");
    assert!(!m.contains("| format(value)"), "{m}");
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
