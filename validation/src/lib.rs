//! certgate's own validation authority (VA): proves control of a domain name
//! by fetching a file over HTTP, reading a DNS TXT record, or checking a
//! tls-alpn-01 certificate (RFC 8737). The ACME front uses it for http-01,
//! dns-01 and tls-alpn-01 challenges; the XML-RPC front for the legacy DCV of
//! orders whose names are not pre-validated. Ports and the DNS server are
//! configurable, so tests run against a real challenge server on loopback.
//! It also scans installed certificates for monitoring (`scan`, `starttls`,
//! `chain`) and checks CAA (`caa`). It depends on no other certgate crate.
//! One file per way of proving control: `http`, `dns`, `tls_alpn`.

mod caa;
mod chain;
mod dns;
mod http;
mod scan;
mod starttls;
mod tls_alpn;

pub use caa::CaaError;
pub use chain::{ChainVerdict, judge as judge_chain, name_covers};
pub use scan::{ScanError, ScanFailure, TlsScan};
pub use starttls::StartTls;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

/// Where the VA connects and which DNS server it asks.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaSettings {
    /// The port http-01 challenges are fetched from (80 in production).
    pub http_port: u16,
    /// The port tls-alpn-01 challenges are checked on (443 in production).
    pub tls_port: u16,
    /// The DNS server for A, AAAA and TXT lookups; the system's when unset.
    pub dns_server: Option<SocketAddr>,
    /// Seconds one validation may take.
    pub timeout_secs: u64,
    /// Let the VA connect to loopback, private and link-local addresses.
    /// Off by default: a customer's DNS could otherwise point a check at the
    /// gateway's own network. Tests on loopback turn it on.
    pub allow_private_addresses: bool,
}

impl Default for VaSettings {
    fn default() -> VaSettings {
        VaSettings { http_port: 80, tls_port: 443, dns_server: None, timeout_secs: 10, allow_private_addresses: false }
    }
}

/// The validation authority.
pub struct Va {
    settings: VaSettings,
    resolver: Result<Resolver<TokioRuntimeProvider>, String>,
}

/// True for an address on the public internet, false for loopback, private
/// (RFC 1918, unique local), shared (RFC 6598), link-local, unspecified,
/// multicast, broadcast, documentation and "this network" ones: where
/// certgate's outbound checks and webhooks must not be pointed.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let v4 = |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            match v6.to_ipv4_mapped() {
                Some(v4) => is_public(IpAddr::V4(v4)),
                // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4
                // address that a gateway reaches: judged by that address.
                None if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => is_public(v4(s[6], s[7])),
                // The local-use NAT64 prefix (RFC 8215) and SIIT's
                // ::ffff:0:a.b.c.d reach whatever the site translates them to.
                None if s[..3] == [0x64, 0xff9b, 1] || s[..6] == [0, 0, 0, 0, 0xffff, 0] => false,
                None if s[0] == 0x2002 => is_public(v4(s[1], s[2])),
                None => {
                    !(v6.is_loopback()
                        || v6.is_unspecified()
                        || v6.is_multicast()
                        // IPv4-compatible (deprecated) addresses, ::a.b.c.d.
                        || s[..6] == [0; 6]
                        || (s[0] & 0xfe00) == 0xfc00
                        || (s[0] & 0xffc0) == 0xfe80
                        // Site-local (deprecated, still routed inside some sites).
                        || (s[0] & 0xffc0) == 0xfec0)
                }
            }
        }
    }
}

impl Va {
    /// A VA with these ports and DNS server.
    pub fn new(settings: VaSettings) -> Va {
        let builder = match settings.dns_server {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                Ok(Resolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], vec![ns]),
                    TokioRuntimeProvider::default(),
                ))
            }
            None => Resolver::builder_tokio().map_err(|e| format!("no system DNS configuration: {e}")),
        };
        let resolver = builder.and_then(|mut b| {
            // Challenge records change while clients retry: never serve them from a cache.
            b.options_mut().cache_size = 0;
            b.build().map_err(|e| e.to_string())
        });
        Va { settings, resolver }
    }

    /// Checks one challenge of `kind` for `name`; the error says what was
    /// found instead, for the client's problem document.
    pub async fn validate(&self, kind: &str, name: &str, key_authz: &str) -> Result<(), String> {
        let work = async {
            match kind {
                "http-01" => self.http01(name, key_authz).await,
                "dns-01" => self.dns01(name, key_authz).await,
                "tls-alpn-01" => self.tls_alpn01(name, key_authz).await,
                other => Err(format!("unknown challenge type {other}")),
            }
        };
        self.timed(&format!("{kind} validation of {name}"), work).await
    }

    fn resolver(&self) -> Result<&Resolver<TokioRuntimeProvider>, String> {
        self.resolver.as_ref().map_err(Clone::clone)
    }

    async fn address(&self, name: &str) -> Result<IpAddr, String> {
        let ips =
            self.resolver()?.lookup_ip(format!("{name}.")).await.map_err(|e| format!("DNS lookup of {name}: {e}"))?;
        let first = ips.iter().next().ok_or_else(|| format!("{name} has no address"))?;
        if self.settings.allow_private_addresses {
            return Ok(first);
        }
        ips.iter().find(|ip| is_public(*ip)).ok_or_else(|| {
            format!("{name} resolves to {first}, a loopback, private or link-local address, which the VA does not connect to")
        })
    }

    async fn timed(
        &self,
        what: &str,
        work: impl std::future::Future<Output = Result<(), String>>,
    ) -> Result<(), String> {
        tokio::time::timeout(Duration::from_secs(self.settings.timeout_secs), work)
            .await
            .unwrap_or_else(|_| Err(format!("{what} timed out")))
    }
}

/// The system's trusted roots (DER), read once; none when it has no store.
pub fn system_roots() -> &'static [Vec<u8>] {
    static ROOTS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs.into_iter().map(|c| c.to_vec()).collect())
}

fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "169.254.169.254",
            "198.18.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "224.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "::7f00:1",
            "64:ff9b:1::a9fe:a9fe",
            "fec0::1",
            "::ffff:0:a9fe:a9fe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "100.128.0.1",
            "2001:db8::1",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
