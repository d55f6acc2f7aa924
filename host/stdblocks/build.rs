//! Compiles `blocks/` to wasm32-wasip2 components, pre-initializes them and
//! embeds the snapshots.

use std::path::Path;
use std::{env, fs};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut artifacts = sandflow_guest_build::build_guest_workspace(
        &root.join("blocks"),
        &[&root.join("guest-sdk/src"), &root.join("guest-sdk/Cargo.toml"), &root.join("wit")],
    );
    artifacts.sort_by(|a, b| a.package.cmp(&b.package));
    let mut entries = String::new();
    for artifact in &artifacts {
        let name = artifact.package.strip_prefix("sandflow_block_").unwrap_or_else(|| {
            panic!("standard block crates are named sandflow-block-<type>, got {}", artifact.package)
        });
        let snapshot = sandflow_guest_build::pre_initialize(artifact)
            .unwrap_or_else(|| panic!("the standard block {name} does not export its init function"));
        entries.push_str(&format!(
            "    StandardBlock {{ block_type: {name:?}, component: include_bytes!({:?}), plain_component_path: {:?} }},\n",
            snapshot.display().to_string(),
            artifact.path.display().to_string()
        ));
    }
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("standard_blocks.rs");
    fs::write(out, format!("&[\n{entries}]\n")).unwrap();
}
