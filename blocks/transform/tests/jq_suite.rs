//! Conformance against jq's own test suite (`jq.test`), read from where it lies, never copied.
//!
//! The file is the one at `SANDFLOW_JQ_TEST`, else the shared reference copy beside the repository.
//! `SANDFLOW_JQ_SUITE_VERBOSE=1` lists every failing case.

use std::path::PathBuf;

use sandflow_block_transform::{FilterError, run_filter_each};
use serde_json::Value;

/// The share of applicable cases that must pass.
const REQUIRED_PASS_RATE: f64 = 0.90;

/// One case of the suite: a program that must produce `expected` from `input`, or fail to compile.
#[derive(Debug)]
struct Case {
    line: usize,
    program: String,
    kind: CaseKind,
}

#[derive(Debug)]
enum CaseKind {
    Outputs { input: String, expected: Vec<String> },
    /// A `%%FAIL` block: the program must not compile (jq's message is not compared).
    CompileError,
}

/// Reads the suite in jq's format: program, input, expected outputs up to a blank or `#` comment
/// line; `#` comments between cases.
fn parse_suite(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line)).peekable();
    while let Some((line, program)) = lines.next() {
        if program.trim().is_empty() || program.starts_with('#') {
            continue;
        }
        let mut block = Vec::new();
        while let Some((_, next)) = lines.next_if(|(_, next)| !next.trim().is_empty()) {
            block.push(next);
        }
        if program.starts_with("%%FAIL") {
            if let Some(program) = block.first() {
                cases.push(Case { line: line + 1, program: program.to_string(), kind: CaseKind::CompileError });
            }
            continue;
        }
        let Some((input, expected)) = block.split_first() else { continue };
        // As in jq's harness, a comment line ends the expected outputs.
        let expected = expected.iter().take_while(|line| !line.trim_start().starts_with('#'));
        let expected = expected.map(|line| line.to_string()).collect();
        cases.push(Case { line, program: program.to_string(), kind: CaseKind::Outputs { input: input.to_string(), expected } });
    }
    cases
}

/// Why a case does not apply to the block, if it does not: the block has no modules, no
/// `$__loc__`, no input stream beyond its one value, and JSON (so no NaN literals).
fn exclusion(case: &Case) -> Option<&'static str> {
    let program = case.program.as_str();
    if ["import ", "include ", "modulemeta", "get_search_list", "-L"].iter().any(|word| program.contains(word)) {
        return Some("modules");
    }
    if program.contains("$__loc__") {
        return Some("$__loc__");
    }
    if has_word(program, "input") || has_word(program, "inputs") {
        return Some("input/inputs");
    }
    if let CaseKind::Outputs { input, expected } = &case.kind
        && std::iter::once(input).chain(expected).any(|line| has_word(line, "nan") || has_word(line, "NaN"))
    {
        return Some("NaN literal");
    }
    None
}

/// True when `word` occurs in `text` with no identifier character on either side.
fn has_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// jq's equality of values: numbers by value (1 equals 1.0), objects whatever their key order.
fn jq_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(l), Value::Number(r)) => l == r || l.as_f64() == r.as_f64(),
        (Value::Array(l), Value::Array(r)) => l.len() == r.len() && l.iter().zip(r).all(|(l, r)| jq_equal(l, r)),
        (Value::Object(l), Value::Object(r)) => {
            l.len() == r.len() && l.iter().all(|(key, l)| r.get(key).is_some_and(|r| jq_equal(l, r)))
        }
        _ => left == right,
    }
}

/// Runs one case like jq's own harness: the expected outputs must come in order, and none more;
/// an error once they have all come ends the program as jq's harness allows.
fn run_case(case: &Case) -> Result<(), String> {
    match &case.kind {
        CaseKind::CompileError => match run_filter_each(&case.program, Value::Null, |_| {}) {
            Err(FilterError::Invalid(_)) => Ok(()),
            other => Err(format!("expected a compile error, got {other:?}")),
        },
        CaseKind::Outputs { input, expected } => {
            let input: Value = serde_json::from_str(input.trim_start_matches('\u{feff}'))
                .map_err(|e| format!("input does not parse as JSON: {e}"))?;
            let expected: Vec<Value> = expected
                .iter()
                .map(|line| serde_json::from_str(line).map_err(|e| format!("expected output {line} does not parse: {e}")))
                .collect::<Result<_, _>>()?;
            let mut outputs = Vec::new();
            let result = run_filter_each(&case.program, input, |output| outputs.push(output));
            let matches = outputs.len() == expected.len() && outputs.iter().zip(&expected).all(|(o, e)| jq_equal(o, e));
            match result {
                _ if matches => Ok(()),
                Err(error) if outputs.len() < expected.len() => {
                    Err(format!("error {error:?} after {} of {} outputs {outputs:?}", outputs.len(), expected.len()))
                }
                _ => Err(format!("got {outputs:?}, expected {expected:?}")),
            }
        }
    }
}

