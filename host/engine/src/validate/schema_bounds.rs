//! JSON Schemas from tenants (a `human_in_the_loop` `inputSchema`, a custom
//! block's manifest, a pause point's schema) are checked before they are
//! compiled: a schema that refers back to itself without consuming input
//! (`{"allOf": [{"$ref": "#"}]}`) makes a validator recurse on the same
//! value for ever, growing the process by gigabytes a second.
//!
//! The rules (choices where JSON Schema itself sets no bound):
//! - at most [`MAX_SCHEMA_NODES`] JSON values, nested at most
//!   [`MAX_SCHEMA_DEPTH`] deep;
//! - `$ref` / `$dynamicRef` only inside the schema (`#`, `#/json/pointer`,
//!   `#anchor`) and resolving there; `$id` only at the root (a nested `$id`
//!   would move what `#` means);
//! - no cycle of references that stays on the same value, that is one that
//!   passes only through `allOf`, `anyOf`, `oneOf`, `not`, `if`, `then`,
//!   `else`, `dependentSchemas`, `dependencies` and references. A cycle
//!   through `properties`, `items` and the other keywords that descend
//!   into the value is fine (a tree schema): each step consumes input;
//! - with references expanded (recursion cut), at most
//!   [`MAX_SCHEMA_EXPANSION`] subschemas, so a chain of references that
//!   doubles at every step cannot explode either.

use std::collections::HashMap;

use serde_json::Value;

/// Most JSON values (objects, arrays, strings, ... counted each) in one schema.
pub const MAX_SCHEMA_NODES: usize = 10_000;
/// Deepest nesting of a schema's JSON.
pub const MAX_SCHEMA_DEPTH: usize = 64;
/// Most subschemas a schema may stand for once its references are expanded.
pub const MAX_SCHEMA_EXPANSION: u64 = 100_000;

/// Why a schema is refused before it is compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaRefused {
    #[error("the schema has more than {MAX_SCHEMA_NODES} JSON values")]
    TooLarge,
    #[error("the schema nests deeper than {MAX_SCHEMA_DEPTH} levels")]
    TooDeep,
    #[error("`{keyword}` `{reference}` at `{at}` is not inside the schema (only `#...` references are allowed)")]
    NotLocal { keyword: &'static str, reference: String, at: String },
    #[error("`{keyword}` `{reference}` at `{at}` does not resolve inside the schema")]
    Unresolved { keyword: &'static str, reference: String, at: String },
    #[error("`$id` at `{at}`: only the schema's root may set `$id`")]
    NestedId { at: String },
    #[error("the schema refers back to itself without consuming input ({cycle}): it would never finish")]
    Cycle { cycle: String },
    #[error("with its references expanded the schema has more than {MAX_SCHEMA_EXPANSION} subschemas")]
    Expansion,
}

/// Keywords whose subschemas apply to the same value (an edge that consumes nothing).
const IN_PLACE_ONE: &[&str] = &["not", "if", "then", "else"];
const IN_PLACE_LIST: &[&str] = &["allOf", "anyOf", "oneOf"];
const IN_PLACE_MAP: &[&str] = &["dependentSchemas", "dependencies"];
/// Keywords whose subschemas apply to parts of the value (an edge that consumes input).
const DESCENDING_ONE: &[&str] = &[
    "additionalProperties",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "contentSchema",
    "items",
];
const DESCENDING_LIST: &[&str] = &["prefixItems", "items"];
const DESCENDING_MAP: &[&str] = &["properties", "patternProperties"];
/// Keywords that only hold subschemas for references to use.
const DEFINITIONS: &[&str] = &["$defs", "definitions"];

/// Checks `schema` against the bounds above.
pub fn check_schema_bounds(schema: &Value) -> Result<(), SchemaRefused> {
    let mut nodes = 0;
    count(schema, 1, &mut nodes)?;
    let graph = SchemaGraph::build(schema)?;
    graph.find_cycle()?;
    graph.check_expansion()
}

fn count(value: &Value, depth: usize, nodes: &mut usize) -> Result<(), SchemaRefused> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(SchemaRefused::TooDeep);
    }
    *nodes += 1;
    if *nodes > MAX_SCHEMA_NODES {
        return Err(SchemaRefused::TooLarge);
    }
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| count(item, depth + 1, nodes)),
        Value::Object(map) => map.values().try_for_each(|item| count(item, depth + 1, nodes)),
        _ => Ok(()),
    }
}

