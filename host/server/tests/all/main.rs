//! The server's integration tests, in one binary: tokens and scopes
//! (`auth`), handler rules in process (`handlers`), and limits and ordering
//! against a server on a real socket (`limits`).

mod auth;
mod handlers;
mod limits;
mod support;
