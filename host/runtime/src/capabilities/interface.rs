//! The host side of the WIT `capabilities` interface. Its functions belong to
//! three capabilities (env, variables, log), while wasmtime links one
//! interface through one type: each of those modules implements its own
//! functions on this view, generic over the other two, so no capability
//! module names another.

use wasmtime::component::ResourceTable;

/// One host call's view of the run: the handle table the env and variables
/// tokens live in, and the state of each capability of the interface.
pub(crate) struct CapabilitiesInterface<'a, Env, Variables, Log> {
    pub table: &'a mut ResourceTable,
    pub env: &'a mut Env,
    pub variables: &'a mut Variables,
    pub log: &'a mut Log,
}
