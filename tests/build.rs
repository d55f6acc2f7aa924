//! Builds the test guests (`tests/guests/`) from source, pre-initializes the
//! ones that export an init function, and records both components' paths.

use std::path::Path;
use std::{env, fs};

fn main() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tests.join("..");
    let artifacts = sandflow_guest_build::build_guest_workspace(
        &tests.join("guests"),
        &[&root.join("guest-sdk/src"), &root.join("guest-sdk/Cargo.toml"), &root.join("wit")],
    );
    let mut consts = String::new();
    for artifact in &artifacts {
        let name = artifact.package.trim_start_matches("sandflow_guest_").to_uppercase();
        consts.push_str(&format!(
            "/// The `{}` test guest component.\npub const {name}: &[u8] = include_bytes!({:?});\n",
            artifact.package,
            artifact.path.display().to_string()
        ));
        if let Some(snapshot) = sandflow_guest_build::pre_initialize(artifact) {
            consts.push_str(&format!(
                "/// The `{}` test guest, pre-initialized (its init ran once, at build time).\npub const {name}_SNAPSHOT: &[u8] = include_bytes!({:?});\n",
                artifact.package,
                snapshot.display().to_string()
            ));
        }
    }
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("guests.rs");
    fs::write(out, consts).unwrap();
}
