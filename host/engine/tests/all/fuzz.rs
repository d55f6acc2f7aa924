//! Property-based fuzzing (issue 11) of what an untrusted request reaches first:
//! workflow parsing and validation, the schema checks, reference resolution,
//! redaction, and the `ExecutionResult` that leaves the engine.
//!
//! These run under plain `cargo test` with a bounded case count per target
//! (see [`strategies::config`]); `PROPTEST_CASES=N` raises every target to `N`
//! cases for a longer local run. HARDENING.md records the long runs and what
//! they found.

mod redaction;
mod references;
mod schemas;
mod strategies;
mod valid_workflows;
mod workflows;
