//! Where the outbound HTTP capability may go: the server's allow-list, and
//! which addresses count as internal (refused unless allow-listed).

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

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
    /// Whether `host` is allowed by name, whatever it resolves to.
    pub(super) fn host_entry_matches(&self, host: &str) -> bool {
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
    pub(super) fn refusal(&self, ip: IpAddr) -> Option<String> {
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
