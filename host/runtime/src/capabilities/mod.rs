//! The capabilities a block run is granted, one module each (as in
//! wasmtime-wasi and Spin's factors): the capability's per-run state, its
//! host functions and its linker registration. [`Capabilities`] composes
//! them; adding a capability is its module, its field, and one line each in
//! [`Capabilities::prepare`] and [`add_to_linker`].

pub(crate) mod env;
mod hostcall;
pub(crate) mod http;
mod interface;
pub(crate) mod log;
pub(crate) mod timer;
pub(crate) mod variables;
mod waiting;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};

use self::env::GrantedEnv;
use self::http::{HttpRequests, OutboundHttp};
use self::interface::CapabilitiesInterface;
use self::log::RunLog;
use self::timer::Timer;
use self::variables::WorkflowVariables;
use crate::bindings::sandflow::block::{capabilities as wit_capabilities, types};
use crate::cancel::CancelFlag;
use crate::limits::RunLimits;

/// What one run is granted, from which each capability prepares its state.
pub(crate) struct RunGrant<'a> {
    pub limits: &'a RunLimits,
    /// The environment variables granted to the block, by name.
    pub env: HashMap<String, String>,
    /// The execution's workflow variables as the block starts.
    pub variables: BTreeMap<String, Value>,
    /// When the run's wall-clock budget ends.
    pub deadline: Instant,
    pub cancel: Option<CancelFlag>,
    /// The runtime's shared outbound client.
    pub outbound: Arc<OutboundHttp>,
    /// Longest wait `timer.sleep` performs in the host.
    pub max_in_run_wait: Duration,
}

/// The capabilities one run holds, one field per capability.
pub(crate) struct Capabilities {
    pub env: GrantedEnv,
    pub variables: WorkflowVariables,
    pub log: RunLog,
    pub timer: Timer,
    pub http: HttpRequests,
}

impl Capabilities {
    /// Every capability's state for the run `grant` describes.
    pub fn prepare(grant: RunGrant<'_>) -> Self {
        let limits = grant.limits;
        Self {
            env: GrantedEnv::new(grant.env, limits),
            variables: WorkflowVariables::new(grant.variables, limits),
            log: RunLog::new(limits),
            timer: Timer::new(grant.deadline, grant.max_in_run_wait, grant.cancel.clone()),
            http: HttpRequests::new(grant.outbound, grant.deadline, grant.cancel, limits),
        }
    }
}

/// A store's state that holds a run's [`Capabilities`] and the handle table
/// their resources live in.
pub(crate) trait CapabilityHost: Send + 'static {
    fn capabilities_and_table(&mut self) -> (&mut Capabilities, &mut ResourceTable);
}

/// How wasmtime reaches the `capabilities` interface in a store.
struct CapabilitiesInterfaceOfRun;

impl HasData for CapabilitiesInterfaceOfRun {
    type Data<'a> = CapabilitiesInterface<'a, GrantedEnv, WorkflowVariables, RunLog>;
}

// The `types` interface only declares types; it is linked so the world's
// import of it is satisfied.
impl types::Host for Capabilities {}

/// Links every capability's imports of the `sandflow:block/block` world.
pub(crate) fn add_to_linker<T: CapabilityHost>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    types::add_to_linker::<T, HasSelf<Capabilities>>(linker, |state| state.capabilities_and_table().0)?;
    wit_capabilities::add_to_linker::<T, CapabilitiesInterfaceOfRun>(linker, |state| {
        let (capabilities, table) = state.capabilities_and_table();
        CapabilitiesInterface {
            table,
            env: &mut capabilities.env,
            variables: &mut capabilities.variables,
            log: &mut capabilities.log,
        }
    })?;
    timer::add_to_linker(linker, |state| &mut state.capabilities_and_table().0.timer)?;
    http::add_to_linker(linker, |state| &mut state.capabilities_and_table().0.http)
}
