//! The Sandflow HTTP API.

pub mod auth;
