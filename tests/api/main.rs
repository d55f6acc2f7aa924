//! Black-box tests of the HTTP API (SPEC sections 3 to 5): the real `sandflow`
//! binary started on a free port with a fresh data directory, spoken to over
//! a real socket. Most tests share one server and keep to their own tenants
//! and IDs; those that kill or restart a server start their own.

mod admission;
mod blocks;
mod cancel;
mod crash_under_load;
mod data;
mod distributed;
mod errors;
mod events;
mod execute;
mod execution_limits;
mod exposure;
mod flows;
mod harness;
mod ops;
mod other_languages;
mod pause;
mod recovery;
mod schema_bombs;
mod secrets_at_rest;
mod tenancy;
mod timed;
mod user_code;
mod workflows;
