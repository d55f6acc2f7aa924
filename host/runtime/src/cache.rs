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

    /// Returns the compiled component for `bytes`, compiling it in this
    /// process and storing it on a miss (trusted bytes only: see
    /// [`crate::Runtime::load_untrusted`] for the bounded path).
    pub fn load(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        if self.dir.is_none() {
            return Component::new(engine, bytes).map_err(|e| LoadError::Compile(format!("{e:#}")));
        }
        if let Some(component) = self.lookup(engine, digest) {
            return Ok(component);
        }
        let compiled = engine.precompile_component(bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        self.store(digest, &compiled)?;
        // SAFETY: produced just above by this engine.
        unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| LoadError::Compile(format!("{e:#}")))
    }

    /// The cached compiled component of `digest`, if there is one this engine loads.
    pub fn lookup(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let compiled = self.dir.as_ref()?.read(self.file_name(digest)).ok()?;
        // SAFETY: the file was written by `store` with the output of
        // `precompile_component` for an engine with the same compatibility
        // hash, into a directory only the host writes; `deserialize` checks
        // the header and that hash again.
        unsafe { Component::deserialize(engine, &compiled) }.ok()
    }

    /// Keeps a finished compile (nothing else is ever written here, so a
    /// compile that failed or timed out leaves no trace). No-op without a directory.
    pub fn store(&self, digest: &str, compiled: &[u8]) -> Result<(), LoadError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let name = self.file_name(digest);
        // Write then rename, so concurrent processes never read a partial file.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let temp = format!("{name}.{}.{}.tmp", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed));
        dir.write(&temp, compiled)
            .and_then(|()| dir.rename(&temp, dir, &name))
            .map_err(|e| LoadError::Cache(format!("writing {name}: {e}")))
    }

    fn file_name(&self, digest: &str) -> String {
        format!("{digest}-{}.cwasm", self.engine_key)
    }
}
