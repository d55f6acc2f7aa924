//! The outbound HTTP capability: one shared client whose every connection goes
//! through a policy check on the resolved address, so neither a DNS name that
//! points inside the network nor a redirect to one gets past it.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use crate::bindings::sandflow::block::http::{HttpError, Request, Response};

/// One entry of the server's allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// A host name, exact (`api.internal`) or a subdomain wildcard (`*.corp.example`):
    /// every address it resolves to is allowed.
    Host(String),
    /// An address or network (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`).
    Network(IpNet),
}

impl FromStr for AllowEntry {
    type Err = String;

    /// Parses `10.0.0.0/8`, `127.0.0.1`, `::1`, `api.internal` or `*.corp.example`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Self::Network(net));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self::Network(IpNet::from(ip)));
        }
        let name = text.strip_prefix("*.").unwrap_or(text);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(format!("`{text}` is neither an address, a network nor a host name"));
        }
        Ok(Self::Host(text.to_ascii_lowercase()))
    }
}

/// Where blocks may send HTTP requests, and how much they may take back.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Destinations allowed even though they are loopback, private, link-local
    /// or otherwise internal; and, when `allow_public` is false, the only ones.
    pub allow: Vec<AllowEntry>,
    /// Whether public internet addresses are reachable without an entry.
    pub allow_public: bool,
    /// Timeout of a request that does not set one.
    pub default_timeout: Duration,
    /// Upper bound of any request's timeout (redirects and body included).
    pub max_timeout: Duration,
    /// Largest response body handed back to a block.
    pub max_response_bytes: usize,
    /// Redirects followed per request.
    pub max_redirects: usize,
    /// Requests one block run may send.
    pub max_requests_per_run: u32,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            allow_public: true,
            default_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(30),
            max_response_bytes: 1 << 20,
            max_redirects: 5,
            max_requests_per_run: 32,
        }
    }
}

impl HttpPolicy {
    fn host_entry_matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow.iter().any(|entry| match entry {
            AllowEntry::Host(pattern) => match pattern.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => *pattern == host,
            },
            AllowEntry::Network(_) => false,
        })
    }

    /// Why `ip` may not be reached, or `None` when it may.
    fn refusal(&self, ip: IpAddr) -> Option<String> {
        if self.allow.iter().any(|entry| matches!(entry, AllowEntry::Network(net) if net.contains(&ip))) {
            return None;
        }
        match internal_kind(ip) {
            Some(kind) => Some(format!("{ip} is a {kind} address and is not on the server's allow-list")),
            None if self.allow_public => None,
            None => Some(format!("{ip} is not on the server's allow-list")),
        }
    }
}

/// The kind of non-public address `ip` is, if it is one.
fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_link_local() {
                // 169.254.169.254 is where clouds serve instance metadata and credentials.
                Some("link-local (cloud metadata)")
            } else if v4.is_private() {
                Some("private")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (carrier-grade NAT)")
            } else if a == 0 || v4.is_unspecified() {
                Some("unspecified")
            } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
                Some("multicast or reserved")
            } else if v4.is_documentation() || (a == 198 && (b == 18 || b == 19)) || (a == 192 && b == 0 && c == 0) {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            // An IPv4 address smuggled inside IPv6 (mapped, or NAT64) is judged as IPv4.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_kind(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [_, _, _, _, _, _, hi, lo] = segments;
                let v4 = std::net::Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
                return internal_kind(IpAddr::V4(v4));
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_unicast_link_local() {
                Some("link-local")
            } else if v6.is_unique_local() {
                Some("private (unique local)")
            } else if v6.is_multicast() || segments[0] == 0x2001 && segments[1] == 0xdb8 || segments[0] == 0x100 {
                Some("multicast or reserved")
            } else if segments[..5] == [0, 0, 0, 0, 0] {
                // ::a.b.c.d (deprecated IPv4-compatible) and friends.
                Some("reserved")
            } else {
                None
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> HttpPolicy {
        HttpPolicy { allow: allow.iter().map(|e| e.parse().unwrap()).collect(), ..HttpPolicy::default() }
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_allowed() {
        let open = policy(&[]);
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(open.refusal(ip.parse().unwrap()).is_some(), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert_eq!(open.refusal(ip.parse().unwrap()), None, "{ip} should be allowed");
        }
    }

    #[test]
    fn allow_list_entries_open_networks_and_names() {
        let allowed = policy(&["127.0.0.1", "10.0.0.0/8", "*.corp.example", "api.internal"]);
        assert_eq!(allowed.refusal("127.0.0.1".parse().unwrap()), None);
        assert_eq!(allowed.refusal("10.9.8.7".parse().unwrap()), None);
        assert!(allowed.refusal("127.0.0.2".parse().unwrap()).is_some());
        assert!(allowed.host_entry_matches("db.corp.example"));
        assert!(!allowed.host_entry_matches("corp.example.evil.com"));
        assert!(allowed.host_entry_matches("API.internal."));
        assert!("not a host!".parse::<AllowEntry>().is_err());

        let closed = HttpPolicy { allow_public: false, ..policy(&["10.0.0.0/8"]) };
        assert!(closed.refusal("1.1.1.1".parse().unwrap()).is_some());
        assert_eq!(closed.refusal("10.1.1.1".parse().unwrap()), None);
    }
}