/// How a subschema applies to its parent's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// To the same value: `allOf`, `not`, `$ref`, ...
    InPlace,
    /// To a part of it: `properties`, `items`, ...
    Descending,
}

/// The schema's subschemas by JSON pointer, with the edges between them.
struct SchemaGraph {
    edges: HashMap<String, Vec<(Edge, String)>>,
}

impl SchemaGraph {
    fn build(root: &Value) -> Result<Self, SchemaRefused> {
        let mut anchors = HashMap::new();
        collect_anchors(root, root, String::new(), &mut anchors)?;
        let mut edges = HashMap::new();
        let mut pending = vec![String::new()];
        while let Some(pointer) = pending.pop() {
            if edges.contains_key(&pointer) {
                continue;
            }
            let node = root.pointer(&pointer).expect("pointers are built from the schema");
            let out = node_edges(root, node, &pointer, &anchors)?;
            pending.extend(out.iter().map(|(_, target)| target.clone()));
            // Definitions are subschemas too: a cycle among them is refused
            // even if nothing refers to them yet.
            if let Value::Object(map) = node {
                for keyword in DEFINITIONS {
                    if let Some(Value::Object(defs)) = map.get(*keyword) {
                        let base = child_pointer(&pointer, keyword);
                        pending.extend(defs.keys().map(|key| child_pointer(&base, key)));
                    }
                }
            }
            edges.insert(pointer, out);
        }
        Ok(Self { edges })
    }

