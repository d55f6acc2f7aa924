//! The env capability: the environment variables the workflow granted the
//! block, read through the `env` handle passed to `run`.

use std::collections::HashMap;

use wasmtime::component::{Resource, ResourceTable};

use super::hostcall::HostCallLimit;
use super::interface::CapabilitiesInterface;
use crate::bindings::EnvHandle;
use crate::bindings::sandflow::block::capabilities::HostEnv;
use crate::limits::RunLimits;

/// The grants of one run. Any name not granted reads as absent.
pub(crate) struct GrantedEnv {
    granted: HashMap<String, String>,
    hostcall: HostCallLimit,
}

impl GrantedEnv {
    pub fn new(granted: HashMap<String, String>, limits: &RunLimits) -> Self {
        Self { granted, hostcall: HostCallLimit::of(limits) }
    }
}

impl<Variables, Log> HostEnv for CapabilitiesInterface<'_, GrantedEnv, Variables, Log> {
    fn get(&mut self, handle: Resource<EnvHandle>, name: String) -> wasmtime::Result<Option<String>> {
        self.table.get(&handle)?;
        self.env.hostcall.check("env.get", name.len())?;
        Ok(self.env.granted.get(&name).cloned())
    }

    fn drop(&mut self, handle: Resource<EnvHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// Puts the run's env token in `table`, for `run` to be handed.
pub(crate) fn env_handle(table: &mut ResourceTable) -> wasmtime::Result<Resource<EnvHandle>> {
    Ok(table.push(EnvHandle)?)
}
