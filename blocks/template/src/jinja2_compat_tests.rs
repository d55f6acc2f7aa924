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
        (None, Err(_)) => (true, String::new()),
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
