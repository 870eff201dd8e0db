//! What a served chain is worth (seed 12; docs/monitoring.md): whether it
//! leads to a trusted root with the certificates the server sent, whether its
//! leaf names the host scanned, and when the leaf expires. Judged offline, at
//! a given time, by the same webpki that rustls verifies servers with.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, RootCertStore};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The verdict on a served chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerdict {
    /// `Ok` when the chain as served leads to a trusted root (expiry aside);
    /// else why not (an incomplete chain is an unknown issuer).
    pub chain: Result<(), String>,
    /// Whether the leaf's names cover the host.
    pub name_matches: bool,
    /// The leaf's `notBefore` (UTC Unix seconds).
    pub not_before: i64,
    /// The leaf's `notAfter` (UTC Unix seconds).
    pub not_after: i64,
}

/// Judges `chain` (leaf first, DER) served for `host` against the trust
/// `anchors` (DER roots) at `now`.
pub fn judge(chain: &[Vec<u8>], host: &str, anchors: &[Vec<u8>], now: i64) -> Result<ChainVerdict, String> {
    let leaf = chain.first().ok_or("no certificate served")?;
    let (_, x) = X509Certificate::from_der(leaf).map_err(|e| format!("the served certificate does not parse: {e}"))?;
    let not_after = x.validity().not_after.timestamp();
    let not_before = x.validity().not_before.timestamp();
    let name_matches = leaf_names(&x).iter().any(|n| name_covers(n, host));
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(anchors.iter().map(|a| CertificateDer::from(a.as_slice())));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("no trust anchors: {e}"))?;
    let end = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> =
        chain[1..].iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    // An expired leaf is judged for its chain just before it expired; a
    // name mismatch is told by `name_matches`, not as a broken chain.
    // A leaf not valid yet likewise, once it is: `not_before` says so.
    let at = now.min(not_after - 1).max(not_before);
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(at.max(0) as u64));
    let chain = match verifier.verify_server_cert(&end, &intermediates, &name, &[], time) {
        Ok(_) => Ok(()),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => Ok(()),
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            Err("incomplete chain: it does not lead to a trusted root with the certificates served".into())
        }
        Err(e) => Err(e.to_string()),
    };
    Ok(ChainVerdict { chain, name_matches, not_before, not_after })
}

/// The DNS names of a leaf: its subjectAltNames, else its common name.
fn leaf_names(x: &X509Certificate<'_>) -> Vec<String> {
    let mut names = Vec::new();
    for ext in x.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for n in &san.general_names {
                if let GeneralName::DNSName(d) = n {
                    names.push(d.to_ascii_lowercase());
                }
            }
        }
    }
    if names.is_empty() {
        names.extend(x.subject().iter_common_name().filter_map(|c| c.as_str().ok()).map(str::to_ascii_lowercase));
    }
    names
}

/// Whether a certificate name covers `host`: equal, or a wildcard of one label.
pub fn name_covers(name: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(base) => host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == base),
        None => name == host,
    }
}

#[cfg(test)]
mod tests {
    use super::name_covers as covers;

    #[test]
    fn a_wildcard_covers_one_label() {
        assert!(covers("www.example.test", "WWW.example.test"));
        assert!(covers("*.example.test", "sub.example.test"));
        assert!(!covers("*.example.test", "example.test"));
        assert!(!covers("*.example.test", "a.b.example.test"));
        assert!(!covers("www.example.test", "example.test"));
    }
}
