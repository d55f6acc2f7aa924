//! Host bindings of the `sandflow:block/block` world, and the host-side types
//! of the world's resources.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "sandflow:block/block",
    imports: {
        "sandflow:block/http.fetch": async | trappable,
        "sandflow:block/timer.sleep": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "sandflow:block/capabilities.env": crate::bindings::EnvHandle,
        "sandflow:block/capabilities.variables": crate::bindings::VariablesHandle,
    },
});

/// The env capability handed to `run`: its table entry is only a token, the
/// grants live in the run's [`crate::capabilities::env::GrantedEnv`], so one
/// run can never see another run's grants. Defined here, beside the bindings
/// that name it, so the capability modules depend on the bindings and never
/// the other way round.
pub struct EnvHandle;

/// The variables capability handed to `run`; see [`EnvHandle`].
pub struct VariablesHandle;
