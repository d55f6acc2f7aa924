//! References inside params: parsing, resolution, references in code as data, grants, redaction.

use std::borrow::Cow;
use std::collections::HashMap;

use sandflow_engine::model::WorkflowState;
use sandflow_engine::reference::{
    BlockIndex, BlockLookup, ContainerField, EnvLookup, KeyMatch, MIN_SECRET_CHARS, Redactor, Reference,
    ReferenceError, ReferenceScope, Script, Syntax, find_references, redact, redact_text, resolve_block_params,
    resolve_params, resolve_script, resolve_string, resolve_text,
};
use serde_json::{Value, json};

/// One point of a run: which blocks produced what, plus variables, loop, parallel and env.
struct Run {
    index: BlockIndex,
    /// Block ID → output; `None` for a block that did not run.
    outputs: HashMap<String, Option<Value>>,
    variables: HashMap<String, Value>,
    loop_fields: Option<HashMap<&'static str, Value>>,
    parallel_fields: Option<HashMap<&'static str, Value>>,
    env: HashMap<String, String>,
    /// The variables of `env` the resolving block is granted.
    grants: Vec<String>,
}

impl Run {
    fn new() -> Self {
        let state: WorkflowState = serde_json::from_value(json!({"blocks": {
            "start": {"type": "start", "name": "Start"},
            "fetch": {"type": "api", "name": "Fetch Data"},
            "skipped": {"type": "api", "name": "Skipped"},
            "quote": {"type": "function", "name": "Quote"},
        }}))
        .unwrap();
        let outputs = HashMap::from([
            (
                "start".to_string(),
                Some(json!({"name": "bob", "count": 3, "flag": true, "tags": ["a", "b"], "nested": {"x": 1}})),
            ),
            ("fetch".to_string(), Some(json!({"items": [{"id": 7}, {"id": 8}], "status": 200}))),
            ("skipped".to_string(), None),
            ("quote".to_string(), Some(json!({"text": "he said \"hi\"\nthen </script> left"}))),
        ]);
        Self {
            index: BlockIndex::new(&state),
            outputs,
            variables: HashMap::from([("counter".to_string(), json!(5))]),
            loop_fields: None,
            parallel_fields: None,
            env: HashMap::from([
                ("API_KEY".to_string(), "s3cr\"et".to_string()),
                ("OTHER".to_string(), "not granted".to_string()),
            ]),
            grants: vec!["API_KEY".to_string()],
        }
    }

    fn in_loop(mut self) -> Self {
        self.loop_fields = Some(HashMap::from([
            ("index", json!(2)),
            ("currentItem", json!({"id": "x9"})),
            ("items", json!([1, 2, 3])),
        ]));
        self
    }

    fn in_parallel(mut self) -> Self {
        self.parallel_fields =
            Some(HashMap::from([("index", json!(0)), ("currentItem", json!("first")), ("items", json!(["first"]))]));
        self
    }
}

impl ReferenceScope for Run {
    fn block(&self, key: &str) -> BlockLookup<'_> {
        let KeyMatch::Found(id) = self.index.resolve(key) else { return BlockLookup::Unknown };
        match self.outputs.get(id) {
            Some(Some(output)) => BlockLookup::Output(Cow::Borrowed(output)),
            _ => BlockLookup::NotRun,
        }
    }
    fn variable(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.variables.get(name).map(Cow::Borrowed)
    }
    fn loop_value(&self, field: ContainerField) -> Option<Cow<'_, Value>> {
        self.loop_fields.as_ref()?.get(field.as_str()).map(Cow::Borrowed)
    }
    fn parallel_value(&self, field: ContainerField) -> Option<Cow<'_, Value>> {
        self.parallel_fields.as_ref()?.get(field.as_str()).map(Cow::Borrowed)
    }
    fn env(&self, name: &str) -> EnvLookup {
        match self.env.get(name) {
            None => EnvLookup::NotProvided,
            Some(value) if self.grants.iter().any(|g| g == name) => EnvLookup::Granted(value.clone()),
            Some(_) => EnvLookup::NotGranted,
        }
    }
}

fn resolve(params: Value) -> Value {
    resolve_params(&params, &Run::new()).unwrap()
}

