//! The cryptography one ACME issuance needs on the server, timed alone: the
//! floor under any server's CPU per issuance.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::UnparsedPublicKey;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use x509_parser::prelude::FromDer;

use crate::stats::{ms, time_per};

/// JWS verifications in one issuance: new-order, authz, finalize, about
/// two order polls, the certificate download, and one nonce-bearing retry
/// or challenge, as the issue counts them.
pub const JWS_PER_ISSUANCE: u32 = 7;

/// The floor's parts.
pub struct Floor {
    /// One ES256 verification of a JWS-sized signing input.
    pub es256_verify: Duration,
    /// Parsing a P-256 CSR and checking its signature (as certgate does, with x509-parser).
    pub csr_check: Duration,
    /// Signing one P-256 leaf certificate with a P-256 issuer (rcgen).
    pub cert_sign: Duration,
}

impl Floor {
    /// The whole floor of one issuance.
    pub fn total(&self) -> Duration {
        self.es256_verify * JWS_PER_ISSUANCE + self.csr_check + self.cert_sign
    }

    /// Prints the parts.
    pub fn print(&self) {
        println!("crypto floor of one issuance (server side):");
        println!("  ES256 verify        {:>9} x {JWS_PER_ISSUANCE}", ms(self.es256_verify));
        println!("  CSR parse + verify  {:>9}", ms(self.csr_check));
        println!("  P-256 cert signing  {:>9}", ms(self.cert_sign));
        println!("  total               {:>9}", ms(self.total()));
    }
}

/// Measures the floor, `n` iterations of each part.
pub fn measure(n: usize) -> Floor {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
    // A signing input of a typical finalize JWS (protected header + CSR payload, base64url).
    let input = vec![b'e'; 700];
    let sig = key.sign(&rng, &input).expect("sign");
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref().to_vec());
    let es256_verify = time_per(n, || public.verify(&input, sig.as_ref()).is_ok());

    let csr_key = KeyPair::generate().expect("CSR key");
    let mut params = CertificateParams::new(vec!["www.bench.test".to_string()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&csr_key).expect("CSR").der().to_vec();
    let csr_check = time_per(n, || {
        let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(&csr).expect("parse");
        req.verify_signature().is_ok()
    });

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let issuer = Issuer::new(ca, ca_key);
    let cert_sign = time_per(n, || {
        let leaf = CertificateParams::new(vec!["www.bench.test".to_string()]).expect("leaf");
        leaf.signed_by(&csr_key, &issuer).expect("sign").der().len()
    });
    Floor { es256_verify, csr_check, cert_sign }
}
