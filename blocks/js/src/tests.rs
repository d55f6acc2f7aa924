//! Native tests of expression evaluation, truthiness, errors and runtime limits.

use serde_json::json;

/// Without references, as expressions with literals in them are.
fn is_truthy(expression: &str) -> Result<bool, String> {
    crate::is_truthy(expression, &[])
}

fn evaluate(expression: &str) -> Result<serde_json::Value, String> {
    crate::evaluate(expression, &[])
}

#[test]
fn truthiness_of_primitives() {
    for (expression, truthy) in [
        ("1", true),
        ("0", false),
        ("-0.5", true),
        ("NaN", false),
        (r#""x""#, true),
        (r#""""#, false),
        ("''", false),
        ("null", false),
        ("undefined", false),
        ("true", true),
        ("false", false),
        ("{}", true),
        ("[]", true),
        (r#"{"a": 0}"#, true),
    ] {
        assert_eq!(is_truthy(expression), Ok(truthy), "{expression}");
    }
}

#[test]
fn substituted_json_literals_compare() {
    assert_eq!(is_truthy(r#"{"count": 12}.count > 10"#), Ok(true));
    assert_eq!(is_truthy(r#"{"count": 2}.count > 10"#), Ok(false));
    assert_eq!(is_truthy(r#""bob" === 'bob'"#), Ok(true));
    assert_eq!(is_truthy(r#""bob" !== "bob""#), Ok(false));
    assert_eq!(is_truthy(r#"{"user": {"role": "admin"}}.user.role == "admin" && 3 >= 3"#), Ok(true));
    assert_eq!(is_truthy("null === null"), Ok(true));
}

#[test]
fn array_length() {
    assert_eq!(is_truthy("[1,2,3].length > 2"), Ok(true));
    assert_eq!(is_truthy("[].length"), Ok(false));
    assert_eq!(evaluate(r#"[1, "a", null].length"#), Ok(json!(3)));
    assert_eq!(is_truthy("[1,2,3].includes(2)"), Ok(true));
}

#[test]
fn object_literal_evaluates_to_json() {
    let expression = r#"{"a": 1, "b": [true, null, "x"], "c": {"d": 2.5}}"#;
    assert_eq!(evaluate(expression), Ok(json!({"a": 1, "b": [true, null, "x"], "c": {"d": 2.5}})));
    assert_eq!(evaluate("undefined"), Ok(json!(null)));
    assert_eq!(evaluate("'a' + 1"), Ok(json!("a1")));
}

#[test]
fn statements_still_work() {
    assert_eq!(evaluate("let x = 2; x * 3"), Ok(json!(6)));
    assert_eq!(is_truthy("1 // trailing comment"), Ok(true));
}

#[test]
fn syntax_error_message() {
    let error = is_truthy("1 +").unwrap_err();
    assert!(error.starts_with("SyntaxError: "), "{error}");
    let error = evaluate(r#"{"a": 1"#).unwrap_err();
    assert!(error.starts_with("SyntaxError: "), "{error}");
}

#[test]
fn thrown_exception_message() {
    let error = is_truthy(r#"(() => { throw new Error("boom") })()"#).unwrap_err();
    assert!(error.starts_with("Error: boom"), "{error}");
    let error = is_truthy("nosuchname > 1").unwrap_err();
    assert!(error.starts_with("ReferenceError: ") && error.contains("nosuchname"), "{error}");
    let error = is_truthy(r#"null.x"#).unwrap_err();
    assert!(error.starts_with("TypeError: "), "{error}");
    let error = is_truthy(r#"(() => { throw "plain" })()"#).unwrap_err();
    assert!(error.contains("plain"), "{error}");
}

#[test]
fn deep_recursion_hits_the_limit() {
    let error = is_truthy("(function f(n) { return f(n + 1) })(0)").unwrap_err();
    assert!(error.contains("RuntimeLimit") || error.contains("RangeError"), "{error}");
}

#[test]
fn one_engine_keeps_state_between_expressions() {
    let mut engine = crate::Engine::new().unwrap();
    assert_eq!(engine.evaluate("globalThis.n = 5"), Ok(json!(5)));
    assert_eq!(engine.is_truthy("n === 5"), Ok(true));
}

#[test]
fn select_branch_takes_first_truthy_or_else() {
    use crate::select_branch;
    let pick = |branches: &[(&'static str, Option<&'static str>)]| {
        select_branch(branches.iter().map(|&(id, expression)| (id, expression, &[][..])))
    };
    assert_eq!(pick(&[("a", Some("0")), ("b", Some("1")), ("c", None)]), Ok(Some(("b", true))));
    assert_eq!(pick(&[("a", Some("0")), ("c", None), ("b", Some("1"))]), Ok(Some(("c", false))));
    assert_eq!(pick(&[("a", Some("0")), ("e", Some("  "))]), Ok(Some(("e", false))));
    assert_eq!(pick(&[("a", Some("0"))]), Ok(None));
    assert_eq!(pick(&[]), Ok(None));
    // Expressions after the winner are never evaluated, so a broken one there does not matter.
    assert_eq!(pick(&[("a", Some("1")), ("b", Some("1 +"))]), Ok(Some(("a", true))));
    let (id, error) = pick(&[("a", Some("0")), ("b", Some("1 +"))]).unwrap_err();
    assert_eq!(id, "b");
    assert!(error.starts_with("SyntaxError"), "{error}");
}

#[test]
fn references_are_values_not_source() {
    // The attack of issue 11 finding 8: an object literal's `__proto__` would set the prototype.
    let user = json!({"__proto__": {"isAdmin": true}});
    assert_eq!(crate::is_truthy("__refs[0].isAdmin === true", std::slice::from_ref(&user)), Ok(false));
    assert_eq!(crate::evaluate("__refs[0].isAdmin", std::slice::from_ref(&user)), Ok(json!(null)));
    assert_eq!(crate::evaluate("Object.keys(__refs[0])", std::slice::from_ref(&user)), Ok(json!(["__proto__"])));
    assert_eq!(crate::evaluate("Object.getPrototypeOf(__refs[0]) === Object.prototype", &[user]), Ok(json!(true)));
    // A string that would close a literal and call something stays one string.
    let text = json!("\"); globalThis.pwned = true; (\"");
    assert_eq!(crate::evaluate("__refs[0]", std::slice::from_ref(&text)), Ok(text.clone()));
    assert_eq!(crate::evaluate("typeof globalThis.pwned", &[text]), Ok(json!("undefined")));
}

#[test]
fn references_compare_like_the_values_they_stand_for() {
    let refs = [json!("bob"), json!({"items": [1, 2, 3]}), json!(12), json!(null)];
    assert_eq!(crate::is_truthy("__refs[0] === 'bob'", &refs), Ok(true));
    assert_eq!(crate::is_truthy("__refs[1].items.length > 2", &refs), Ok(true));
    assert_eq!(crate::is_truthy("__refs[2] > 10 && __refs[3] === null", &refs), Ok(true));
    assert_eq!(crate::evaluate("let n = __refs[2]; n * 2", &refs), Ok(json!(24)));
}

#[test]
fn references_cannot_be_replaced_by_the_expression() {
    let mut engine = crate::Engine::new().unwrap();
    engine.bind_references(&[json!({"a": 1})]).unwrap();
    // Sloppy-mode writes to a frozen binding are ignored, not errors.
    assert_eq!(engine.evaluate("__refs = [5]; __refs[0] = 7; __refs[0].a"), Ok(json!(1)));
    assert_eq!(engine.evaluate("Object.isFrozen(__refs)"), Ok(json!(true)));
    // A later expression of the same run gets its own references.
    engine.bind_references(&[json!("second")]).unwrap();
    assert_eq!(engine.evaluate("__refs[0]"), Ok(json!("second")));
}

#[test]
fn select_branch_binds_each_branch_its_own_references() {
    let (first, second) = ([json!(1)], [json!("x")]);
    let branches = [("a", Some("__refs[0] > 5"), &first[..]), ("b", Some("__refs[0] === 'x'"), &second[..])];
    assert_eq!(crate::select_branch(branches), Ok(Some(("b", true))));
}
