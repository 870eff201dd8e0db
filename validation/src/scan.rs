//! Scans of installed certificates (seed 12; docs/monitoring.md): connect to
//! a host's port, negotiate TLS (after a StartTLS exchange where the service
//! speaks one), and take the chain it serves and the protocol versions it
//! accepts. One connection at a time, each bounded by the VA's timeout and
//! refused towards private addresses as every VA check is. What the chain
//! is worth is judged apart (`chain`), so a scan only talks to the network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Va;
use crate::starttls::StartTls;
use crate::tls_alpn::AnyCertificate;

/// What a scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsScan {
    /// The certificates the server sent, leaf first (DER); empty when it
    /// spoke TLS 1.0 or 1.1 only.
    pub chain: Vec<Vec<u8>>,
    /// The protocol versions the server accepted, oldest first (`1.0` to `1.3`).
    pub versions: Vec<&'static str>,
}

/// Where a scan failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanFailure {
    /// The name has no usable address.
    Dns,
    /// The TCP connection was refused or reset.
    Connect,
    /// The service did not agree to StartTLS.
    Starttls,
    /// The TLS handshake failed.
    Handshake,
    /// The server did not answer in time.
    Timeout,
}

impl ScanFailure {
    /// Its word in results and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanFailure::Dns => "dns",
            ScanFailure::Connect => "connect",
            ScanFailure::Starttls => "starttls",
            ScanFailure::Handshake => "handshake",
            ScanFailure::Timeout => "timeout",
        }
    }
}

/// A failed scan: its class and what happened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScanError {
    /// Where it failed.
    pub class: ScanFailure,
    /// What happened, for people.
    pub detail: String,
}

fn fail(class: ScanFailure, detail: impl Into<String>) -> ScanError {
    ScanError { class, detail: crate::truncate(&detail.into()) }
}

/// The legacy versions probed with a hand-made ClientHello, since rustls
/// speaks neither: their wire codes.
const LEGACY: [(&str, u16); 2] = [("1.0", 0x0301), ("1.1", 0x0302)];

impl Va {
    /// The address a scan of `host` connects to: resolved once, so that
    /// every connection of the scan goes where it was checked to go.
    pub async fn scan_address(&self, host: &str) -> Result<IpAddr, ScanError> {
        self.address(host).await.map_err(|e| fail(ScanFailure::Dns, e))
    }

    /// Scans `host` at `ip:port`: one handshake that takes the served chain,
    /// then one connection per TLS version to learn which the server
    /// accepts. A server that speaks none of the versions rustls does is
    /// still probed for TLS 1.0 and 1.1: then the chain is empty.
    pub async fn scan_tls(&self, host: &str, ip: IpAddr, port: u16, starttls: StartTls) -> Result<TlsScan, ScanError> {
        let addr = SocketAddr::new(ip, port);
        let first = self.handshake(addr, host, starttls, None).await;
        if let Err(e) = &first
            && e.class != ScanFailure::Handshake
        {
            return Err(e.clone());
        }
        let mut versions = Vec::new();
        for (name, code) in LEGACY {
            if self.legacy_accepted(addr, host, starttls, code).await {
                versions.push(name);
            }
        }
        let chain = match first {
            Ok(chain) => chain,
            Err(_) if !versions.is_empty() => {
                return Ok(TlsScan { chain: Vec::new(), versions });
            }
            Err(e) => return Err(e),
        };
        for (name, version) in [("1.2", &rustls::version::TLS12), ("1.3", &rustls::version::TLS13)] {
            if self.handshake(addr, host, starttls, Some(version)).await.is_ok() {
                versions.push(name);
            }
        }
        Ok(TlsScan { chain, versions })
    }

