//! The embedded CA: a root and an issuing CA made at first start and kept,
//! sealed, in the database, so every instance signs with the same keys. It
//! signs only the CSR's public key with parameters built afresh from the
//! validated names: nothing the CSR asks for (CA:TRUE, code signing...) is
//! copied into the certificate.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, SanType, SerialNumber, SubjectPublicKeyInfo,
};
use storage::sealed::SecretKey;
use storage::{Db, ca_keys};
use time::{Duration, OffsetDateTime};

use crate::{BoxFuture, Checkpoint, IssueRequest, Issued, RevokeRequest, Upstream, UpstreamError};

/// The embedded CA, loaded and ready to sign.
pub struct EmbeddedCa {
    name: String,
    issuer: Issuer<'static, KeyPair>,
    issuing_pem: String,
    root_pem: String,
}

/// Why the embedded CA could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedCaError {
    /// Reading or writing the CA's rows in the database failed.
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// The stored CA key could not be unsealed with the configured secret key.
    #[error(transparent)]
    Sealed(#[from] storage::sealed::OpenError),
    /// The named CA's key or certificate could not be generated or parsed.
    #[error("embedded CA {0}: {1}")]
    Key(String, rcgen::Error),
    /// The named CA's rows are missing, or its unsealed key is not UTF-8 text.
    #[error("embedded CA {0}: stored key is not UTF-8 PEM")]
    NotPem(String),
}

impl std::fmt::Debug for EmbeddedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCa").field("name", &self.name).finish_non_exhaustive()
    }
}

fn key_label(name: &str) -> String {
    format!("ca-key:{name}")
}

impl EmbeddedCa {
    /// Loads the CA called `name` from the database, creating its root and
    /// issuing CA on first use. Two instances starting together agree on one.
    pub async fn load_or_create(db: &Db, secret: &SecretKey, name: &str) -> Result<EmbeddedCa, EmbeddedCaError> {
        let (root_name, issuing_name) = (format!("{name}:root"), format!("{name}:issuing"));
        let exists = ca_keys::get(&mut *db.acquire().await?, &issuing_name).await?.is_some();
        if !exists {
            let (root_pem, issuing_pem, issuing_key) =
                generate(name).map_err(|e| EmbeddedCaError::Key(name.into(), e))?;
            let sealed = secret.seal(&key_label(&issuing_name), issuing_key.as_bytes());
            let mut tx = db.begin().await?;
            // The root's key is not kept: the issuing CA is all that signs.
            let now = crate::unix_now();
            if ca_keys::insert(&mut tx, &root_name, &root_pem, "", now).await? {
                ca_keys::insert(&mut tx, &issuing_name, &issuing_pem, &sealed, now).await?;
                storage::commit(tx).await?;
                tracing::info!(ca = name, "created the embedded CA");
            }
        }
        let mut conn = db.acquire().await?;
        let root = ca_keys::get(&mut conn, &root_name).await?;
        let issuing = ca_keys::get(&mut conn, &issuing_name).await?;
        let (Some(root), Some(issuing)) = (root, issuing) else {
            return Err(EmbeddedCaError::NotPem(name.into()));
        };
        let key_pem = String::from_utf8(secret.open(&key_label(&issuing_name), &issuing.key_sealed)?)
            .map_err(|_| EmbeddedCaError::NotPem(name.into()))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| EmbeddedCaError::Key(name.into(), e))?;
        let issuer =
            Issuer::from_ca_cert_pem(&issuing.cert_pem, key).map_err(|e| EmbeddedCaError::Key(name.into(), e))?;
        Ok(EmbeddedCa { name: name.to_string(), issuer, issuing_pem: issuing.cert_pem, root_pem: root.cert_pem })
    }

    /// The root certificate, PEM: what clients must trust.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// Signs the request's public key for its names and validity.
    pub fn sign(&self, req: &IssueRequest) -> Result<Issued, UpstreamError> {
        let refuse = |detail: String| UpstreamError::Final { upstream: self.name.clone(), detail };
        let cn = req.names.first().ok_or_else(|| refuse("no name to certify".into()))?;
        let public_key = SubjectPublicKeyInfo::from_der(&req.public_key_der)
            .map_err(|e| refuse(format!("unusable public key: {e}")))?;
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.not_before = now - Duration::minutes(1);
        params.not_after = now + Duration::days(req.validity_days);
        params.serial_number = Some(random_serial());
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn.as_str());
        params.distinguished_name = dn;
        // The order core only passes domain names; an address comes from the
        // demo's own HTTPS certificate, and clients match it only as an IP SAN.
        params.subject_alt_names = req
            .names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| refuse(format!("unusable name: {e}")))?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&public_key, &self.issuer).map_err(|e| refuse(format!("signing failed: {e}")))?;
        let serial = params.serial_number.as_ref().map(|s| hex(&s.to_bytes())).unwrap_or_default();
        Ok(Issued {
            serial,
            leaf_pem: cert.pem(),
            chain_pem: self.issuing_pem.clone(),
            not_before: params.not_before.unix_timestamp(),
            not_after: params.not_after.unix_timestamp(),
        })
    }
}

impl Upstream for EmbeddedCa {
    fn name(&self) -> &str {
        &self.name
    }

    fn issue<'a>(
        &'a self,
        req: &'a IssueRequest,
        _resume: Option<&'a str>,
        _checkpoint: &'a dyn Checkpoint,
    ) -> BoxFuture<'a, Result<Issued, UpstreamError>> {
        Box::pin(async move { self.sign(req) })
    }

    fn issues_at_once(&self) -> bool {
        true
    }

    /// The embedded CA's revocation state is the certificates table itself
    /// (the order core marks the certificate revoked), so nothing is sent.
    fn revoke<'a>(&'a self, _req: &'a RevokeRequest) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A positive 128-bit random serial (the top bit cleared keeps it positive in DER).
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("system random source");
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a root (P-384) and an issuing CA (P-256) under it; returns the two
/// certificates and the issuing key, all PEM.
fn generate(name: &str) -> Result<(String, String, String), rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
    let mut root = CertificateParams::default();
    root.distinguished_name = ca_name(name, "Root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = now - Duration::hours(1);
    root.not_after = now + Duration::days(3650);
    root.serial_number = Some(random_serial());
    let root_cert = root.self_signed(&root_key)?;
    let root_issuer = Issuer::new(root, root_key);

    let issuing_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut issuing = CertificateParams::default();
    issuing.distinguished_name = ca_name(name, "Issuing CA");
    issuing.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    issuing.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    issuing.not_before = now - Duration::hours(1);
    issuing.not_after = now + Duration::days(1825);
    issuing.serial_number = Some(random_serial());
    issuing.use_authority_key_identifier_extension = true;
    let issuing_cert = issuing.signed_by(&issuing_key, &root_issuer)?;
    Ok((root_cert.pem(), issuing_cert.pem(), issuing_key.serialize_pem()))
}

fn ca_name(name: &str, role: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "certgate");
    dn.push(DnType::CommonName, format!("certgate {name} {role}"));
    dn
}
