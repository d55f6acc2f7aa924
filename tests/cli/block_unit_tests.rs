//! The standard blocks' own unit tests, built natively from `blocks/` (its
//! own workspace, otherwise only built for wasm32-wasip2 by the build
//! scripts): the Jinja2 compatibility cases and `%` grid, the Node-checked
//! JavaScript globals, jq's natives. Run here so the README's test command
//! runs them too.

use std::path::Path;
use std::process::Command;

#[test]
fn the_standard_blocks_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into).join("blocks-native");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root.join("blocks"))
        .args(["test", "--workspace", "--manifest-path"])
        .arg(root.join("blocks/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir);
    // Flags and wrappers of the outer build (clippy, coverage) are not the blocks'.
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET"]
    {
        command.env_remove(var);
    }
    let output = command.output().expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail =
        |text: &str| text.lines().rev().take(80).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(output.status.success(), "the blocks' unit tests failed:\n{}\n{}", tail(&stdout), tail(&stderr));
    let passed: usize = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 100, "only {passed} block unit tests ran:\n{}", tail(&stdout));
}
