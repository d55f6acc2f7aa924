//! Black-box tests of the `sandflow` binary: block tools and `run`.

mod authoring;
mod block_unit_tests;
mod config;
mod examples;
mod readme;
mod sdk_readmes;

use std::path::PathBuf;
use std::process::{Command, Output};

use sandflow_tests::{component_cache_dir, guests};
use serde_json::Value;

fn sandflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sandflow"))
        .arg("--cache-dir")
        .arg(component_cache_dir())
        .args(args)
        .output()
        .expect("the sandflow binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file in a fresh per-test directory.
fn scratch_file(test: &str, name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sandflow-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn blocks_list_shows_every_standard_block_with_its_manifest() {
    let out = sandflow(&["blocks", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let manifests: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = manifests.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"start") && names.contains(&"transform"), "{names:?}");
    for manifest in &manifests {
        assert!(manifest["inputSchema"].is_object(), "{manifest}");
        assert!(!manifest["description"].as_str().unwrap().is_empty(), "{manifest}");
    }
}

#[test]
fn blocks_inspect_prints_the_manifest_of_a_conforming_component() {
    let file = scratch_file("inspect-good", "hostile.wasm", guests::HOSTILE);
    let out = sandflow(&["blocks", "inspect", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("satisfies sandflow:block/block@0.1.0: yes"), "{stdout}");
    assert!(stdout.contains("\"name\": \"hostile\""), "{stdout}");
    // Built with the SDK, so it exports the init function.
    assert!(stdout.contains("pre-initialized on upload: yes"), "{stdout}");
    let without_init = scratch_file("inspect-benign", "benign.wasm", &sandflow_tests::wat_guests::benign());
    let stdout = text(&sandflow(&["blocks", "inspect", without_init.to_str().unwrap()]).stdout);
    assert!(stdout.contains("pre-initialized on upload: no"), "{stdout}");
}

#[test]
fn blocks_inspect_rejects_a_component_outside_the_world() {
    let foreign = wat::parse_str(r#"(component (import "evil:host/escape" (func)))"#).unwrap();
    let file = scratch_file("inspect-foreign", "foreign.wasm", &foreign);
    let out = sandflow(&["blocks", "inspect", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("satisfies sandflow:block/block@0.1.0: no"), "{stdout}");
    assert!(stdout.contains("evil:host/escape"), "{stdout}");
}

#[test]
fn blocks_inspect_rejects_a_file_that_is_not_wasm() {
    let file = scratch_file("inspect-garbage", "garbage.wasm", b"#!/bin/sh\necho hi\n");
    let out = sandflow(&["blocks", "inspect", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("reason: not a valid component"), "{stdout}");
}

#[test]
fn token_prints_a_token_and_nothing_else() {
    let data_dir = scratch_file("token", "unused", b"").parent().unwrap().join("data");
    let out = sandflow(&["token", "--data-dir", data_dir.to_str().unwrap(), "--tenant", "acme", "--ttl", "5m"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let token = printed.strip_suffix('\n').unwrap();
    assert_eq!(token.split('.').count(), 3, "{printed:?}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{printed:?}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    // The secret it signed with is created once and kept.
    assert!(data_dir.join("signing-secret").exists());

    let bad = sandflow(&["token", "--data-dir", data_dir.to_str().unwrap(), "--tenant", "acme", "--scope", "root"]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("--scope"), "{}", text(&bad.stderr));
}

#[test]
fn serve_refuses_a_database_url_it_cannot_use() {
    let data_dir = scratch_file("serve-url", "unused", b"").parent().unwrap().join("data");
    let out = sandflow(&["serve", "--data-dir", data_dir.to_str().unwrap(), "--database-url", "mysql://localhost/x"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("must be a postgres:// URL"), "{}", text(&out.stderr));
}
