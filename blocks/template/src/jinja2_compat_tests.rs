//! Renders every case of `compat/cases.json` and compares it with what Jinja2 rendered
//! (`compat/render_expected.py` wrote the expectations).

use sandflow_sdk::serde_json::{self, Value};

use crate::render;

const CASES: &str = include_str!("../compat/cases.json");

struct Verdict {
    name: String,
    matches: bool,
    differs_reason: Option<String>,
    detail: String,
}

fn judge(case: &Value) -> Verdict {
    let name = case["name"].as_str().expect("case name").to_owned();
    let template = case["template"].as_str().expect("case template");
    let ours = render(template, case["data"].clone(), vec![]);
    let (matches, detail) = match (case.get("expected").and_then(Value::as_str), &ours) {
        (Some(expected), Ok(text)) => (text == expected, format!("jinja2 {expected:?}\n    ours   {text:?}")),
        (Some(expected), Err(e)) => (false, format!("jinja2 {expected:?}\n    ours   error {e:?}")),
        // Where Python raised (`TypeError: not enough arguments for format string`), ours names
        // the same exception and message; any Jinja2 error is matched by any error of ours.
        (None, Err(e)) => {
            let python = case["expected_error"].as_str().unwrap_or_default();
            let own_words =
                ["TypeError:", "ValueError:", "KeyError:", "OverflowError:"].iter().any(|p| python.starts_with(p));
            (!own_words || format!("{e:?}").contains(python), format!("jinja2 {python}\n    ours   error {e:?}"))
        }
        (None, Ok(text)) => (false, format!("jinja2 {}\n    ours   {text:?}", case["expected_error"])),
    };
    let differs_reason = case.get("differs").and_then(Value::as_str).map(str::to_owned);
    Verdict { name, matches, differs_reason, detail }
}

#[test]
fn renders_as_jinja2_renders() {
    let document: Value = serde_json::from_str(CASES).expect("compat/cases.json parses");
    let cases = document["cases"].as_array().expect("cases array");
    let verdicts: Vec<Verdict> = cases.iter().map(judge).collect();
    let matching = verdicts.iter().filter(|v| v.matches).count();
    println!("{matching}/{} cases render as Jinja2 renders them", verdicts.len());

    let mut problems = Vec::new();
    for verdict in &verdicts {
        match (&verdict.differs_reason, verdict.matches) {
            (None, false) => problems.push(format!("{} differs from Jinja2:\n    {}", verdict.name, verdict.detail)),
            // A case listed as a known difference that now matches should leave the list.
            (Some(_), true) => problems.push(format!("{} is listed as differing but matches", verdict.name)),
            (Some(reason), false) => println!("known difference {}: {reason}", verdict.name),
            (None, true) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

const PERCENT_TABLE: &str = include_str!("../compat/percent_format.json");

/// Every cell of `compat/percent_format.json`: `{{ '<format>' % v }}` renders what Jinja2
/// rendered, or fails where it failed, naming Python's exception and message.
#[test]
fn percent_format_matches_python() {
    let document: Value = serde_json::from_str(PERCENT_TABLE).expect("compat/percent_format.json parses");
    let mut cells = 0;
    let mut problems = Vec::new();
    for group in document["groups"].as_array().expect("groups") {
        let values = group["values"].as_array().expect("values");
        for row in group["rows"].as_array().expect("rows") {
            let format = row[0].as_str().expect("format");
            let template = format!("{{{{ '{format}' % v }}}}");
            for (value, expected) in values.iter().zip(row[1].as_array().expect("row results")) {
                cells += 1;
                let data = match value {
                    Value::Object(map) if map.get("missing") == Some(&Value::Bool(true)) => serde_json::json!({}),
                    _ => serde_json::json!({ "v": value }),
                };
                let ours = render(&template, data, vec![]);
                let agrees = match (expected, &ours) {
                    (Value::String(text), Ok(ours)) => text == ours,
                    // Jinja2's undefined error names the variable; ours says the value is undefined.
                    (Value::Object(error), Err(ours)) => {
                        let python = error["error"].as_str().expect("error text");
                        python.starts_with("UndefinedError") || format!("{ours:?}").contains(python)
                    }
                    _ => false,
                };
                if !agrees {
                    problems.push(format!("{template} with v = {value}: jinja2 {expected}, ours {ours:?}"));
                }
            }
        }
    }
    println!("{} of {cells} cells render as Jinja2 renders them", cells - problems.len());
    assert!(problems.is_empty(), "{} cells differ:\n{}", problems.len(), problems.join("\n"));
}
