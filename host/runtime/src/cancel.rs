//! Cancelling a run from outside: the flag, and waits that end when it is raised.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A flag that stops a run at the next epoch tick once raised.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl From<Arc<AtomicBool>> for CancelFlag {
    /// Shares a flag the caller already raises (the engine's cancellation).
    fn from(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }
}

impl CancelFlag {
    /// Asks every run holding this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelFlag::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A wait ended because its run was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cancelled;

/// Runs `work` unless `cancel` is raised first, looking at the flag (a plain
/// atomic, nothing wakes on it) every `poll`. Without a flag, `work` runs to
/// its end.
pub(crate) async fn unless_cancelled<T>(
    cancel: Option<&CancelFlag>,
    poll: Duration,
    work: impl Future<Output = T>,
) -> Result<T, Cancelled> {
    let Some(cancel) = cancel else {
        return Ok(work.await);
    };
    let cancelled = async {
        while !cancel.is_cancelled() {
            tokio::time::sleep(poll).await;
        }
    };
    tokio::select! {
        done = work => Ok(done),
        () = cancelled => Err(Cancelled),
    }
}
