//! JSON Web Signatures as ACME uses them (RFC 8555 §6.2): flattened JSON
//! only, asymmetric algorithms only, verified with aws-lc-rs. Also the JWK
//! thumbprint of RFC 7638 and the comparison of a JWK with a certificate's or
//! CSR's public key.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::problem::Problem;

/// The algorithms certgate accepts on ACME requests.
pub const ALGORITHMS: [&str; 4] = ["RS256", "ES256", "ES384", "EdDSA"];

/// A flattened JWS, decoded but not yet verified.
#[derive(Debug)]
pub struct Jws {
    /// The protected header, parsed.
    pub protected: Protected,
    /// The protected header as sent (base64url), part of the signing input.
    pub protected_b64: String,
    /// The payload, decoded; empty for POST-as-GET.
    pub payload: Vec<u8>,
    /// The payload as sent (base64url).
    pub payload_b64: String,
    signature: Vec<u8>,
}

/// A MAC'd JWS (the External Account Binding), decoded.
#[derive(Debug)]
pub struct MacJws {
    /// The protected header, decoded but not parsed.
    pub protected_raw: Vec<u8>,
    /// The protected header as sent.
    pub protected_b64: String,
    /// The payload, decoded.
    pub payload: Vec<u8>,
    /// The payload as sent.
    pub payload_b64: String,
    /// The MAC.
    pub signature: Vec<u8>,
}

/// The members of a protected header that ACME uses.
#[derive(Debug, Deserialize)]
pub struct Protected {
    /// The signature algorithm.
    pub alg: String,
    /// The anti-replay nonce.
    pub nonce: Option<String>,
    /// The URL the client sent the request to.
    pub url: Option<String>,
    /// The public key, for new-account and revocation by certificate key.
    pub jwk: Option<Value>,
    /// The account URL, everywhere else.
    pub kid: Option<String>,
    /// Extensions the recipient must understand (RFC 7515 §4.1.11); certgate
    /// understands none, so a header naming any is refused.
    pub crit: Option<Value>,
}

#[derive(Deserialize)]
struct Flattened {
    protected: String,
    payload: String,
    signature: String,
    header: Option<Value>,
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, Problem> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| Problem::malformed(format!("{field} is not base64url")))
}

impl Jws {
    /// Decodes a flattened JWS body. Compact and general serializations,
    /// unprotected headers and unknown algorithms are refused.
    pub fn parse(body: &[u8]) -> Result<Jws, Problem> {
        let f: Flattened = serde_json::from_slice(body)
            .map_err(|e| Problem::malformed(format!("the body is not a flattened JWS: {e}")))?;
        if f.header.is_some() {
            return Err(Problem::malformed("unprotected JWS headers are not allowed"));
        }
        let protected: Protected = serde_json::from_slice(&b64("protected", &f.protected)?)
            .map_err(|e| Problem::malformed(format!("bad protected header: {e}")))?;
        if !ALGORITHMS.contains(&protected.alg.as_str()) {
            return Err(Problem::bad_signature_algorithm(&protected.alg));
        }
        if protected.crit.is_some() {
            return Err(Problem::malformed(
                "the protected header has crit: certgate understands no JWS extension (RFC 7515 §4.1.11)",
            ));
        }
        Ok(Jws {
            payload: b64("payload", &f.payload)?,
            signature: b64("signature", &f.signature)?,
            protected,
            protected_b64: f.protected,
            payload_b64: f.payload,
        })
    }

    /// Decodes the flattened JWS of an External Account Binding, whose MAC
    /// algorithm the caller checks.
    pub fn parse_mac(body: &[u8]) -> Result<MacJws, Problem> {
        let f: Flattened = serde_json::from_slice(body)
            .map_err(|e| Problem::malformed(format!("externalAccountBinding is not a flattened JWS: {e}")))?;
        Ok(MacJws {
            protected_raw: b64("protected", &f.protected)?,
            payload: b64("payload", &f.payload)?,
            signature: b64("signature", &f.signature)?,
            protected_b64: f.protected,
            payload_b64: f.payload,
        })
    }

    /// Verifies the signature with `key`.
    pub fn verify(&self, key: &Jwk) -> Result<(), Problem> {
        let input = format!("{}.{}", self.protected_b64, self.payload_b64);
        key.verify(&self.protected.alg, input.as_bytes(), &self.signature)
    }

    /// Refuses a payload on a resource that is only read: a POST-as-GET
    /// carries an empty one (RFC 8555 §6.3).
    pub fn post_as_get(&self) -> Result<(), Problem> {
        if self.payload.is_empty() {
            Ok(())
        } else {
            Err(Problem::malformed("a POST-as-GET must have an empty payload (RFC 8555 §6.3)"))
        }
    }

    /// The payload as JSON; POST-as-GET (empty payload) gives `null`.
    pub fn json(&self) -> Result<Value, Problem> {
        if self.payload.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.payload).map_err(|e| Problem::malformed(format!("the payload is not JSON: {e}")))
    }
}

/// A public key from a JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jwk {
    /// An ECDSA key.
    Ec {
        /// The curve: `P-256` or `P-384`.
        crv: String,
        /// The point's x coordinate, big-endian.
        x: Vec<u8>,
        /// The point's y coordinate, big-endian.
        y: Vec<u8>,
    },
    /// An RSA key.
    Rsa {
        /// The modulus, big-endian, without leading zeros.
        n: Vec<u8>,
        /// The public exponent, big-endian, without leading zeros.
        e: Vec<u8>,
    },
    /// An Ed25519 key.
    Ed25519 {
        /// The public key bytes.
        x: Vec<u8>,
    },
}

