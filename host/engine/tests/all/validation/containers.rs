//! Loops, parallels and variables must be well formed.

use serde_json::json;

use super::{function, problems, problems_with, with_start};
use sandflow_engine::graph::Problem;
use sandflow_engine::validate::ValidationSettings;

#[test]
fn malformed_loops_are_rejected() {
    let settings = ValidationSettings { max_loop_iterations: 3, ..Default::default() };
    let found = problems_with(
        json!({
            "blocks": {"start": {"type": "start", "name": "Start"},
                       "a": function("a"), "b": function("b"), "c": function("c"), "d": function("d"),
                       "e": function("e"), "f": function("f"), "g": function("g"), "h": function("h")},
            "loops": {
                "noIterations": {"nodes": ["a"], "loopType": "for"},
                "tooMany": {"nodes": ["b"], "loopType": "for", "iterations": 4},
                "noItems": {"nodes": ["c"], "loopType": "forEach"},
                "literalText": {"nodes": ["d"], "loopType": "forEach", "forEachItems": "1,2,3"},
                "longList": {"nodes": ["e"], "loopType": "forEach", "forEachItems": [1, 2, 3, 4]},
                "longJsonText": {"nodes": ["h"], "loopType": "forEach", "forEachItems": " [1, 2, 3, 4] "},
                "noCondition": {"nodes": ["f"], "loopType": "while"},
                "blankCondition": {"nodes": ["g"], "loopType": "doWhile", "whileCondition": "  "},
            },
        }),
        &settings,
    );
    assert_eq!(
        found,
        vec![
            Problem::at("blankCondition", "whileCondition", "a `while` or `doWhile` loop needs `whileCondition`"),
            Problem::at(
                "literalText",
                "forEachItems",
                "must be an array, an object, JSON text of one, or a reference to one such as <block.items>"
            ),
            Problem::at("longJsonText", "forEachItems", "4 items is above the maximum of 3"),
            Problem::at("longList", "forEachItems", "4 items is above the maximum of 3"),
            Problem::at("noCondition", "whileCondition", "a `while` or `doWhile` loop needs `whileCondition`"),
            Problem::at("noItems", "forEachItems", "a `forEach` loop needs `forEachItems`"),
            Problem::at("noIterations", "iterations", "a `for` loop needs `iterations`"),
            Problem::at("tooMany", "iterations", "4 iterations is above the maximum of 3"),
        ]
    );
}

#[test]
fn malformed_parallels_are_rejected() {
    let settings = ValidationSettings { max_parallel_branches: 2, ..Default::default() };
    let found = problems_with(
        json!({
            "blocks": {"start": {"type": "start", "name": "Start"},
                       "a": function("a"), "b": function("b"), "c": function("c"), "d": function("d"), "e": function("e")},
            "parallels": {
                "noCount": {"nodes": ["a"], "parallelType": "count"},
                "tooMany": {"nodes": ["b"], "parallelType": "count", "count": 3},
                "noDistribution": {"nodes": ["c"], "parallelType": "collection"},
                "number": {"nodes": ["d"], "parallelType": "collection", "distribution": 5},
                "bigObject": {"nodes": ["e"], "parallelType": "collection", "distribution": {"x": 1, "y": 2, "z": 3}},
            },
        }),
        &settings,
    );
    assert_eq!(
        found,
        vec![
            Problem::at("bigObject", "distribution", "3 items is above the maximum of 2"),
            Problem::at("noCount", "count", "a `count` parallel needs `count`"),
            Problem::at("noDistribution", "distribution", "a `collection` parallel needs `distribution`"),
            Problem::at(
                "number",
                "distribution",
                "must be an array, an object, JSON text of one, or a reference to one such as <block.items>"
            ),
            Problem::at("tooMany", "count", "3 branches is above the maximum of 2"),
        ]
    );
}

#[test]
fn variable_value_must_match_its_type() {
    let mut workflow = with_start(json!({}), json!([]));
    workflow["variables"] = json!({
        "s": {"name": "s", "type": "string", "value": 1},
        "n": {"name": "n", "type": "number", "value": "1"},
        "b": {"name": "b", "type": "boolean", "value": null},
        "o": {"name": "o", "type": "object", "value": []},
        "a": {"name": "a", "type": "array", "value": {}},
        "ok": {"name": "ok", "type": "array", "value": [1]},
    });
    assert_eq!(
        problems(workflow),
        vec![
            Problem::workflow("variables.a.value", "`a` is declared an array but its value is an object"),
            Problem::workflow("variables.b.value", "`b` is declared a boolean but its value is null"),
            Problem::workflow("variables.n.value", "`n` is declared a number but its value is a string"),
            Problem::workflow("variables.o.value", "`o` is declared an object but its value is an array"),
            Problem::workflow("variables.s.value", "`s` is declared a string but its value is a number"),
        ]
    );
}

#[test]
fn duplicate_or_unreferenceable_variable_names_are_rejected() {
    let mut workflow = with_start(json!({}), json!([]));
    workflow["variables"] = json!({
        "v1": {"name": "Total Count", "type": "number", "value": 0},
        "v2": {"name": "totalcount", "type": "number", "value": 1},
        "v3": {"name": "a.b", "type": "number", "value": 1},
    });
    assert_eq!(
        problems(workflow),
        vec![
            Problem::workflow("variables.v2.name", "variable name `totalcount` is also used by variable `v1`"),
            Problem::workflow(
                "variables.v3.name",
                "`a.b` cannot be referenced as <variable.name>: use letters, digits, `_`, `-`"
            ),
        ]
    );
}