#[test]
fn whole_reference_keeps_json_type() {
    let resolved = resolve(json!({
        "count": "<start.count>", "flag": "<start.flag>", "tags": "<start.tags>",
        "nested": "<start.nested>", "name": "<start.name>",
    }));
    assert_eq!(resolved, json!({"count": 3, "flag": true, "tags": ["a", "b"], "nested": {"x": 1}, "name": "bob"}));
}

#[test]
fn embedded_reference_is_interpolated_as_text() {
    let resolved = resolve(json!({
        "greeting": "Hello <start.name>, you have <start.count> items",
        "object": "nested=<start.nested> tags=<start.tags>",
        "padded": " <start.count>",
    }));
    assert_eq!(resolved["greeting"], "Hello bob, you have 3 items");
    assert_eq!(resolved["object"], r#"nested={"x":1} tags=["a","b"]"#);
    assert_eq!(resolved["padded"], " 3", "a reference with surrounding text is text, not a number");
}

#[test]
fn references_resolve_at_any_depth_of_params() {
    let resolved = resolve(json!({"a": [{"b": ["<start.count>", 4, null, true]}], "headers": {"x": "<start.name>"}}));
    assert_eq!(resolved, json!({"a": [{"b": [3, 4, null, true]}], "headers": {"x": "bob"}}));
}

#[test]
fn block_name_is_normalized_and_ids_match_exactly() {
    let resolved = resolve(json!({
        "byName": "<Fetch Data.status>", "lowercase": "<fetchdata.status>", "byId": "<fetch.status>",
        "startByName": "<START.name>",
    }));
    assert_eq!(resolved, json!({"byName": 200, "lowercase": 200, "byId": 200, "startByName": "bob"}));
}

#[test]
fn array_index_is_a_path_segment() {
    let resolved = resolve(json!({"id": "<fetch.items.1.id>", "first": "<fetch.items.0>"}));
    assert_eq!(resolved, json!({"id": 8, "first": {"id": 7}}));
}

#[test]
fn missing_path_resolves_to_null() {
    let resolved = resolve(json!({
        "whole": "<start.nope>", "deep": "<start.name.length>", "index": "<fetch.items.9>",
        "embedded": "value: <start.nope>",
    }));
    assert_eq!(resolved, json!({"whole": null, "deep": null, "index": null, "embedded": "value: null"}));
}

#[test]
fn reference_to_skipped_block_is_null() {
    let resolved = resolve(json!({
        "whole": "<skipped>", "path": "<skipped.data.items>", "embedded": "got <skipped.status>",
        "code": "return <skipped.status> === null;",
    }));
    assert_eq!(
        resolved,
        json!({"whole": null, "path": null, "embedded": "got null", "code": "return __refs[0] === null;",
               "references": [null]})
    );
}

#[test]
fn reference_inside_code_is_bound_beside_it_never_pasted_in() {
    let resolved = resolve(json!({
        "code": "return <start.name> === 'bob' && <start.tags>.length > 1 && <start.count> + 1;",
        "conditions": [{"id": "big", "expression": "<fetch.items>.length > 1"}, {"id": "else"}],
        "loop": {"whileCondition": "<start.flag>"},
        "url": "<start.name>",
    }));
    assert_eq!(resolved["code"], "return __refs[0] === 'bob' && __refs[1].length > 1 && __refs[2] + 1;");
    assert_eq!(resolved["references"], json!(["bob", ["a", "b"], 3]));
    assert_eq!(
        resolved["conditions"][0],
        json!({"id": "big", "expression": "__refs[0].length > 1",
                                                 "references": [[{"id": 7}, {"id": 8}]]})
    );
    assert_eq!(resolved["conditions"][1], json!({"id": "else"}), "no references, no `references`");
    assert_eq!(resolved["loop"], json!({"whileCondition": "__refs[0]", "references": [true]}));
    assert_eq!(resolved["url"], "bob", "only script keys are code");
}

#[test]
fn hostile_values_in_code_stay_values() {
    // Issue 11 finding 8: pasted as a literal, `{"__proto__": …}` set the prototype and a
    // quote closed the string; as a bound value neither touches the source.
    let mut run = Run::new();
    let hostile = json!({"user": {"__proto__": {"isAdmin": true}}, "name": "\"); evil(\""});
    run.outputs.insert("start".into(), Some(hostile.clone()));
    let script =
        resolve_script("<start.user>.isAdmin === true || <start.name> === 'x'", &run, Syntax::JavaScript).unwrap();
    assert_eq!(
        script,
        Script {
            source: "__refs[0].isAdmin === true || __refs[1] === 'x'".into(),
            references: vec![hostile["user"].clone(), hostile["name"].clone()],
        }
    );
    let resolved = resolve_params(&json!({"code": "const t = <quote.text>;"}), &run).unwrap();
    assert_eq!(resolved["code"], "const t = __refs[0];");
    assert_eq!(resolved["references"][0], "he said \"hi\"\nthen </script> left");
}

#[test]
fn scripts_of_one_object_share_one_references_array() {
    let resolved = resolve(json!({"code": "<start.count>", "expression": "<start.name>", "references": "given"}));
    assert_eq!(resolved, json!({"code": "__refs[0]", "expression": "__refs[1]", "references": [3, "bob"]}));
}

#[test]
fn references_in_template_text_become_template_variables() {
    let mut run = Run::new();
    run.outputs.insert("start".into(), Some(json!({"x": "{{ 7*7 }} {{ data }}", "n": 3, "o": {"a": 1}})));
    let params = json!({
        "template": "Got <start.x> and <start.o>; {% if <start.n> > 2 %}{{ <start.n> * 2 }}{% endif %} {{name}}",
        "data": {"who": "<start.n>"},
    });
    let resolved = resolve_block_params("template", &params, &run).unwrap();
    assert_eq!(
        resolved["template"],
        "Got {{ __refs[0] }} and {{ __refs[1] }}; {% if __refs[2] > 2 %}{{ __refs[3] * 2 }}{% endif %} {{name}}"
    );
    // In text a reference is its text (as in any string param); in a tag, its value.
    assert_eq!(resolved["references"], json!(["{{ 7*7 }} {{ data }}", "{\"a\":1}", 3, 3]));
    assert_eq!(resolved["data"], json!({"who": 3}));
    // Any other block's `template` param is ordinary text.
    let other = resolve_block_params("api", &params, &run).unwrap();
    assert_eq!(
        other["template"].as_str().unwrap().split(';').next().unwrap(),
        "Got {{ 7*7 }} {{ data }} and {\"a\":1}"
    );
}

#[test]
fn references_in_a_jq_filter_become_jq_variables() {
    let mut run = Run::new();
    run.outputs.insert("start".into(), Some(json!({"x": "\") | $ENV | (\"", "n": 3, "o": {"a": 1}})));
    let params = json!({
        "filter": "map(select(.v > <start.n>)) | {label: \"n=<start.n> o=<start.o> \\(.[0] + <start.n>)\", x: <start.x>}",
        "input": "<start.o>",
    });
    let resolved = resolve_block_params("transform", &params, &run).unwrap();
    assert_eq!(
        resolved["filter"],
        "map(select(.v > $__refs[0])) | {label: \"n=\\($__refs[1]) o=\\($__refs[2]) \\(.[0] + $__refs[3])\", x: $__refs[4]}",
        "in code a reference is the variable; inside a string literal, its interpolation"
    );
    assert_eq!(resolved["references"], json!([3, 3, {"a": 1}, 3, "\") | $ENV | (\""]));
    assert_eq!(resolved["input"], json!({"a": 1}), "other params resolve as usual");
    // Any other block's `filter` param is ordinary text.
    let other = resolve_block_params("api", &params, &run).unwrap();
    assert!(other["filter"].as_str().unwrap().starts_with("map(select(.v > 3))"), "{other}");
}

#[test]
fn granted_env_in_template_text_is_a_variable_too() {
    let resolved =
        resolve_block_params("template", &json!({"template": "key={{API_KEY}} {{ name }}"}), &Run::new()).unwrap();
    assert_eq!(resolved, json!({"template": "key={{ __refs[0] }} {{ name }}", "references": ["s3cr\"et"]}));
}

#[test]
fn html_and_comparisons_are_not_references() {
    let texts = [
        "a < b",
        "a > b and c < d",
        "x<y && z>w",
        "<a href=\"x\">link</a>",
        "<br/>",
        "< start.name>",
        "<start.name >",
        "<start..name>",
        "<.name>",
        "<start.>",
        "<>",
        "for (i = 0; i<arr.length; i++) { if (i >0) {} }",
        "{{ API_KEY }}",
        "{{1ABC}}",
        "{API_KEY}",
    ];
    for text in texts {
        assert_eq!(find_references(text), vec![], "{text:?}");
        assert_eq!(resolve(json!({"t": text, "code": text})), json!({"t": text, "code": text}), "{text:?}");
    }
}

#[test]
fn bare_word_is_a_reference_only_when_it_names_a_block() {
    let resolved = resolve(json!({
        "whole": "<start>", "html": "<div>hi</div>", "tag": "<div>", "named": "<Fetch Data>",
        "spaced": "<not a block>", "code": "<div> + <start>",
    }));
    assert_eq!(resolved["whole"]["name"], "bob");
    assert_eq!(resolved["html"], "<div>hi</div>");
    assert_eq!(resolved["tag"], "<div>");
    assert_eq!(resolved["named"]["status"], 200);
    assert_eq!(resolved["spaced"], "<not a block>");
    assert_eq!(resolved["code"], "<div> + __refs[0]");
    assert_eq!(resolved["references"][0]["tags"], json!(["a", "b"]));
}

#[test]
fn unknown_block_with_a_path_is_an_error_naming_the_reference() {
    let error = resolve_params(&json!({"x": "see <nosuch.field>"}), &Run::new()).unwrap_err();
    assert_eq!(error, ReferenceError::UnknownBlock { reference: "<nosuch.field>".into(), key: "nosuch".into() });
    assert!(error.to_string().contains("<nosuch.field>"), "{error}");
}

#[test]
fn variable_references_resolve_by_name() {
    let resolved = resolve(json!({"v": "<variable.counter>", "text": "n=<variable.counter>"}));
    assert_eq!(resolved, json!({"v": 5, "text": "n=5"}));
    let error = resolve_params(&json!({"v": "<variable.missing>"}), &Run::new()).unwrap_err();
    assert!(matches!(&error, ReferenceError::UnknownVariable { name, .. } if name == "missing"));
    assert!(error.to_string().contains("<variable.missing>"), "{error}");
}

#[test]
fn loop_and_parallel_fields_resolve_with_paths() {
    let run = Run::new().in_loop().in_parallel();
    let params = json!({
        "index": "<loop.index>", "item": "<loop.currentItem>", "id": "<loop.currentItem.id>", "items": "<loop.items>",
        "second": "<loop.items.1>", "branch": "<parallel.index>", "pitem": "<parallel.currentItem>",
        "pitems": "<parallel.items>",
    });
    let resolved = resolve_params(&params, &run).unwrap();
    assert_eq!(
        resolved,
        json!({"index": 2, "item": {"id": "x9"}, "id": "x9", "items": [1, 2, 3], "second": 2, "branch": 0,
               "pitem": "first", "pitems": ["first"]})
    );
}

#[test]
fn loop_and_parallel_references_outside_their_container_are_errors() {
    let error = resolve_params(&json!({"i": "<loop.index>"}), &Run::new()).unwrap_err();
    assert_eq!(error, ReferenceError::OutsideLoop { reference: "<loop.index>".into() });
    let error = resolve_params(&json!({"i": "<parallel.currentItem.x>"}), &Run::new().in_loop()).unwrap_err();
    assert_eq!(error, ReferenceError::OutsideParallel { reference: "<parallel.currentItem.x>".into() });
}

#[test]
fn env_reference_is_replaced_by_its_value() {
    let resolved = resolve(json!({
        "whole": "{{API_KEY}}", "header": "Bearer {{API_KEY}}", "code": "fetch(u, {key: {{API_KEY}}})",
    }));
    assert_eq!(resolved["whole"], "s3cr\"et");
    assert_eq!(resolved["header"], "Bearer s3cr\"et");
    assert_eq!(resolved["code"], "fetch(u, {key: __refs[0]})", "a bound value in JavaScript");
    assert_eq!(resolved["references"], json!(["s3cr\"et"]));
}

#[test]
fn env_naming_no_provided_variable_stays_text() {
    let resolved = resolve(json!({"deep": [{"h": "x {{MISSING_TOKEN}}"}], "whole": "{{name}}", "code": "'{{name}}'"}));
    assert_eq!(resolved, json!({"deep": [{"h": "x {{MISSING_TOKEN}}"}], "whole": "{{name}}", "code": "'{{name}}'"}));
}

#[test]
fn provided_env_the_block_is_not_granted_is_an_error_naming_it() {
    // Issue 11 finding 10: `{{OTHER}}` is provided, but this block's `env` lists only API_KEY.
    for params in [json!({"h": "Bearer {{OTHER}}"}), json!({"code": "return {{OTHER}};"}), json!({"w": "{{OTHER}}"})] {
        let error = resolve_params(&params, &Run::new()).unwrap_err();
        assert_eq!(error, ReferenceError::EnvNotGranted { name: "OTHER".into() });
        assert!(error.to_string().contains("{{OTHER}}"), "{error}");
    }
}

#[test]
fn find_references_reports_spans_and_kinds() {
    let text = "é <Fetch Data.items.0> {{TOKEN}}<variable.counter.x><loop.currentItem><parallel.items.2><start>";
    let found = find_references(text);
    let parsed: Vec<(&str, Reference)> = found.iter().map(|f| (&text[f.span.clone()], f.reference.clone())).collect();
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        parsed,
        vec![
            ("<Fetch Data.items.0>", Reference::Block { key: "Fetch Data".into(), path: path(&["items", "0"]) }),
            ("{{TOKEN}}", Reference::Env { name: "TOKEN".into() }),
            ("<variable.counter.x>", Reference::Variable { name: "counter".into(), path: path(&["x"]) }),
            ("<loop.currentItem>", Reference::Loop { field: ContainerField::CurrentItem, path: vec![] }),
            ("<parallel.items.2>", Reference::Parallel { field: ContainerField::Items, path: path(&["2"]) }),
            ("<start>", Reference::Block { key: "start".into(), path: vec![] }),
        ]
    );
    for (source, reference) in &parsed {
        assert_eq!(&reference.to_string(), source, "Display writes the reference back");
    }
}

