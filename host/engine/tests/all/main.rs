//! Every integration test of the engine, in one binary (as wasmtime's
//! `tests/all`): one link instead of one per file. Each module is one topic;
//! `support` holds the fake block runner they share.

mod budgets;
mod fuzz;
mod references;
mod scheduling;
mod subworkflows;
mod support;
mod validation;
