//! TLS-ALPN validation: tls-alpn-01 (RFC 8737), a handshake with the
//! `acme-tls/1` protocol whose self-signed certificate carries the key
//! authorization's digest.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Va;

/// The acmeIdentifier extension of RFC 8737.
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

impl Va {
    /// Checks a tls-alpn-01 challenge on the name's TLS port.
    pub(crate) async fn tls_alpn01(&self, name: &str, key_authz: &str) -> Result<(), String> {
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
pub(crate) struct AnyCertificate;

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
