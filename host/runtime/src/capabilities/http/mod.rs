//! The outbound HTTP capability: `http.fetch` through one shared client that
//! checks every destination against the server's policy (see [`policy`] and
//! [`outbound`]), at most so many requests per run.

mod outbound;
pub(crate) mod policy;

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker};

pub(crate) use self::outbound::OutboundHttp;
pub use self::policy::{AllowEntry, HttpPolicy};
use super::hostcall::HostCallLimit;
use super::waiting::{WAIT_MARGIN, wait_unless_cancelled};
use crate::bindings::sandflow::block::http;
use crate::cancel::CancelFlag;
use crate::limits::RunLimits;

/// The outbound requests of one run.
pub(crate) struct HttpRequests {
    outbound: Arc<OutboundHttp>,
    /// Requests this run sent so far.
    sent: u32,
    /// When the run's wall-clock budget ends.
    deadline: Instant,
    cancel: Option<CancelFlag>,
    hostcall: HostCallLimit,
}

impl HttpRequests {
    pub fn new(outbound: Arc<OutboundHttp>, deadline: Instant, cancel: Option<CancelFlag>, limits: &RunLimits) -> Self {
        Self { outbound, sent: 0, deadline, cancel, hostcall: HostCallLimit::of(limits) }
    }
}

impl http::Host for HttpRequests {
    async fn fetch(&mut self, request: http::Request) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let size = request.url.len()
            + request.method.len()
            + request.headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
            + request.body.as_ref().map_or(0, Vec::len);
        self.hostcall.check("http.fetch", size)?;
        let allowed = self.outbound.policy().max_requests_per_run;
        if self.sent >= allowed {
            return Ok(Err(http::HttpError::Refused(format!("this run already sent its {allowed} requests"))));
        }
        self.sent += 1;
        let deadline = self.deadline.checked_sub(WAIT_MARGIN).unwrap_or(self.deadline);
        wait_unless_cancelled(self.cancel.as_ref(), self.outbound.fetch(request, deadline)).await
    }
}

/// Links `sandflow:block/http`; `get` finds the run's [`HttpRequests`] in the store.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut HttpRequests,
) -> wasmtime::Result<()> {
    http::add_to_linker::<T, HasSelf<HttpRequests>>(linker, get)
}
