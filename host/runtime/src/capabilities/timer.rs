//! The timer capability: `timer.sleep` waits in the host without burning
//! fuel, only as long as the run may block; a longer wait is the block's cue
//! to pause with `resume-after-ms` instead.

use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};

use super::waiting::{WAIT_MARGIN, wait_unless_cancelled};
use crate::bindings::sandflow::block::timer;
use crate::cancel::CancelFlag;

/// The timer of one run.
pub(crate) struct Timer {
    /// When the run's wall-clock budget ends.
    deadline: Instant,
    /// Longest wait `timer.sleep` performs in the host.
    max_wait: Duration,
    cancel: Option<CancelFlag>,
}

impl Timer {
    pub fn new(deadline: Instant, max_wait: Duration, cancel: Option<CancelFlag>) -> Self {
        Self { deadline, max_wait, cancel }
    }
}

impl timer::Host for Timer {
    async fn sleep(&mut self, ms: u64) -> wasmtime::Result<bool> {
        let wait = Duration::from_millis(ms);
        let left = self.deadline.saturating_duration_since(Instant::now());
        if wait > self.max_wait || wait + WAIT_MARGIN > left {
            return Ok(false);
        }
        wait_unless_cancelled(self.cancel.as_ref(), tokio::time::sleep(wait)).await?;
        Ok(true)
    }
}

/// Links `sandflow:block/timer`; `get` finds the run's [`Timer`] in the store.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Timer,
) -> wasmtime::Result<()> {
    timer::add_to_linker::<T, HasSelf<Timer>>(linker, get)
}