    /// Refuses a cycle of in-place edges (depth-first, three colours).
    fn find_cycle(&self) -> Result<(), SchemaRefused> {
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            OnPath,
            Done,
        }
        let mut colour: HashMap<&str, Colour> = HashMap::new();
        for start in self.edges.keys() {
            if colour.contains_key(start.as_str()) {
                continue;
            }
            // (node, index of its next edge); the stack is the current path.
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            colour.insert(start, Colour::OnPath);
            while let Some((node, next)) = stack.last_mut() {
                let out = &self.edges[*node];
                let Some((edge, target)) = out.get(*next) else {
                    colour.insert(*node, Colour::Done);
                    stack.pop();
                    continue;
                };
                *next += 1;
                if *edge != Edge::InPlace {
                    continue;
                }
                match colour.get(target.as_str()) {
                    Some(Colour::Done) => {}
                    Some(Colour::OnPath) => {
                        let from = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..].iter().map(|(n, _)| format!("#{n}")).collect();
                        cycle.push(format!("#{target}"));
                        return Err(SchemaRefused::Cycle { cycle: cycle.join(" → ") });
                    }
                    None => {
                        colour.insert(target.as_str(), Colour::OnPath);
                        stack.push((target.as_str(), 0));
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuses a schema that stands for too many subschemas once its
    /// references are expanded (a reference back up the path counts once).
    fn check_expansion(&self) -> Result<(), SchemaRefused> {
        let mut memo: HashMap<&str, u64> = HashMap::new();
        let mut on_path: std::collections::HashSet<&str> = Default::default();
        // Iterative post-order: (node, next edge, sum so far).
        let mut stack: Vec<(&str, usize, u64)> = vec![("", 0, 1)];
        on_path.insert("");
        while let Some((node, next, sum)) = stack.last_mut() {
            let out = &self.edges[*node];
            if let Some((_, target)) = out.get(*next) {
                *next += 1;
                let target = target.as_str();
                if let Some(size) = memo.get(target) {
                    *sum = sum.saturating_add(*size);
                } else if on_path.contains(target) {
                    *sum = sum.saturating_add(1);
                } else {
                    on_path.insert(target);
                    stack.push((target, 0, 1));
                }
            } else {
                let (node, _, size) = stack.pop().expect("not empty");
                if size > MAX_SCHEMA_EXPANSION {
                    return Err(SchemaRefused::Expansion);
                }
                on_path.remove(node);
                memo.insert(node, size);
                if let Some((_, _, parent)) = stack.last_mut() {
                    *parent = parent.saturating_add(size);
                }
            }
        }
        Ok(())
    }
}

/// `$anchor`, `$dynamicAnchor` and draft-7 `"$id": "#name"` anchors, by
/// name; refuses a nested `$id` that moves the base.
fn collect_anchors(
    root: &Value,
    node: &Value,
    pointer: String,
    anchors: &mut HashMap<String, String>,
) -> Result<(), SchemaRefused> {
    let Value::Object(map) = node else { return Ok(()) };
    for keyword in ["$anchor", "$dynamicAnchor"] {
        if let Some(Value::String(name)) = map.get(keyword) {
            anchors.entry(name.clone()).or_insert_with(|| pointer.clone());
        }
    }
    if let Some(Value::String(id)) = map.get("$id") {
        match id.strip_prefix('#') {
            Some(name) => {
                anchors.entry(name.to_string()).or_insert_with(|| pointer.clone());
            }
            None if !pointer.is_empty() => return Err(SchemaRefused::NestedId { at: format!("#{pointer}") }),
            None => {}
        }
    }
    for (_, child) in subschemas(map, &pointer, true) {
        let value = root.pointer(&child).expect("a child of the schema");
        collect_anchors(root, value, child, anchors)?;
    }
    Ok(())
}

/// The subschemas the keywords of `map` (at `pointer`) hold, with how each
/// applies; with `definitions`, also those under `$defs` / `definitions`
/// (as in-place: only what they are for matters to the caller).
fn subschemas(map: &serde_json::Map<String, Value>, pointer: &str, definitions: bool) -> Vec<(Edge, String)> {
    let mut out = Vec::new();
    let push_one = |edge, keyword: &str, out: &mut Vec<(Edge, String)>| {
        if let Some(value @ (Value::Object(_) | Value::Bool(_))) = map.get(keyword) {
            let _ = value;
            out.push((edge, child_pointer(pointer, keyword)));
        }
    };
    for keyword in IN_PLACE_ONE {
        push_one(Edge::InPlace, keyword, &mut out);
    }
    for keyword in DESCENDING_ONE {
        push_one(Edge::Descending, keyword, &mut out);
    }
    let lists =
        IN_PLACE_LIST.iter().map(|k| (Edge::InPlace, k)).chain(DESCENDING_LIST.iter().map(|k| (Edge::Descending, k)));
    for (edge, keyword) in lists {
        if let Some(Value::Array(items)) = map.get(*keyword) {
            let base = child_pointer(pointer, keyword);
            out.extend((0..items.len()).map(|i| (edge, child_pointer(&base, &i.to_string()))));
        }
    }
    let maps =
        IN_PLACE_MAP.iter().map(|k| (Edge::InPlace, k)).chain(DESCENDING_MAP.iter().map(|k| (Edge::Descending, k)));
    let maps = maps.chain(DEFINITIONS.iter().filter(|_| definitions).map(|k| (Edge::InPlace, k)));
    for (edge, keyword) in maps {
        if let Some(Value::Object(children)) = map.get(*keyword) {
            let base = child_pointer(pointer, keyword);
            for (key, value) in children {
                // `dependencies` also takes lists of property names: not schemas.
                if matches!(value, Value::Object(_) | Value::Bool(_)) {
                    out.push((edge, child_pointer(&base, key)));
                }
            }
        }
    }
    out
}

/// The edges of the subschema `node` at `pointer`: its applicators and the
/// targets of its references.
fn node_edges(
    root: &Value,
    node: &Value,
    pointer: &str,
    anchors: &HashMap<String, String>,
) -> Result<Vec<(Edge, String)>, SchemaRefused> {
    let Value::Object(map) = node else { return Ok(Vec::new()) };
    if !pointer.is_empty() && map.get("$id").and_then(Value::as_str).is_some_and(|id| !id.starts_with('#')) {
        return Err(SchemaRefused::NestedId { at: format!("#{pointer}") });
    }
    let mut out = subschemas(map, pointer, false);
    for keyword in ["$ref", "$dynamicRef", "$recursiveRef"] {
        let Some(Value::String(reference)) = map.get(keyword) else { continue };
        let at = format!("#{pointer}");
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(SchemaRefused::NotLocal { keyword, reference: reference.clone(), at });
        };
        let target = if fragment.is_empty() || fragment.starts_with('/') {
            let decoded = percent_decode(fragment);
            decoded.filter(|p| root.pointer(p).is_some())
        } else {
            anchors.get(fragment).cloned()
        };
        let target = target.ok_or_else(|| SchemaRefused::Unresolved { keyword, reference: reference.clone(), at })?;
        out.push((Edge::InPlace, target));
    }
    Ok(out)
}

/// `base` + `/key`, escaped as JSON Pointer wants.
fn child_pointer(base: &str, key: &str) -> String {
    format!("{base}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// A URI fragment's `%XX` escapes decoded; `None` when they are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(schema: Value) -> SchemaRefused {
        check_schema_bounds(&schema).expect_err(&format!("{schema} should be refused"))
    }

    #[test]
    fn self_references_that_consume_nothing_are_refused() {
        for bomb in [
            json!({"allOf": [{"$ref": "#"}]}),
            json!({"anyOf": [{"$ref": "#"}]}),
            json!({"not": {"$ref": "#"}}),
            json!({"oneOf": [{"type": "string"}, {"$ref": "#"}]}),
            json!({"$ref": "#"}),
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}),
            json!({"$defs": {"a": {"if": {"$ref": "#/$defs/a"}}}}),
            json!({"$defs": {"a": {"$anchor": "x", "then": {"$ref": "#x"}}}}),
            json!({"definitions": {"a": {"dependentSchemas": {"p": {"$ref": "#/definitions/a"}}}}}),
            json!({"x": {"allOf": [{"$ref": "#/x"}]}, "$ref": "#/x"}),
            json!({"$dynamicAnchor": "m", "anyOf": [{"$dynamicRef": "#m"}]}),
            json!({"$defs": {"a%b": {"allOf": [{"$ref": "#/$defs/a%25b"}]}}}),
        ] {
            assert!(matches!(refused(bomb.clone()), SchemaRefused::Cycle { .. }), "{bomb}");
        }
    }

