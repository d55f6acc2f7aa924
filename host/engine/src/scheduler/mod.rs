//! The scheduler: runs a scope (the top level, or one loop iteration or
//! parallel branch) as a DAG, with every block run under one per-execution
//! bound, and containers as nodes that run their own scopes.
//!
//! Each file holds one part of one `ExecutionContext`: `context` (the shared
//! state and the result), `frame` (a running scope), `scope` (the DAG walk),
//! `containers` (loops and parallels), `block_run` (one block), `replay`
//! (applying a finished run), `references` (what references see). They call
//! each other's methods; none of them imports this file.

mod block_run;
mod containers;
mod context;
mod frame;
mod references;
mod replay;
mod scope;

pub(crate) use context::ExecutionContext;
