//! Every integration test of the components through the real runtime, in one
//! binary: wasmtime is linked once per test run, not once per file.

mod admission;
mod api_and_wait_blocks;
mod engine_wasm;
mod guest_sdk;
mod hostile_guests;
mod snapshots;
mod standard_blocks;
mod standard_blocks_extra;
mod typed_errors;
mod user_code;
