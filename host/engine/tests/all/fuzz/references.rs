//! Reference parsing and resolution over arbitrary text: spans are exact and
//! print back as written, text without reference syntax is left alone, a
//! whole-string reference keeps the value found at its path, and inside
//! JavaScript a reference becomes a bound value, never source (data never
//! becomes code).

use std::borrow::Cow;

use proptest::prelude::*;
use sandflow_engine::reference::{
    BlockLookup, ContainerField, EnvLookup, ReferenceScope, Syntax, find_references, is_segment, resolve_params,
    resolve_script, resolve_string, resolve_text,
};
use serde_json::Value;

use super::strategies::{config, json, strings, text};

/// A scope in which every reference resolves: any block key to `output`,
/// any variable, loop or parallel field to `output`, any env name to `env`.
struct Everything {
    output: Value,
    env: String,
}

impl ReferenceScope for Everything {
    fn block(&self, _key: &str) -> BlockLookup<'_> {
        BlockLookup::Output(Cow::Borrowed(&self.output))
    }
    fn variable(&self, _name: &str) -> Option<Cow<'_, Value>> {
        Some(Cow::Borrowed(&self.output))
    }
    fn loop_value(&self, _field: ContainerField) -> Option<Cow<'_, Value>> {
        Some(Cow::Borrowed(&self.output))
    }
    fn parallel_value(&self, _field: ContainerField) -> Option<Cow<'_, Value>> {
        Some(Cow::Borrowed(&self.output))
    }
    fn env(&self, _name: &str) -> EnvLookup {
        EnvLookup::Granted(self.env.clone())
    }
}

/// A scope that knows nothing: block keys are unknown, nothing else is set.
struct Nothing;

impl ReferenceScope for Nothing {
    fn block(&self, _key: &str) -> BlockLookup<'_> {
        BlockLookup::Unknown
    }
    fn variable(&self, _name: &str) -> Option<Cow<'_, Value>> {
        None
    }
    fn loop_value(&self, _field: ContainerField) -> Option<Cow<'_, Value>> {
        None
    }
    fn parallel_value(&self, _field: ContainerField) -> Option<Cow<'_, Value>> {
        None
    }
    fn env(&self, _name: &str) -> EnvLookup {
        EnvLookup::NotProvided
    }
}

/// Text that holds no reference syntax at all (no `<`, no `{{`).
fn plain_text() -> impl Strategy<Value = String> {
    text().prop_map(|text| text.replace('<', "(").replace("{{", "{ {").replace("{{", "{ {"))
}

fn has_reference_syntax(text: &str) -> bool {
    text.contains('<') || text.contains("{{")
}

/// `value` with every string made plain (see [`plain_text`]).
fn plain_json(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace('<', "(").replace("{{", "{ {").replace("{{", "{ {")),
        Value::Array(items) => Value::Array(items.into_iter().map(plain_json).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, plain_json(v))).collect()),
        other => other,
    }
}

/// A path that exists inside `value`, chosen by `picks`, with every step a
/// segment a reference can spell; the value found there.
fn existing_path<'v>(value: &'v Value, picks: &[usize]) -> (Vec<String>, &'v Value) {
    let (mut path, mut current) = (Vec::new(), value);
    for pick in picks {
        let next = match current {
            Value::Object(map) => {
                let keys: Vec<&String> = map.keys().filter(|k| is_segment(k)).collect();
                if keys.is_empty() {
                    break;
                }
                let key = keys[pick % keys.len()];
                path.push(key.clone());
                &map[key]
            }
            Value::Array(items) if !items.is_empty() => {
                let index = pick % items.len();
                path.push(index.to_string());
                &items[index]
            }
            _ => break,
        };
        current = next;
    }
    (path, current)
}