/// The suite builds values 10,000 levels deep, which jaq walks recursively: natively that needs
/// more than a test thread's stack (in the guest, running out of stack is a trap the host reports).
fn run_case_on_deep_stack(case: &Case) -> Result<(), String> {
    const STACK_BYTES: usize = 256 << 20;
    std::thread::scope(|scope| {
        let runner = std::thread::Builder::new().stack_size(STACK_BYTES).spawn_scoped(scope, || run_case(case));
        runner.map_err(|e| format!("cannot start the case's thread: {e}"))?.join().map_err(|_| "the case panicked".to_string())?
    })
}

fn suite_path() -> PathBuf {
    std::env::var_os("SANDFLOW_JQ_TEST").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/jq.test")
    })
}

#[test]
fn jq_suite_pass_rate() {
    let path = suite_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("jq suite skipped: {} is absent", path.display());
        return;
    };
    let verbose = std::env::var("SANDFLOW_JQ_SUITE_VERBOSE").is_ok_and(|v| v == "1");
    let cases = parse_suite(&text);
    let mut excluded = std::collections::BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    let mut applicable = 0;
    for case in &cases {
        if let Some(reason) = exclusion(case) {
            *excluded.entry(reason).or_default() += 1;
            continue;
        }
        applicable += 1;
        if let Err(why) = run_case_on_deep_stack(case) {
            failures.push((case, why));
        }
    }
    let passed = applicable - failures.len();
    if verbose {
        for (case, why) in &failures {
            println!("FAIL line {}: {}\n    {why}", case.line, case.program);
        }
    }
    println!("jq suite: {passed}/{applicable} applicable cases pass; excluded: {excluded:?}");
    assert!(applicable > 0, "no applicable case in {}", path.display());
    let rate = passed as f64 / applicable as f64;
    assert!(rate >= REQUIRED_PASS_RATE, "pass rate {rate:.3} below {REQUIRED_PASS_RATE}: {passed}/{applicable}");
}

#[test]
fn suite_format_is_read_as_jq_reads_it() {
    let text = "# comment\n.a\n{\"a\":1}\n1\n\n%%FAIL\n{(0):1}\njq: error\n\n.[]\n[1,2]\n1\n2\n\nerror\n1\n  # Runtime error\n";
    let cases = parse_suite(text);
    assert_eq!(cases.len(), 4);
    assert!(matches!(&cases[3].kind, CaseKind::Outputs { expected, .. } if expected.is_empty()));
    assert!(matches!(&cases[0].kind, CaseKind::Outputs { input, expected } if input == "{\"a\":1}" && expected == &["1"]));
    assert!(matches!(cases[1].kind, CaseKind::CompileError) && cases[1].program == "{(0):1}");
    assert!(matches!(&cases[2].kind, CaseKind::Outputs { expected, .. } if expected.len() == 2));
}

#[test]
fn exclusion_rule_names_modules_loc_inputs_and_nan() {
    let case = |program: &str, input: &str| Case {
        line: 1,
        program: program.into(),
        kind: CaseKind::Outputs { input: input.into(), expected: vec![] },
    };
    assert_eq!(exclusion(&case(r#"import "a" as a; a::f"#, "null")), Some("modules"));
    assert_eq!(exclusion(&case("$__loc__", "null")), Some("$__loc__"));
    assert_eq!(exclusion(&case("[inputs]", "null")), Some("input/inputs"));
    assert_eq!(exclusion(&case("input_line_number", "null")), None);
    assert_eq!(exclusion(&case(".", "[NaN]")), Some("NaN literal"));
    assert_eq!(exclusion(&case("[nan]|tojson", "null")), None);
}

#[test]
fn values_compare_as_jq_compares_them() {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    assert!(jq_equal(&parse("[1, {\"a\": 2, \"b\": 3}]"), &parse("[1.0, {\"b\": 3, \"a\": 2.0}]")));
    assert!(!jq_equal(&parse("[1, 2]"), &parse("[2, 1]")));
    assert!(!jq_equal(&parse("\"1\""), &parse("1")));
}
