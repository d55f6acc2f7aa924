//! A run's stdout and stderr: each line the block prints becomes an entry of
//! the run's log (stdout at `info`, stderr at `warn`), under the log's limits,
//! so a print flood stops the block as a log flood does. JavaScript and
//! Python blocks print through WASI; so does a Rust panic message.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use super::{LogLevel, RunLog};
use crate::error::{BlockRunError, limit_trap};

/// Bytes a guest may hand over in one write.
const WRITE_BUDGET: usize = 64 << 10;

/// One of the run's output streams, writing lines into its log.
#[derive(Clone)]
pub(crate) struct PrintedLines {
    log: RunLog,
    level: LogLevel,
    /// The unfinished last line, and the first bytes printed (for [`Self::head`]).
    state: Arc<Mutex<Printed>>,
}

#[derive(Default)]
struct Printed {
    partial: Vec<u8>,
    head: Vec<u8>,
    head_limit: usize,
}

impl PrintedLines {
    /// Lines at `level` into `log`; the first `head_limit` bytes are also kept as printed.
    pub fn new(log: RunLog, level: LogLevel, head_limit: usize) -> Self {
        let state = Printed { head_limit, ..Printed::default() };
        Self { log, level, state: Arc::new(Mutex::new(state)) }
    }

    /// The first bytes the block printed here (a panic message, to explain a trap).
    pub fn head(&self) -> Vec<u8> {
        self.lock().head.clone()
    }

    /// Logs the last line when it did not end in a newline; the limit it
    /// breaks, if it does not fit (the run then fails with it).
    pub fn finish(&self) -> Result<(), BlockRunError> {
        let rest = std::mem::take(&mut self.lock().partial);
        if rest.is_empty() {
            return Ok(());
        }
        self.log.append(self.level, String::from_utf8_lossy(&rest).into_owned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Printed> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs each line `bytes` completes; keeps the unfinished rest. Only the
    /// new bytes are searched, so many small writes cost linear time.
    fn print(&self, bytes: &[u8]) -> Result<(), BlockRunError> {
        if bytes.len() > WRITE_BUDGET {
            // More than `check-write` allowed: the guest broke the stream's contract.
            return Err(BlockRunError::LogLimit { limit: self.log.byte_limit() });
        }
        let mut printed = self.lock();
        let keep = printed.head_limit.saturating_sub(printed.head.len()).min(bytes.len());
        printed.head.extend_from_slice(&bytes[..keep]);
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut printed.partial);
            line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            let line = String::from_utf8_lossy(&line);
            self.log.append(self.level, line.trim_end_matches('\r').to_string())?;
        }
        printed.partial.extend_from_slice(rest);
        // A line that never ends must not grow past what the log could still hold.
        if printed.partial.len() > self.log.bytes_left() {
            return Err(BlockRunError::LogLimit { limit: self.log.byte_limit() });
        }
        Ok(())
    }
}

impl IsTerminal for PrintedLines {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PrintedLines {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for PrintedLines {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.print(&bytes).map_err(|limit| StreamError::Trap(limit_trap(limit)))
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for PrintedLines {
    async fn ready(&mut self) {}
}

impl AsyncWrite for PrintedLines {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.print(buf).map(|()| buf.len()).map_err(io::Error::other))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
