//! `fetch` through the [`Host`](crate::host::Host): boa_runtime parses the arguments and builds
//! the WHATWG `Request`/`Response`/`Headers`; this fetcher only hands the request to the event
//! loop, which sends it with the host, and turns the reply into a `Response` or Node's
//! `TypeError: fetch failed`.

use crate::event_loop::{FetchQueue, PendingFetch};
use crate::host::HttpRequest;
use boa_engine::{Context, Finalize, JsData, JsError, JsNativeError, JsObject, JsResult, JsString, Trace};
use boa_runtime::fetch::Fetcher;
use boa_runtime::fetch::request::JsRequest;
use boa_runtime::fetch::response::JsResponse;
use std::cell::RefCell;
use std::rc::Rc;
use std::task::Poll;

/// Queues each request for the event loop and waits for the host's reply.
#[derive(Trace, Finalize, JsData)]
pub(crate) struct HostFetcher {
    #[unsafe_ignore_trace]
    pub queue: FetchQueue,
}

impl Fetcher for HostFetcher {
    async fn fetch(
        self: Rc<Self>,
        request: JsRequest,
        _signal: Option<JsObject>,
        _context: &RefCell<&mut Context>,
    ) -> JsResult<JsResponse> {
        let request = request.into_inner();
        let url = request.uri().to_string();
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| Ok((name.to_string(), value.to_str().map_err(JsError::from_rust)?.to_string())))
            .collect::<JsResult<Vec<_>>>()?;
        let body = request.body();
        let pending = HttpRequest {
            method: request.method().to_string(),
            url: url.clone(),
            headers,
            body: (!body.is_empty()).then(|| body.clone()),
            timeout_ms: None,
        };
        let reply = Rc::new(RefCell::new(None));
        self.queue.borrow_mut().push_back(PendingFetch { request: pending, reply: reply.clone() });
        let reply = std::future::poll_fn(|_| reply.borrow_mut().take().map_or(Poll::Pending, Poll::Ready)).await;
        let response = reply.map_err(|e| JsNativeError::typ().with_message(format!("fetch failed: {e}")))?;
        let mut builder = http::Response::builder().status(response.status);
        for (name, value) in &response.headers {
            builder = builder.header(name, value);
        }
        let response = builder.body(response.body).map_err(JsError::from_rust)?;
        Ok(JsResponse::basic(JsString::from(url), response))
    }
}
