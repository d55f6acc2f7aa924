//! On-disk cache of compiled components, keyed by content hash and by the
//! engine's compatibility hash, so a block is compiled once per machine and
//! engine configuration rather than once per process.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;

/// The hex SHA-256 of a component's bytes: its identity everywhere in Sandflow.
pub fn component_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compiled components under one directory that only the host writes.
pub(crate) struct ComponentCache {
    dir: Option<Dir>,
    engine_key: String,
}

impl ComponentCache {
    pub fn open(engine: &Engine, dir: Option<&Path>) -> Result<Self, LoadError> {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        let dir = match dir {
            None => None,
            Some(path) => Dir::create_ambient_dir_all(path, ambient_authority())
                .and_then(|()| Dir::open_ambient_dir(path, ambient_authority()))
                .map(Some)
                .map_err(|e| LoadError::Cache(format!("{}: {e}", path.display())))?,
        };
        Ok(Self { dir, engine_key })
    }

    /// Returns the compiled component for `bytes`, compiling and storing it on a miss.
    pub fn load(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, bytes).map_err(|e| LoadError::Compile(format!("{e:#}")));
        };
        let name = format!("{digest}-{}.cwasm", self.engine_key);
        if let Ok(compiled) = dir.read(&name) {
            // SAFETY: the file was written by `precompile_component` of an engine
            // with the same compatibility hash, into a directory only the host writes.
            if let Ok(component) = unsafe { Component::deserialize(engine, &compiled) } {
                return Ok(component);
            }
        }
        let compiled = engine.precompile_component(bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        // Write then rename, so concurrent processes never read a partial file.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let temp = format!("{name}.{}.{}.tmp", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed));
        dir.write(&temp, &compiled)
            .and_then(|()| dir.rename(&temp, dir, &name))
            .map_err(|e| LoadError::Cache(format!("writing {name}: {e}")))?;
        // SAFETY: produced just above by this engine.
        unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| LoadError::Compile(format!("{e:#}")))
    }
}