    /// Connects and, where the service needs it, negotiates StartTLS.
    async fn open(&self, addr: SocketAddr, host: &str, starttls: StartTls) -> Result<TcpStream, ScanError> {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| fail(ScanFailure::Connect, format!("connecting to {addr}: {e}")))?;
        crate::starttls::negotiate(&mut stream, starttls, host)
            .await
            .map_err(|e| fail(ScanFailure::Starttls, format!("{starttls} at {addr}: {e}")))?;
        Ok(stream)
    }

    /// One TLS handshake (of `version` alone, when given); the served chain.
    async fn handshake(
        &self,
        addr: SocketAddr,
        host: &str,
        starttls: StartTls,
        version: Option<&'static rustls::SupportedProtocolVersion>,
    ) -> Result<Vec<Vec<u8>>, ScanError> {
        let work = async {
            let stream = self.open(addr, host, starttls).await?;
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let all = [&rustls::version::TLS12, &rustls::version::TLS13];
            let versions: Vec<_> = version.map_or(all.to_vec(), |v| vec![v]);
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&versions)
                .map_err(|e| fail(ScanFailure::Handshake, e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate))
                .with_no_client_auth();
            let name =
                ServerName::try_from(host.to_string()).map_err(|e| fail(ScanFailure::Handshake, e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, stream)
                .await
                .map_err(|e| fail(ScanFailure::Handshake, format!("TLS with {addr}: {e}")))?;
            let (_, conn) = tls.get_ref();
            let chain: Vec<Vec<u8>> = conn.peer_certificates().unwrap_or_default().iter().map(|c| c.to_vec()).collect();
            if chain.is_empty() {
                return Err(fail(ScanFailure::Handshake, format!("{addr} presented no certificate")));
            }
            Ok(chain)
        };
        self.bounded(addr, work).await
    }

    /// Whether the server answers a ClientHello of legacy `version` with a
    /// ServerHello of that version.
    async fn legacy_accepted(&self, addr: SocketAddr, host: &str, starttls: StartTls, version: u16) -> bool {
        let work = async {
            let mut stream = self.open(addr, host, starttls).await?;
            let io = |e: std::io::Error| fail(ScanFailure::Handshake, e.to_string());
            stream.write_all(&legacy_client_hello(version, host)).await.map_err(io)?;
            let mut header = [0u8; 5];
            stream.read_exact(&mut header).await.map_err(io)?;
            // A handshake record whose first message is a ServerHello (2).
            let mut body = [0u8; 6];
            if header[0] != 22 || u16::from_be_bytes([header[3], header[4]]) < 6 {
                return Ok(false);
            }
            stream.read_exact(&mut body).await.map_err(io)?;
            Ok(body[0] == 2 && u16::from_be_bytes([body[4], body[5]]) == version)
        };
        self.bounded(addr, work).await.unwrap_or(false)
    }

    async fn bounded<T>(
        &self,
        addr: SocketAddr,
        work: impl std::future::Future<Output = Result<T, ScanError>>,
    ) -> Result<T, ScanError> {
        tokio::time::timeout(Duration::from_secs(self.settings.timeout_secs), work)
            .await
            .unwrap_or_else(|_| Err(fail(ScanFailure::Timeout, format!("{addr} did not answer in time"))))
    }
}

/// A TLS 1.0 or 1.1 ClientHello for `host`, offering the CBC suites such
/// servers speak with ECDHE and RSA key exchange.
fn legacy_client_hello(version: u16, host: &str) -> Vec<u8> {
    let mut random = [0u8; 32];
    aws_lc_rs::rand::fill(&mut random).expect("system random source");
    let suites: [u16; 7] = [0xc014, 0xc013, 0xc00a, 0xc009, 0x0035, 0x002f, 0x000a];
    let with_len = |bytes: &[u8]| [&(bytes.len() as u16).to_be_bytes()[..], bytes].concat();
    let name = host.as_bytes();
    let sni = with_len(&[&[0u8][..], &with_len(name)].concat());
    let extensions = [
        &[0x00, 0x00][..],
        &with_len(&sni),
        // Supported groups: P-256, P-384, X25519; point formats: uncompressed;
        // an empty renegotiation_info.
        &[0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x17, 0x00, 0x18, 0x00, 0x1d],
        &[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00],
        &[0xff, 0x01, 0x00, 0x01, 0x00],
    ]
    .concat();
    let suites: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
    let body =
        [&version.to_be_bytes()[..], &random, &[0], &with_len(&suites), &[1, 0], &with_len(&extensions)].concat();
    let len = body.len() as u32;
    let handshake = [&[1u8][..], &len.to_be_bytes()[1..], &body].concat();
    [&[22u8, 0x03, 0x01][..], &with_len(&handshake)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_client_hello_is_well_formed() {
        let hello = legacy_client_hello(0x0301, "www.example.test");
        assert_eq!(&hello[..3], &[22, 3, 1], "a handshake record");
        let record = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(record, hello.len() - 5);
        assert_eq!(hello[5], 1, "a ClientHello");
        let body = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(body, record - 4);
        assert_eq!(&hello[9..11], &[3, 1], "version 1.0");
        assert!(hello.windows(16).any(|w| w == b"www.example.test"), "SNI");
    }
}
