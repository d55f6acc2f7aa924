//! Waits in the host (`timer.sleep`, `http.fetch`): they burn no fuel, end
//! when the run is cancelled, and leave the block time to return.

use std::time::Duration;

use crate::cancel::{CancelFlag, unless_cancelled};
use crate::error::{BlockRunError, limit_trap};

/// How often a host-side wait looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(5);
/// Time left for the block to return after a host-side wait ends.
pub(crate) const WAIT_MARGIN: Duration = Duration::from_millis(100);

/// Runs `work` unless the run is cancelled first; a cancelled wait ends the
/// run with [`BlockRunError::Cancelled`].
pub(crate) async fn wait_unless_cancelled<T>(
    cancel: Option<&CancelFlag>,
    work: impl Future<Output = T>,
) -> wasmtime::Result<T> {
    unless_cancelled(cancel, CANCEL_POLL, work).await.map_err(|_| limit_trap(BlockRunError::Cancelled))
}
