//! `{{NAME}}` resolves only in a block whose `env` grants NAME (SPEC 2,
//! "Environment references are grants"); text naming no provided variable stays text.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{schemas, state, with_start};
use sandflow_engine::graph::Problem;
use sandflow_engine::validate::{ValidationSettings, validate_with_env};

fn problems_providing(workflow: Value, provided: &[&str]) -> Vec<Problem> {
    let provided: BTreeSet<String> = provided.iter().map(|s| s.to_string()).collect();
    validate_with_env(&state(workflow), &schemas(), &ValidationSettings::default(), &provided).err().unwrap_or_default()
}

fn two_functions() -> Value {
    with_start(
        json!({
            "granted": {"type": "function", "name": "Granted", "env": ["SECRET"],
                        "params": {"code": "return {{SECRET}};"}},
            "thief": {"type": "function", "name": "Thief",
                      "params": {"code": "return 1;", "input": {"leak": "x {{SECRET}} y"}}},
        }),
        json!([{"source": "start", "target": "granted"}, {"source": "start", "target": "thief"}]),
    )
}

#[test]
fn a_provided_variable_in_an_ungranted_block_is_refused_naming_block_field_and_variable() {
    let found = problems_providing(two_functions(), &["SECRET"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let problem = &found[0];
    assert_eq!(problem.block_id.as_deref(), Some("thief"));
    assert_eq!(problem.field.as_deref(), Some("params.input.leak"));
    assert!(problem.message.contains("`SECRET`") && problem.message.contains("env"), "{problem:?}");
}

#[test]
fn without_the_variable_provided_the_same_text_is_no_problem() {
    // A draft is validated with nothing provided; and `{{SECRET}}` then stays text.
    assert_eq!(problems_providing(two_functions(), &[]), vec![]);
    assert_eq!(problems_providing(two_functions(), &["OTHER"]), vec![]);
}

#[test]
fn jinja_and_mustache_text_naming_no_provided_variable_passes() {
    let workflow = with_start(
        json!({"f": {"type": "function", "name": "F",
                     "params": {"code": "return 1;", "input": {"t": "Hello {{name}} {{ name }} {{#items}}x{{/items}}"}}}}),
        json!([{"source": "start", "target": "f"}]),
    );
    assert_eq!(problems_providing(workflow, &["SECRET", "TOKEN"]), vec![]);
}

#[test]
fn container_fields_cannot_use_a_provided_variable() {
    let workflow = json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "each": {"type": "function", "name": "Each", "params": {"code": "return 1;"}},
        },
        "edges": [{"source": "start", "target": "loop1"}],
        "loops": {"loop1": {"nodes": ["each"], "loopType": "while", "whileCondition": "'{{SECRET}}'.length > 0"}},
    });
    let found = problems_providing(workflow, &["SECRET"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].block_id.as_deref(), Some("loop1"));
    assert_eq!(found[0].field.as_deref(), Some("whileCondition"));
    assert!(found[0].message.contains("`SECRET`"), "{found:?}");
}

#[test]
fn a_misspelt_granted_name_is_refused_with_the_name_it_is_close_to() {
    let workflow = with_start(
        json!({"call": {"type": "function", "name": "Call", "env": ["API_KEY"],
                        "params": {"code": "return {{API_KY}};"}}}),
        json!([{"source": "start", "target": "call"}]),
    );
    for provided in [&["API_KEY"][..], &[]] {
        let found = problems_providing(workflow.clone(), provided);
        assert_eq!(found.len(), 1, "providing {provided:?}: {found:#?}");
        assert_eq!(found[0].block_id.as_deref(), Some("call"));
        assert!(found[0].message.contains("`API_KEY`"), "{:?}", found[0]);
    }
}

#[test]
fn text_far_from_every_grant_stays_text() {
    // Jinja's and mustache's own `{{name}}`, and a short name two edits from a grant.
    let workflow = with_start(
        json!({"greet": {"type": "function", "name": "Greet", "env": ["NAME", "ID"],
                         "params": {"code": "return 'Hello {{name}} {{id}} {{IDS}} {{other_thing}}';"}}}),
        json!([{"source": "start", "target": "greet"}]),
    );
    assert_eq!(problems_providing(workflow, &["NAME", "ID"]), vec![]);
}
