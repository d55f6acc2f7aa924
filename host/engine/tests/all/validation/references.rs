//! References must name something that exists and will have run first.

use serde_json::json;

use super::{assert_has, function, problems, with_start};
use sandflow_engine::graph::Problem;

#[test]
fn reference_to_unknown_block_is_rejected() {
    let found = problems(with_start(
        json!({"f": {"type": "function", "name": "F", "params": {"code": "return <fetch.x>;"}}}),
        json!([{"source": "start", "target": "f"}]),
    ));
    assert_eq!(found, vec![Problem::at("f", "params.code", "`<fetch.x>` refers to unknown block `fetch`")]);
}

#[test]
fn reference_to_downstream_block_is_rejected() {
    let found = problems(with_start(
        json!({
            "a": {"type": "function", "name": "A", "params": {"code": "return 1;", "input": {"later": "<b.value>"}}},
            "b": function("return 2;"),
            "side": {"type": "function", "name": "Side", "params": {"code": "return <a>;"}},
        }),
        json!([{"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "start", "target": "side"}]),
    ));
    assert_eq!(
        found,
        vec![
            Problem::at("a", "params.input.later", "`<b.value>` refers to `b`, which is not upstream of `a`"),
            Problem::at("side", "params.code", "`<a>` refers to `a`, which is not upstream of `side`"),
        ]
    );
}

#[test]
fn reference_to_upstream_block_by_id_or_name_is_accepted() {
    let found = problems(with_start(
        json!({
            "fetch1": {"type": "api", "name": "Fetch Data", "params": {"url": "https://example.com/<start.path>"}},
            "b": {"type": "function", "name": "B", "params": {
                "code": "return <Fetch Data.items>.length + <fetchdata.n> + <start.n> + <fetch1.x>;", "input": "<start>"}},
        }),
        json!([{"source": "start", "target": "fetch1"}, {"source": "fetch1", "target": "b"}]),
    ));
    assert_eq!(found, vec![]);
}

#[test]
fn reference_to_itself_or_its_running_container_is_rejected() {
    let found = problems(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "me": {"type": "function", "name": "Me", "params": {"code": "return <me.x> + <loop1.results>;"}},
        },
        "edges": [{"source": "start", "target": "loop1"}],
        "loops": {"loop1": {"nodes": ["me"], "loopType": "for", "iterations": 3}},
    }));
    assert_has(&found, Some("me"), Some("params.code"), "`<me.x>` refers to `me` itself");
    assert_has(&found, Some("me"), Some("params.code"), "`<loop1.results>` refers to `loop1`, which is still running");
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn reference_into_a_container_from_outside_is_rejected_but_the_container_is_fine() {
    let found = problems(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "inner": function("return 1;"),
            "after": {"type": "function", "name": "After", "params": {"code": "return [<loop1.results>, <inner.x>];"}},
        },
        "edges": [{"source": "start", "target": "loop1"}, {"source": "loop1", "target": "after"}],
        "loops": {"loop1": {"nodes": ["inner"], "loopType": "for", "iterations": 3}},
    }));
    assert_eq!(
        found,
        vec![Problem::at(
            "after",
            "params.code",
            "`<inner.x>` refers to `inner`, which is not upstream of `after`; it is inside `loop1`, whose output holds its results"
        )]
    );
}

#[test]
fn blocks_inside_a_container_see_upstream_of_the_container_and_earlier_siblings() {
    let found = problems(json!({
        "blocks": {
            "start": {"type": "start", "name": "Start"},
            "first": function("return <loop.currentItem>;"),
            "second": function("return <first.x> + <start.y> + <parallel.index> + <loop.index>;"),
            "third": function("return <second.x>;"),
        },
        "edges": [{"source": "start", "target": "p1"}, {"source": "first", "target": "second"}],
        "loops": {"loop1": {"nodes": ["first", "second"], "loopType": "forEach", "forEachItems": [1, 2]}},
        "parallels": {"p1": {"nodes": ["loop1", "third"], "parallelType": "count", "count": 2}},
    }));
    assert_eq!(
        found,
        vec![Problem::at(
            "third",
            "params.code",
            "`<second.x>` refers to `second`, which is not upstream of `third`; it is inside `loop1`, whose output holds its results"
        )]
    );
}

