//! `sandflow blocks new | build | test` (issue 15): a new project in each
//! language builds into a component `blocks inspect` accepts and passes its own
//! cases; bad input gets an error naming what was wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::text;

/// `sandflow ARGS` with the toolchains the other tests share (installed on
/// first use) and Rust guests built into one target directory.
fn sandflow_in(dir: &Path, args: &[&str]) -> Output {
    let target = sandflow_tests::lang_guests::repo_root().join("target");
    Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .current_dir(dir)
        .arg("--cache-dir")
        .arg(sandflow_tests::component_cache_dir())
        .args(args)
        .env("SANDFLOW_TOOLCHAINS", sandflow_tests::lang_guests::toolchains().root())
        .env("CARGO_TARGET_DIR", target.join("sandflow-new-rust-blocks"))
        .output()
        .expect("the sandflow binary runs")
}

/// A fresh, empty directory for one test.
fn fresh_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sandflow-authoring-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_ok(out: &Output, what: &str) -> String {
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{}", text(&out.stderr));
    stdout
}

/// new → build → inspect → test (its cases) → test --params, for one language.
fn new_project_builds_and_passes_its_cases(lang: &str) {
    let parent = fresh_dir(&format!("new-{lang}"));
    let name = format!("hello-{lang}");
    assert_ok(&sandflow_in(&parent, &["blocks", "new", "--lang", lang, &name]), "blocks new");
    let built = assert_ok(&sandflow_in(&parent, &["blocks", "build", &name]), "blocks build");
    assert!(built.contains("satisfies sandflow:block/block@0.1.0: yes"), "{built}");
    assert!(built.contains("pre-initialized: yes"), "{built}");
    assert!(built.contains("one fresh run:"), "{built}");

    let component = parent.join(&name).join("dist").join(format!("{name}.wasm"));
    let inspected = assert_ok(&sandflow_in(&parent, &["blocks", "inspect", component.to_str().unwrap()]), "inspect");
    assert!(inspected.contains("satisfies sandflow:block/block@0.1.0: yes"), "{inspected}");
    assert!(inspected.contains(&format!("\"name\": \"{name}\"")), "{inspected}");

    let cases = assert_ok(&sandflow_in(&parent, &["blocks", "test", &name]), "blocks test");
    assert!(cases.contains("0 failed") && !cases.contains("FAILED"), "{cases}");

    let out = sandflow_in(&parent, &["blocks", "test", &name, "--params", r#"{"name": "Lin"}"#]);
    let output: Value = serde_json::from_str(&assert_ok(&out, "blocks test --params")).unwrap();
    assert_eq!(output, json!({"text": "Hello, Lin!"}), "{lang}");
}

#[test]
fn a_new_typescript_block_builds_and_passes_its_cases() {
    new_project_builds_and_passes_its_cases("ts");
}

#[test]
fn a_new_python_block_builds_and_passes_its_cases() {
    new_project_builds_and_passes_its_cases("python");
}

#[test]
fn a_new_rust_block_builds_and_passes_its_cases() {
    new_project_builds_and_passes_its_cases("rust");
}

#[test]
fn a_new_javascript_block_builds_and_passes_its_cases() {
    new_project_builds_and_passes_its_cases("js");
}

#[test]
fn an_edited_block_is_rebuilt_by_test_and_a_failing_case_fails_the_command() {
    let parent = fresh_dir("edited");
    assert_ok(&sandflow_in(&parent, &["blocks", "new", "--lang", "python", "edited"]), "blocks new");
    assert_ok(&sandflow_in(&parent, &["blocks", "build", "edited"]), "blocks build");
    let source = find_source(&parent.join("edited"), "Hello, ");
    let text_before = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text_before.replace("Hello, ", "Goodbye, ")).unwrap();
    let out = sandflow_in(&parent, &["blocks", "test", "edited"]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "a failing case fails the command: {stdout}");
    assert!(stdout.contains("FAILED  greets") && stdout.contains("Goodbye, Ada!"), "{stdout}");
}

/// The project file whose text contains `needle`.
fn find_source(dir: &Path, needle: &str) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let skip = ["dist", ".sandflow", "node_modules", "tests", "target"];
            if path.is_dir() && !skip.iter().any(|s| path.ends_with(s)) {
                stack.push(path);
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(needle)) {
                return path;
            }
        }
    }
    panic!("no file under {} contains {needle:?}", dir.display());
}

