//! Certificates of an order: one per issuance, so reissues keep the old ones.

use crate::sql::{query, query_as, query_scalar};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `certificates`.
    #[derive(Clone, Debug)]
    pub struct CertificateRow {
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
        /// The account of its order (migration 0022), for searches within an account.
        pub account_id: Option<i64>,
    }
}

/// The fields of a newly issued certificate.
#[derive(Clone, Debug)]
pub struct NewCertificate<'a> {
    /// The order the certificate was issued for.
    pub order_id: i64,
    /// The serial number, hexadecimal, lower case, no separators.
    pub serial: &'a str,
    /// The common name the certificate was issued for.
    pub cn: &'a str,
    /// The issued end-entity certificate, PEM.
    pub leaf_pem: &'a str,
    /// The intermediates up to, not including, the root.
    pub chain_pem: &'a str,
    /// Start of validity, in UTC Unix seconds.
    pub not_before: i64,
    /// End of validity, in UTC Unix seconds.
    pub not_after: i64,
}

/// The columns a new certificate is inserted with, in the order of its values.
macro_rules! certificate_columns {
    () => {
        "order_id, job_id, serial, cn, leaf_pem, chain_pem, not_before, not_after, created_at, account_id"
    };
}
pub(crate) use certificate_columns;

/// Stores the certificate that issuance job `job_id` produced, once per
/// job; returns its id, or `None` when this job had already stored one.
pub async fn insert(c: &mut Conn, n: &NewCertificate<'_>, job_id: i64, now: i64) -> Result<Option<i64>> {
    let sql = concat!(
        "INSERT INTO certificates (",
        certificate_columns!(),
        ")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT account_id FROM orders WHERE id = $1))
         ON CONFLICT (job_id) DO NOTHING RETURNING id"
    );
    query_scalar(sql)
        .bind(n.order_id)
        .bind(job_id)
        .bind(n.serial)
        .bind(n.cn)
        .bind(n.leaf_pem)
        .bind(n.chain_pem)
        .bind(n.not_before)
        .bind(n.not_after)
        .bind(now)
        .fetch_optional(c)
        .await
}

/// The statement of [`get_of_account`] (public so that a test can check its
/// plan); the owner is a subquery on the order's key, as in
/// [`crate::acme_orders::AUTHZ_OF_ACCOUNT`].
pub const OF_ACCOUNT: &str = "SELECT c.* FROM certificates c
     WHERE c.id = $1 AND (SELECT o.account_id FROM orders o WHERE o.id = c.order_id) = $2";

/// Reads one certificate if an order of `account_id` holds it.
pub async fn get_of_account(c: &mut Conn, id: i64, account_id: i64) -> Result<Option<CertificateRow>> {
    query_as(OF_ACCOUNT).bind(id).bind(account_id).fetch_optional(c).await
}

/// Reads one certificate.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<CertificateRow>> {
    query_as("SELECT * FROM certificates WHERE id = $1").bind(id).fetch_optional(c).await
}

/// The certificates of an order, oldest first.
pub async fn for_order(c: &mut Conn, order_id: i64) -> Result<Vec<CertificateRow>> {
    query_as("SELECT * FROM certificates WHERE order_id = $1 ORDER BY id").bind(order_id).fetch_all(c).await
}

/// Marks a certificate revoked; false when it already was.
pub async fn mark_revoked(c: &mut Conn, id: i64, reason: i64, at: i64) -> Result<bool> {
    let r = query(
        "UPDATE certificates SET revoked_at = $2, revocation_reason = $3, revoke_after = NULL
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(at)
    .bind(reason)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Schedules the revocation of a certificate at time `at`.
pub async fn schedule_revocation(c: &mut Conn, id: i64, at: i64) -> Result<()> {
    query("UPDATE certificates SET revoke_after = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at)
        .execute(c)
        .await?;
    Ok(())
}

/// Certificates whose scheduled revocation is due at `at`.
pub async fn due_revocations(c: &mut Conn, at: i64) -> Result<Vec<CertificateRow>> {
    query_as(DUE_REVOCATIONS).bind(at).fetch_all(c).await
}

/// The statement of [`due_revocations`], which the job worker runs on every
/// turn (public so that a test can check that it uses an index).
pub const DUE_REVOCATIONS: &str = "SELECT * FROM certificates WHERE revoked_at IS NULL AND revoke_after IS NOT NULL
     AND revoke_after <= $1 ORDER BY id";

/// Reads a certificate by its serial (hexadecimal, lower case).
pub async fn by_serial(c: &mut Conn, serial: &str) -> Result<Option<CertificateRow>> {
    query_as("SELECT * FROM certificates WHERE serial = $1 ORDER BY id DESC LIMIT 1")
        .bind(serial)
        .fetch_optional(c)
        .await
}
