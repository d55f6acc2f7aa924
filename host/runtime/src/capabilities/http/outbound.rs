//! The shared outbound client: every connection goes through a policy check
//! on the resolved address, so neither a DNS name that points inside the
//! network nor a redirect to one gets past it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::policy::HttpPolicy;
use crate::bindings::sandflow::block::http::{HttpError, Request, Response};

/// A refusal raised inside the resolver, found again in reqwest's error chain.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves names and keeps only the addresses the policy allows, so the
/// connection goes to an address that was checked (no rebinding window).
struct GuardedResolver {
    policy: Arc<HttpPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.host_entry_matches(&host) {
                return Ok(Box::new(resolved.into_iter()) as Addrs);
            }
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match policy.refusal(addr.ip()) {
                    Some(why) => {
                        refusals.push(why);
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                let why = refusals.first().cloned().unwrap_or_else(|| "no address".into());
                return Err(Box::new(Refused(format!("`{host}` resolves to {why}"))) as Box<_>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The shared outbound client of a runtime.
pub(crate) struct OutboundHttp {
    policy: Arc<HttpPolicy>,
    client: reqwest::Client,
}

/// Headers a block may not set: they belong to the connection, or would let a
/// request pretend to be for another host.
const FORBIDDEN_HEADERS: &[&str] =
    &["host", "connection", "content-length", "transfer-encoding", "upgrade", "keep-alive", "te", "trailer"];

impl OutboundHttp {
    pub fn new(policy: HttpPolicy) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
            .connect_timeout(policy.max_timeout)
            .user_agent(concat!("sandflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self { policy, client })
    }

    /// The policy in force.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Sends `request`, following redirects, within `deadline`.
    pub async fn fetch(&self, request: Request, deadline: Instant) -> Result<Response, HttpError> {
        let requested = request.timeout_ms.map(|ms| Duration::from_millis(ms.into()));
        let timeout = requested
            .unwrap_or(self.policy.default_timeout)
            .min(self.policy.max_timeout)
            .min(deadline.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(timeout, self.follow(request)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout(format!("no complete response within {}ms", timeout.as_millis()))),
        }
    }

    async fn follow(&self, request: Request) -> Result<Response, HttpError> {
        let mut method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("`{}` is not an HTTP method", request.method)))?;
        let mut url =
            Url::parse(&request.url).map_err(|e| HttpError::InvalidRequest(format!("url `{}`: {e}", request.url)))?;
        let mut headers = request_headers(&request.headers)?;
        let mut body = request.body;
        let mut redirects = 0;
        loop {
            self.check_url(&url)?;
            let mut builder = self.client.request(method.clone(), url.clone()).headers(headers.clone());
            if let Some(body) = &body {
                builder = builder.body(body.clone());
            }
            let response = builder.send().await.map_err(send_error)?;
            let status = response.status();
            let location = response.headers().get(reqwest::header::LOCATION).cloned();
            if let (true, Some(location)) = (status.is_redirection(), location) {
                redirects += 1;
                if redirects > self.policy.max_redirects {
                    return Err(HttpError::Failed(format!("more than {} redirects", self.policy.max_redirects)));
                }
                let next = location
                    .to_str()
                    .ok()
                    .and_then(|text| url.join(text).ok())
                    .ok_or_else(|| HttpError::Failed("a redirect with an unusable Location header".into()))?;
                if next.origin() != url.origin() {
                    // Credentials meant for one origin never follow a redirect to another.
                    for name in ["authorization", "cookie", "proxy-authorization"] {
                        headers.remove(name);
                    }
                }
                if status == StatusCode::SEE_OTHER
                    || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND) && method == Method::POST)
                {
                    method = Method::GET;
                    body = None;
                    headers.remove(reqwest::header::CONTENT_TYPE);
                }
                url = next;
                continue;
            }
            return self.read(response).await;
        }
    }

    /// The checks that need no DNS: scheme, and a literal address in the URL
    /// (reqwest does not ask the resolver about those).
    fn check_url(&self, url: &Url) -> Result<(), HttpError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::Refused(format!("scheme `{}` is not allowed, only http and https", url.scheme())));
        }
        let literal = match url.host() {
            None => return Err(HttpError::InvalidRequest(format!("url `{url}` has no host"))),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
        };
        match self.policy.refusal(literal) {
            Some(why) => Err(HttpError::Refused(why)),
            None => Ok(()),
        }
    }

    async fn read(&self, mut response: reqwest::Response) -> Result<Response, HttpError> {
        let limit = self.policy.max_response_bytes;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(too_large(limit));
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(send_error)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body })
    }
}

fn too_large(limit: usize) -> HttpError {
    HttpError::TooLarge(format!("the response body is over the limit of {limit} bytes"))
}

fn request_headers(pairs: &[(String, String)]) -> Result<HeaderMap, HttpError> {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("`{name}` is not a valid header name")))?;
        if FORBIDDEN_HEADERS.contains(&header.as_str()) {
            return Err(HttpError::InvalidRequest(format!("header `{name}` is set by the host, not the block")));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| HttpError::InvalidRequest(format!("header `{name}` has a value that is not allowed")))?;
        headers.append(header, value);
    }
    Ok(headers)
}

/// Maps a reqwest failure to the capability's error, finding a policy refusal
/// raised by the resolver inside it.
fn send_error(error: reqwest::Error) -> HttpError {
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        if let Some(Refused(why)) = cause.downcast_ref::<Refused>() {
            return HttpError::Refused(why.clone());
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return HttpError::Timeout(error.to_string());
    }
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        message = format!("{message}: {inner}");
        cause = inner.source();
    }
    HttpError::Failed(message)
}