#[test]
fn keyword_with_unknown_field_is_looked_up_as_a_block() {
    let found = find_references("<loop.idx>");
    assert_eq!(found[0].reference, Reference::Block { key: "loop".into(), path: vec!["idx".into()] });
    let error = resolve_params(&json!({"i": "<loop.idx>"}), &Run::new().in_loop()).unwrap_err();
    assert!(matches!(error, ReferenceError::UnknownBlock { .. }), "{error:?}");
}

#[test]
fn resolve_script_binds_what_resolve_text_would_paste() {
    let run = Run::new().in_loop();
    let condition = "<loop.index> < 5 && <loop.currentItem.id> !== <start.name>";
    let script = resolve_script(condition, &run, Syntax::JavaScript).unwrap();
    assert_eq!(script.source, "__refs[0] < 5 && __refs[1] !== __refs[2]");
    assert_eq!(script.references, vec![json!(2), json!("x9"), json!("bob")]);
    assert_eq!(resolve_text(condition, &run).unwrap(), "2 < 5 && x9 !== bob");
}

#[test]
fn resolve_string_keeps_the_type_of_a_whole_reference() {
    let run = Run::new();
    assert_eq!(resolve_string("<fetch.items>", &run).unwrap(), json!([{"id": 7}, {"id": 8}]));
    assert_eq!(resolve_string("n: <start.count>", &run).unwrap(), json!("n: 3"));
    assert_eq!(resolve_string("<div>", &run).unwrap(), json!("<div>"));
}

