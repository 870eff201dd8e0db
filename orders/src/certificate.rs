//! A certificate as the order core hands it to the fronts; made from the
//! storage row, which stays inside the order core.

use storage::certificates::CertificateRow;

/// A certificate of an order, as the order core hands it out.
#[derive(Clone, Debug)]
pub struct Certificate {
    /// The certificate's database identifier.
    pub id: i64,
    /// The order the certificate was issued for.
    pub order_id: i64,
    /// The issuance job that produced it (one certificate per job).
    pub job_id: i64,
    /// Hexadecimal, lower case, no separators.
    pub serial: String,
    /// The common name the certificate was issued for.
    pub cn: String,
    /// The issued end-entity certificate, PEM.
    pub leaf_pem: String,
    /// The intermediates up to, not including, the root.
    pub chain_pem: String,
    /// Start of validity, in UTC Unix seconds.
    pub not_before: i64,
    /// End of validity, in UTC Unix seconds.
    pub not_after: i64,
    /// When the certificate was revoked, in UTC Unix seconds; unset while it is not.
    pub revoked_at: Option<i64>,
    /// The RFC 5280 CRLReason code it was revoked with, once revoked.
    pub revocation_reason: Option<i64>,
    /// When set, the certificate is to be revoked at that time (after a reissue).
    pub revoke_after: Option<i64>,
    /// When the certificate was stored, in UTC Unix seconds.
    pub created_at: i64,
}

impl From<CertificateRow> for Certificate {
    fn from(r: CertificateRow) -> Certificate {
        Certificate {
            id: r.id,
            order_id: r.order_id,
            job_id: r.job_id,
            serial: r.serial,
            cn: r.cn,
            leaf_pem: r.leaf_pem,
            chain_pem: r.chain_pem,
            not_before: r.not_before,
            not_after: r.not_after,
            revoked_at: r.revoked_at,
            revocation_reason: r.revocation_reason,
            revoke_after: r.revoke_after,
            created_at: r.created_at,
        }
    }
}
