//! certgate's own validation authority (VA): proves control of a domain name
//! by fetching a file over HTTP, reading a DNS TXT record, or checking a
//! tls-alpn-01 certificate (RFC 8737). The ACME front uses it for http-01,
//! dns-01 and tls-alpn-01 challenges; the XML-RPC front for the legacy DCV of
//! orders whose names are not pre-validated. Ports and the DNS server are
//! configurable, so tests run against a real challenge server on loopback.
//! It depends on no other certgate crate.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

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
/// (RFC 1918, unique local), shared (RFC 6598), link-local and unspecified ones.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// The acmeIdentifier extension of RFC 8737.
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

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

    async fn http01(&self, name: &str, key_authz: &str) -> Result<(), String> {
        let token = key_authz.split('.').next().unwrap_or("");
        self.fetch_expecting(name, &format!("/.well-known/acme-challenge/{token}"), key_authz).await
    }

    /// Checks that `http://<name><path>` (on the configured HTTP port) holds
    /// `expected`, give or take trailing white space.
    pub async fn http_file(&self, name: &str, path: &str, expected: &str) -> Result<(), String> {
        self.timed(&format!("HTTP check of {name}"), self.fetch_expecting(name, path, expected)).await
    }

    async fn fetch_expecting(&self, name: &str, path: &str, expected: &str) -> Result<(), String> {
        let addr = SocketAddr::new(self.address(name).await?, self.settings.http_port);
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP to {addr}: {e}"))?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, name)
            .header(hyper::header::USER_AGENT, "certgate-va")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| format!("HTTP GET http://{name}{path}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("http://{name}{path} answered {}", resp.status()));
        }
        let body = Limited::new(resp.into_body(), 4096)
            .collect()
            .await
            .map_err(|e| format!("reading http://{name}{path}: {e}"))?
            .to_bytes();
        let got = String::from_utf8_lossy(&body);
        if got.trim_end() == expected {
            Ok(())
        } else {
            Err(format!("http://{name}{path} holds {:?}, not the expected value", truncate(&got)))
        }
    }

    async fn dns01(&self, name: &str, key_authz: &str) -> Result<(), String> {
        let expected = URL_SAFE_NO_PAD.encode(digest(&SHA256, key_authz.as_bytes()));
        self.txt_expecting(&format!("_acme-challenge.{name}."), &expected).await
    }

    /// Checks that the TXT record `record` holds `expected` among its values.
    pub async fn dns_txt(&self, record: &str, expected: &str) -> Result<(), String> {
        self.timed(&format!("DNS check of {record}"), self.txt_expecting(record, expected)).await
    }

    async fn txt_expecting(&self, record: &str, expected: &str) -> Result<(), String> {
        let txt = self.resolver()?.txt_lookup(record).await.map_err(|e| format!("TXT lookup of {record}: {e}"))?;
        let values: Vec<String> = txt
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                hickory_resolver::proto::rr::RData::TXT(t) => {
                    Some(t.txt_data.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect::<String>())
                }
                _ => None,
            })
            .collect();
        if values.iter().any(|v| v == expected) {
            Ok(())
        } else {
            Err(format!("{record} holds {values:?}, not the expected value"))
        }
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

    async fn tls_alpn01(&self, name: &str, key_authz: &str) -> Result<(), String> {
        let addr = SocketAddr::new(self.address(name).await?, self.settings.tls_port);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"acme-tls/1".to_vec()];
        let server_name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connecting to {addr}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(server_name, stream)
            .await
            .map_err(|e| format!("TLS with {addr} for {name}: {e}"))?;
        let (_, conn) = tls.get_ref();
        if conn.alpn_protocol() != Some(b"acme-tls/1") {
            return Err(format!("{addr} did not negotiate the acme-tls/1 protocol"));
        }
        let cert = conn.peer_certificates().and_then(|c| c.first()).ok_or("no certificate presented")?;
        check_alpn_certificate(cert, name, key_authz)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

/// Checks a tls-alpn-01 certificate: exactly the name as its one
/// subjectAltName, and a critical acmeIdentifier with the digest.
fn check_alpn_certificate(cert: &CertificateDer<'_>, name: &str, key_authz: &str) -> Result<(), String> {
    let (_, x) = X509Certificate::from_der(cert).map_err(|e| format!("bad tls-alpn-01 certificate: {e}"))?;
    let expected = digest(&SHA256, key_authz.as_bytes());
    let mut san_ok = false;
    let mut id_ok = false;
    for ext in x.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            san_ok = matches!(san.general_names.as_slice(), [GeneralName::DNSName(n)] if n.eq_ignore_ascii_case(name));
        }
        if ext.oid.to_id_string() == ACME_IDENTIFIER_OID {
            // The value is a DER OCTET STRING holding the SHA-256 digest.
            let v = ext.value;
            id_ok = ext.critical && v.len() == 34 && v[0] == 0x04 && v[1] == 32 && &v[2..] == expected.as_ref();
        }
    }
    match (san_ok, id_ok) {
        (true, true) => Ok(()),
        (false, _) => Err(format!("the tls-alpn-01 certificate must name exactly {name}")),
        (_, false) => {
            Err("the tls-alpn-01 certificate lacks a critical acmeIdentifier with the key authorization digest".into())
        }
    }
}

/// Verifies a handshake signature with the certificate's key. webpki would
/// refuse the certificate itself, whose acmeIdentifier extension is critical
/// and unknown to it, so the key is taken out with x509-parser.
fn verify_handshake(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    use aws_lc_rs::signature as sig;
    let bad = |why: &str| rustls::Error::General(format!("tls-alpn-01 handshake: {why}"));
    let (_, x) = X509Certificate::from_der(cert).map_err(|_| bad("unparsable certificate"))?;
    let key = x.public_key().subject_public_key.data.as_ref();
    let alg: &dyn sig::VerificationAlgorithm = match dss.scheme {
        SignatureScheme::ECDSA_NISTP256_SHA256 => &sig::ECDSA_P256_SHA256_ASN1,
        SignatureScheme::ECDSA_NISTP384_SHA384 => &sig::ECDSA_P384_SHA384_ASN1,
        SignatureScheme::RSA_PSS_SHA256 => &sig::RSA_PSS_2048_8192_SHA256,
        SignatureScheme::RSA_PSS_SHA384 => &sig::RSA_PSS_2048_8192_SHA384,
        SignatureScheme::RSA_PKCS1_SHA256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        SignatureScheme::RSA_PKCS1_SHA384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        SignatureScheme::ED25519 => &sig::ED25519,
        other => return Err(bad(&format!("unsupported scheme {other:?}"))),
    };
    sig::UnparsedPublicKey::new(alg, key)
        .verify(message, dss.signature())
        .map(|_| HandshakeSignatureValid::assertion())
        .map_err(|_| bad("the signature does not verify with the certificate's key"))
}

/// Accepts any server certificate: tls-alpn-01 checks its contents instead,
/// but handshake signatures are still verified.
#[derive(Debug)]
struct AnyCertificate;

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_handshake(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::ED25519,
        ]
    }
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
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "100.128.0.1", "2001:db8::1", "::ffff:93.184.216.34"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