#[test]
fn adjacent_references_and_object_keys() {
    let resolved = resolve(json!({"<start.name>": "<start.name><start.count>"}));
    assert_eq!(resolved, json!({"<start.name>": "bob3"}), "keys are never resolved");
}

#[test]
fn ids_win_over_names_and_shared_names_are_ambiguous() {
    let state: WorkflowState = serde_json::from_value(json!({"blocks": {
        "fetch": {"type": "api", "name": "Other"},
        "b2": {"type": "api", "name": "Fetch"},
        "b3": {"type": "api", "name": "Same Name"},
        "b4": {"type": "api", "name": "samename"},
    }, "loops": {"loop1": {"nodes": ["b3"], "loopType": "for", "iterations": 2}}}))
    .unwrap();
    let index = BlockIndex::new(&state);
    assert_eq!(index.resolve("fetch"), KeyMatch::Found("fetch"));
    assert_eq!(index.resolve("Other"), KeyMatch::Found("fetch"));
    assert_eq!(index.resolve("loop1"), KeyMatch::Found("loop1"), "containers are referenced by ID");
    assert_eq!(index.resolve("Same Name"), KeyMatch::Ambiguous(vec!["b3", "b4"]));
    assert_eq!(index.resolve("nothing"), KeyMatch::Unknown);
    assert!(index.holds_reference("<fetch>") && index.holds_reference("{{X}}") && index.holds_reference("<a.b>"));
    assert!(!index.holds_reference("<div> a < b"));
}