/// Same keys, same array lengths, same non-string scalars.
fn same_shape_but_strings(before: &Value, after: &Value) -> bool {
    match (before, after) {
        (Value::String(_), _) => true,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_shape_but_strings(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && same_shape_but_strings(va, vb))
        }
        (a, b) => a == b,
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn found_references_are_exact_ordered_spans_that_print_back_as_written(text in text()) {
        let found = find_references(&text);
        let mut end = 0;
        for hit in &found {
            prop_assert!(hit.span.start >= end && hit.span.end > hit.span.start, "spans overlap: {found:?}");
            prop_assert!(text.is_char_boundary(hit.span.start) && text.is_char_boundary(hit.span.end));
            let written = &text[hit.span.clone()];
            prop_assert!(written.starts_with('<') || written.starts_with("{{"), "{written:?}");
            prop_assert_eq!(hit.reference.to_string(), written);
            let alone = find_references(written);
            prop_assert_eq!(alone.len(), 1, "{:?} alone is not one reference", written);
            prop_assert_eq!(&alone[0].reference, &hit.reference);
            prop_assert_eq!(alone[0].span.clone(), 0..written.len());
            end = hit.span.end;
        }
    }

    #[test]
    fn resolution_never_panics_and_fails_only_with_a_typed_error(text in text(), output in json(3, 16)) {
        let everything = Everything { output, env: "env-value".into() };
        prop_assert!(resolve_text(&text, &everything).is_ok());
        prop_assert!(resolve_script(&text, &everything, Syntax::JavaScript).is_ok());
        // With nothing known, dotted block references, variables and containers
        // fail; the message names the reference, never a value.
        if let Err(error) = resolve_text(&text, &Nothing) {
            prop_assert!(!error.to_string().is_empty());
        }
        prop_assert!(resolve_string(&text, &everything).is_ok());
    }

    #[test]
    fn text_without_reference_syntax_is_returned_unchanged(text in plain_text(), output in json(2, 8)) {
        prop_assert!(!has_reference_syntax(&text));
        prop_assert!(find_references(&text).is_empty());
        let everything = Everything { output, env: "env-value".into() };
        for scope in [&everything as &dyn ReferenceScope, &Nothing] {
            prop_assert_eq!(resolve_text(&text, scope), Ok(text.clone()));
            let script = resolve_script(&text, scope, Syntax::JavaScript).expect("plain text resolves");
            prop_assert_eq!(script.source, text.clone());
            prop_assert!(script.references.is_empty());
            prop_assert_eq!(resolve_string(&text, scope), Ok(Value::String(text.clone())));
        }
    }

    #[test]
    fn params_without_reference_syntax_are_returned_unchanged(params in json(4, 32).prop_map(plain_json)) {
        prop_assert!(strings(&params).iter().all(|s| !has_reference_syntax(s)));
        prop_assert_eq!(resolve_params(&params, &Nothing), Ok(params.clone()));
    }

    /// Object keys are never resolved and only strings change.
    #[test]
    fn resolving_params_changes_only_string_values(params in json(4, 32), output in json(2, 8)) {
        let everything = Everything { output, env: "env-value".into() };
        let resolved = resolve_params(&params, &everything).expect("everything resolves");
        prop_assert!(same_shape_but_strings(&params, &resolved), "{params} became {resolved}");
    }

    #[test]
    fn a_whole_string_reference_keeps_the_value_at_its_path(
        output in json(4, 32),
        picks in prop::collection::vec(any::<usize>(), 0..5),
        key in "[a-z][a-z0-9_]{0,6}",
    ) {
        let (path, expected) = existing_path(&output, &picks);
        let reference = std::iter::once(key.as_str()).chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join(".");
        let reference = format!("<{reference}>");
        // `<loop.x>`-style keywords are not block references.
        prop_assume!(!["loop", "parallel", "variable"].contains(&key.as_str()));
        let scope = Everything { output: output.clone(), env: String::new() };
        prop_assert_eq!(resolve_string(&reference, &scope), Ok(expected.clone()), "{}", reference);
        let missing = format!("<{key}.no_such_member_anywhere>");
        prop_assert_eq!(resolve_string(&missing, &scope), Ok(output.get("no_such_member_anywhere").cloned().unwrap_or(Value::Null)));
    }

    /// Inside JavaScript a reference becomes one bound value, whatever it
    /// holds; in text, strings go in raw and everything else as compact JSON.
    #[test]
    fn embedded_references_become_bound_values_in_javascript(
        before in plain_text(),
        after in plain_text(),
        output in json(3, 16),
    ) {
        let text = format!("{before}<block>{after}");
        let scope = Everything { output: output.clone(), env: String::new() };
        let script = resolve_script(&text, &scope, Syntax::JavaScript).expect("resolves");
        prop_assert_eq!(script.source, format!("{before}__refs[0]{after}"));
        prop_assert_eq!(script.references, vec![output.clone()]);
        let raw = match &output { Value::String(s) => s.clone(), other => other.to_string() };
        prop_assert_eq!(resolve_text(&text, &scope), Ok(format!("{before}{raw}{after}")));
    }
}
