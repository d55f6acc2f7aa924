//! Host bindings of the `sandflow:block/block` world.

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
        "sandflow:block/capabilities.env": crate::host::EnvHandle,
        "sandflow:block/capabilities.variables": crate::host::VariablesHandle,
    },
});