#[test]
fn non_string_params_are_untouched() {
    let params = json!({"n": 1.5, "b": false, "z": null, "list": [1, {"k": 2}]});
    assert_eq!(resolve(params.clone()), params);
}

#[test]
fn env_values_are_redacted_in_string_values_never_in_keys() {
    let secrets = vec!["s3cret".to_string(), "tok-123".to_string()];
    let mut value = json!({
        "log": "using s3cret and tok-123 twice: s3cret",
        "s3cret-key": {"nested": ["x tok-123 y", 42, null]},
        "clean": "nothing here",
    });
    redact(&mut value, &secrets);
    assert_eq!(
        value,
        json!({
            "log": "using [REDACTED] and [REDACTED] twice: [REDACTED]",
            "s3cret-key": {"nested": ["x [REDACTED] y", 42, null]},
            "clean": "nothing here",
        })
    );
    assert_eq!(redact_text("error: bad s3cret", &secrets), "error: bad [REDACTED]");
}

#[test]
fn a_number_that_spells_a_secret_is_redacted() {
    let secrets = vec!["123456".to_string(), "3.25e9".to_string()];
    let mut value = json!({"pin": 123456, "other": 1234567, "text": "pin 123456"});
    redact(&mut value, &secrets);
    assert_eq!(value, json!({"pin": "[REDACTED]", "other": 1234567, "text": "pin [REDACTED]"}));
}

