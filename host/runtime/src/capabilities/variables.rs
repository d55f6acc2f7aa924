//! The variables capability: the execution's workflow variables as the block
//! started plus this run's writes, through the `variables` handle passed to
//! `run`. The writes go back to the engine when the run ends.

use std::collections::BTreeMap;

use serde_json::Value;
use wasmtime::component::{Resource, ResourceTable};

use super::hostcall::HostCallLimit;
use super::interface::CapabilitiesInterface;
use crate::bindings::VariablesHandle;
use crate::bindings::sandflow::block::capabilities::HostVariables;
use crate::limits::RunLimits;

/// The variables of one run and what it wrote.
pub(crate) struct WorkflowVariables {
    at_start: BTreeMap<String, Value>,
    writes: BTreeMap<String, Value>,
    /// Bytes of every write so far, overwrites included.
    written_bytes: usize,
    /// Bytes of one value ([`RunLimits::variable_bytes`]).
    value_limit: usize,
    /// Bytes of all writes together ([`RunLimits::output_bytes`]).
    writes_limit: usize,
    hostcall: HostCallLimit,
}

impl WorkflowVariables {
    pub fn new(at_start: BTreeMap<String, Value>, limits: &RunLimits) -> Self {
        Self {
            at_start,
            writes: BTreeMap::new(),
            written_bytes: 0,
            value_limit: limits.variable_bytes,
            writes_limit: limits.output_bytes,
            hostcall: HostCallLimit::of(limits),
        }
    }

    /// This run's writes, for the engine to apply if the run succeeded.
    pub fn into_writes(self) -> BTreeMap<String, Value> {
        self.writes
    }
}

impl<Env, Log> HostVariables for CapabilitiesInterface<'_, Env, WorkflowVariables, Log> {
    fn get(&mut self, handle: Resource<VariablesHandle>, name: String) -> wasmtime::Result<Option<String>> {
        self.table.get(&handle)?;
        let variables = &*self.variables;
        variables.hostcall.check("variables.get", name.len())?;
        let value = variables.writes.get(&name).or_else(|| variables.at_start.get(&name));
        Ok(value.map(Value::to_string))
    }

    fn set(
        &mut self,
        handle: Resource<VariablesHandle>,
        name: String,
        value: String,
    ) -> wasmtime::Result<Result<(), String>> {
        self.table.get(&handle)?;
        let variables = &mut *self.variables;
        variables.hostcall.check("variables.set", name.len() + value.len())?;
        if value.len() > variables.value_limit {
            return Ok(Err(format!(
                "variable `{name}`: value of {} bytes is over the limit of {} bytes",
                value.len(),
                variables.value_limit
            )));
        }
        // Counted on every write, overwrites included, so a loop of writes is bounded too.
        variables.written_bytes = variables.written_bytes.saturating_add(name.len() + value.len());
        if variables.written_bytes > variables.writes_limit {
            return Ok(Err(format!(
                "variable `{name}`: this run's variable writes exceed {} bytes",
                variables.writes_limit
            )));
        }
        match serde_json::from_str::<Value>(&value) {
            Ok(parsed) => {
                variables.writes.insert(name, parsed);
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(format!("variable `{name}`: value is not JSON: {e}"))),
        }
    }

    fn drop(&mut self, handle: Resource<VariablesHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// Puts the run's variables token in `table`, for `run` to be handed.
pub(crate) fn variables_handle(table: &mut ResourceTable) -> wasmtime::Result<Resource<VariablesHandle>> {
    Ok(table.push(VariablesHandle)?)
}
