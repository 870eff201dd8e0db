//! What the client saw: the scheme and host it used and its own address,
//! believed from `Forwarded` / `X-Forwarded-*` headers only when the direct
//! peer is a configured trusted proxy. Shared by both fronts, so that the
//! ACME URLs, the XML-RPC answers, the audit log and the rate limits all
//! see the same client. Depends on `http` only.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, header};

/// An IP address or a CIDR block of trusted proxies (`10.0.0.0/8`, `::1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpBlock {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpBlock {
    type Err = String;
    fn from_str(s: &str) -> Result<IpBlock, String> {
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = ip.trim().parse().map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix in {s:?}"))?
            }
            None => max,
        };
        Ok(IpBlock { addr, prefix })
    }
}

impl IpBlock {
    /// True when `ip` lies in this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// Marks a request that reached certgate over its own TLS listener. The
/// server inserts it as a request extension, which no header can forge, so
/// the URLs certgate builds say `https` without a proxy telling it so.
#[derive(Clone, Copy, Debug, Default)]
pub struct Https;

/// The request as the client made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// `scheme://host[:port]` the client used.
    pub base: String,
    /// The client's address (the proxy's own when it is not trusted).
    pub ip: IpAddr,
}

fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()?.split(',').next().map(str::trim).filter(|v| !v.is_empty())
}

/// A parameter of the first element of a `Forwarded` header (RFC 7239).
fn forwarded(headers: &HeaderMap, key: &str) -> Option<String> {
    let first = headers.get(header::FORWARDED)?.to_str().ok()?.split(',').next()?;
    first.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The addresses a chain of proxies reported, client first.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let parse = |s: &str| {
        let s = s.trim().trim_matches('"');
        let s = s.strip_prefix('[').and_then(|r| r.split(']').next()).unwrap_or(s);
        s.parse::<IpAddr>().ok().or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
    };
    if let Some(f) = headers.get(header::FORWARDED).and_then(|v| v.to_str().ok()) {
        return f
            .split(',')
            .filter_map(|el| el.split(';').find_map(|p| p.trim().strip_prefix("for=").and_then(parse)))
            .collect();
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').filter_map(parse).collect())
        .unwrap_or_default()
}

/// The body length a request declares in `Content-Length`, so that a front
/// can refuse a body past its limit before reading it.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Works out what the client saw. `public_url`, when configured, is the base;
/// `scheme` is the one the connection itself used (`https` over certgate's own TLS).
pub fn client_view(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &[IpBlock],
    public_url: Option<&str>,
    scheme: &str,
) -> ClientView {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|b| b.contains(ip));
    let host_header = || headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_string();
    if !is_trusted(peer.ip()) {
        let base = public_url.map(str::to_string).unwrap_or_else(|| format!("{scheme}://{}", host_header()));
        return ClientView { base: base.trim_end_matches('/').to_string(), ip: peer.ip() };
    }
    // The client is the last address, from the right, that is not a trusted proxy.
    let chain = forwarded_for(headers);
    let ip = chain.iter().rev().copied().find(|ip| !is_trusted(*ip)).or(chain.first().copied()).unwrap_or(peer.ip());
    let base = match public_url {
        Some(u) => u.to_string(),
        None => {
            let proto = forwarded(headers, "proto")
                .or_else(|| first_value(headers, "x-forwarded-proto").map(str::to_string))
                .filter(|p| p == "http" || p == "https")
                .unwrap_or_else(|| scheme.into());
            let host = forwarded(headers, "host")
                .or_else(|| first_value(headers, "x-forwarded-host").map(str::to_string))
                .unwrap_or_else(host_header);
            format!("{proto}://{host}")
        }
    };
    ClientView { base: base.trim_end_matches('/').to_string(), ip }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn blocks_match_addresses() {
        let b: IpBlock = "10.0.0.0/8".parse().unwrap();
        assert!(b.contains("10.1.2.3".parse().unwrap()));
        assert!(!b.contains("11.0.0.1".parse().unwrap()));
        assert!(b.contains("::ffff:10.0.0.1".parse().unwrap()), "IPv4-mapped IPv6");
        let one: IpBlock = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()) && !one.contains("::2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpBlock>().is_err() && "nope".parse::<IpBlock>().is_err());
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpBlock> = vec!["127.0.0.1".parse().unwrap()];
        let h = headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "certs.example.com"),
            ("x-forwarded-for", "203.0.113.7, 127.0.0.1"),
        ]);
        let proxy: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let v = client_view(proxy, &h, &trusted, None, "http");
        assert_eq!(v, ClientView { base: "https://certs.example.com".into(), ip: "203.0.113.7".parse().unwrap() });
        let stranger: SocketAddr = "198.51.100.9:5555".parse().unwrap();
        let v = client_view(stranger, &h, &trusted, None, "http");
        assert_eq!(v, ClientView { base: "http://10.0.0.5:8080".into(), ip: stranger.ip() }, "spoofed headers ignored");
        let f = headers(&[("host", "x"), ("forwarded", "for=\"[2001:db8::1]:4711\";proto=https;host=acme.example")]);
        let v = client_view(proxy, &f, &trusted, None, "http");
        assert_eq!(v, ClientView { base: "https://acme.example".into(), ip: "2001:db8::1".parse().unwrap() });
    }

    #[test]
    fn the_connection_scheme_is_the_default() {
        let h = headers(&[("host", "localhost:8443"), ("x-forwarded-proto", "http")]);
        let stranger: SocketAddr = "198.51.100.9:5555".parse().unwrap();
        let v = client_view(stranger, &h, &[], None, "https");
        assert_eq!(v.base, "https://localhost:8443", "over TLS, an untrusted forwarded proto changes nothing");
        let trusted: Vec<IpBlock> = vec!["127.0.0.1".parse().unwrap()];
        let proxy: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let v = client_view(proxy, &headers(&[("host", "localhost:8443")]), &trusted, None, "https");
        assert_eq!(v.base, "https://localhost:8443", "a trusted proxy that names no proto used TLS itself");
    }
}
