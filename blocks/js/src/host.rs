//! What JavaScript may ask of the world outside the guest: the block implements [`Host`] with
//! the SDK's `Context` (whose capabilities the host enforces), native tests with a fake.

pub use sandflow_sdk::{HttpError, HttpRequest, HttpResponse};

/// The capabilities the event loop drives: outbound HTTP, waiting, and a monotonic clock.
pub trait Host {
    /// Sends `request`; the host applies its destination policy, timeout and size cap.
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;
    /// Waits `ms` milliseconds without burning fuel; false when the wait is refused.
    fn sleep_ms(&self, ms: u64) -> bool;
    /// Milliseconds on a monotonic clock, the timeline timers are scheduled on.
    fn now_ms(&self) -> u64;
}
