//! Shared pieces of the black-box tests: the test guests (built from
//! `tests/guests/` by this crate's build script), hand-written WAT components,
//! and a runtime set up the way tests need it.

use std::path::PathBuf;

use sandflow_runtime::{Runtime, RuntimeConfig};

pub mod compile_bomb;
pub mod lang_guests;
pub mod wat_guests;

/// Components compiled from `tests/guests/`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// Where compiled components are cached between test processes, so each
/// guest is compiled once per test run rather than once per test.
pub fn component_cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/sandflow-component-cache")
}

/// A runtime with the on-disk cache and the given fuel setting.
pub fn runtime_with(configure: impl FnOnce(&mut RuntimeConfig)) -> Runtime {
    let mut config = RuntimeConfig { cache_dir: Some(component_cache_dir()), ..RuntimeConfig::default() };
    configure(&mut config);
    Runtime::new(config).expect("runtime starts")
}
