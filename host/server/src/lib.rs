//! The Sandflow HTTP API.