    #[test]
    fn recursion_through_properties_or_items_is_a_tree_and_allowed() {
        let tree = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
            "additionalProperties": false
        });
        check_schema_bounds(&tree).unwrap();
        let linked =
            json!({"$defs": {"node": {"properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"});
        check_schema_bounds(&linked).unwrap();
        check_schema_bounds(&json!({"type": "object", "required": ["approved"]})).unwrap();
        check_schema_bounds(&json!(true)).unwrap();
        // `enum` and `const` are data: a `$ref` key there is no reference.
        check_schema_bounds(&json!({"enum": [{"$ref": "#"}], "const": {"allOf": [{"$ref": "#"}]}})).unwrap();
    }

    #[test]
    fn references_outside_the_schema_and_nested_ids_are_refused() {
        assert!(matches!(refused(json!({"$ref": "https://example.com/s.json"})), SchemaRefused::NotLocal { .. }));
        assert!(matches!(
            refused(json!({"$id": "http://e/s", "allOf": [{"$ref": "s"}]})),
            SchemaRefused::NotLocal { .. }
        ));
        assert!(matches!(refused(json!({"$ref": "#/nowhere"})), SchemaRefused::Unresolved { .. }));
        assert!(matches!(refused(json!({"$ref": "#nowhere"})), SchemaRefused::Unresolved { .. }));
        let nested = json!({"$defs": {"a": {"$id": "http://e/a", "allOf": [{"$ref": "#"}]}}});
        assert!(matches!(refused(nested), SchemaRefused::NestedId { .. }));
        check_schema_bounds(&json!({"$id": "http://e/root", "type": "object"})).unwrap();
    }

    #[test]
    fn size_depth_and_expansion_are_bounded() {
        let wide = Value::Array((0..MAX_SCHEMA_NODES).map(|i| json!(i)).collect());
        assert_eq!(refused(json!({"enum": wide})), SchemaRefused::TooLarge);
        let mut deep = json!({});
        for _ in 0..MAX_SCHEMA_DEPTH {
            deep = json!({"not": deep});
        }
        assert_eq!(refused(deep), SchemaRefused::TooDeep);
        // Each definition refers to the next twice: 2^40 subschemas once expanded.
        let mut defs = serde_json::Map::new();
        for i in 0..40 {
            let next = format!("#/$defs/d{}", i + 1);
            defs.insert(format!("d{i}"), json!({"allOf": [{"$ref": next}, {"$ref": next}]}));
        }
        defs.insert("d40".into(), json!({"type": "string"}));
        assert_eq!(refused(json!({"$defs": defs, "$ref": "#/$defs/d0"})), SchemaRefused::Expansion);
    }
}
