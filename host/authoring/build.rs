//! Embeds what `sandflow blocks new` and `sandflow blocks build` write out on
//! any machine: the guest SDKs (Rust, JavaScript, Python) with the WIT
//! package they build against, and the project templates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// Build products and caches that live beside the sources and are not part of them.
const BUILD_PRODUCTS: &[&str] = &["node_modules", ".sandflow", "dist", "target", "__pycache__", "build"];
/// What the SDKs keep for their own authors, not needed to build a block.
const SDK_ONLY: &[&str] = &["tests", "README.md"];

fn main() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.join("../..").canonicalize().expect("the repository root");
    let sdk_sources = [
        root.join("guest-sdk/Cargo.toml"),
        root.join("guest-sdk/src"),
        root.join("guest-sdk/js"),
        root.join("guest-sdk/python"),
        root.join("wit"),
    ];
    let mut sdk = Vec::new();
    for source in &sdk_sources {
        collect(source, SDK_ONLY, &mut sdk);
    }
    let templates_dir = crate_dir.join("templates");
    let mut templates = Vec::new();
    collect(&templates_dir, &[], &mut templates);

    let mut out = String::new();
    out.push_str("/// The SDKs and the WIT package, by path relative to the repository root.\n");
    out.push_str("pub(crate) const SDK_FILES: &[(&str, &[u8])] = &[\n");
    for file in &sdk {
        entry(&mut out, file, &root);
    }
    out.push_str("];\n/// The project templates, by path relative to `templates/` (`<language>/<file>`).\n");
    out.push_str("pub(crate) const TEMPLATE_FILES: &[(&str, &[u8])] = &[\n");
    for file in &templates {
        entry(&mut out, file, &templates_dir);
    }
    out.push_str("];\n");
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join("embedded.rs"), out).unwrap();
}

fn entry(out: &mut String, file: &Path, base: &Path) {
    let relative = file.strip_prefix(base).unwrap().to_str().expect("UTF-8 paths");
    writeln!(out, "    ({relative:?}, include_bytes!({:?})),", file.display().to_string()).unwrap();
}

/// Every file under `path` (or `path` itself), sorted, skipping build products
/// and the names in `skip`.
fn collect(path: &Path, skip: &[&str], files: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", path.display());
    if path.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        let product = BUILD_PRODUCTS.contains(&name.as_str()) || name.ends_with(".egg-info") || name.ends_with(".pyc");
        if product || skip.contains(&name.as_str()) {
            continue;
        }
        collect(&entry, skip, files);
    }
}
