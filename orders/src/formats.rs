//! Certificate download formats (seed 6.6.1): PEM, PEM with its chain, DER,
//! and PKCS#7 (a certificates-only SignedData, as `openssl crl2pkcs7` makes).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The DER contents of every PEM block in `pem`, in order.
pub fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN ") {
            inside = true;
            body.clear();
        } else if line.starts_with("-----END ") {
            inside = false;
            if let Ok(der) = STANDARD.decode(&body) {
                out.push(der);
            }
        } else if inside {
            body.push_str(line);
        }
    }
    out
}

/// A DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// `id-signedData` and `id-data` (RFC 5652), DER-encoded.
const OID_SIGNED_DATA: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_DATA: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/// A PKCS#7 bundle (DER) of the certificates in `pem`: a SignedData with
/// no signers, which every TLS server and Windows import understand.
pub fn pkcs7_der(pem: &str) -> Vec<u8> {
    let certs: Vec<u8> = pem_blocks(pem).concat();
    let mut signed = Vec::new();
    signed.extend(tlv(0x02, &[1])); // version
    signed.extend(tlv(0x31, &[])); // digestAlgorithms
    signed.extend(tlv(0x30, &OID_DATA)); // encapContentInfo
    signed.extend(tlv(0xa0, &certs)); // [0] IMPLICIT certificates
    signed.extend(tlv(0x31, &[])); // signerInfos
    let mut info = OID_SIGNED_DATA.to_vec();
    info.extend(tlv(0xa0, &tlv(0x30, &signed)));
    tlv(0x30, &info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_use_the_long_form() {
        assert_eq!(tlv(0x04, &[0; 5])[..2], [0x04, 5]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }
}

/// A download format of a certificate (seed 6.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The certificate alone, PEM.
    Pem,
    /// The certificate then its chain, PEM.
    PemChain,
    /// The certificate alone, DER.
    Der,
    /// The certificate and its chain as PKCS#7 (DER).
    Pkcs7,
}

impl Format {
    /// Every format, in the order pages list them.
    pub const ALL: [Format; 4] = [Format::Pem, Format::PemChain, Format::Der, Format::Pkcs7];

    /// The format a word names: `pem`, `pem_chain`, `der` or `pkcs7`.
    pub fn parse(word: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == word)
    }

    /// Its word.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pem => "pem",
            Format::PemChain => "pem_chain",
            Format::Der => "der",
            Format::Pkcs7 => "pkcs7",
        }
    }

    /// The media type of a file in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pem | Format::PemChain => "application/pem-certificate-chain",
            Format::Der => "application/pkix-cert",
            Format::Pkcs7 => "application/pkcs7-mime",
        }
    }

    /// The file name extension of this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pem => "crt",
            Format::PemChain => "chain.pem",
            Format::Der => "der",
            Format::Pkcs7 => "p7b",
        }
    }

    /// `cert` in this format; none when the stored PEM holds no certificate.
    pub fn encode(self, cert: &crate::Certificate) -> Option<Vec<u8>> {
        match self {
            Format::Pem => Some(cert.leaf_pem.clone().into_bytes()),
            Format::PemChain => Some(format!("{}{}", cert.leaf_pem, cert.chain_pem).into_bytes()),
            Format::Der => pem_blocks(&cert.leaf_pem).pop(),
            Format::Pkcs7 => Some(pkcs7_der(&format!("{}{}", cert.leaf_pem, cert.chain_pem))),
        }
    }
}

/// The certificate a download serves among an order's `certs` (first
/// issued first): the newest not revoked, else the newest.
pub fn served(certs: &[crate::Certificate]) -> Option<&crate::Certificate> {
    certs.iter().rev().find(|c| c.revoked_at.is_none()).or(certs.last())
}
