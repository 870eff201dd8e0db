//! Certificate signing requests: decoding (PEM with either armour, DER, bare
//! base64), signature check, key strength, and the names they carry.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::{OrderError, Result};

/// A CSR that decoded and whose key is strong enough; its signature verified,
/// unless it was only [read](Csr::read).
#[derive(Clone, Debug)]
pub struct Csr {
    /// The DER encoding.
    pub der: Vec<u8>,
    /// The SubjectPublicKeyInfo, DER.
    pub public_key_der: Vec<u8>,
    /// The subject's common name, lower-cased, if any.
    pub common_name: Option<String>,
    /// The DNS names of the subjectAltName extension request, lower-cased.
    pub dns_names: Vec<String>,
    /// A short description of the key, for messages (`RSA 2048`, `ECDSA P-256`).
    pub key: String,
}

impl Csr {
    /// Decodes and checks a CSR given as PEM (`CERTIFICATE REQUEST` or
    /// `NEW CERTIFICATE REQUEST` armour, any line ends), DER, or bare base64.
    pub fn parse(input: &[u8]) -> Result<Csr> {
        Csr::check(input, true)
    }

    /// Decodes and checks a CSR as [`Csr::parse`] does, but leaves its
    /// signature unchecked: for a front that looks at the names and the key
    /// before it hands the CSR to an order, which checks the signature (an
    /// ECDSA verification is most of a CSR's cost; it is done once).
    pub fn read(input: &[u8]) -> Result<Csr> {
        Csr::check(input, false)
    }

    fn check(input: &[u8], verify: bool) -> Result<Csr> {
        let der = decode(input)?;
        let (rest, req) = X509CertificationRequest::from_der(&der)
            .map_err(|e| OrderError::BadCsr(format!("not a PKCS#10 request: {e}")))?;
        if !rest.is_empty() {
            return Err(OrderError::BadCsr("trailing bytes after the request".into()));
        }
        let info = &req.certification_request_info;
        let spki = &info.subject_pki;
        let key = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let bits = rsa.key_size();
                if bits < 2048 {
                    return Err(OrderError::WeakKey(format!("RSA {bits} bits; at least 2048 are needed")));
                }
                format!("RSA {bits}")
            }
            Ok(PublicKey::EC(_)) => {
                let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
                match curve {
                    Some(oid) if oid == OID_EC_P256 => "ECDSA P-256".to_string(),
                    Some(oid) if oid == OID_NIST_EC_P384 => "ECDSA P-384".to_string(),
                    _ => return Err(OrderError::WeakKey("only the ECDSA curves P-256 and P-384 are accepted".into())),
                }
            }
            _ => {
                return Err(OrderError::WeakKey("the key must be RSA (2048 bits or more) or ECDSA P-256/P-384".into()));
            }
        };
        // After the key check: the verifier refuses weak keys with a vaguer message.
        if verify {
            req.verify_signature().map_err(|e| OrderError::BadCsr(format!("its signature does not verify: {e}")))?;
        }
        let common_name =
            info.subject.iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_ascii_lowercase);
        let mut dns_names = Vec::new();
        if let Some(exts) = req.requested_extensions() {
            for ext in exts {
                if let ParsedExtension::SubjectAlternativeName(san) = ext {
                    for gn in &san.general_names {
                        match gn {
                            GeneralName::DNSName(n) => dns_names.push(n.to_ascii_lowercase()),
                            other => {
                                return Err(OrderError::BadCsr(format!(
                                    "only DNS names are accepted in subjectAltName, found {other}"
                                )));
                            }
                        }
                    }
                }
            }
        }
        Ok(Csr { public_key_der: spki.raw.to_vec(), der: der.clone(), common_name, dns_names, key })
    }

    /// Every distinct name the CSR asks for: the CN first, then the SANs.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.common_name.iter().cloned().collect();
        for n in &self.dns_names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }

    /// The request as `CERTIFICATE REQUEST` PEM, as stored with the order.
    pub fn pem(&self) -> String {
        upstream::pem("CERTIFICATE REQUEST", &self.der)
    }
}

fn decode(input: &[u8]) -> Result<Vec<u8>> {
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let text = std::str::from_utf8(input).map_err(|_| OrderError::BadCsr("neither PEM, DER nor base64".into()))?;
    let text = text.trim();
    let body = if let Some(start) = text.find("-----BEGIN ") {
        let after = &text[start + 11..];
        let label_end = after.find("-----").ok_or_else(|| OrderError::BadCsr("unterminated PEM header".into()))?;
        let label = &after[..label_end];
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(OrderError::BadCsr(format!("PEM block is {label:?}, not a CERTIFICATE REQUEST")));
        }
        let body = &after[label_end + 5..];
        let end = body
            .find(&format!("-----END {label}-----"))
            .ok_or_else(|| OrderError::BadCsr(format!("missing -----END {label}-----")))?;
        &body[..end]
    } else {
        text
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).map_err(|e| OrderError::BadCsr(format!("bad base64: {e}")))
}

/// The DNS names a PEM certificate certifies (its subjectAltName, or its
/// common name without one), lower-cased; `None` when it cannot be read.
pub fn certificate_names(leaf_pem: &str) -> Option<Vec<String>> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(leaf_pem.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    let from_san: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if !from_san.is_empty() {
        return Some(from_san);
    }
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_ascii_lowercase();
    Some(vec![cn])
}
