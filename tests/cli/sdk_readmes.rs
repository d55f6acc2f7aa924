//! The JavaScript and Python SDKs (issue 15): their READMEs' complete examples
//! are the test guests, word for word; every test guest and example block in
//! those languages passes its own `tests/cases.json` in the sandbox; the Python
//! SDK's own unit tests pass.

use std::path::Path;
use std::process::Command;

use crate::text;
use sandflow_tests::lang_guests::{repo_root, toolchains};

/// The first ```LANG block after `heading` in the README at `path`.
fn example_after(path: &str, heading: &str, lang: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join(path)).unwrap();
    let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("{path} has {heading:?}"))..];
    let fence = format!("```{lang}\n");
    let start = section.find(&fence).unwrap_or_else(|| panic!("a {lang} block after {heading:?}")) + fence.len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

#[test]
fn the_javascript_readme_example_is_the_greet_guest() {
    let example = example_after("guest-sdk/js/README.md", "## A complete block", "ts");
    let guest = std::fs::read_to_string(repo_root().join("tests/guests-js/greet/src/index.ts")).unwrap();
    assert!(guest.ends_with(&example), "the README's example differs from tests/guests-js/greet/src/index.ts");
}

#[test]
fn the_python_readme_example_is_the_greet_guest() {
    let example = example_after("guest-sdk/python/README.md", "## A complete block", "python");
    let guest = std::fs::read_to_string(repo_root().join("tests/guests-py/greet/block.py")).unwrap();
    assert_eq!(example, guest, "the README's example differs from tests/guests-py/greet/block.py");
}

/// `sandflow blocks test DIR` for every project under `parent`.
fn every_project_passes_its_cases(parent: &str) {
    let parent = repo_root().join(parent);
    let mut projects: Vec<_> = std::fs::read_dir(&parent).unwrap().flatten().map(|e| e.path()).collect();
    projects.sort();
    assert!(!projects.is_empty(), "{} has projects", parent.display());
    for project in projects.iter().filter(|p| p.is_dir()) {
        // Built through the same helper the API tests use, so each is built once per run.
        sandflow_tests::lang_guests::built(project);
        let out = blocks_test(project);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(" 0 failed"),
            "{}:\n{stdout}{}",
            project.display(),
            text(&out.stderr)
        );
    }
}

fn blocks_test(project: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .arg("--cache-dir")
        .arg(sandflow_tests::component_cache_dir())
        .args(["blocks", "test"])
        .arg(project)
        .env("SANDFLOW_TOOLCHAINS", toolchains().root())
        .output()
        .expect("the sandflow binary runs")
}

#[test]
fn every_javascript_test_guest_passes_its_cases() {
    every_project_passes_its_cases("tests/guests-js");
}

#[test]
fn every_python_test_guest_passes_its_cases() {
    every_project_passes_its_cases("tests/guests-py");
}

#[test]
fn every_example_block_passes_its_cases() {
    every_project_passes_its_cases("examples/blocks");
}

#[test]
fn the_python_sdk_unit_tests_pass() {
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "guest-sdk/python/tests"])
        .current_dir(repo_root())
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Each excerpt in the README's "Writing a block" names its file on its first
/// line; the rest must appear in that file as written.
#[test]
fn the_readme_shows_each_language_with_excerpts_of_real_guests() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme.find("## Writing a block").expect("the README has a block-author section");
    let section = &readme[start..start + readme[start..].find("\n## ").unwrap_or(readme.len() - start)];
    let mut seen = Vec::new();
    for lang in ["rust", "ts", "python"] {
        let fence = format!("```{lang}\n");
        let at = section.find(&fence).unwrap_or_else(|| panic!("the section shows {lang}")) + fence.len();
        let block = &section[at..at + section[at..].find("```").unwrap()];
        let (first, excerpt) = block.split_once('\n').unwrap();
        let file = first.trim_start_matches(['/', '#', ' ']).split_whitespace().next().unwrap();
        let source = std::fs::read_to_string(repo_root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(source.contains(excerpt), "the README's {lang} excerpt is not in {file}");
        seen.push(file.to_string());
    }
    assert_eq!(seen.len(), 3);
}
