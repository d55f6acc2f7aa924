//! The log capability: the lines a block logs during one run, bounded in
//! bytes and in entries (a flood stops the block). What the block prints on
//! stdout and stderr joins the same log ([`printed`]).

pub(crate) mod printed;

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::interface::CapabilitiesInterface;
use crate::bindings::sandflow::block::capabilities::{Host, HostEnv, HostVariables};
use crate::bindings::sandflow::block::types;
use crate::error::{BlockRunError, limit_trap};
use crate::limits::RunLimits;

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One line a block logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestLog {
    pub level: LogLevel,
    pub message: String,
}

/// The log of one run, shared by the log capability and the run's stdout and
/// stderr streams.
#[derive(Clone)]
pub(crate) struct RunLog(Arc<Mutex<LogState>>);

struct LogState {
    entries: Vec<GuestLog>,
    /// Bytes of messages logged so far, the refused one included.
    bytes: usize,
    /// [`RunLimits::log_bytes`].
    byte_limit: usize,
    /// [`RunLimits::log_entries`].
    entry_limit: usize,
}

impl RunLog {
    pub fn new(limits: &RunLimits) -> Self {
        Self(Arc::new(Mutex::new(LogState {
            entries: Vec::new(),
            bytes: 0,
            byte_limit: limits.log_bytes,
            entry_limit: limits.log_entries,
        })))
    }

    /// Appends a line, or refuses it with the limit it would break.
    pub fn append(&self, level: LogLevel, message: String) -> Result<(), BlockRunError> {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.bytes = log.bytes.saturating_add(message.len());
        if log.bytes > log.byte_limit {
            return Err(BlockRunError::LogLimit { limit: log.byte_limit });
        }
        if log.entries.len() >= log.entry_limit {
            return Err(BlockRunError::LogEntryLimit { limit: log.entry_limit });
        }
        log.entries.push(GuestLog { level, message });
        Ok(())
    }

    /// [`RunLimits::log_bytes`].
    pub fn byte_limit(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).byte_limit
    }

    /// The bytes a line may still have.
    pub fn bytes_left(&self) -> usize {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.byte_limit.saturating_sub(log.bytes)
    }

    /// The lines logged, in order.
    pub fn into_entries(self) -> Vec<GuestLog> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner).entries)
    }
}

impl<Env, Variables> Host for CapabilitiesInterface<'_, Env, Variables, RunLog>
where
    Self: HostEnv + HostVariables,
{
    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.append(level_of(level), message).map_err(limit_trap)
    }
}

fn level_of(level: types::LogLevel) -> LogLevel {
    match level {
        types::LogLevel::Trace => LogLevel::Trace,
        types::LogLevel::Debug => LogLevel::Debug,
        types::LogLevel::Info => LogLevel::Info,
        types::LogLevel::Warn => LogLevel::Warn,
        types::LogLevel::Error => LogLevel::Error,
    }
}