#[test]
fn secrets_shorter_than_the_minimum_are_not_redacted() {
    // `e`, `on` and `us` occur in ordinary text everywhere: replacing them
    // would ruin every result without protecting anything.
    let secrets: Vec<String> = ["e", "on", "us"].map(String::from).to_vec();
    assert!(Redactor::new(&secrets).is_noop());
    let mut value = json!({"region": "us", "error": "none"});
    redact(&mut value, &secrets);
    assert_eq!(value, json!({"region": "us", "error": "none"}));
    assert_eq!(MIN_SECRET_CHARS, 4);
    assert_eq!(redact_text("name: human", &["human".to_string()]), "name: [REDACTED]");
}

#[test]
fn deeply_nested_values_are_redacted_without_recursion() {
    let secrets = vec!["hunter2".to_string()];
    let mut value = json!("hunter2");
    for _ in 0..100_000 {
        value = Value::Array(vec![value]);
    }
    redact(&mut value, &secrets);
    let mut inner = &value;
    while let Value::Array(items) = inner {
        inner = &items[0];
    }
    assert_eq!(inner, &json!("[REDACTED]"));
    // Dropping a value this deep recurses in serde_json: leak it instead.
    std::mem::forget(value);
}

#[test]
fn overlapping_secrets_leave_no_fragment() {
    // "abcd" matches first, but the longer "bcdefgh" must not leave "efgh" behind.
    let secrets = vec!["abcd".to_string(), "bcdefgh".to_string(), "abcde".to_string()];
    assert_eq!(redact_text("xabcdefghx", &secrets), "x[REDACTED]x");
    assert_eq!(redact_text("abcdabcd", &secrets), "[REDACTED]");
    assert_eq!(redact_text("ab cd", &secrets), "ab cd");
}

#[test]
fn empty_secrets_are_ignored_and_the_marker_is_not_redacted_again() {
    let secrets = vec![String::new(), "REDA".to_string()];
    assert_eq!(redact_text("REDA alert", &secrets), "[REDACTED] alert");
    assert_eq!(redact_text("plain", &[String::new()]), "plain");
    let redactor = Redactor::new(&secrets);
    let mut value = json!(["REDA", {"REDA": "ok"}]);
    redactor.value(&mut value);
    assert_eq!(value, json!(["[REDACTED]", {"REDA": "ok"}]));
}

#[test]
fn multibyte_secrets_and_text_are_redacted_on_char_boundaries() {
    let secrets = vec!["пароль".to_string()];
    assert_eq!(redact_text("é пароль ü", &secrets), "é [REDACTED] ü");
}