#[test]
fn loop_and_parallel_references_outside_their_container_are_rejected() {
    let found = problems(with_start(
        json!({"f": {"type": "function", "name": "F", "params": {"code": "return <loop.index> + <parallel.items>;"}}}),
        json!([{"source": "start", "target": "f"}]),
    ));
    assert_eq!(
        found,
        vec![
            Problem::at("f", "params.code", "`<loop.index>` is only available inside a loop"),
            Problem::at("f", "params.code", "`<parallel.items>` is only available inside a parallel"),
        ]
    );
}

#[test]
fn loop_keyword_with_an_unknown_field_is_rejected() {
    let found = problems(json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "f": function("return <loop.idx>;")},
        "edges": [{"source": "start", "target": "loop1"}],
        "loops": {"loop1": {"nodes": ["f"], "loopType": "for", "iterations": 1}},
    }));
    assert_eq!(
        found,
        vec![Problem::at("f", "params.code", "`<loop.idx>`: a loop offers only index, currentItem and items")]
    );
}

#[test]
fn variable_reference_must_name_a_declared_variable() {
    let mut workflow = with_start(
        json!({"f": {"type": "function", "name": "F", "params": {"code": "return <variable.counter> + <variable.v1> + <variable.GrandTotal>;"}}}),
        json!([{"source": "start", "target": "f"}]),
    );
    workflow["variables"] = json!({"v1": {"name": "counter", "type": "number", "value": 0},
                                    "v2": {"name": "Grand Total", "type": "number", "value": 0}});
    let found = problems(workflow);
    assert_eq!(
        found,
        vec![Problem::at("f", "params.code", "`<variable.v1>` refers to undeclared variable `v1`")],
        "variables are named by `name` (normalized), not by ID"
    );
}

#[test]
fn ambiguous_block_name_is_rejected() {
    let found = problems(with_start(
        json!({
            "a": {"type": "function", "name": "Twin", "params": {"code": "return 1;"}},
            "b": {"type": "function", "name": "twin", "params": {"code": "return 2;"}},
            "c": {"type": "function", "name": "C", "params": {"code": "return <twin.x>;"}},
        }),
        json!([{"source": "start", "target": "a"}, {"source": "start", "target": "b"}, {"source": "a", "target": "c"}, {"source": "b", "target": "c"}]),
    ));
    assert_eq!(
        found,
        vec![Problem::at("c", "params.code", "`<twin.x>` is ambiguous: blocks `a`, `b` share that name; use an ID")]
    );
}

#[test]
fn html_and_comparisons_in_params_are_not_references() {
    let found = problems(with_start(
        json!({"f": {"type": "function", "name": "F", "params": {"code": "return a < b && c > d ? '<div>' : '<br/>';"}}}),
        json!([{"source": "start", "target": "f"}]),
    ));
    assert_eq!(found, vec![]);
}

#[test]
fn container_fields_are_checked_for_references() {
    let found = problems(json!({
        "blocks": {"start": {"type": "start", "name": "Start"}, "a": function("a"), "b": function("b"),
                   "late": function("late")},
        "edges": [{"source": "start", "target": "l1"}, {"source": "start", "target": "p1"}, {"source": "l1", "target": "late"}],
        "loops": {
            "l1": {"nodes": ["a"], "loopType": "forEach", "forEachItems": "<late.items>"},
            "l2": {"nodes": ["b"], "loopType": "doWhile", "whileCondition": "<b.again> && <loop.index> < <start.max> && <ghost.x>"},
        },
        "parallels": {"p1": {"nodes": ["l2"], "parallelType": "collection", "distribution": "<loop.items>"}},
    }));
    assert_eq!(
        found,
        vec![
            Problem::at("l1", "forEachItems", "`<late.items>` refers to `late`, which is not upstream of `l1`"),
            Problem::at("l2", "whileCondition", "`<ghost.x>` refers to unknown block `ghost`"),
            Problem::at("p1", "distribution", "`<loop.items>` is only available inside a loop"),
        ],
        "a while condition sees its own loop and its members"
    );
}