fn member<'a>(m: &'a Map<String, Value>, k: &str) -> Result<&'a str, Problem> {
    m.get(k).and_then(Value::as_str).ok_or_else(|| Problem::malformed(format!("the JWK lacks {k:?}")))
}

fn strip(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros.min(v.len().saturating_sub(1)));
    v
}

impl Jwk {
    /// Reads a public JWK (EC P-256/P-384, RSA, or OKP Ed25519).
    pub fn from_value(v: &Value) -> Result<Jwk, Problem> {
        let m = v.as_object().ok_or_else(|| Problem::malformed("the JWK is not an object"))?;
        if m.contains_key("d") {
            return Err(Problem::malformed("the JWK holds a private key"));
        }
        match member(m, "kty")? {
            "EC" => {
                let crv = member(m, "crv")?;
                let len = match crv {
                    "P-256" => 32,
                    "P-384" => 48,
                    other => return Err(Problem::bad_public_key(format!("EC curve {other} is not accepted"))),
                };
                let (x, y) = (b64("x", member(m, "x")?)?, b64("y", member(m, "y")?)?);
                if x.len() != len || y.len() != len {
                    return Err(Problem::bad_public_key("EC coordinates of the wrong length"));
                }
                Ok(Jwk::Ec { crv: crv.to_string(), x, y })
            }
            "RSA" => {
                let n = strip(b64("n", member(m, "n")?)?);
                if n.len() * 8 < 2048 {
                    return Err(Problem::bad_public_key("RSA account keys need at least 2048 bits"));
                }
                Ok(Jwk::Rsa { n, e: strip(b64("e", member(m, "e")?)?) })
            }
            "OKP" if member(m, "crv")? == "Ed25519" => Ok(Jwk::Ed25519 { x: b64("x", member(m, "x")?)? }),
            other => Err(Problem::bad_public_key(format!("key type {other} is not accepted"))),
        }
    }

    /// The RFC 7638 canonical JSON: the required members in lexicographic order.
    pub fn canonical(&self) -> String {
        let e = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            Jwk::Ec { crv, x, y } => {
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#, e(x), e(y))
            }
            Jwk::Rsa { n, e: exp } => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, e(exp), e(n)),
            Jwk::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, e(x)),
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url).
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest(&SHA256, self.canonical().as_bytes()))
    }

    fn verify(&self, alg: &str, msg: &[u8], sig: &[u8]) -> Result<(), Problem> {
        let ok = match (alg, self) {
            ("ES256", Jwk::Ec { crv, x, y }) if crv == "P-256" => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point(x, y)).verify(msg, sig).is_ok()
            }
            ("ES384", Jwk::Ec { crv, x, y }) if crv == "P-384" => {
                UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point(x, y)).verify(msg, sig).is_ok()
            }
            ("RS256", Jwk::Rsa { n, e }) => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, msg, sig).is_ok()
            }
            ("EdDSA", Jwk::Ed25519 { x }) => UnparsedPublicKey::new(&ED25519, x).verify(msg, sig).is_ok(),
            _ => return Err(Problem::algorithm_not_for_key(alg, self.fitting_algorithm())),
        };
        if ok { Ok(()) } else { Err(Problem::malformed("the JWS signature does not verify")) }
    }

    /// The one algorithm certgate accepts with this key, if any.
    fn fitting_algorithm(&self) -> Option<&'static str> {
        match self {
            Jwk::Ec { crv, .. } if crv == "P-256" => Some("ES256"),
            Jwk::Ec { crv, .. } if crv == "P-384" => Some("ES384"),
            Jwk::Ec { .. } => None,
            Jwk::Rsa { .. } => Some("RS256"),
            Jwk::Ed25519 { .. } => Some("EdDSA"),
        }
    }

    /// True when `spki_der` (a certificate's or CSR's SubjectPublicKeyInfo)
    /// holds this same key.
    pub fn matches_spki(&self, spki_der: &[u8]) -> bool {
        let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki_der) else {
            return false;
        };
        match (self, spki.parsed()) {
            (Jwk::Ec { x, y, .. }, Ok(PublicKey::EC(p))) => p.data() == point(x, y).as_slice(),
            (Jwk::Rsa { n, e }, Ok(PublicKey::RSA(k))) => {
                strip(k.modulus.to_vec()) == *n && strip(k.exponent.to_vec()) == *e
            }
            (Jwk::Ed25519 { x }, _) => spki.subject_public_key.data.as_ref() == x.as_slice(),
            _ => false,
        }
    }
}

fn point(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(1 + x.len() + y.len());
    p.push(4);
    p.extend_from_slice(x);
    p.extend_from_slice(y);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn thumbprint_matches_rfc7638() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(Jwk::from_value(&jwk).unwrap().thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn refuses_private_and_weak_and_unknown_keys() {
        assert!(
            Jwk::from_value(&serde_json::json!({"kty": "EC", "crv": "P-256", "x": "", "y": "", "d": "x"})).is_err()
        );
        assert!(Jwk::from_value(&serde_json::json!({"kty": "oct", "k": "AAAA"})).is_err());
        assert!(Jwk::from_value(&serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).is_err());
    }

    #[test]
    fn refuses_none_and_hmac_algorithms() {
        for alg in ["none", "HS256"] {
            let protected = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","nonce":"n","url":"u","kid":"k"}}"#));
            let body = format!(r#"{{"protected":"{protected}","payload":"","signature":""}}"#);
            let err = Jws::parse(body.as_bytes()).unwrap_err();
            assert_eq!(err.kind, "badSignatureAlgorithm");
        }
    }
}
