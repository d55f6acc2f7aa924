//! A block project: a directory with one manifest (`Cargo.toml`,
//! `package.json` or `pyproject.toml`), its sources and `tests/cases.json`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use crate::AuthoringError;
use crate::embedded::TEMPLATE_FILES;

/// The languages a block can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    JavaScript,
    TypeScript,
    Python,
}

impl Language {
    /// The name `--lang` takes, which is also its template's directory under `templates/`.
    pub fn flag(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::JavaScript => "js",
            Language::TypeScript => "ts",
            Language::Python => "python",
        }
    }

    /// The file that makes a directory a project of this language.
    pub fn manifest_file(self) -> &'static str {
        match self {
            Language::Rust => "Cargo.toml",
            Language::JavaScript | Language::TypeScript => "package.json",
            Language::Python => "pyproject.toml",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::Rust => "Rust",
            Language::JavaScript => "JavaScript",
            Language::TypeScript => "TypeScript",
            Language::Python => "Python",
        })
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Language::Rust),
            "js" | "javascript" => Ok(Language::JavaScript),
            "ts" | "typescript" => Ok(Language::TypeScript),
            "python" | "py" => Ok(Language::Python),
            other => Err(format!("unknown language `{other}`: expected rust, js, ts or python")),
        }
    }
}

/// A block project found on disk.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub language: Language,
    /// The package name from the manifest; also the component's file name.
    pub name: String,
}

impl Project {
    /// Reads the project at `dir`: the first manifest found decides its language.
    pub fn open(dir: &Path) -> Result<Self, AuthoringError> {
        let language = [Language::Rust, Language::JavaScript, Language::Python]
            .into_iter()
            .find(|language| dir.join(language.manifest_file()).is_file())
            .ok_or_else(|| {
                AuthoringError::Project(format!(
                    "{} has no Cargo.toml, package.json or pyproject.toml: not a block project \
                     (`sandflow blocks new --lang rust|js|ts|python NAME` creates one)",
                    dir.display()
                ))
            })?;
        let manifest_path = dir.join(language.manifest_file());
        let text = fs::read_to_string(&manifest_path)
            .map_err(AuthoringError::io(format!("reading {}", manifest_path.display())))?;
        let unusable = |why: String| AuthoringError::Project(format!("{}: {why}", manifest_path.display()));
        let (language, name) = match language {
            Language::JavaScript | Language::TypeScript => {
                let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| unusable(e.to_string()))?;
                let name = manifest["name"].as_str().ok_or_else(|| unusable("no \"name\"".into()))?;
                (script_language(dir, &manifest), name.rsplit('/').next().unwrap_or(name).to_string())
            }
            Language::Rust => (language, toml_name(&text, "package").map_err(unusable)?),
            Language::Python => (language, toml_name(&text, "project").map_err(unusable)?),
        };
        check_file_name(&name).map_err(&unusable)?;
        // Absolute: builds run tools in other working directories.
        let dir = std::path::absolute(dir).map_err(AuthoringError::io(format!("resolving {}", dir.display())))?;
        Ok(Self { dir, language, name })
    }

    /// Where `sandflow blocks build` writes the component.
    pub fn component_path(&self) -> PathBuf {
        self.dir.join("dist").join(format!("{}.wasm", self.name))
    }

    /// Whether a source is newer than the built component (or none is built).
    pub fn needs_build(&self) -> bool {
        self.built_before(newest_source(&self.dir))
    }

    /// Whether the component is missing or older than `time`.
    pub fn built_before(&self, time: Option<SystemTime>) -> bool {
        let Some(built) = modified(&self.component_path()) else {
            return true;
        };
        time.is_some_and(|time| time > built)
    }
}

/// TypeScript when the entry or a `tsconfig.json` says so.
fn script_language(dir: &Path, manifest: &serde_json::Value) -> Language {
    let entry_is_ts = manifest["sandflow"]["entry"].as_str().is_some_and(|entry| entry.ends_with(".ts"));
    if entry_is_ts || dir.join("tsconfig.json").is_file() || dir.join("src/index.ts").is_file() {
        Language::TypeScript
    } else {
        Language::JavaScript
    }
}

fn toml_name(text: &str, table: &str) -> Result<String, String> {
    let manifest: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    manifest
        .get(table)
        .and_then(|t| t.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("no [{table}] name"))
}

/// Directories of build products and installed dependencies, never sources.
const NOT_SOURCES: &[&str] = &["dist", "target", "node_modules", ".sandflow", "__pycache__", ".git", ".venv"];

/// `dir` made absolute, with `.` and `..` resolved by name, so `new .` names
/// the project after the current directory.
fn normalized(dir: &Path) -> Result<PathBuf, AuthoringError> {
    let absolute = std::path::absolute(dir).map_err(AuthoringError::io(format!("resolving {}", dir.display())))?;
    let mut clean = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    Ok(clean)
}

/// The newest modification time of a file under `dir`, build products and
/// installed dependencies left out.
pub fn newest_source(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        if NOT_SOURCES.iter().any(|skip| name == *skip) {
            continue;
        }
        let path = entry.path();
        // Not through symbolic links: a link to a parent would never end.
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        let time = if is_dir { newest_source(&path) } else { modified(&path) };
        newest = newest.max(time);
    }
    newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What [`new_project`] fills into a template besides the block's name.
#[derive(Debug, Clone, Default)]
pub struct TemplateValues {
    /// The materialized Rust SDK (`guest-sdk/`), for a Rust project's path dependency.
    pub rust_sdk_dir: Option<PathBuf>,
}

/// Writes a new project of `language` at `dir`, named after the directory's
/// last component. Refuses a directory that exists and is not empty.
pub fn new_project(dir: &Path, language: Language, values: &TemplateValues) -> Result<Project, AuthoringError> {
    let dir = &normalized(dir)?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| AuthoringError::Project(format!("{} does not end in a name", dir.display())))?;
    check_block_name(name)?;
    if fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(AuthoringError::Project(format!("{} exists and is not empty", dir.display())));
    }
    let sdk = values.rust_sdk_dir.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
    let prefix = format!("{}/", language.flag());
    let mut written = 0;
    for (path, contents) in TEMPLATE_FILES {
        let Some(relative) = path.strip_prefix(&prefix) else { continue };
        let text = std::str::from_utf8(contents).expect("templates are UTF-8");
        let text = text
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &name.replace('-', "_"))
            .replace("{{sdk_path}}", &sdk);
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(AuthoringError::io(format!("creating {}", parent.display())))?;
        }
        fs::write(&target, text).map_err(AuthoringError::io(format!("writing {}", target.display())))?;
        written += 1;
    }
    assert!(written > 0, "no template for {language}");
    Project::open(dir)
}

/// A manifest's name becomes `dist/NAME.wasm`: it must be one plain file name.
fn check_file_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(format!("the package name `{name}` cannot name a component file (letters, digits, `-`, `_`, `.`)"))
    }
}

/// Block names: what every package manager accepts as a package name and the
/// engine as a block type.
fn check_block_name(name: &str) -> Result<(), AuthoringError> {
    let well_formed = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(AuthoringError::Project(format!(
            "`{name}` is not a block name: use lower-case letters, digits and dashes, starting with a letter (at most 64)"
        )))
    }
}
