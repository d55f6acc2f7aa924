//! The store's integration tests in one binary (linked once per test run):
//! the conformance suite on SQLite and on PostgreSQL, and what only one of
//! them does.

mod postgres;
mod postgres_queue;
mod sqlite;
mod support;