#[test]
fn blocks_new_refuses_an_unknown_language_a_bad_name_and_a_non_empty_directory() {
    let parent = fresh_dir("new-refusals");
    let out = sandflow_in(&parent, &["blocks", "new", "--lang", "cobol", "x"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown language `cobol`"), "{}", text(&out.stderr));

    let out = sandflow_in(&parent, &["blocks", "new", "--lang", "ts", "Bad_Name"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("`Bad_Name` is not a block name"), "{}", text(&out.stderr));

    std::fs::create_dir_all(parent.join("taken")).unwrap();
    std::fs::write(parent.join("taken/notes.txt"), "mine").unwrap();
    let out = sandflow_in(&parent, &["blocks", "new", "--lang", "ts", "taken"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exists and is not empty"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(parent.join("taken/notes.txt")).unwrap(), "mine", "nothing overwritten");
}

#[test]
fn blocks_new_dot_names_the_project_after_the_current_directory() {
    let dir = fresh_dir("dot").join("named-by-dir");
    std::fs::create_dir_all(&dir).unwrap();
    assert_ok(&sandflow_in(&dir, &["blocks", "new", "--lang", "python", "."]), "blocks new .");
    let manifest = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
    assert!(manifest.contains("name = \"named-by-dir\""), "{manifest}");
}

#[test]
fn blocks_build_names_the_problem_in_a_directory_that_is_not_a_project_and_in_broken_sources() {
    let parent = fresh_dir("build-refusals");
    let out = sandflow_in(&parent, &["blocks", "build", "."]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("has no Cargo.toml, package.json or pyproject.toml"), "{}", text(&out.stderr));

    assert_ok(&sandflow_in(&parent, &["blocks", "new", "--lang", "ts", "broken-ts"]), "blocks new");
    std::fs::write(parent.join("broken-ts/src/index.ts"), "export default defineBlock({ run( {\n").unwrap();
    let out = sandflow_in(&parent, &["blocks", "build", "broken-ts"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("index.ts:1") || stderr.contains("index.ts:2"), "names the file and line: {stderr}");

    assert_ok(&sandflow_in(&parent, &["blocks", "new", "--lang", "python", "broken-py"]), "blocks new");
    let source = find_source(&parent.join("broken-py"), "Hello, ");
    std::fs::write(&source, "def run(:\n").unwrap();
    let out = sandflow_in(&parent, &["blocks", "build", "broken-py"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("SyntaxError") && stderr.contains(source.file_name().unwrap().to_str().unwrap()),
        "{stderr}"
    );
}

/// `blocks build` of a new `lang` project with nothing on PATH: the error.
fn build_with_empty_path(test: &str, lang: &str) -> String {
    let parent = fresh_dir(test);
    assert_ok(&sandflow_in(&parent, &["blocks", "new", "--lang", lang, "lonely"]), "blocks new");
    let empty_path = parent.join("empty-bin");
    std::fs::create_dir_all(&empty_path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .current_dir(&parent)
        .args(["blocks", "build", "lonely"])
        .env("PATH", &empty_path)
        .env("SANDFLOW_TOOLCHAINS", parent.join("toolchains"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Nothing half-installed is left behind.
    let installed: Vec<String> = std::fs::read_dir(parent.join("toolchains"))
        .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(installed.iter().all(|name| name.starts_with("sdk-")), "{installed:?}");
    text(&out.stderr)
}

#[test]
fn building_a_script_block_without_node_says_node_is_missing() {
    let stderr = build_with_empty_path("no-node", "js");
    assert!(stderr.contains("`node --version` was not found") && stderr.contains("Node.js"), "{stderr}");
}

#[test]
fn building_a_python_block_without_python_says_python_is_missing() {
    let stderr = build_with_empty_path("no-python", "python");
    assert!(stderr.contains("`python3 --version` was not found") && stderr.contains("Python 3.10"), "{stderr}");
}
